"""`--wait`: follow a task until it ends, showing progress, then print what Claude answered."""

from __future__ import annotations

import time
from typing import Any

from claude_tasks_dev.cli import output, turns
from claude_tasks_dev.cli.client import EXIT_INTERRUPTED, EXIT_OK, EXIT_OUTCOME, EXIT_TIMEOUT, CliError, segment
from claude_tasks_dev.cli.context import Context

FINISHED = frozenset({"succeeded", "failed", "cancelled", "exhausted"})
POLL_S = 0.5


class WaitTimeout(CliError):
    exit_code = EXIT_TIMEOUT


class StatusLine:
    """Where a followed task is: live, one line redrawn in place, when `live` (default: stdout and stderr
    are both a terminal); else a plain line on stderr each time its status changes. The whole id is shown:
    it is what the other commands take."""

    def __init__(self, ctx: Context, task_id: str, live: bool | None = None) -> None:
        self._ctx, self._task_id = ctx, task_id
        self.live = ctx.out.isatty() and ctx.err.isatty() if live is None else live
        self._started = time.monotonic()
        self._shown: object = None

    def show(self, task: dict[str, Any]) -> None:
        status = task.get("status")
        if self.live:
            elapsed = time.monotonic() - self._started
            count = task.get("interaction_count", 0)
            text = f"task {self._task_id}: {status} · {elapsed:.0f}s · {count} interaction(s) · Ctrl-C stops watching"
            print(f"\r\033[K{text}", end="", file=self._ctx.err, flush=True)
        elif status != self._shown:
            self._ctx.note(f"task {self._task_id}: {status}")
        self._shown = status

    def clear(self) -> None:
        if self.live:
            print("\r\033[K", end="", file=self._ctx.err, flush=True)

    def end(self, task: dict[str, Any]) -> None:
        if self.live:
            elapsed = time.monotonic() - self._started
            print(f"\r\033[Ktask {self._task_id}: {task.get('status')} after {elapsed:.1f}s", file=self._ctx.err)


class StillRunning(CliError):
    """Ctrl-C while following a task: it stops the following, not the task (exit 130, as for SIGINT)."""

    exit_code = EXIT_INTERRUPTED

    def __init__(self, task_id: str) -> None:
        super().__init__(
            f"stopped watching; task {task_id} keeps running. Watch it again with: claude-tasks watch {task_id}"
        )


def wait_for(ctx: Context, task_id: str, timeout_s: float) -> dict[str, Any]:
    """The task once its status is an end state. Raises WaitTimeout when `timeout_s` passes first,
    StillRunning on Ctrl-C."""
    line = StatusLine(ctx, task_id, live=ctx.err.isatty())
    try:
        return _poll(ctx, task_id, timeout_s, line)
    except KeyboardInterrupt:
        line.clear()
        raise StillRunning(task_id) from None


def _poll(ctx: Context, task_id: str, timeout_s: float, line: StatusLine) -> dict[str, Any]:
    started = time.monotonic()
    while True:
        task: dict[str, Any] = ctx.client.call("GET", f"/tasks/{segment(task_id)}")
        status = task.get("status")
        line.show(task)
        if status in FINISHED:
            line.end(task)
            return task
        if time.monotonic() - started > timeout_s:
            if line.live:
                print(file=ctx.err)
            raise WaitTimeout(
                f"task {task_id} is still {status} after {timeout_s:g}s; follow it with: claude-tasks watch {task_id}"
            )
        time.sleep(POLL_S)


def wait_and_report(ctx: Context, task_id: str, after_seq: int, timeout_s: float) -> int:
    """Wait, then print the interactions after `after_seq` that are not the caller's own prompts.

    Exit status: 0 when the task succeeded, 4 when it ended otherwise (its error
    on stderr), 5 on timeout (raised), 130 on Ctrl-C (the task keeps running: a note says how to watch it).
    """
    task = wait_for(ctx, task_id, timeout_s)
    listed = ctx.pages(f"/tasks/{segment(task_id)}/interactions", None, {"after_seq": after_seq})
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
