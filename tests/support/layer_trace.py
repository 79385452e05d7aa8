"""Trace which of our layers a piece of work passes through, call by call (`sys.setprofile`).

Every Python call whose code lives in our tree (`functions/`, `shared/claude_tasks/`) is
placed in a layer: `function` (the Lambda entry points and the API's routes and models),
`app` (the application), `store` or `claude` (the adapters), `core`. Third-party frames
are skipped, so a call from our code through a library back into our code counts as a
call between our two frames. The trace says how many files were passed, how often the
work changed layer and how many calls went *up* (a lower layer calling a higher one: a
callback), which a layered design keeps at zero.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
RANK = {"function": 4, "app": 3, "store": 2, "claude": 2, "core": 1}

# The layout before the layers were folders (kept to report the figures before and after).
FLAT_LAYOUT: Mapping[str, str] = {
    **dict.fromkeys(("domain", "errors", "config", "clock", "aws", "paths"), "core"),
    **dict.fromkeys(
        ("service", "executor", "turns", "conversation", "delivery", "maintenance", "audit", "queue", "schemas"),
        "app",
    ),
}


def layer_of(path: str, flat: Mapping[str, str] | None = None) -> str | None:
    """The layer of the file at `path`, or None for a file not ours (or a dev tool's)."""
    file = Path(path)
    try:
        relative = file.resolve().relative_to(ROOT)
    except ValueError:
        return None
    parts = relative.parts
    if parts[0] == "functions":
        return "function"
    if parts[:2] != ("shared", "claude_tasks") or len(parts) < 3:
        return None
    top = parts[2].removesuffix(".py")
    if top in ("core", "app", "store", "claude"):
        return top
    if flat is not None:
        return flat.get(top)
    return None


@dataclass
class LayerTrace:
    """The calls between our frames seen while tracing: (caller layer, callee layer, callee file)."""

    flat: Mapping[str, str] | None = None
    calls: list[tuple[str, str, str]] = field(default_factory=list)
    files: set[str] = field(default_factory=set)

    def _profile(self, frame: FrameType, event: str, arg: Any) -> None:
        if event != "call":
            return
        callee = layer_of(frame.f_code.co_filename, self.flat)
        if callee is None:
            return
        self.files.add(frame.f_code.co_filename)
        caller_frame = frame.f_back
        while caller_frame is not None and layer_of(caller_frame.f_code.co_filename, self.flat) is None:
            caller_frame = caller_frame.f_back
        if caller_frame is None:
            return
        caller = layer_of(caller_frame.f_code.co_filename, self.flat)
        assert caller is not None
        self.calls.append((caller, callee, frame.f_code.co_filename))

    def run(self, work: Callable[[], Any]) -> Any:
        """Run `work` with every thread it starts traced."""
        threading.setprofile(self._profile)
        sys.setprofile(self._profile)
        try:
            return work()
        finally:
            sys.setprofile(None)
            threading.setprofile(None)  # type: ignore[arg-type]

    @property
    def layer_changes(self) -> int:
        """Calls whose callee is in another layer than its caller."""
        return sum(1 for caller, callee, _ in self.calls if caller != callee)

    @property
    def upward_calls(self) -> list[tuple[str, str, str]]:
        """Calls from a lower layer into a higher one (a callback)."""
        return [call for call in self.calls if RANK[call[1]] > RANK[call[0]]]

    def files_by_layer(self) -> dict[str, int]:
        """How many of our files each layer contributed."""
        counts: dict[str, int] = {}
        for file in self.files:
            layer = layer_of(file, self.flat)
            assert layer is not None
            counts[layer] = counts.get(layer, 0) + 1
        return dict(sorted(counts.items(), key=lambda pair: -RANK[pair[0]]))

    def summary(self) -> str:
        return (
            f"{len(self.files)} files {self.files_by_layer()}, {self.layer_changes} layer changes, "
            f"{len(self.upward_calls)} upward calls (callbacks)"
        )
