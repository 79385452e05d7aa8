"""The commands on sessions, tasks and interactions: one API call each (plus `--wait`)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from claude_tasks_dev.cli import output, turns
from claude_tasks_dev.cli.agent import read_mcp_config, task_options
from claude_tasks_dev.cli.client import EXIT_OK, segment
from claude_tasks_dev.cli.context import Context
from claude_tasks_dev.cli.wait import outcome, wait_and_report, wait_for

SESSION_FIELDS = ("session_id", "name", "project_path", "status", "task_count", "owner", "created_at", "updated_at")
TASK_FIELDS = (
    "task_id", "session_id", "status", "title", "prompt", "pending_prompts", "backend", "model", "claude_session_id",
    "interaction_count", "usage", "cost_usd", "error", "forked_from", "created_at", "updated_at",
)  # fmt: skip
# Claude Code's options: shown when a task has them.
AGENT_FIELDS = ("allowed_tools", "disallowed_tools", "permission_mode", "mcp_servers", "workspace", "worktree")
SESSION_COLUMNS = [
    ("session_id", "SESSION", None), ("name", "NAME", 24), ("project_path", "PROJECT", 40),
    ("task_count", "TASKS", None), ("created_at", "CREATED (UTC)", None),
]  # fmt: skip
TASK_COLUMNS = [
    ("task_id", "TASK", None), ("status", "STATUS", None), ("interaction_count", "TURNS", None),
    ("prompt", "PROMPT", 48), ("created_at", "CREATED (UTC)", None),
]  # fmt: skip


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
    ctx.show(ctx.pages("/sessions", args.limit), lambda rows: output.table(rows, SESSION_COLUMNS))
    return EXIT_OK


def sessions_show(ctx: Context, args: argparse.Namespace) -> int:
    session = ctx.client.call("GET", f"/sessions/{segment(args.session_id)}")
    ctx.show(session, _session)
    return EXIT_OK


def sessions_delete(ctx: Context, args: argparse.Namespace) -> int:
    query = {"cascade": "true"} if args.cascade else None
    ctx.client.call("DELETE", f"/sessions/{segment(args.session_id)}", query=query)
    ctx.note(f"deleted session {args.session_id}")
    return EXIT_OK


def run(ctx: Context, args: argparse.Namespace) -> int:
    asked = {"prompt": args.prompt, "title": args.title, "backend": args.backend, "model": args.model}
    asked["system"] = args.system
    body = {k: v for k, v in asked.items() if v is not None} | task_options(args)
    task = ctx.client.call("POST", f"/sessions/{segment(args.session_id)}/tasks", body)
    if args.wait and args.quiet and not ctx.json:
        # `TID=$(claude-tasks run … --wait -q)`: only the id on stdout, once the task ended (exit status as --wait).
        ended = wait_for(ctx, task["task_id"], args.wait_timeout)
        print(task["task_id"], file=ctx.out)
        return outcome(ctx, ended)
    if args.wait:
        return wait_and_report(ctx, task["task_id"], 0, args.wait_timeout)
    _created(ctx, args, task, "task_id", _task)
    return EXIT_OK


def tasks_list(ctx: Context, args: argparse.Namespace) -> int:
    rows = ctx.pages(f"/sessions/{segment(args.session_id)}/tasks", args.limit, {"status": args.status})
    ctx.show(rows, lambda r: output.table(r, TASK_COLUMNS))
    return EXIT_OK


def tasks_show(ctx: Context, args: argparse.Namespace) -> int:
    task = ctx.client.call("GET", f"/tasks/{segment(args.task_id)}")
    ctx.show(task, _task)
    return EXIT_OK


def tasks_follow_up(ctx: Context, args: argparse.Namespace) -> int:
    return _requeue(ctx, args, "messages", {"prompt": args.prompt})


def tasks_retry(ctx: Context, args: argparse.Namespace) -> int:
    return _requeue(ctx, args, "retry", None)


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
    listed = ctx.pages(f"/tasks/{segment(args.task_id)}/interactions", args.limit, query)
    ctx.show(listed, lambda rows: turns.conversation(rows, dim=ctx.color))
    return EXIT_OK
