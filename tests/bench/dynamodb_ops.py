"""Round trips and modelled capacity of each repository operation, against moto server over HTTP.

moto's own ConsumedCapacity figures are constants, so capacity is modelled
from the requests with DynamoDB's pricing rules: a write unit per 1 KB written
(twice that inside a transaction), a read unit per 4 KB read consistently.

The usage totals and quota counters (store/tally.py) ride in the transactions they
count: the `counters` column is the share of each operation's write units spent on
them (actions on the usage table, and session updates made only for them), and
`before` what the operation cost without them — with the request the lease and a
creation now make first (the owner read, the quota read) left out too.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from claude_tasks.core.records import NewTask
from claude_tasks.store import Store
from claude_tasks.store.runs import Lease
from claude_tasks_dev.local.aws import EmbeddedAws
from claude_tasks_dev.local.resources import provision
from tests.support.turns import turn


class Recorder:
    """WSGI middleware that records each DynamoDB request (operation, body) moto serves."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, app: Any) -> Any:
        def recorded(environ: dict[str, Any], start_response: Any) -> Any:
            target = environ.get("HTTP_X_AMZ_TARGET", "")
            if target.startswith("DynamoDB_"):
                body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
                environ["wsgi.input"] = io.BytesIO(body)
                self.calls.append((target.split(".")[-1], json.loads(body or b"{}")))
            return app(environ, start_response)

        return recorded

    @contextmanager
    def window(self) -> Iterator[list[tuple[str, dict[str, Any]]]]:
        start = len(self.calls)
        seen: list[tuple[str, dict[str, Any]]] = []
        yield seen
        seen.extend(self.calls[start:])


def _kb(item: dict[str, Any], unit: int) -> int:
    return max(1, math.ceil(len(json.dumps(item)) / unit))


def capacity(operation: str, body: dict[str, Any]) -> tuple[float, float]:
    """(read units, write units) DynamoDB would charge for one request, modelled from its body."""
    if operation in ("GetItem", "Query", "Scan"):
        return (1.0 if body.get("ConsistentRead") else 0.5), 0.0
    if operation == "PutItem":
        return 0.0, float(_kb(body["Item"], 1024))
    if operation in ("UpdateItem", "DeleteItem"):
        return 0.0, 1.0
    if operation == "BatchWriteItem":
        return 0.0, float(sum(len(requests) for requests in body["RequestItems"].values()))
    if operation == "TransactWriteItems":
        units = sum(_kb(action["Put"]["Item"], 1024) if "Put" in action else 1 for action in body["TransactItems"])
        return 0.0, 2.0 * units
    return 0.0, 0.0


def _counter_actions(body: dict[str, Any], usage_table: str, sessions_table: str) -> int:
    """How many of a transaction's actions are there for the counters alone."""
    count = 0
    for action in body.get("TransactItems", []):
        kind, request = next(iter(action.items()))
        if request["TableName"] == usage_table:
            count += 1
        elif request["TableName"] == sessions_table and kind == "Update":
            count += "task_count" not in request.get("ExpressionAttributeNames", {}).values()
    return count


def _counters(calls: list[tuple[str, dict[str, Any]]], usage_table: str, sessions_table: str) -> tuple[int, float]:
    """(requests, write units) the counters add: reads made only to build them (the quota; the lease's read of
    the task's owner), and their transaction actions (each a 1 KB update, 2 units inside a transaction)."""
    reads = sum(
        1
        for op, body in calls
        if op == "GetItem"
        and (body["TableName"] == usage_table or body.get("ExpressionAttributeNames") == {"#0": "owner"})
    )
    actions = sum(
        _counter_actions(body, usage_table, sessions_table) for op, body in calls if op == "TransactWriteItems"
    )
    return reads, 2.0 * actions


def _operations(store: Store) -> list[tuple[str, Callable[[], object]]]:
    session = store.sessions.create("bench", "/work/bench")
    task = store.tasks.create("bench", session.session_id, NewTask(prompt="x" * 200))
    # The worker's turn write is measured alone: its lease and read happen here, outside the window.
    lease = Lease.start(60)
    store.runs.lease(task.task_id, task.session_id, lease)
    leased = store.tasks.load(task.task_id)
    record = turn(leased, reply="y" * 200, claim="bench-claude-id")
    empty = store.sessions.create("bench", "/work/empty")
    queued = store.tasks.create("bench", session.session_id, NewTask(prompt="q"))
    return [
        ("get task (baseline)", lambda: store.tasks.load(task.task_id)),
        ("create session", lambda: store.sessions.create("bench", "/work/b")),
        ("create task", lambda: store.tasks.create("bench", session.session_id, NewTask(prompt="p"))),
        ("lease task", lambda: store.runs.lease(queued.task_id, queued.session_id, Lease.start(60))),
        ("record turn (user+assistant+claim)", lambda: store.runs.record(leased, lease, record)),
        ("update task (read, then write)", lambda: store.tasks.update("bench", task.task_id, {"title": "t"})),
        ("delete task with 1 turn", lambda: store.tasks.delete("bench", task.task_id)),
        ("delete empty session", lambda: store.sessions.delete("bench", empty.session_id)),
    ]


def run() -> list[str]:
    """Printable lines: per operation, round trips, transactions and modelled capacity, as ratios to a read."""
    recorder = Recorder()
    with EmbeddedAws(middleware=recorder) as aws:
        store = Store(provision(aws.endpoint_url, prefix="bench"))
        rows = []
        tables = (store.settings.usage_table, store.settings.sessions_table)
        for name, operation in _operations(store):
            with recorder.window() as calls:
                operation()
            reads = sum(capacity(op, body)[0] for op, body in calls)
            writes = sum(capacity(op, body)[1] for op, body in calls)
            extra_trips, extra_writes = _counters(calls, *tables)
            transactions = sum(op == "TransactWriteItems" for op, _ in calls)
            rows.append((name, len(calls), transactions, reads, writes, extra_trips, extra_writes))
    base = rows[0][1]
    lines = [
        f"{'operation':40} {'round trips':>11} {'ratio':>6} {'TransactWrite':>13} {'RCU':>5} {'WCU':>5}"
        f" {'counters WCU':>12} {'before: trips':>13} {'WCU':>5}"
    ]
    for name, trips, transactions, reads, writes, extra_trips, extra_writes in rows:
        lines.append(
            f"{name:40} {trips:>11} {trips / base:>6.1f} {transactions:>13} {reads:>5.1f} {writes:>5.1f}"
            f" {extra_writes:>12.1f} {trips - extra_trips:>13} {writes - extra_writes:>5.1f}"
        )
    return lines
