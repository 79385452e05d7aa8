"""What every command gets: the client for its target, the output mode, and where to write."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO

from claude_tasks_dev.cli import output
from claude_tasks_dev.cli.client import ApiClient
from claude_tasks_dev.cli.target import Target


@dataclass
class Context:
    target: Target
    client: ApiClient
    json: bool = False
    # Notes may be dimmed: stdout is a terminal and NO_COLOR is unset.
    color: bool = False
    out: TextIO = field(default_factory=lambda: sys.stdout)
    err: TextIO = field(default_factory=lambda: sys.stderr)

    def show(self, value: Any, render: Callable[[Any], str]) -> None:
        """Print `value` as JSON with `--json`, else as `render` lays it out."""
        print(output.as_json(value) if self.json else render(value), file=self.out)

    def note(self, message: str) -> None:
        """A line for the person at the terminal (stderr), never part of the data on stdout."""
        print(message, file=self.err)

    def pages(self, path: str, limit: int, query: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Up to `limit` items of a paginated list, following `next_cursor`."""
        items: list[dict[str, Any]] = []
        cursor = None
        while len(items) < limit:
            page = self.client.call(
                "GET", path, query={**(query or {}), "limit": min(limit - len(items), 100), "cursor": cursor}
            )
            items.extend(page.get("items", []))
            cursor = page.get("next_cursor")
            if not cursor:
                break
        return items[:limit]
