"""Claude Code's messages as the task's interactions: pure translation, no process, no I/O.

What Claude Code reports, and what is recorded from it:
- an assistant message arrives once per content block, each copy carrying the whole
  message's usage as the stream began: text becomes an `assistant` turn, a tool use a `tool`
  turn (`stop_reason: tool_use`, content: its input as JSON), and the usage is counted once
  per message id, on its first turn;
- a tool result (in a user message) becomes a `tool` turn paired by `tool_use_id`
  (`tool_result`, or `tool_error` when the tool failed);
- the result closes the run: its usage is the run's exact total and its `total_cost_usd` what
  this process spent (each run has a fresh `CLAUDE_CONFIG_DIR`, and in streaming mode the CLI
  restores no earlier cost, even on a resume: measured with 0.2.189, and guarded by
  tests/integration/claude_code/test_costs.py), so the run's final turn carries that cost and
  the tokens the per-message figures missed: the run's turns then sum to what it billed.
The run's final answer is held back until the next message shows it was the last one.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from claude_tasks.core.records import NewInteraction, Role, Usage

# A tool's input, as recorded, is JSON; a tool turn's one-line summary names its target.
_USAGE_KINDS = ("input_tokens", "output_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")


def usage_of(raw: dict[str, Any] | None) -> Usage:
    raw = raw or {}
    return Usage(**{kind: int(raw.get(kind) or 0) for kind in _USAGE_KINDS})


def _minus(total: Usage, seen: Usage) -> Usage:
    return Usage(**{kind: max(0, getattr(total, kind) - getattr(seen, kind)) for kind in _USAGE_KINDS})


def _plus(a: Usage, b: Usage) -> Usage:
    return Usage(**{kind: getattr(a, kind) + getattr(b, kind) for kind in _USAGE_KINDS})


def tool_output(content: str | list[dict[str, Any]] | None) -> str:
    """A tool result's text: a string as it is, the text blocks of a list joined, others named."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    parts = []
    for block in content:
        if block.get("type") == "text":
            parts.append(str(block.get("text", "")))
        else:
            parts.append(f"[{block.get('type', 'block')}]")
    return "\n".join(parts)


@dataclass
class Steps:
    """The translation of one run's messages."""

    started: float = field(default_factory=time.monotonic)
    _last: float = field(init=False)
    _tools: dict[str, str] = field(default_factory=dict)
    _counted: set[str] = field(default_factory=set)
    _seen: Usage = field(default_factory=Usage)
    _held: list[NewInteraction] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._last = self.started

    def _elapsed_ms(self) -> int:
        now = time.monotonic()
        elapsed, self._last = now - self._last, now
        return int(elapsed * 1000)

    def assistant(
        self, blocks: list[tuple[str, Any]], model: str, message_id: str | None, usage: dict[str, Any] | None
    ) -> list[NewInteraction]:
        """The turns of one assistant message copy; `blocks` are (kind, block) with kind text/tool_use/other.

        Returns what may be recorded now: the turns held back before it, then its tool uses;
        its text is held until the next message (it may be the run's final answer).
        """
        duration = self._elapsed_ms()
        turns: list[NewInteraction] = []
        for kind, block in blocks:
            if kind == "text" and str(block.text).strip():
                turns.append(NewInteraction(role=Role.ASSISTANT, content=block.text, model=model))
            elif kind == "tool_use":
                self._tools[block.id] = block.name
                turns.append(
                    NewInteraction(
                        role=Role.TOOL,
                        content=json.dumps(block.input, ensure_ascii=False),
                        tool_name=block.name,
                        tool_use_id=block.id,
                        stop_reason="tool_use",
                        model=model,
                    )
                )
        if not turns:
            return []
        if message_id is None or message_id not in self._counted:
            if message_id is not None:
                self._counted.add(message_id)
            counted = usage_of(usage)
            self._seen = _plus(self._seen, counted)
            turns[0] = turns[0].model_copy(update={"usage": counted})
        turns[0] = turns[0].model_copy(update={"duration_ms": duration})
        ready = self.release()
        if all(turn.role is Role.ASSISTANT for turn in turns):
            self._held = turns
            return ready
        return [*ready, *turns]

    def tool_result(
        self, tool_use_id: str, content: str | list[dict[str, Any]] | None, is_error: bool
    ) -> NewInteraction:
        return NewInteraction(
            role=Role.TOOL,
            content=tool_output(content),
            tool_name=self._tools.get(tool_use_id),
            tool_use_id=tool_use_id,
            stop_reason="tool_error" if is_error else "tool_result",
            duration_ms=self._elapsed_ms(),
        )

    def system(self, note: str) -> list[NewInteraction]:
        """A note of what happened, after the turns held back before it (they came first)."""
        return [*self.release(), NewInteraction(role=Role.SYSTEM, content=note, duration_ms=self._elapsed_ms())]

    def release(self) -> list[NewInteraction]:
        """The turns held back, now known not to be the run's last."""
        held, self._held = self._held, []
        return held

    def close(
        self, total_cost_usd: float | None, usage: dict[str, Any] | None, duration_ms: int, note: str | None
    ) -> list[NewInteraction]:
        """The run's last turns: the held answer (or, with `note`, a `system` turn saying how it ended)
        carrying the run's cost and the tokens not yet counted."""
        cost = total_cost_usd or 0.0
        missing = _minus(usage_of(usage), self._seen) if usage is not None else Usage()
        held = self.release()
        if note is not None or not held:
            held.append(NewInteraction(role=Role.SYSTEM, content=note or "Claude Code finished."))
        last = held[-1]
        held[-1] = last.model_copy(
            update={
                "usage": _plus(last.usage, missing),
                "cost_usd": cost,
                "duration_ms": (last.duration_ms or 0) if last.role is Role.ASSISTANT else duration_ms,
            }
        )
        return held
