"""claude-tasks: the Claude Task Server from the command line (the local stack unless --api-url is given).

Exit status: 0 ok; 1 the API answered an error; 2 bad usage; 3 the service is
not reachable (or no local stack runs); 4 the outcome is not a success (a task
waited for ended failed/cancelled/exhausted, the audit found violations, or a
redrive refused a message); 5 `--wait` timed out; 130 Ctrl-C (a task followed keeps
running). Ids: the whole id, or any unique prefix of at least 8 characters.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from claude_tasks_dev.cli import admin, agent, commands, events, ids, quotas, watch
from claude_tasks_dev.cli.client import EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, ApiClient, ApiError, CliError
from claude_tasks_dev.cli.context import Context
from claude_tasks_dev.cli.target import Target, resolve

__all__ = ["main"]

STATUSES = ("queued", "running", "succeeded", "failed", "cancelled", "exhausted")


def _global_options(parser: argparse.ArgumentParser, defaults: bool) -> None:
    """The options every command takes, before or after its name (`claude-tasks sessions list --json`)."""

    def default(value: object) -> object:
        # After the command, an absent option must not overwrite one given before it.
        return value if defaults else argparse.SUPPRESS

    parser.add_argument("--api-url", default=default(None), help="a deployed API (env CLAUDE_TASKS_API_URL)")
    parser.add_argument(
        "--token",
        default=default(None),
        help="bearer token (env CLAUDE_TASKS_TOKEN); locally a principal's name, default $USER",
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


def _list_options(parser: argparse.ArgumentParser, default: int = 50) -> None:
    parser.add_argument("--limit", type=int, default=default, help=f"at most N items (default {default})")
    parser.add_argument("--all", action="store_true", help="every item, page after page")
    parser.add_argument("--cursor", help="start at this page (a listing that goes on prints its next one)")


def _session_commands(top: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    group = top.add_parser("sessions", help="open, list, show and delete sessions").add_subparsers(required=True)
    create = _add(group, "create", commands.sessions_create, "open a session for a project")
    create.add_argument("project_path", help="absolute path of the project")
    create.add_argument("--name")
    agent.mcp_config_option(create, "MCP servers for its claude-code tasks that name none")
    create.add_argument("-q", "--quiet", action="store_true", help="print only the new session's id")
    _list_options(_add(group, "list", commands.sessions_list, "your sessions, newest first"))
    _add(group, "show", commands.sessions_show, "one session").add_argument("session_id")
    delete = _add(group, "delete", commands.sessions_delete, "delete a session (409 while it has tasks)")
    delete.add_argument("session_id")
    delete.add_argument("--cascade", action="store_true", help="delete its tasks and their interactions first")


def _task_commands(top: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    run = _add(top, "run", commands.run, "queue a prompt as a new task in a session")
    run.add_argument("session_id")
    run.add_argument("prompt")
    run.add_argument("--title")
    run.add_argument("--backend", help="a backend this deployment offers (default: its default)")
    run.add_argument("--model", help="the Claude model (default: the backend's)")
    run.add_argument("--system", help="a system prompt")
    run.add_argument("--max-tokens", type=int, metavar="N", help="at most N tokens per reply")
    run.add_argument("--metadata", metavar="JSON", help='free-form JSON object, e.g. \'{"ticket": "T-1"}\'')
    agent.add_options(run)
    run.add_argument("-q", "--quiet", action="store_true", help="print only the new task's id")
    _wait_options(run)
    fork = _add(top, "fork", commands.fork, "a new task continuing a task's conversation (its own Claude session)")
    fork.add_argument("task_id")
    fork.add_argument("prompt", nargs="?", help="without one, the fork is a copy that ends succeeded at once")
    fork.add_argument("--session", dest="session_id", metavar="SESSION_ID", help="another of your sessions")
    fork.add_argument("-q", "--quiet", action="store_true", help="print only the new task's id")
    _wait_options(fork)
    follow = _add(top, "watch", watch.watch, "follow a task: its interactions as they arrive, until it ends")
    follow.add_argument("task_id")
    follow.add_argument("--after-seq", type=int, default=0, help="only interactions after this seq (default: all)")
    listed = _add(top, "interactions", commands.interactions, "a task's interactions, in order")
    listed.add_argument("task_id")
    listed.add_argument("--after-seq", type=int, default=0, help="only interactions after this seq")
    _list_options(listed, default=1000)


def _tasks_group(top: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    group = top.add_parser("tasks", help="list, show, edit, follow up, retry, cancel and delete tasks").add_subparsers(
        required=True
    )
    listing = _add(group, "list", commands.tasks_list, "a session's tasks; without one, yours across sessions")
    listing.add_argument("session_id", nargs="?", help="default: all your sessions, newest task first")
    listing.add_argument("--status", choices=STATUSES)
    _list_options(listing)
    _add(group, "show", commands.tasks_show, "one task").add_argument("task_id")
    edit = _add(group, "edit", commands.tasks_edit, "change a task's title or metadata")
    edit.add_argument("task_id")
    edit.add_argument("--title")
    edit.add_argument("--metadata", metavar="JSON", help="replaces the metadata: a JSON object")
    edit.add_argument("--clear-metadata", action="store_true", help="remove all metadata")
    follow_up = _add(group, "follow-up", commands.tasks_follow_up, "continue the task's conversation")
    follow_up.add_argument("task_id")
    follow_up.add_argument("prompt")
    _wait_options(follow_up)
    retry = _add(group, "retry", commands.tasks_retry, "queue a failed, exhausted or cancelled task again")
    retry.add_argument("task_id")
    _wait_options(retry)
    _add(group, "cancel", commands.tasks_cancel, "cancel a queued or running task").add_argument("task_id")
    _add(group, "delete", commands.tasks_delete, "delete a task and its interactions").add_argument("task_id")


def _admin_commands(top: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    audit = _add(top, "audit", admin.audit, "the consistency report; exit 4 when it finds violations")
    audit.add_argument("--direct", action="store_true", help="read the local stack's tables instead of the API")
    recount = _add(
        top, "recount", admin.recount, "set a session's or owner's task counters to what its tasks add up to"
    )
    subject = recount.add_mutually_exclusive_group(required=True)
    subject.add_argument("--session", dest="session_id", help="the session to recount")
    subject.add_argument("--owner", help="the owner whose counters (tasks by status, active) to recount")
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


def _quota_commands(top: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    shown = _add(top, "usage", quotas.usage, "your totals (all time, this month, last 30 days) and your quota")
    shown.add_argument("--owner", help="another owner's (an admin's token; locally the stack's admin)")
    group = top.add_parser("quotas", help="owners' quotas (admins)").add_subparsers(required=True)
    _add(group, "get", quotas.quotas_get, "an owner's overrides and the quota that applies").add_argument("owner")
    put = _add(
        group,
        "set",
        quotas.quotas_set,
        "replace an owner's overrides: a limit not given takes the default, 0 is no limit",
    )
    put.add_argument("owner")
    put.add_argument("--max-active", type=int, metavar="N", help="tasks queued or running at once")
    put.add_argument("--per-minute", type=int, metavar="M", help="tasks created per minute")
    put.add_argument("--monthly-usd", type=float, metavar="X", help="spend per month, in USD")
    clear = _add(group, "clear", quotas.quotas_clear, "drop an owner's overrides: the defaults apply")
    clear.add_argument("owner")


def _event_commands(top: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    group = top.add_parser("events", help="the local stack's task events").add_subparsers(required=True)
    tail = _add(group, "tail", events.tail, "the last task events the local bus received; -f follows new ones")
    tail.add_argument("-n", "--lines", type=int, default=20, help="how many past events to print first")
    tail.add_argument("-f", "--follow", action="store_true", help="keep printing new events until Ctrl-C")
    tail.add_argument("--owner", help="only this owner's tasks")
    tail.add_argument("--task", help="only this task")


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
    _tasks_group(top)
    _admin_commands(top)
    _quota_commands(top)
    _event_commands(top)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns (and as a script exits with) the documented status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0) if isinstance(exit_.code, int) else EXIT_USAGE
    target: Target | None = None
    try:
        target = resolve(args.api_url, args.token, args.stack_file, os.environ)
        client = ApiClient(target.api_url, target.token, args.timeout, unreachable=target.unreachable)
        color = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
        context = Context(target, client, json=args.json, color=color)
        ids.resolve_args(context, args)
        code: int = args.handler(context, args)
        return code
    except ApiError as err:
        # A bare "401" does not say whose token was refused, nor where the CLI got it.
        message = target.refused(err.status) if err.status == 401 and target is not None else str(err)
        print(f"claude-tasks: {message}", file=sys.stderr)
        return err.exit_code
    except CliError as err:
        print(f"claude-tasks: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # `claude-tasks ... | head`: the reader has gone. Quiet the flush at exit, which would raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
