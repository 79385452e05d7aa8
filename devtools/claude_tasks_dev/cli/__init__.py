"""claude-tasks: the Claude Task Server from the command line (the local stack unless --api-url is given).

Exit status: 0 ok; 1 the API answered an error; 2 bad usage; 3 the service is
not reachable (or no local stack runs); 4 the outcome is not a success (a task
waited for ended failed/cancelled/exhausted, the audit found violations, or a
redrive refused a message); 5 `--wait` timed out.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from claude_tasks_dev.cli import admin, agent, commands
from claude_tasks_dev.cli.client import EXIT_OK, EXIT_USAGE, ApiClient, CliError
from claude_tasks_dev.cli.context import Context
from claude_tasks_dev.cli.target import resolve

__all__ = ["main"]


def _global_options(parser: argparse.ArgumentParser, defaults: bool) -> None:
    """The options every command takes, before or after its name (`claude-tasks sessions list --json`)."""

    def default(value: object) -> object:
        # After the command, an absent option must not overwrite one given before it.
        return value if defaults else argparse.SUPPRESS

    parser.add_argument("--api-url", default=default(None), help="a deployed API (env CLAUDE_TASKS_API_URL)")
    parser.add_argument(
        "--token", default=default(None), help="bearer token (env CLAUDE_TASKS_TOKEN); locally a principal's name"
    )
    parser.add_argument("--stack-file", default=default(None), help="the local stack's stack.json")
    parser.add_argument("--json", action="store_true", default=default(False), help="print JSON for scripts")
    parser.add_argument("--timeout", type=float, default=default(30.0), help="seconds per HTTP request")


_COMMON = argparse.ArgumentParser(add_help=False)
_global_options(_COMMON, defaults=False)


def _add(
    group: argparse._SubParsersAction[argparse.ArgumentParser], name: str, handler: object, help: str
) -> argparse.ArgumentParser:
    parser = group.add_parser(name, help=help, description=help, parents=[_COMMON])
    parser.set_defaults(handler=handler)
    return parser


def _wait_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--wait", action="store_true", help="follow the task to its end, then print the reply")
    parser.add_argument(
        "--wait-timeout", type=float, default=300.0, metavar="S", help="give up waiting after S seconds"
    )


def _session_commands(top: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    group = top.add_parser("sessions", help="open, list, show and delete sessions").add_subparsers(required=True)
    create = _add(group, "create", commands.sessions_create, "open a session for a project")
    create.add_argument("project_path", help="absolute path of the project")
    create.add_argument("--name")
    agent.mcp_config_option(create, "MCP servers for its claude-code tasks that name none")
    create.add_argument("-q", "--quiet", action="store_true", help="print only the new session's id")
    _add(group, "list", commands.sessions_list, "your sessions, newest first").add_argument(
        "--limit", type=int, default=50
    )
    _add(group, "show", commands.sessions_show, "one session").add_argument("session_id")
    delete = _add(group, "delete", commands.sessions_delete, "delete a session (409 while it has tasks)")
    delete.add_argument("session_id")
    delete.add_argument("--cascade", action="store_true", help="delete its tasks and their interactions first")


def _task_commands(top: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    run = _add(top, "run", commands.run, "queue a prompt as a new task in a session")
    run.add_argument("session_id")
    run.add_argument("prompt")
    for option in ("--title", "--backend", "--model", "--system"):
        run.add_argument(option)
    agent.add_options(run)
    run.add_argument("-q", "--quiet", action="store_true", help="print only the new task's id")
    _wait_options(run)
    group = top.add_parser("tasks", help="list, show, follow up, retry, cancel and delete tasks").add_subparsers(
        required=True
    )
    listing = _add(group, "list", commands.tasks_list, "a session's tasks")
    listing.add_argument("session_id")
    listing.add_argument("--status")
    listing.add_argument("--limit", type=int, default=50)
    _add(group, "show", commands.tasks_show, "one task").add_argument("task_id")
    follow_up = _add(group, "follow-up", commands.tasks_follow_up, "continue the task's conversation")
    follow_up.add_argument("task_id")
    follow_up.add_argument("prompt")
    _wait_options(follow_up)
    retry = _add(group, "retry", commands.tasks_retry, "queue a failed, exhausted or cancelled task again")
    retry.add_argument("task_id")
    _wait_options(retry)
    _add(group, "cancel", commands.tasks_cancel, "cancel a queued or running task").add_argument("task_id")
    _add(group, "delete", commands.tasks_delete, "delete a task and its interactions").add_argument("task_id")
    turns = _add(top, "interactions", commands.interactions, "a task's turns, in order")
    turns.add_argument("task_id")
    turns.add_argument("--after-seq", type=int, default=0, help="only turns after this seq")
    turns.add_argument("--limit", type=int, default=1000)


def _admin_commands(top: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    audit = _add(top, "audit", admin.audit, "the consistency report; exit 4 when it finds violations")
    audit.add_argument("--direct", action="store_true", help="read the local stack's tables instead of the API")
    group = top.add_parser("dlq", help="the dead-letter queues").add_subparsers(required=True, dest="action")
    for name, handler, help in (
        ("list", admin.dlq_list, "dead letters with the worker's reasons (they stay there)"),
        ("redrive", admin.dlq_redrive, "send dead letters back to their task queues; exit 4 if any was refused"),
    ):
        parser = _add(group, name, handler, help)
        parser.add_argument("--limit", type=int, default=100)
        parser.add_argument("--dlq-url", help="read this DLQ straight from SQS (your AWS credentials; no reasons)")
        parser.add_argument("--queue-url", help="with --dlq-url: the task queue a redrive sends to")
        if name == "redrive":
            parser.add_argument("message_ids", nargs="*", help="the messages to redrive (default: every one)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="claude-tasks",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
        epilog=(__doc__ or "").split("\n\n")[1],
    )
    _global_options(parser, defaults=True)
    top = parser.add_subparsers(required=True, metavar="COMMAND")
    _session_commands(top)
    _task_commands(top)
    _admin_commands(top)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns (and as a script exits with) the documented status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0) if isinstance(exit_.code, int) else EXIT_USAGE
    try:
        target = resolve(args.api_url, args.token, args.stack_file, os.environ)
        client = ApiClient(target.api_url, target.token, args.timeout)
        color = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
        context = Context(target, client, json=args.json, color=color)
        code: int = args.handler(context, args)
        return code
    except CliError as err:
        print(f"claude-tasks: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `claude-tasks ... | head`: the reader has gone. Quiet the flush at exit, which would raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
