"""A task's turns for people: what Claude and the user wrote as written, each tool call on one line.

A `tool` turn that uses a tool (`stop_reason: tool_use`, its content the input as
JSON) and the turn with its result (the same `tool_use_id`, `tool_result` or
`tool_error`) print as one line: the tool, what it acted on, how it ended.
`system` turns are notes, one line each, dimmed on a terminal.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from claude_tasks_dev.cli import output

# The input fields that say what a tool acted on, most telling first; paths keep their end.
TARGETS = ("file_path", "notebook_path", "command", "pattern", "url", "query", "path", "description")
PATHS = frozenset({"file_path", "notebook_path", "path"})
TARGET_CHARS = 60
OUTCOME_CHARS = 100
USE, RESULTS = "tool_use", frozenset({"tool_result", "tool_error"})
DIM, PLAIN = "\033[2m", "\033[0m"


def conversation(turns: Sequence[dict[str, Any]], dim: bool = False) -> str:
    """The turns in order: one-line tool calls and notes grouped together, other turns as `output.turn` has
    them, blank lines between groups. A result whose use is listed prints with it; `…`: no result yet."""
    results = {t.get("tool_use_id"): t for t in turns if _is_result(t)}
    used = {t.get("tool_use_id") for t in turns if _is_use(t)}
    blocks: list[tuple[bool, list[str]]] = []  # (one-liners?, lines)
    for turn in turns:
        if _is_result(turn) and turn.get("tool_use_id") in used:
            continue
        line = _line(turn, results, dim)
        if line is None:
            blocks.append((False, [output.turn(turn)]))
        elif blocks and blocks[-1][0]:
            blocks[-1][1].append(line)
        else:
            blocks.append((True, [line]))
    return "\n\n".join("\n".join(lines) for _, lines in blocks) or "(none)"


def _is_use(turn: dict[str, Any]) -> bool:
    return turn.get("role") == "tool" and turn.get("stop_reason") == USE


def _is_result(turn: dict[str, Any]) -> bool:
    return turn.get("role") == "tool" and turn.get("stop_reason") in RESULTS


def _line(turn: dict[str, Any], results: dict[Any, dict[str, Any]], dim: bool) -> str | None:
    """The one line for a tool call or a note; None for a turn shown whole."""
    if turn.get("role") == "system":
        note = f"#{turn.get('seq')} system · {_first_line(turn.get('content'), OUTCOME_CHARS)}"
        return f"{DIM}{note}{PLAIN}" if dim else note
    if _is_use(turn):
        target = _target(turn.get("content"))
        call = f"{turn.get('tool_name') or '?'}({target})" if target else str(turn.get("tool_name") or "?")
        return f"#{turn.get('seq')} tool {call} → {_outcome(results.get(turn.get('tool_use_id')))}"
    if _is_result(turn):  # its use is not among the turns listed (e.g. before --after-seq)
        return f"#{turn.get('seq')} tool {turn.get('tool_name') or '?'} → {_outcome(turn)}"
    return None


def _target(content: Any) -> str:
    try:
        tool_input = json.loads(str(content))
    except ValueError:
        return ""
    if not isinstance(tool_input, dict):
        return ""
    for key in TARGETS:
        value = tool_input.get(key)
        if isinstance(value, str) and value.strip():
            shown = " ".join(value.split())
            if len(shown) <= TARGET_CHARS:
                return shown
            return "…" + shown[-(TARGET_CHARS - 1) :] if key in PATHS else shown[: TARGET_CHARS - 1] + "…"
    return ""


def _outcome(result: dict[str, Any] | None) -> str:
    if result is None:
        return "…"
    if result.get("stop_reason") == "tool_error":
        first = _first_line(result.get("content"), OUTCOME_CHARS)
        return f"error: {first}" if first else "error"
    return "ok"


def _first_line(content: Any, width: int) -> str:
    lines = [line.strip() for line in str(content or "").splitlines() if line.strip()]
    return output.text(lines[0], width) if lines else ""
