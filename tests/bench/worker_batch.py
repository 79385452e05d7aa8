"""Wall time of a 10-record batch through the real worker handler against a 1-record batch, Claude taking 1 s.

Claude is the real `anthropic` SDK against the local Messages API stub, each
reply delayed 1 s; AWS is moto server over HTTP (one request at a time, as
the tests use it). Records of a batch run concurrently, so the ratio should
stay near 1 (the issue asks for at most 1.5).

moto serves one request at a time, where DynamoDB and SQS serve a batch's calls at
once: ten records' writes queue behind each other there, and on a busy machine that
queue, not the worker, is most of what the batch adds. So the emulator's busy time is
clocked too, and the ratio is also given without it: the worker's own concurrency.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

from claude_tasks.claude import clear_backends
from claude_tasks.core.config import Settings, get_settings
from claude_tasks.core.records import NewTask, TaskStatus
from claude_tasks.store import Store
from claude_tasks_dev.local.aws import EmbeddedAws
from claude_tasks_dev.local.resources import provision
from tests.support.anthropic_stub import AnthropicStub, Reply
from tests.support.handlers import load_handler
from tests.support.worker import LambdaContextStub, environment, failed_ids, load_event, run_body, with_bodies

CLAUDE_DELAY_S = 1.0
LIMIT = 1.5
ROUNDS = 3


class BusyClock:
    """WSGI middleware: the seconds moto spent serving requests (its one server thread, so no lock)."""

    def __init__(self) -> None:
        self.busy_s = 0.0

    def __call__(self, app: Any) -> Any:
        def timed(environ: dict[str, Any], start_response: Any) -> Any:
            started = time.perf_counter()
            body = list(app(environ, start_response))  # the whole answer, as moto makes it
            self.busy_s += time.perf_counter() - started
            return body

        return timed


@contextmanager
def _worker(settings: Settings) -> Iterator[ModuleType]:
    """The worker handler imported with `settings` in the environment, which is restored afterwards."""
    saved = dict(os.environ)
    # Quiet: the figures are the output, not the handler's log lines and EMF metrics.
    os.environ.update(
        POWERTOOLS_SERVICE_NAME="claude-task-server",
        POWERTOOLS_METRICS_NAMESPACE="ClaudeTaskServer",
        POWERTOOLS_METRICS_DISABLED="true",
        POWERTOOLS_LOG_LEVEL="WARNING",
    )
    for name, value in environment(settings).items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    get_settings.cache_clear()
    clear_backends()
    try:
        yield load_handler("worker")
    finally:
        os.environ.clear()
        os.environ.update(saved)
        get_settings.cache_clear()
        clear_backends()


def _batch_seconds(
    worker: ModuleType, store: Store, stub: AnthropicStub, clock: BusyClock, size: int
) -> tuple[float, float]:
    """(wall seconds of a `size`-record batch, seconds moto was busy serving it)."""
    session = store.sessions.create("bench", "/bench")
    tasks = [store.tasks.create("bench", session.session_id, NewTask(prompt=f"Question {n}?")) for n in range(size)]
    stub.script(*[Reply(text="An answer.", delay_s=CLAUDE_DELAY_S)] * size)
    event = with_bodies(load_event("task-run-batch"), [run_body(task) for task in tasks])
    busy_before, started = clock.busy_s, time.perf_counter()
    response = worker.lambda_handler(event, LambdaContextStub())
    elapsed, busy = time.perf_counter() - started, clock.busy_s - busy_before
    assert failed_ids(response) == set(), response
    assert all(store.tasks.load(t.task_id).status is TaskStatus.SUCCEEDED for t in tasks)
    return elapsed, busy


def run() -> list[str]:
    """Printable lines: the median wall time of each batch size over `ROUNDS` interleaved rounds, and the ratio."""
    times: dict[int, list[tuple[float, float]]] = {1: [], 10: []}
    clock = BusyClock()
    with EmbeddedAws(middleware=clock) as aws, AnthropicStub() as stub:
        # The stub takes any key, but the worker never sends the placeholder a keyless stack stores.
        provisioned = provision(aws.endpoint_url, api_key="sk-ant-bench-key")
        settings = provisioned.model_copy(update={"claude_backend": "anthropic", "anthropic_base_url": stub.url})
        with _worker(settings) as worker:
            store = worker.executor.store
            _batch_seconds(worker, store, stub, clock, 1)  # warm: secret read, SDK client and connections made
            for _ in range(ROUNDS):
                for size in times:
                    times[size].append(_batch_seconds(worker, store, stub, clock, size))
    one, ten = (statistics.median(wall for wall, _ in times[size]) for size in (1, 10))
    one_busy, ten_busy = (statistics.median(busy for _, busy in times[size]) for size in (1, 10))
    ratio, net = ten / one, (ten - ten_busy) / (one - one_busy)
    return [
        f"{'batch':18} {'seconds':>8} {'moto busy s':>12}   (median of {ROUNDS}; Claude {CLAUDE_DELAY_S:.0f} s a call)",
        f"{'1 record':18} {one:>8.2f} {one_busy:>12.2f}",
        f"{'10 records':18} {ten:>8.2f} {ten_busy:>12.2f}",
        f"batch concurrency (10 records against 1, target ≤ {LIMIT}): {ratio:.2f} {_verdict(ratio)}",
        f"without the emulator's one-at-a-time service (DynamoDB serves the ten at once): {net:.2f} {_verdict(net)}",
    ]


def _verdict(ratio: float) -> str:
    return "ok" if ratio <= LIMIT else f"TOO SLOW (limit {LIMIT})"
