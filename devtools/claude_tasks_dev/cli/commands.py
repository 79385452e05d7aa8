"""The commands on sessions, tasks and interactions: one API call each (plus `--wait`, paging and id prefixes)."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any

from claude_tasks_dev.cli import output, turns
from claude_tasks_dev.cli.agent import read_mcp_config, task_options
from claude_tasks_dev.cli.client import EXIT_OK, ApiError, UsageError, segment
from claude_tasks_dev.cli.context import Context
from claude_tasks_dev.cli.wait import outcome, wait_and_report, wait_for

SESSION_FIELDS = ("session_id", "name", "project_path", "status", "task_count", "owner", "created_at", "updated_at")
TASK_FIELDS = (
    "task_id", "session_id", "status", "title", "prompt", "pending_prompts", "backend", "model", "claude_session_id",
    "turns", "interaction_count", "usage", "cost_usd", "error", "forked_from", "created_at", "updated_at",
)  # fmt: skip
# Claude Code's options: shown when a task has them.
AGENT_FIELDS = ("allowed_tools", "disallowed_tools", "permission_mode", "mcp_servers", "workspace", "worktree")
SESSION_COLUMNS = [
    ("session_id", "SESSION", None), ("name", "NAME", 24), ("project_path", "PROJECT", 40),
    ("task_count", "TASKS", None), ("created_at", "CREATED (UTC)", None),
]  # fmt: skip
# TURNS is the API's `turns`: prompts answered (a prompt and its reply are one turn, however many
# interactions the reply took); `tasks show` has `interaction_count` beside it.
TASK_COLUMNS = [
    ("task_id", "TASK", None), ("status", "STATUS", None), ("turns", "TURNS", None),
    ("prompt", "PROMPT", 48), ("created_at", "CREATED (UTC)", None),
]  # fmt: skip
MY_TASK_COLUMNS = [*TASK_COLUMNS[:1], ("session_id", "SESSION", None), *TASK_COLUMNS[1:]]


def _created(
    ctx: Context, args: argparse.Namespace, record: dict[str, Any], id_key: str, render: Callable[[Any], str]
) -> None:
    if getattr(args, "quiet", False) and not ctx.json:
        print(record[id_key], file=ctx.out)  # for `ID=$(claude-tasks ... -q)`
    else:
        ctx.show(record, render)


def _session(session: dict[str, Any]) -> str:
    shown = {**session, "mcp_servers": _servers(session.get("mcp_servers"))}
    return output.fields(shown, SESSION_FIELDS + (("mcp_servers",) if shown["mcp_servers"] else ()))


def _task(task: dict[str, Any]) -> str:
    shown = {**task, "mcp_servers": _servers(task.get("mcp_servers"))}
    agent = tuple(key for key in AGENT_FIELDS if shown.get(key) not in (None, "project"))
    return output.fields(shown, TASK_FIELDS + agent)


def _servers(servers: dict[str, Any] | None) -> str | None:
    # By name and kind: their settings (secrets masked) are in --json.
    if servers is None:
        return None
    return ", ".join(f"{name} ({server.get('type', 'stdio')})" for name, server in servers.items()) or "none"


def sessions_create(ctx: Context, args: argparse.Namespace) -> int:
    body = {"project_path": args.project_path, "name": args.name, "mcp_servers": read_mcp_config(args.mcp_config)}
    session = ctx.client.call("POST", "/sessions", {k: v for k, v in body.items() if v is not None})
    _created(ctx, args, session, "session_id", _session)
    return EXIT_OK


def sessions_list(ctx: Context, args: argparse.Namespace) -> int:
    listing = ctx.listing("/sessions", _limit(args), cursor=args.cursor)
    ctx.show_list(listing, lambda rows: output.table(rows, SESSION_COLUMNS), "claude-tasks sessions list")
    return EXIT_OK


def _limit(args: argparse.Namespace) -> int | None:
    return None if args.all else int(args.limit)


def sessions_show(ctx: Context, args: argparse.Namespace) -> int:
    session = ctx.client.call("GET", f"/sessions/{segment(args.session_id)}")
    ctx.show(session, _session)
    return EXIT_OK


def sessions_delete(ctx: Context, args: argparse.Namespace) -> int:
    query = {"cascade": "true"} if args.cascade else None
    try:
        ctx.client.call("DELETE", f"/sessions/{segment(args.session_id)}", query=query)
    except ApiError as error:
        if error.status == 409 and "cascade=true" in error.detail:  # the API's words are for HTTP callers
            raise error.saying(error.detail.replace("pass cascade=true", "pass --cascade")) from None
        raise
    ctx.note(f"deleted session {args.session_id}")
    return EXIT_OK


def run(ctx: Context, args: argparse.Namespace) -> int:
    asked = {"prompt": args.prompt, "title": args.title, "backend": args.backend, "model": args.model}
    asked |= {"system": args.system, "max_tokens": args.max_tokens, "metadata": read_metadata(args.metadata)}
    body = {k: v for k, v in asked.items() if v is not None} | task_options(args)
    task = ctx.client.call("POST", f"/sessions/{segment(args.session_id)}/tasks", body)
    return _new_task(ctx, args, task, 0)


def _new_task(ctx: Context, args: argparse.Namespace, task: dict[str, Any], after_seq: int) -> int:
    """Show a task just created, or with `--wait` follow it and print the turns after `after_seq`."""
    if args.wait and args.quiet and not ctx.json:
        # `TID=$(claude-tasks run … --wait -q)`: only the id on stdout, once the task ended (exit status as --wait).
        ended = wait_for(ctx, task["task_id"], args.wait_timeout)
        print(task["task_id"], file=ctx.out)
        return outcome(ctx, ended)
    if args.wait:
        return wait_and_report(ctx, task["task_id"], after_seq, args.wait_timeout)
    _created(ctx, args, task, "task_id", _task)
    return EXIT_OK


def tasks_list(ctx: Context, args: argparse.Namespace) -> int:
    """A session's tasks (oldest first), or without one the caller's tasks across sessions (newest first)."""
    query = {"status": args.status}
    if args.session_id:
        path, columns, again = f"/sessions/{segment(args.session_id)}/tasks", TASK_COLUMNS, args.session_id
    else:
        path, columns, again = "/tasks", MY_TASK_COLUMNS, ""
    listing = ctx.listing(path, _limit(args), query, args.cursor)
    hint = " ".join(["claude-tasks tasks list", again, f"--status {args.status}" if args.status else ""])
    ctx.show_list(listing, lambda rows: output.table(rows, columns), " ".join(hint.split()))
    return EXIT_OK


def tasks_show(ctx: Context, args: argparse.Namespace) -> int:
    task = ctx.client.call("GET", f"/tasks/{segment(args.task_id)}")
    ctx.show(task, _task)
    return EXIT_OK


def tasks_follow_up(ctx: Context, args: argparse.Namespace) -> int:
    return _requeue(ctx, args, "messages", {"prompt": args.prompt})


def tasks_retry(ctx: Context, args: argparse.Namespace) -> int:
    try:
        return _requeue(ctx, args, "retry", None)
    except ApiError as error:
        if error.status == 409 and "already succeeded" in error.detail:
            raise error.saying(
                f"task {args.task_id} already succeeded: there is nothing to run again. To continue its "
                f'conversation, send a follow-up: claude-tasks tasks follow-up {args.task_id} "your prompt"'
            ) from None
        raise


def tasks_edit(ctx: Context, args: argparse.Namespace) -> int:
    """Change the title and/or the metadata (PATCH: what is not given stays)."""
    body: dict[str, Any] = {}
    if args.title is not None:
        body["title"] = args.title
    if args.clear_metadata:
        body["metadata"] = None
    elif args.metadata is not None:
        body["metadata"] = read_metadata(args.metadata)
    if not body:
        raise UsageError("tasks edit: give --title, --metadata or --clear-metadata")
    task = ctx.client.call("PATCH", f"/tasks/{segment(args.task_id)}", body)
    ctx.show(task, _task)
    return EXIT_OK


def fork(ctx: Context, args: argparse.Namespace) -> int:
    """A new task whose conversation starts from this one's; with a prompt it is queued (and `--wait` follows
    it), without one it is a copy that ends `succeeded` at once."""
    body = {k: v for k, v in {"prompt": args.prompt, "session_id": args.session_id}.items() if v is not None}
    task = ctx.client.call("POST", f"/tasks/{segment(args.task_id)}/fork", body)
    # Only what follows the copied turns is the fork's own reply.
    return _new_task(ctx, args, task, int(task.get("interaction_count", 0)))


def read_metadata(text: str | None) -> dict[str, Any] | None:
    """`--metadata '{"ticket": "T-1"}'`: a JSON object, or None when not given. Raises UsageError otherwise."""
    if text is None:
        return None
    try:
        value = json.loads(text)
    except ValueError as error:
        raise UsageError(f"--metadata is not JSON: {error}") from error
    if not isinstance(value, dict):
        raise UsageError('--metadata must be a JSON object, e.g. \'{"ticket": "T-1"}\'')
    return value


def _requeue(ctx: Context, args: argparse.Namespace, action: str, body: dict[str, Any] | None) -> int:
    path = f"/tasks/{segment(args.task_id)}"
    before = int(ctx.client.call("GET", path).get("interaction_count", 0)) if args.wait else 0
    task = ctx.client.call("POST", f"{path}/{action}", body if body is not None else {})
    if args.wait:
        return wait_and_report(ctx, args.task_id, before, args.wait_timeout)
    ctx.show(task, _task)
    return EXIT_OK


def tasks_cancel(ctx: Context, args: argparse.Namespace) -> int:
    task = ctx.client.call("POST", f"/tasks/{segment(args.task_id)}/cancel", {})
    ctx.show(task, _task)
    return EXIT_OK


def tasks_delete(ctx: Context, args: argparse.Namespace) -> int:
    ctx.client.call("DELETE", f"/tasks/{segment(args.task_id)}")
    ctx.note(f"deleted task {args.task_id}")
    return EXIT_OK


def interactions(ctx: Context, args: argparse.Namespace) -> int:
    query = {"after_seq": args.after_seq}
    listing = ctx.listing(f"/tasks/{segment(args.task_id)}/interactions", _limit(args), query, args.cursor)
    again = f"claude-tasks interactions {args.task_id}" + (f" --after-seq {args.after_seq}" if args.after_seq else "")
    ctx.show_list(listing, lambda rows: turns.conversation(rows, dim=ctx.color), again)
    return EXIT_OK
