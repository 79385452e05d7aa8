"""`--wait`: follow a task until it ends, showing progress, then print what Claude answered."""

from __future__ import annotations

import time
from typing import Any

from claude_tasks_dev.cli import output, turns
from claude_tasks_dev.cli.client import EXIT_OK, EXIT_OUTCOME, EXIT_TIMEOUT, CliError, segment
from claude_tasks_dev.cli.context import Context

FINISHED = frozenset({"succeeded", "failed", "cancelled", "exhausted"})
POLL_S = 0.5


class WaitTimeout(CliError):
    exit_code = EXIT_TIMEOUT


def wait_for(ctx: Context, task_id: str, timeout_s: float) -> dict[str, Any]:
    """The task once its status is an end state. Raises WaitTimeout when `timeout_s` passes first."""
    started = time.monotonic()
    shown = None
    live = ctx.err.isatty()
    while True:
        task: dict[str, Any] = ctx.client.call("GET", f"/tasks/{segment(task_id)}")
        status = task.get("status")
        elapsed = time.monotonic() - started
        if live:
            print(f"\r\033[K{task_id[:8]}… {status} {elapsed:4.1f}s", end="", file=ctx.err, flush=True)
        elif status != shown:
            ctx.note(f"task {task_id}: {status}")
        shown = status
        if status in FINISHED:
            if live:
                print(f"\r\033[K{task_id[:8]}… {status} in {elapsed:.1f}s", file=ctx.err)
            return task
        if elapsed > timeout_s:
            if live:
                print(file=ctx.err)
            raise WaitTimeout(
                f"task {task_id} is still {status} after {timeout_s:g}s; "
                f"look again with: claude-tasks tasks show {task_id}"
            )
        time.sleep(POLL_S)


def wait_and_report(ctx: Context, task_id: str, after_seq: int, timeout_s: float) -> int:
    """Wait, then print the turns after `after_seq` that are not the caller's own prompts.

    Exit status: 0 when the task succeeded, 4 when it ended otherwise (its error
    on stderr), 5 on timeout (raised).
    """
    task = wait_for(ctx, task_id, timeout_s)
    listed = ctx.pages(f"/tasks/{segment(task_id)}/interactions", 10_000, {"after_seq": after_seq})
    if ctx.json:
        print(output.as_json({"task": task, "interactions": listed}), file=ctx.out)
    else:
        replies = [t for t in listed if t.get("role") != "user"]
        print(turns.conversation(replies, dim=ctx.color) if replies else "(no reply recorded)", file=ctx.out)
    return outcome(ctx, task)


def outcome(ctx: Context, task: dict[str, Any]) -> int:
    """The exit status for an ended task: 0 when it succeeded, 4 otherwise (its error on stderr)."""
    if task.get("status") == "succeeded":
        return EXIT_OK
    ctx.note(f"task {task['task_id']} ended {task.get('status')}" + (f": {task['error']}" if task.get("error") else ""))
    return EXIT_OUTCOME
