"""Warm time of each API operation through the real handler, against the same AWS calls sent with raw boto3.

The handler runs against moto server over HTTP (tables and queue prefixed `warm`); every
call its clients make is recorded (`service_calls.Recorder`) and sent again at once through
plain boto3 clients to a second set of the same resources (prefix `shadow`), which so goes
through the same states and answers the same way. The difference is what the handler adds:
Powertools routing and validation, pydantic, PynamoDB's models, our own code. Target ≤ 1.3×.
"""

from __future__ import annotations

import statistics
import time
from collections import Counter
from typing import Any

import boto3

from claude_tasks.core.config import Settings
from claude_tasks_dev.local.aws import EmbeddedAws
from claude_tasks_dev.local.resources import provision
from tests.bench.service_calls import ROUND, Handlers, handlers, replay

ROUNDS = 21
LIMIT = 1.3


def _renames(settings: Settings, shadow: Settings) -> dict[str, str]:
    ours, theirs = settings.model_dump(), shadow.model_dump()
    return {v: theirs[k] for k, v in ours.items() if isinstance(v, str) and v != theirs[k]}


def _round(
    service: Handlers, clients: dict[str, Any], rename: dict[str, str], refused: Counter[str]
) -> list[tuple[float, float]]:
    """(handler seconds, raw boto3 seconds) of each step of one round; counts the raw calls refused."""
    state: dict[str, Any] = {}
    times = []
    for _, step in ROUND:
        with service.recorder.window() as (_, calls):
            started = time.perf_counter()
            step(service, state)
            handled = time.perf_counter() - started
        started = time.perf_counter()
        refused.update(replay(clients, calls, rename))
        times.append((handled, time.perf_counter() - started))
    return times


def run() -> list[str]:
    """Printable lines: per operation, the median warm time through the handler and with raw boto3, and the ratio."""
    with EmbeddedAws() as aws:
        settings, shadow = provision(aws.endpoint_url, prefix="warm"), provision(aws.endpoint_url, prefix="shadow")
        clients = {
            name: boto3.client(name, region_name=settings.region, endpoint_url=aws.endpoint_url)
            for name in ("dynamodb", "sqs", "s3")
        }
        rename = _renames(settings, shadow)
        with handlers(settings) as service:
            refused: Counter[str] = Counter()
            _round(service, clients, rename, refused)  # warm: lazy imports, clients, connections
            rounds = [_round(service, clients, rename, refused) for _ in range(ROUNDS)]
    lines = [f"{'operation (median of ' + str(ROUNDS) + ')':34} {'handler ms':>10} {'boto3 ms':>9} {'ratio':>6}"]
    api_handler = api_raw = 0.0
    for index, (name, _) in enumerate(ROUND):
        handled = statistics.median(r[index][0] for r in rounds) * 1000
        raw = statistics.median(r[index][1] for r in rounds) * 1000
        lines.append(f"{name:34} {handled:>10.1f} {raw:>9.1f} {handled / raw:>6.2f}")
        if not name.startswith("task run"):
            api_handler, api_raw = api_handler + handled, api_raw + raw
    ratio = api_handler / api_raw
    verdict = "ok" if ratio <= LIMIT else f"OVER the target of {LIMIT}"
    lines.append(
        f"API operations together: {api_handler:.1f} ms against {api_raw:.1f} ms, ratio {ratio:.2f} ({verdict})"
    )
    lines.append(f"raw calls refused (as the handler's were): {dict(refused) or 'none'}")
    return lines
