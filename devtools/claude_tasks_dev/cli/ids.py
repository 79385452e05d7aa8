"""Ids as people type them: a whole id, or any unique prefix of at least 8 characters.

A prefix is looked up in the caller's own listing (`GET /tasks` for tasks, `GET /sessions`
for sessions), so it can only ever name the caller's own task or session. Text that is
not the start of an id (`t-1`, `../x`) goes to the API as it was typed, which answers it.
"""

from __future__ import annotations

import argparse
import re

from claude_tasks_dev.cli.client import CliError, UsageError
from claude_tasks_dev.cli.context import Context

MIN_PREFIX = 8
_WHOLE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_PART = re.compile(r"[0-9a-f-]+")
# Which listing holds each kind of id, and the argument names that carry one.
LISTINGS = {"task": ("/tasks", "task_id"), "session": ("/sessions", "session_id")}


class NoSuchId(CliError):
    """No id of the caller's starts with the prefix (exit 1, as the API's 404 would be)."""


def resolve(ctx: Context, kind: str, typed: str) -> str:
    """The whole id `typed` names. Raises UsageError for a prefix under 8 characters or one that fits
    several ids (listing them), and NoSuchId when none fits."""
    lowered = typed.lower()
    if _WHOLE.fullmatch(lowered) or not _PART.fullmatch(lowered):
        return typed
    if len(lowered) < MIN_PREFIX:
        raise UsageError(f"{kind} id {typed!r} is too short: give the whole id or at least {MIN_PREFIX} characters")
    path, key = LISTINGS[kind]
    matches = sorted({str(item[key]) for item in ctx.pages(path, None) if str(item.get(key, "")).startswith(lowered)})
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise NoSuchId(f"none of your {kind}s has an id starting with {typed!r}")
    raise UsageError(f"{kind} id {typed!r} fits {len(matches)} {kind}s: {', '.join(matches)}; give more of it")


def resolve_args(ctx: Context, args: argparse.Namespace) -> None:
    """Replace each id the command was given (`task_id`, `session_id`) by the whole id it names."""
    for kind, (_, key) in LISTINGS.items():
        typed = getattr(args, key, None)
        if typed:
            setattr(args, key, resolve(ctx, kind, typed))
