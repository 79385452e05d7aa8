"""A deterministic stand-in for Claude, for local runs without credentials and for benchmarks.

It never touches the network and every reply says plainly that it is offline, so
nobody mistakes its output for Claude's.
"""

from __future__ import annotations

import hashlib
import time

from claude_tasks.claude.base import ClaudeReply, ClaudeRequest
from claude_tasks.core.config import Settings
from claude_tasks.core.records import Usage

PREFIX = "[offline model] "
_EXCERPT_CHARS = 80


def _words(text: str | None) -> int:
    # A rough token count: good enough for usage figures that nobody is billed for.
    return len(text.split()) if text else 0


class OfflineBackend:
    """Answers every request with a fixed-form note about the prompt, at zero cost."""

    name = "offline"

    def __init__(self, settings: Settings | None = None, *, delay_s: float = 0.0) -> None:
        """`delay_s` simulates Claude's latency (benchmarks); the settings are not needed."""
        if delay_s < 0:
            raise ValueError("delay_s must not be negative")
        self._delay_s = delay_s

    def complete(self, request: ClaudeRequest) -> ClaudeReply:
        """Reply deterministically: the same request always yields the same content and usage.

        Never raises for a valid request.
        """
        started = time.monotonic()
        if self._delay_s:
            time.sleep(self._delay_s)
        prompt = request.conversation[-1].content
        digest = hashlib.sha256(prompt.encode()).hexdigest()[:12]
        excerpt = " ".join(prompt.split())
        if len(excerpt) > _EXCERPT_CHARS:
            excerpt = excerpt[: _EXCERPT_CHARS - 1] + "…"
        content = (
            f"{PREFIX}This is the offline model, not Claude: no Claude backend is configured, "
            f"so nothing was sent to Claude. Turn {len(request.conversation)}, "
            f"prompt sha256:{digest} ({_words(prompt)} words): {excerpt!r}"
        )
        input_words = _words(request.system) + sum(_words(turn.content) for turn in request.conversation)
        return ClaudeReply(
            content=content,
            usage=Usage(input_tokens=input_words, output_tokens=_words(content)),
            stop_reason="end_turn",
            # Not the requested model: the record must not suggest Claude answered.
            model="offline",
            duration_ms=int((time.monotonic() - started) * 1000),
            claude_session_id=request.claude_session_id,
            cost_usd=0.0,
        )
