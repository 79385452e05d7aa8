"""Quotas under concurrency, with real threads against moto server: N + 1 racing creations (or retries) under a
limit of N."""

from __future__ import annotations

import functools
import threading
from collections import Counter

from claude_tasks.core.errors import QuotaExceeded, TransientStoreError
from claude_tasks.core.records import NewTask
from claude_tasks.core.usage import QuotaOverride
from claude_tasks.store import Store
from claude_tasks.store.models import TaskModel, UsageModel
from tests.support.threads import run_all

LIMIT = 6


def _race(store: Store, session_ids: list[str]) -> Counter[str]:
    """One thread per session id creates one task in it, all released at once; returns how each ended."""
    outcomes: Counter[str] = Counter()
    lock, start = threading.Lock(), threading.Barrier(len(session_ids))

    def create(session_id: str) -> None:
        start.wait()
        for _ in range(20):  # a transaction conflict is worth retrying; a quota refusal is the answer
            try:
                store.tasks.create("alice", session_id, NewTask(prompt="race"))
                outcome = "created"
            except QuotaExceeded as over:
                outcome = f"refused: {over.limit}"
            except TransientStoreError:
                continue
            with lock:
                outcomes[outcome] += 1
            return

    run_all([functools.partial(create, s) for s in session_ids])
    return outcomes


def test_n_plus_one_racing_creations_under_an_active_limit_of_n_leave_exactly_n(store: Store, session_factory) -> None:
    # Given alice may have N tasks queued or running at once, and N + 1 sessions of hers
    store.usage.set_quota("alice", QuotaOverride(max_active_tasks=LIMIT))
    sessions = [session_factory(owner="alice").session_id for _ in range(LIMIT + 1)]
    # When N + 1 threads each create a task at the same moment
    outcomes = _race(store, sessions)
    # Then exactly N tasks exist, one creation was refused by the quota, and the counters say N
    tasks = _stored()
    total = UsageModel.get("alice", "total", consistent_read=True)
    print(
        f"\nmax_active_tasks={LIMIT}: {LIMIT + 1} racing creations -> {dict(outcomes)}; tasks stored: {tasks}; "
        f"active counter: {total.active}"
    )
    assert tasks == outcomes["created"] == LIMIT
    assert outcomes["refused: max_active_tasks"] == 1
    assert int(total.active) == int(total.tasks_queued) == LIMIT


def test_n_plus_one_racing_creations_under_a_per_minute_limit_of_n_leave_at_most_n_a_minute(
    store: Store, session_factory
) -> None:
    # Given alice may create N tasks a minute, and N + 1 sessions of hers
    store.usage.set_quota("alice", QuotaOverride(max_tasks_per_minute=LIMIT))
    sessions = [session_factory(owner="alice").session_id for _ in range(LIMIT + 1)]
    # When N + 1 threads each create a task at the same moment
    outcomes = _race(store, sessions)
    # Then no minute holds more than N creations, and the stored tasks are exactly the minutes' counts
    minutes = {
        item.period: int(item.created) for item in UsageModel.query("alice", UsageModel.period.startswith("minute#"))
    }
    tasks = _stored()
    print(
        f"\nmax_tasks_per_minute={LIMIT}: {LIMIT + 1} racing creations -> {dict(outcomes)}; tasks stored: {tasks}; "
        f"per minute: {minutes}"
    )
    assert all(count <= LIMIT for count in minutes.values())
    assert tasks == outcomes["created"] == sum(minutes.values())
    if len(minutes) == 1:  # the race did not straddle a minute's end: exactly N, and one refused
        assert tasks == LIMIT and outcomes["refused: max_tasks_per_minute"] == 1


def test_n_plus_one_racing_retries_under_an_active_limit_of_n_queue_exactly_n(store: Store, session_factory) -> None:
    # Given alice's N + 1 cancelled tasks (nothing active), and then a limit of N active tasks
    sessions = [session_factory(owner="alice").session_id for _ in range(LIMIT + 1)]
    tasks = [store.tasks.create("alice", session_id, NewTask(prompt="race")) for session_id in sessions]
    for task in tasks:
        store.transitions.cancel("alice", task.task_id)
    store.usage.set_quota("alice", QuotaOverride(max_active_tasks=LIMIT))
    # When N + 1 threads each retry one at the same moment
    outcomes: Counter[str] = Counter()
    lock, start = threading.Lock(), threading.Barrier(len(tasks))

    def retry(task_id: str) -> None:
        start.wait()
        for _ in range(20):  # a transaction conflict is worth retrying; a quota refusal is the answer
            try:
                store.transitions.retry("alice", task_id)
                outcome = "queued"
            except QuotaExceeded as over:
                outcome = f"refused: {over.limit}"
            except TransientStoreError:
                continue
            with lock:
                outcomes[outcome] += 1
            return

    run_all([functools.partial(retry, task.task_id) for task in tasks])
    # Then exactly N are queued again, one was refused by the quota, and the counter says N
    queued = sum(1 for item in TaskModel.scan() if item.owner == "alice" and item.status == "queued")
    total = UsageModel.get("alice", "total", consistent_read=True)
    print(f"\nmax_active_tasks={LIMIT}: {LIMIT + 1} racing retries -> {dict(outcomes)}; queued: {queued}")
    assert queued == outcomes["queued"] == LIMIT
    assert outcomes["refused: max_active_tasks"] == 1
    assert int(total.active) == int(total.tasks_queued) == LIMIT


def test_racing_forks_under_an_active_limit_queue_only_the_places_left(store: Store, session_factory) -> None:
    # Given alice allowed 2 active tasks, with one queued (one place left)
    source = store.tasks.create("alice", session_factory(owner="alice").session_id, NewTask(prompt="source"))
    store.usage.set_quota("alice", QuotaOverride(max_active_tasks=2))
    # When 3 threads each fork it at the same moment (each fork is created finished, then queued)
    outcomes: Counter[str] = Counter()
    lock, start = threading.Lock(), threading.Barrier(3)

    def fork(key: str) -> None:
        start.wait()
        for _ in range(20):  # a transaction conflict is worth a replay (same key); a quota refusal is the answer
            try:
                _, queued = store.forks.fork("alice", source.task_id, "again", None, key)
                outcome = "queued" if queued else "not queued"
            except QuotaExceeded as over:
                outcome = f"refused: {over.limit}"
            except TransientStoreError:
                continue
            with lock:
                outcomes[outcome] += 1
            return

    run_all([functools.partial(fork, f"fork-{n}") for n in range(3)])
    # Then one fork is queued, two were refused by the quota, and the counter says 2 active
    queued = sum(1 for item in TaskModel.scan() if item.owner == "alice" and item.status == "queued")
    total = UsageModel.get("alice", "total", consistent_read=True)
    print(f"\nmax_active_tasks=2, 1 queued: 3 racing forks -> {dict(outcomes)}; queued: {queued}")
    assert outcomes == {"queued": 1, "refused: max_active_tasks": 2}
    assert queued == int(total.active) == int(total.tasks_queued) == 2


def _stored() -> int:
    return sum(1 for item in TaskModel.scan() if item.owner == "alice")
