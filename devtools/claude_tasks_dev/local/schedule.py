"""EventBridge's schedules, locally: invoke the janitor with `events/schedule/janitor.json` on a timer,
and with `events/schedule/full-check.json` (the template's FullCheck schedule) now and then instead.

moto never fires schedules (nor expires TTLs), so the stack runs that duty itself.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from claude_tasks_dev.checkout import repo_root
from claude_tasks_dev.local.handlers import LambdaFunction

logger = logging.getLogger("claude_tasks_dev.local")


def scheduled_event(sample: Path | None = None) -> dict[str, Any]:
    """The sample scheduled event, with a fresh id and the current time."""
    event: dict[str, Any] = json.loads((sample or repo_root() / "events" / "schedule" / "janitor.json").read_text())
    event["id"] = str(uuid.uuid4())
    event["time"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return event


def full_check_event() -> dict[str, Any]:
    """What the template's FullCheck schedule sends: its constant input."""
    event: dict[str, Any] = json.loads((repo_root() / "events" / "schedule" / "full-check.json").read_text())
    return event


class Schedule:
    """Invokes `function` every `interval_s` seconds on a thread until `stop()`; the first run is one interval in.

    Every `full_check_interval_s` (from the first run on; 0 = never) a second invocation follows the
    run: the template's FullCheck schedule, which starts a full check; the runs after it go on with
    it, a budget at a time.
    """

    def __init__(self, function: LambdaFunction, interval_s: float, full_check_interval_s: float = 0.0) -> None:
        self.function = function
        self.interval_s = interval_s
        self.full_check_interval_s = full_check_interval_s
        self._full_check_due = 0.0 if full_check_interval_s > 0 else float("inf")
        self.runs = 0
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="schedule", daemon=True)

    def start(self) -> Schedule:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the timer; a run in progress finishes first."""
        self._stopping.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stopping.wait(self.interval_s):
            self.run_once()
            if time.monotonic() >= self._full_check_due:
                self._full_check_due = time.monotonic() + self.full_check_interval_s
                self.invoke(full_check_event())

    def run_once(self) -> Any:
        """One run of the frequent schedule; see `invoke`."""
        return self.invoke(scheduled_event())

    def invoke(self, event: dict[str, Any]) -> Any:
        """One invocation; its failure is logged (as CloudWatch would show it), never raised."""
        try:
            result = self.function.invoke(event)
        except Exception:
            logger.exception("janitor failed")
            return None
        finally:
            self.runs += 1
        if isinstance(result, dict) and any(v for k, v in result.items() if k != "full_check_under_way"):
            # A quiet run is the normal case; only a run that did or found something is worth a line.
            logger.info("janitor: %s", ", ".join(f"{k}={v}" for k, v in result.items()))
        return result
