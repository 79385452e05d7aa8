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

    def pages(self, path: str, limit: int | None, query: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Up to `limit` items (None: all) of a paginated list, following `next_cursor`."""
        return self.listing(path, limit, query).items

    def listing(
        self, path: str, limit: int | None, query: dict[str, Any] | None = None, cursor: str | None = None
    ) -> Listing:
        """Up to `limit` items (None: all) of a paginated list from `cursor` on, and the cursor after them.

        Never more than a page is asked for beyond what is wanted, so `next_cursor` resumes exactly after
        the last item returned.
        """
        items: list[dict[str, Any]] = []
        while limit is None or len(items) < limit:
            size = 100 if limit is None else min(limit - len(items), 100)
            page = self.client.call("GET", path, query={**(query or {}), "limit": size, "cursor": cursor})
            items.extend(page.get("items", []))
            cursor = page.get("next_cursor")
            if not cursor:
                break
        return Listing(path, dict(query or {}), items, cursor)

    def show_list(self, listing: Listing, render: Callable[[list[dict[str, Any]]], str], hint: str) -> None:
        """Print the items; when the list goes on, say so on stderr and how to see the rest (`hint` is the
        command again, for `--cursor`)."""
        self.show(listing.items, render)
        if listing.next_cursor is None:
            return
        # DynamoDB hands out a cursor after a full page even when nothing follows: look before saying so.
        peek = self.client.call("GET", listing.path, query={**listing.query, "limit": 1, "cursor": listing.next_cursor})
        if not peek.get("items") and not peek.get("next_cursor"):
            return
        more = "more exist" if peek.get("items") else "more may exist"
        self.note(
            f"{len(listing.items)} shown; {more} — use --all, or the next page: {hint} --cursor {listing.next_cursor}"
        )


@dataclass
class Listing:
    """Items of a paginated list, and the cursor of the page after them (None: the list ended)."""

    path: str
    query: dict[str, Any]
    items: list[dict[str, Any]]
    next_cursor: str | None
