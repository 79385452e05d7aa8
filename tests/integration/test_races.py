"""Races with real threads against moto server: the invariants hold however requests interleave."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator

import pytest

from claude_tasks.core.errors import ClaudeSessionTaken, Conflict, NotFound, SessionNotActive
from claude_tasks.core.records import NewInteraction, NewTask, Role
from claude_tasks.store import Store
from claude_tasks.store.audit import consistency_report
from claude_tasks.store.models import InteractionModel, SessionModel, TaskModel

OPERATIONS = {"count": 0}
_lock = threading.Lock()


@pytest.fixture(scope="module", autouse=True)
def report_racing_operations() -> Iterator[None]:
    yield
    # Read by the closing note: how many racing operations the module ran (at least 500 when run whole).
    print(f"\nracing operations run: {OPERATIONS['count']}")


def _counted() -> None:
    with _lock:
        OPERATIONS["count"] += 1


def _run_all(targets: list[Callable[[], None]]) -> None:
    threads = [threading.Thread(target=t) for t in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)


def test_creating_tasks_while_deleting_the_session(store: Store, session_factory) -> None:
    # Given sessions, each attacked by 8 creating threads and 2 deleting threads (one plain, one cascade)
    for round_ in range(3):
        session = session_factory()

        def create(session_id: str = session.session_id) -> None:
            for n in range(12):
                _counted()
                try:
                    store.tasks.create("alice", session_id, NewTask(prompt=f"p{n}"))
                except (NotFound, SessionNotActive):
                    continue

        def delete(cascade: bool, session_id: str = session.session_id) -> None:
            for _ in range(6):
                _counted()
                try:
                    store.sessions.delete("alice", session_id, cascade=cascade)
                except (NotFound, Conflict):
                    continue

        # When they all run at once
        cascade = round_ % 2 == 0
        _run_all([create] * 8 + [lambda: delete(False), lambda cascade=cascade: delete(cascade)])
        # Then no task outlives its session, and every surviving session's counter is exact
        for item in TaskModel.scan():
            assert SessionModel.count(item.session_id) == 1
        report = consistency_report()
        assert report.violations == []
        assert report.tasks_with_valid_session == report.total_tasks


def test_many_tasks_claiming_one_claude_session_id(store: Store, task_factory) -> None:
    # Given 40 tasks and one Claude session id per round, 5 rounds
    for _ in range(5):
        tasks = [task_factory() for _ in range(40)]
        claude_id = str(uuid.uuid4())
        winners: list[str] = []

        def claim(index: int, claude_id: str = claude_id, tasks: list = tasks, winners: list = winners) -> None:
            _counted()
            try:
                store.claims.claim(tasks[index], claude_id)
            except ClaudeSessionTaken:
                return
            with _lock:
                winners.append(tasks[index].task_id)

        # When every task claims it at once
        _run_all([lambda i=i: claim(i) for i in range(40)])
        # Then exactly one task holds it, and the claim names that task
        assert len(winners) == 1
        holders = [t.task_id for t in TaskModel.scan() if t.claude_session_id == claude_id]
        assert holders == winners
    assert consistency_report().shared_claude_session_ids == 0


def test_concurrent_appends_to_one_task(store: Store, task_factory) -> None:
    # Given one task and 10 threads each appending 12 turns, retrying when another got there first
    task = task_factory()
    appended: list[int] = []

    def append(worker: int) -> None:
        for n in range(12):
            while True:
                _counted()
                current = store.tasks.get("alice", task.task_id)
                try:
                    turn = store.interactions.append(
                        current, task.session_id, NewInteraction(role=Role.USER, content=f"{worker}/{n}")
                    )
                except Conflict:
                    continue
                with _lock:
                    appended.append(turn.seq)
                break

    # When they all run at once
    _run_all([lambda w=w: append(w) for w in range(10)])
    # Then seq is exactly 1..120: no gap, no duplicate, and the counter agrees
    seqs = sorted(int(item.seq) for item in InteractionModel.query(task.task_id))
    assert seqs == list(range(1, 121)) == sorted(appended)
    assert store.tasks.get("alice", task.task_id).interaction_count == 120
    assert consistency_report().violations == []
