"""A Claude double at the backend boundary (the only thing the worker's tests replace): scripted replies and faults."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from claude_tasks.claude import ClaudeBackend, ClaudeReply, ClaudeRequest
from claude_tasks.claude.offline import OfflineBackend
from claude_tasks.core.records import Usage


@dataclass(frozen=True)
class AfterReply:
    """A script step: get the real reply, then raise `error` (Claude answered, the process did not go on)."""

    error: BaseException


Step = str | BaseException | AfterReply | Callable[[], object]


class ScriptedClaude:
    """A Claude double at the backend boundary: each call takes the next script step, then answers as
    the offline model (or `inner`) would. A step is a text to answer with, an exception to raise
    instead, `AfterReply`, or a callable run first (e.g. to arm a fault). Records every request; thread-safe."""

    name = "scripted"

    def __init__(
        self,
        *script: Step,
        inner: ClaudeBackend | None = None,
        delay_s: float = 0.0,
        usage: Usage | None = None,
        cost_usd: float | None = None,
    ) -> None:
        self.requests: list[ClaudeRequest] = []
        self._script = deque(script)
        self._inner = inner or OfflineBackend()
        self._delay_s = delay_s
        self._overrides: dict[str, Any] = {"usage": usage, "cost_usd": cost_usd}
        self._lock = threading.Lock()

    def complete(self, request: ClaudeRequest) -> ClaudeReply:
        with self._lock:
            self.requests.append(request)
            step = self._script.popleft() if self._script else None
        if self._delay_s:
            time.sleep(self._delay_s)
        if isinstance(step, BaseException):
            raise step
        if callable(step):
            step()
            step = None
        reply = self._inner.complete(request)
        reply = replace(reply, **{k: v for k, v in self._overrides.items() if v is not None})
        if isinstance(step, AfterReply):
            raise step.error
        return reply if step is None else replace(reply, content=step)
