"""`claude-tasks watch TASK_ID`: a task's interactions as they are recorded, and its status, until it ends.

On a terminal a status line at the bottom says where the task is; otherwise (a
pipe, a log) a plain line on stderr for each status it moves to. Ctrl-C stops the
watching, never the task: it says so, and how to watch again.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from claude_tasks_dev.cli import turns
from claude_tasks_dev.cli.client import segment
from claude_tasks_dev.cli.context import Context
from claude_tasks_dev.cli.wait import FINISHED, POLL_S, StatusLine, StillRunning, outcome

Turn = dict[str, Any]


def watch(ctx: Context, args: argparse.Namespace) -> int:
    return follow(ctx, args.task_id, args.after_seq)


def follow(ctx: Context, task_id: str, after_seq: int = 0) -> int:
    """Print the interactions after `after_seq` as they arrive until the task ends; then its exit status (0
    succeeded, 4 otherwise). Raises StillRunning on Ctrl-C."""
    line = StatusLine(ctx, task_id)
    held: list[Turn] = []  # received, not yet printed: a tool call waiting for its result
    seq = after_seq
    try:
        while True:
            # The status first: once it is an end state, the interactions read after it are all there are.
            task: dict[str, Any] = ctx.client.call("GET", f"/tasks/{segment(task_id)}")
            new = ctx.pages(f"/tasks/{segment(task_id)}/interactions", None, {"after_seq": seq})
            seq = int(new[-1]["seq"]) if new else seq
            ended = task.get("status") in FINISHED
            ready, held = _ready(held + new, ended)
            if ready:
                line.clear()
                _print(ctx, ready)
            line.show(task)
            if ended:
                line.end(task)
                return outcome(ctx, task)
            time.sleep(POLL_S)
    except KeyboardInterrupt:
        line.clear()
        raise StillRunning(task_id) from None


def _ready(received: list[Turn], ended: bool) -> tuple[list[Turn], list[Turn]]:
    """The interactions to print now and those to hold: a tool call is held until its result arrives (then both
    print as one line), and what follows it with it; an ended task's all print."""
    if ended:
        return received, []
    results = {t.get("tool_use_id") for t in received if t.get("stop_reason") in turns.RESULTS}
    for i, turn in enumerate(received):
        if (
            turn.get("role") == "tool"
            and turn.get("stop_reason") == turns.USE
            and turn.get("tool_use_id") not in results
        ):
            return received[:i], received[i:]
    return received, []


def _print(ctx: Context, ready: list[Turn]) -> None:
    if ctx.json:  # JSON Lines: one interaction a line, as the API returns it
        for turn in ready:
            print(json.dumps(turn, ensure_ascii=False), file=ctx.out, flush=True)
    else:
        print(turns.conversation(ready, dim=ctx.color) + "\n", file=ctx.out, flush=True)
