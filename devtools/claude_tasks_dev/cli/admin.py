"""Operator commands: the consistency report (`audit`), its counters' repair (`recount`) and the dead-letter
queues (`dlq`).

Both go through the API's admin routes (locally as the stack's `admin` principal; elsewhere the
caller's token must be an admin's). `audit --direct` reads the local tables instead, and `dlq` with
`--dlq-url` reads a DLQ straight from SQS, without the worker's reasons.
"""

from __future__ import annotations

import argparse
import os
import time
from typing import TYPE_CHECKING, Any

from claude_tasks_dev.checkout import FAKE_CREDENTIALS
from claude_tasks_dev.cli import output
from claude_tasks_dev.cli.client import EXIT_OK, EXIT_OUTCOME, ApiClient, UsageError
from claude_tasks_dev.cli.context import Context

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

REPORT_ROWS = (
    ("total_sessions", "Total sessions"),
    ("sessions_with_tasks", "Sessions with tasks"),
    ("orphaned_sessions", "Orphaned sessions (no tasks)"),
    ("total_tasks", "Total tasks"),
    ("tasks_with_valid_session", "Tasks with valid session_id"),
    ("total_interactions", "Total interactions"),
    ("tasks_with_claude_session_id", "Claude session ids assigned"),
    ("shared_claude_session_ids", "Claude session ids shared"),
    ("counters_not_checked", "Counters not checked (over 2,000 tasks)"),
)


def audit(ctx: Context, args: argparse.Namespace) -> int:
    """Print the report; exit 4 when it found violations."""
    report = _direct_report(ctx) if args.direct else _api_report(ctx, args)
    ctx.show(report, render_report)
    return EXIT_OUTCOME if report.get("violations") else EXIT_OK


def render_report(report: dict[str, Any]) -> str:
    width = max(len(label) for _, label in REPORT_ROWS)
    lines = [f"{label.ljust(width)}  {report.get(key, '-'):>6}" for key, label in REPORT_ROWS]
    violations = report.get("violations") or []
    lines.append("")
    lines.append(f"Violations: {len(violations)}" if violations else "Violations: none")
    lines.extend(f"  {v.get('kind')}  {v.get('subject')}  {v.get('detail')}" for v in violations)
    return "\n".join(lines)


def recount(ctx: Context, args: argparse.Namespace) -> int:
    """Recount a session's or an owner's task counters (after a `counter_drift`, or an upgrade); prints what was
    corrected."""
    body = {"owner": args.owner} if args.owner is not None else {"session_id": args.session_id}
    reply = admin_client(ctx, args).call("POST", "/admin/consistency/recount", body)
    ctx.show(reply, render_recount)
    return EXIT_OK


def render_recount(reply: dict[str, Any]) -> str:
    fixes = reply.get("corrected") or []
    subject = f"owner {reply['owner']}" if reply.get("owner") is not None else f"session {reply['session_id']}"
    if not fixes:
        return f"{subject}: counters already right"
    lines = [f"{subject}: corrected {len(fixes)} counter(s)"]
    lines.extend(f"  {f['counter']}  {f['stored']} -> {f['counted']}" for f in fixes)
    return "\n".join(lines)


def admin_client(ctx: Context, args: argparse.Namespace) -> ApiClient:
    # Locally the admin is the principal `admin`; elsewhere the caller's own token must be an admin's.
    if ctx.target.stack is not None and not args.token:
        return ApiClient(ctx.client.api_url, ctx.target.stack.get("admin_principal", "admin"), ctx.client.timeout_s)
    return ctx.client


def _api_report(ctx: Context, args: argparse.Namespace) -> dict[str, Any]:
    report: dict[str, Any] = admin_client(ctx, args).call("GET", "/admin/consistency")
    return report


def _direct_report(ctx: Context) -> dict[str, Any]:
    """Compute the report in this process, reading the local stack's tables (no API involved)."""
    stack = _local_stack(ctx, "audit --direct")
    from claude_tasks.core.config import Settings
    from claude_tasks.store import Store
    from claude_tasks.store.audit import consistency_report  # deferred: PynamoDB is only needed here

    for name, value in FAKE_CREDENTIALS.items():
        os.environ.setdefault(name, value)
    tables = stack["tables"]
    store = Store(
        Settings(
            aws_endpoint_url=stack["aws_endpoint_url"],
            region=stack["region"],
            sessions_table=tables["sessions"],
            tasks_table=tables["tasks"],
            interactions_table=tables["interactions"],
            claude_sessions_table=tables["claude_sessions"],
            content_bucket=stack["bucket"],
        )  # fmt: skip
    )
    return consistency_report(store).model_dump(mode="json")


