"""Round trips (DynamoDB and SQS requests) of each API operation and of one task run, beside the design's minimum.

Each operation goes through the real handler (the API's with an event from `events/api/`,
the worker's with one from `events/sqs/`, offline model) against moto server over HTTP;
a botocore `before-send` hook on every client the service uses counts the requests,
retries included. The ratio is round trips over the minimum, 1.0 being the design's floor.
"""

from __future__ import annotations

from collections import Counter

from claude_tasks_dev.local.aws import EmbeddedAws
from claude_tasks_dev.local.resources import provision
from tests.bench.service_calls import ROUND, handlers

# The fewest requests each operation can make and keep its guarantees, and why.
MINIMUM: dict[str, tuple[int, str]] = {
    "create session": (1, "1 conditional PutItem (or 1 transaction with the idempotency record)"),
    "create task": (
        3,
        "1 GetItem (the owner's quota) + 1 TransactWriteItems (task + session's and owner's counters) + 1 SendMessage",
    ),
    "get task": (1, "1 GetItem"),
    "task run (worker, offline model)": (
        4,
        "owner (1 GetItem, for the counters) + lease (1 transaction) + history (1 Query) + turn (1 transaction)",
    ),
    "list interactions": (2, "1 GetItem (the owner's task) + 1 Query"),
    "follow-up (ended task)": (3, "1 GetItem (next seq) + 1 TransactWriteItems + 1 SendMessage"),
    "cancel (queued task)": (1, "1 conditional write"),
    "delete task (3 turns)": (2, "1 Query (the turns' keys) + 1 TransactWriteItems"),
}


def _named(trips: list[tuple[str, str]]) -> str:
    counts = Counter(f"{operation}" for _, operation in trips)
    return ", ".join(f"{n} {operation}" for operation, n in counts.items())


def run() -> list[str]:
    """Printable lines: per operation, round trips, the design's minimum and their ratio, and which requests."""
    rows = []
    with EmbeddedAws() as aws, handlers(provision(aws.endpoint_url, prefix="trips")) as service:
        state: dict[str, object] = {}
        for name, step in ROUND:
            with service.recorder.window() as (trips, _):
                step(service, state)
            rows.append((name, trips))
    lines = [f"{'operation':34} {'trips':>5} {'minimum':>7} {'ratio':>5}  requests  |  the minimum"]
    for name, trips in rows:
        least, why = MINIMUM[name]
        lines.append(f"{name:34} {len(trips):>5} {least:>7} {len(trips) / least:>5.1f}  {_named(trips)}  |  {why}")
    return lines
