"""Plain-text tables and field lists for people; `--json` prints the API's own JSON instead."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

_TIMESTAMP = re.compile(r"(\d{4}-\d\d-\d\d)T(\d\d:\d\d:\d\d)(\.\d+)?Z")


def text(value: Any, width: int | None = None) -> str:
    """One cell: `-` for nothing, times to the second (UTC), lists and dicts compact, long text cut with `…`."""
    if value is None or value == "" or value == [] or value == {}:
        shown = "-"
    elif isinstance(value, str) and (stamp := _TIMESTAMP.fullmatch(value)):
        shown = f"{stamp[1]} {stamp[2]}"
    elif isinstance(value, dict) and "input_tokens" in value:
        shown = tokens(value)
    elif isinstance(value, dict | list):
        shown = json.dumps(value, separators=(",", ":"))
    else:
        shown = " ".join(str(value).split())
    if width is not None and len(shown) > width:
        shown = shown[: max(width - 1, 0)] + "…"
    return shown


def table(rows: Sequence[dict[str, Any]], columns: Sequence[tuple[str, str, int | None]]) -> str:
    """`columns` are (key, heading, max width); an empty list says so instead of printing a bare heading."""
    if not rows:
        return "(none)"
    cells = [[text(row.get(key), width) for key, _, width in columns] for row in rows]
    headings = [heading for _, heading, _ in columns]
    widths = [max(len(h), *(len(line[i]) for line in cells)) for i, h in enumerate(headings)]
    lines = [headings, *cells]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip() for line in lines)


def fields(record: dict[str, Any], keys: Sequence[str]) -> str:
    """`key  value` lines, aligned, for one record."""
    width = max(len(key) for key in keys)
    return "\n".join(f"{key.ljust(width)}  {text(record.get(key))}" for key in keys if key in record)


def tokens(usage: dict[str, Any]) -> str:
    """Token usage as people read it: `51 in / 63 out`, plus cache figures when there are any."""
    shown = f"{usage.get('input_tokens', 0)} in / {usage.get('output_tokens', 0)} out"
    created, read = usage.get("cache_creation_input_tokens", 0), usage.get("cache_read_input_tokens", 0)
    return shown + (f" (cache: {created} written, {read} read)" if created or read else "")


def as_json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


def turn(interaction: dict[str, Any]) -> str:
    """One interaction: a heading with its role and figures, then its content as written."""
    usage = interaction.get("usage") or {}
    figures = [interaction.get("model"), interaction.get("stop_reason")]
    if usage.get("input_tokens") or usage.get("output_tokens"):
        figures.append(tokens(usage) + " tokens")
    if interaction.get("duration_ms") is not None:
        figures.append(f"{interaction['duration_ms']} ms")
    details = ", ".join(str(f) for f in figures if f)
    heading = f"#{interaction.get('seq')} {interaction.get('role')}" + (f" ({details})" if details else "")
    body = "\n".join(f"  {line}" for line in str(interaction.get("content", "")).splitlines() or [""])
    return f"{heading}\n{body}"
