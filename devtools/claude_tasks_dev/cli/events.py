"""`claude-tasks events tail`: the task events the local stack's bus received, as its log (`events_log`) holds them.

A deployed service's events are on its EventBridge bus: a rule sends them where they are wanted (README,
"Task events"); this command reads only the local stack's log.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from claude_tasks_dev.cli.client import EXIT_OK, Unreachable, UsageError
from claude_tasks_dev.cli.context import Context

FOLLOW_EVERY_S = 0.5


def tail(ctx: Context, args: argparse.Namespace) -> int:
    """Print the last `--lines` events (of `--owner` / `--task`), then, with `--follow`, each new one."""
    path = _log(ctx)
    shown = [event for event in _events(path.read_text().splitlines()) if _wanted(event, args)]
    for event in shown[-args.lines :] if args.lines else []:
        _print(ctx, event)
    if not args.follow:
        return EXIT_OK
    for event in _follow(path, path.stat().st_size):
        if _wanted(event, args):
            _print(ctx, event)
    return EXIT_OK  # `_follow` ends only with Ctrl-C (exit 130)


def render(event: dict[str, Any]) -> str:
    detail = event.get("detail", {})
    change = f"{detail.get('previous_status') or '-'} -> {detail.get('status')}"
    reason = f"  ({detail['reason']})" if detail.get("reason") else ""
    return (
        f"{detail.get('occurred_at', event.get('time', ''))}  {event.get('detail-type', ''):<16}  "
        f"{detail.get('task_id')}  {change:<24}  owner={detail.get('owner')}  id={detail.get('event_id')}{reason}"
    )


def _log(ctx: Context) -> Path:
    stack = ctx.target.stack
    if stack is None:
        raise UsageError("events tail reads the local stack's bus; a deployed bus sends events where its rules say")
    if not stack.get("events_log"):
        raise Unreachable("this local stack keeps no events log: restart `make dev` with this version")
    path = Path(stack["events_log"])
    if not path.is_file():
        raise Unreachable(f"no events log at {path}: is the local stack running?")
    return path


def _events(lines: list[str]) -> Iterator[dict[str, Any]]:
    for line in lines:
        try:
            yield json.loads(line)
        except ValueError:
            continue  # a line being written as it was read


def _wanted(event: dict[str, Any], args: argparse.Namespace) -> bool:
    detail = event.get("detail", {})
    return (args.owner is None or detail.get("owner") == args.owner) and (
        args.task is None or detail.get("task_id") == args.task
    )


def _print(ctx: Context, event: dict[str, Any]) -> None:
    print(json.dumps(event) if ctx.json else render(event), file=ctx.out, flush=True)


def _follow(path: Path, offset: int) -> Iterator[dict[str, Any]]:
    """The events appended after `offset`, as they come; starts over when the log was moved aside."""
    partial = ""
    while True:
        size = path.stat().st_size if path.is_file() else 0
        if size < offset:
            offset, partial = 0, ""
        if size > offset:
            with path.open() as source:
                source.seek(offset)
                chunk = source.read()
                offset = source.tell()
            *complete, partial = (partial + chunk).split("\n")
            yield from _events(complete)
        time.sleep(FOLLOW_EVERY_S)
