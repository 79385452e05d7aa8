"""The local bus's log: every task event, one JSON line each, in a file `claude-tasks events tail` follows.

The file is started afresh with each stack and moved aside (`.1`) past `max_bytes`, so it stays small; the
last events are also kept in memory.
"""

from __future__ import annotations

import collections
import json
import threading
from pathlib import Path
from typing import Any

MAX_BYTES = 5_000_000


class EventLog:
    def __init__(self, path: Path, max_bytes: int = MAX_BYTES, keep: int = 200) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.recent: collections.deque[dict[str, Any]] = collections.deque(maxlen=keep)
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("")

    def append(self, event: dict[str, Any]) -> None:
        """Add one event (the bus's whole event: id, source, detail-type, time, detail)."""
        line = json.dumps(event, separators=(",", ":")) + "\n"
        with self._lock:
            self.recent.append(event)
            if self.path.is_file() and self.path.stat().st_size + len(line) > self.max_bytes:
                self.path.replace(self.path.with_suffix(".jsonl.1"))
            with self.path.open("a") as sink:
                sink.write(line)
