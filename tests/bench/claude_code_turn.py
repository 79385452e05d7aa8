"""One Claude Code turn through the real worker handler, against one `anthropic` turn in the same run; and the
CLI process's peak memory.

Both backends answer one prompt with one text reply from the local Messages API stub (no delay); AWS is the
embedded moto server. The Claude Code figure is what a task pays for the agent: the CLI's start, its
session store mirror, its transcript loaded and saved. Peak memory is the CLI's `VmHWM` (resident high-water
mark) from /proc, read by a thread watching this process's children while the run lasts.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import threading
import time
from pathlib import Path

from claude_tasks.core.records import NewTask, TaskStatus
from claude_tasks_dev.local.aws import EmbeddedAws
from claude_tasks_dev.local.resources import provision
from tests.bench.worker_batch import _worker
from tests.support.anthropic_stub import AnthropicStub, Reply
from tests.support.worker import LambdaContextStub, failed_ids, load_event, run_body, with_bodies

ROUNDS = 3


def _children_peak_kib(stop: threading.Event, peaks: dict[int, int]) -> None:
    me = str(os.getpid())
    while not stop.is_set():
        for status in Path("/proc").glob("[0-9]*/status"):
            try:
                fields = dict(line.split(":", 1) for line in status.read_text().splitlines() if ":" in line)
            except OSError:
                continue
            if fields.get("PPid", "").strip() == me and "VmHWM" in fields:
                pid = int(status.parent.name)
                peaks[pid] = max(peaks.get(pid, 0), int(fields["VmHWM"].split()[0]))
        stop.wait(0.05)


def _turn_seconds(worker: object, backend: str, project: str, stub: AnthropicStub) -> float:
    store = worker.executor.store  # type: ignore[attr-defined]
    session = store.sessions.create("bench", project)
    task = store.tasks.create("bench", session.session_id, NewTask(prompt="Say hi.", backend=backend))
    stub.script(Reply(text="Hi."))
    event = with_bodies(load_event("task-run-batch"), [run_body(task)])
    started = time.perf_counter()
    response = worker.lambda_handler(event, LambdaContextStub(600))  # type: ignore[attr-defined]
    elapsed = time.perf_counter() - started
    assert failed_ids(response) == set(), response
    assert store.tasks.load(task.task_id).status is TaskStatus.SUCCEEDED
    return elapsed


def run() -> list[str]:
    times: dict[str, list[float]] = {"anthropic": [], "claude-code": []}
    peaks: dict[int, int] = {}
    with EmbeddedAws() as aws, AnthropicStub() as stub, tempfile.TemporaryDirectory() as project:
        provisioned = provision(aws.endpoint_url, api_key="sk-ant-bench-key")
        settings = provisioned.model_copy(
            update={"anthropic_base_url": stub.url, "enabled_backends": "anthropic,claude-code"}
        )
        with _worker(settings) as worker:
            for backend in times:  # warm: secret read, SDK imported, clients made
                _turn_seconds(worker, backend, project, stub)
            stop = threading.Event()
            watcher = threading.Thread(target=_children_peak_kib, args=(stop, peaks), daemon=True)
            watcher.start()
            for _ in range(ROUNDS):
                for backend in times:
                    times[backend].append(_turn_seconds(worker, backend, project, stub))
            stop.set()
            watcher.join()
    api, code = statistics.median(times["anthropic"]), statistics.median(times["claude-code"])
    peak = max(peaks.values(), default=0)
    return [
        f"{'one turn':18} {'seconds':>8}   (median of {ROUNDS}; stub answers at once)",
        f"{'anthropic':18} {api:>8.2f}",
        f"{'claude-code':18} {code:>8.2f}",
        f"ratio claude-code/anthropic: {code / api:.1f}",
        f"Claude Code CLI peak resident memory: {peak / 1024:.0f} MiB (VmHWM, largest of {len(peaks)} processes)",
    ]
