"""Tasks created and run per second through the local stack (offline model), and its memory after 10,000 operations.

The stack is `python -m claude_tasks_dev.local` on loopback as `make dev` runs it (default
poll and janitor intervals, nothing persisted), started as the e2e tests start it. Baselines
from the same run: the rate of `GET /tasks/{id}` on the same threads, and the stack's RSS
before the operations. The 10,000 operations are `local_stack_load`'s mix (create session,
create task, list, OpenAPI document) on 4 threads: about 3.5 minutes here, most of the section.
"""

from __future__ import annotations

import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.bench.local_stack_load import call, load, rss_mb
from tests.e2e.local_stack import start_stack

TASKS = 200
THREADS = 4
OPERATIONS = 10_000
ENDED = frozenset({"succeeded", "failed", "cancelled", "exhausted"})


def _tasks_per_second(api_url: str) -> tuple[float, dict[str, int]]:
    """Create `TASKS` tasks over 10 sessions, then wait until every one has ended: tasks per second, end states."""
    sessions = [call(api_url, "POST", "/sessions", "rate", {"project_path": "/work/rate"})[1] for _ in range(10)]
    started = time.perf_counter()

    def create(n: int) -> str:
        status, task = call(
            api_url, "POST", f"/sessions/{sessions[n % 10]['session_id']}/tasks", "rate", {"prompt": "hi"}
        )
        assert status == 202, status
        return str(task["task_id"])

    def ended(task_id: str) -> str:
        while True:
            _, task = call(api_url, "GET", f"/tasks/{task_id}", "rate")
            if task["status"] in ENDED:
                return str(task["status"])
            time.sleep(0.05)

    with ThreadPoolExecutor(THREADS) as pool:
        ids = list(pool.map(create, range(TASKS)))
        states = list(pool.map(ended, ids))
    elapsed = time.perf_counter() - started
    return TASKS / elapsed, {state: states.count(state) for state in set(states)}


def _reads_per_second(api_url: str) -> float:
    _, session = call(api_url, "POST", "/sessions", "rate", {"project_path": "/work/rate"})
    _, task = call(api_url, "POST", f"/sessions/{session['session_id']}/tasks", "rate", {"prompt": "hi"})
    started = time.perf_counter()
    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(lambda _: call(api_url, "GET", f"/tasks/{task['task_id']}", "rate"), range(TASKS)))
    return TASKS / (time.perf_counter() - started)


def run() -> list[str]:
    """Printable lines: tasks per second against reads per second, and RSS after 10,000 operations against before."""
    with tempfile.TemporaryDirectory() as folder:
        stack = start_stack(Path(folder), "--no-persist")
        try:
            api_url, pid = stack.api_url, stack.process.pid
            reads = _reads_per_second(api_url)
            tasks, states = _tasks_per_second(api_url)
            before = rss_mb(pid)
            started = time.perf_counter()
            after = load(api_url, pid, OPERATIONS, [OPERATIONS])[OPERATIONS]
            seconds = time.perf_counter() - started
        finally:
            stack.stop()
    return [
        f"GET /tasks/{{id}} (baseline): {reads:.0f} per s on {THREADS} threads",
        f"tasks created and run to the end: {tasks:.1f} per s ({TASKS} tasks: {states}), "
        f"ratio to reads {tasks / reads:.2f}",
        f"RSS before: {before:.0f} MB; after {OPERATIONS} operations ({seconds:.0f} s): {after:.0f} MB, "
        f"ratio {after / before:.2f}",
    ]