def _local_stack(ctx: Context, command: str) -> dict[str, Any]:
    if ctx.target.stack is None:
        raise UsageError(f"{command} works on the local stack only (it reads .local/stack.json)")
    return ctx.target.stack


DEAD_LETTER_COLUMNS = [
    ("message_id", "MESSAGE", None),
    ("queue", "QUEUE", None),
    ("kind", "KIND", None),
    ("task_id", "TASK", None),
    ("receive_count", "RECEIVES", None),
    ("sent_at", "SENT (UTC)", None),
    ("reason", "REASON", 100),
]


def dlq_list(ctx: Context, args: argparse.Namespace) -> int:
    """The dead letters with the worker's reasons (through the API); with `--dlq-url`, one DLQ's raw bodies."""
    if args.dlq_url:
        return _direct_list(ctx, args)
    page = admin_client(ctx, args).call("GET", "/admin/dead-letters", query={"limit": min(args.limit, 100)})
    ctx.show(page["items"], lambda rows: output.table(rows, DEAD_LETTER_COLUMNS))
    return EXIT_OK


def dlq_redrive(ctx: Context, args: argparse.Namespace) -> int:
    """Send the named dead letters (none named: every one) back to their task queues; exit 4 if any was refused."""
    if args.dlq_url:
        return _direct_redrive(ctx, args)
    reply = admin_client(ctx, args).call("POST", "/admin/dead-letters/redrive", {"message_ids": list(args.message_ids)})
    ctx.show(reply, render_redrive)
    return EXIT_OUTCOME if reply.get("refused") else EXIT_OK


def render_redrive(reply: dict[str, Any]) -> str:
    lines = [f"redrove {len(reply['redriven'])} message(s) to their task queues"]
    lines.extend(f"  {message_id}" for message_id in reply["redriven"])
    if reply["refused"]:
        lines.append(f"refused {len(reply['refused'])}:")
        lines.extend(f"  {r['message_id']}  {r['detail']}" for r in reply["refused"])
    return "\n".join(lines)


def _direct_queues(args: argparse.Namespace) -> tuple[SQSClient, str, str]:
    """The SQS client (the caller's AWS credentials) and the given (task queue, DLQ) URLs."""
    import boto3  # deferred: only the direct dlq commands need it

    if not args.queue_url and args.action == "redrive":
        raise UsageError("--dlq-url needs --queue-url for redrive")
    return boto3.client("sqs"), args.queue_url or "", args.dlq_url


def _receive_all(sqs: SQSClient, queue_url: str, limit: int) -> list[Any]:
    """Up to `limit` messages, each received once (held invisible meanwhile)."""
    messages: list[Any] = []
    while len(messages) < limit:
        batch = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=min(10, limit - len(messages)), VisibilityTimeout=60,
            AttributeNames=["All"], MessageAttributeNames=["All"],
        ).get("Messages", [])  # fmt: skip
        if not batch:
            break
        messages.extend(batch)
    return messages


def _direct_list(ctx: Context, args: argparse.Namespace) -> int:
    sqs, _, dlq_url = _direct_queues(args)
    messages = _receive_all(sqs, dlq_url, args.limit)
    for message in messages:  # a look is not a take: visible again at once
        sqs.change_message_visibility(QueueUrl=dlq_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
    rows = [
        {
            "message_id": m["MessageId"],
            "sent_at": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(int(m["Attributes"]["SentTimestamp"]) / 1000)),
            "body": m["Body"],
            "attributes": {k: v.get("StringValue") for k, v in m.get("MessageAttributes", {}).items()},
        }
        for m in messages
    ]
    columns = [("message_id", "MESSAGE", None), ("sent_at", "SENT (UTC)", None), ("body", "BODY", 80)]
    ctx.show(rows, lambda r: output.table(r, columns))
    return EXIT_OK


def _direct_redrive(ctx: Context, args: argparse.Namespace) -> int:
    """Move messages back to the task queue: sent there first, then deleted here (a crash duplicates, never loses)."""
    sqs, queue_url, dlq_url = _direct_queues(args)
    wanted = set(args.message_ids)
    moved, kept = [], []
    for message in _receive_all(sqs, dlq_url, args.limit):
        if wanted and message["MessageId"] not in wanted:
            kept.append(message)
            continue
        extra = {"MessageAttributes": message["MessageAttributes"]} if message.get("MessageAttributes") else {}
        sqs.send_message(QueueUrl=queue_url, MessageBody=message["Body"], **extra)
        sqs.delete_message(QueueUrl=dlq_url, ReceiptHandle=message["ReceiptHandle"])
        moved.append(message["MessageId"])
    for message in kept:
        sqs.change_message_visibility(QueueUrl=dlq_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
    ctx.show({"moved": len(moved), "message_ids": moved}, lambda r: f"moved {r['moved']} message(s) to the task queue")
    return EXIT_OK
