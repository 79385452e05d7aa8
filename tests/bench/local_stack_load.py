"""The local stack under load: API latency while the janitor runs, memory after 10,000/20,000 operations, Ctrl-C.

A measurement, not a test (it prints figures, asserts nothing). Run:
`.venv/bin/python -m tests.bench.local_stack_load [--items 10000] [--janitor-interval 5]`.

It starts `python -m claude_tasks_dev.local` as `make dev` does (persisting to a
temporary folder, so Ctrl-C saves everything), seeds the tables with a consistent
data set of `--items` items, then:
1. probes `GET /sessions` for `--probe-s` seconds with the janitor running every
   `--janitor-interval` seconds, and reports the latencies;
2. runs 20,000 API operations on 4 threads (create session, create task — which the
   worker then runs —, list, get) and reports the stack's RSS after 10,000 and 20,000;
3. sends SIGINT and reports how long the process took to exit, and its last line.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")

from claude_tasks.core.clock import now_iso  # noqa: E402
from claude_tasks.core.config import Settings  # noqa: E402
from claude_tasks.store.models import InteractionModel, SessionModel, TaskModel, bind  # noqa: E402


def start(state_dir: Path, janitor_interval: float) -> tuple[subprocess.Popen[bytes], dict[str, Any], Path]:
    log = state_dir / "stack.log"
    command = [sys.executable, "-m", "claude_tasks_dev.local", "--api-port", "0", "--aws-port", "0"]
    command += ["--state-dir", str(state_dir), "--janitor-interval", str(janitor_interval)]
    env = {k: v for k, v in os.environ.items() if k not in ("ANTHROPIC_API_KEY", "CLAUDE_BACKEND")}
    with log.open("wb") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=sink, env=env)  # noqa: S603
    stack_file = state_dir / "stack.json"
    while not stack_file.is_file():
        if process.poll() is not None:
            raise SystemExit(log.read_text())
        time.sleep(0.1)
    return process, json.loads(stack_file.read_text()), log


def seed(info: dict[str, Any], items: int) -> None:
    """Sessions of 3 tasks, each task with 2 turns: consistent, so the janitor's audit finds nothing."""
    tables = info["tables"]
    bind(
        Settings(
            aws_endpoint_url=info["aws_endpoint_url"],
            region=info["region"],
            sessions_table=tables["sessions"],
            tasks_table=tables["tasks"],
            interactions_table=tables["interactions"],
            claude_sessions_table=tables["claude_sessions"],
        )
    )
    now = now_iso()
    per_session = 1 + 3 + 6
    batches = SessionModel.batch_write(), TaskModel.batch_write(), InteractionModel.batch_write()
    with batches[0] as sessions, batches[1] as tasks, batches[2] as turns:
        for _ in range(items // per_session):
            session_id = str(uuid.uuid4())
            sessions.save(SessionModel(session_id, owner="seed", project_path="/p", task_count=3, created_at=now,
                                       updated_at=now))  # fmt: skip
            for _ in range(3):
                task_id = str(uuid.uuid4())
                task = TaskModel(task_id, session_id=session_id, owner="seed", prompt="p", status="succeeded",
                                 interaction_count=2, created_at=now, updated_at=now)  # fmt: skip
                task.version = 1
                tasks.save(task)
                for seq, role in ((1, "user"), (2, "assistant")):
                    turns.save(InteractionModel(task_id, seq, session_id=session_id, owner="seed", role=role,
                                                content="x" * 200, created_at=now))  # fmt: skip


def call(api_url: str, method: str, path: str, principal: str, body: Any = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(api_url + path, data=data, method=method)  # noqa: S310 - our loopback stack
    request.add_header("Authorization", f"Bearer {principal}")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as err:
        return err.code, None


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def probe(api_url: str, seconds: float) -> tuple[list[float], dict[int, int]]:
    latencies, statuses = [], {}
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        started = time.monotonic()
        status, _ = call(api_url, "GET", "/sessions?limit=5", "prober")
        latencies.append(time.monotonic() - started)
        statuses[status] = statuses.get(status, 0) + 1
        time.sleep(0.05)
    return latencies, statuses


def operation(api_url: str, n: int) -> None:
    principal = f"load-{n % 50}"
    kind = n % 4
    if kind == 0:
        call(api_url, "POST", "/sessions", principal, {"project_path": "/work/load"})
    elif kind == 1:
        _, page = call(api_url, "GET", "/sessions?limit=1", principal)
        if page and page["items"]:
            call(api_url, "POST", f"/sessions/{page['items'][0]['session_id']}/tasks", principal, {"prompt": "hi"})
    elif kind == 2:
        call(api_url, "GET", "/sessions?limit=20", principal)
    else:
        call(api_url, "GET", "/openapi.json", principal)


def load(api_url: str, pid: int, operations: int, marks: list[int]) -> dict[int, float]:
    done = 0
    lock = threading.Lock()
    figures: dict[int, float] = {}

    def one(n: int) -> None:
        nonlocal done
        operation(api_url, n)
        with lock:
            done += 1
            if done in marks:
                figures[done] = rss_mb(pid)
                print(f"  after {done} operations: RSS {figures[done]:.0f} MB", flush=True)

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(one, range(operations)))
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--janitor-interval", type=float, default=5.0)
    parser.add_argument("--probe-s", type=float, default=30.0)
    parser.add_argument("--operations", type=int, default=20_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        process, info, log = start(Path(folder), args.janitor_interval)
        print(f"stack pid {process.pid}, RSS at start {rss_mb(process.pid):.0f} MB", flush=True)
        started = time.monotonic()
        seed(info, args.items)
        print(f"seeded {args.items} items in {time.monotonic() - started:.1f} s; RSS {rss_mb(process.pid):.0f} MB")
        latencies, statuses = probe(info["api_url"], args.probe_s)
        text = log.read_text(errors="replace")
        runs, failed = text.count('"janitor run"'), text.count("janitor failed")
        print(
            f"GET /sessions for {args.probe_s:.0f} s with the janitor every {args.janitor_interval:g} s "
            f"({runs} runs finished, {failed} failed): statuses {statuses} "
            f"median={statistics.median(latencies) * 1000:.0f} ms "
            f"p99={sorted(latencies)[int(len(latencies) * 0.99)] * 1000:.0f} ms max={max(latencies) * 1000:.0f} ms",
            flush=True,
        )
        half = args.operations // 2
        started = time.monotonic()
        marks = [1000, half // 2, half, half + half // 2, args.operations]
        rss = load(info["api_url"], process.pid, args.operations, marks)
        print(f"{args.operations} operations in {time.monotonic() - started:.0f} s; RSS (MB) after n ops: {rss}")
        started = time.monotonic()
        process.send_signal(signal.SIGINT)
        status = process.wait(600)
        tail = log.read_text(errors="replace").strip().splitlines()[-1]
        print(f"SIGINT -> exit {status} after {time.monotonic() - started:.1f} s; last line: {tail!r}")


if __name__ == "__main__":
    main()
