"""Races with real threads against moto server: the invariants hold however requests interleave."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator

import pytest

from claude_tasks.core.config import Settings
from claude_tasks.core.errors import ClaudeSessionTaken, ConcurrentUpdate, Conflict, NotFound, SessionNotActive
from claude_tasks.core.records import NewTask, TaskStatus
from claude_tasks.store import Store
from claude_tasks.store.audit import consistency_report
from claude_tasks.store.models import ClaudeSessionClaim, InteractionModel, SessionModel, TaskModel
from claude_tasks.store.runs import Lease, LeaseRefused
from claude_tasks_dev.local.aws import EmbeddedAws
from tests.support.threads import run_all
from tests.support.turns import record_turn, turn

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
        run_all([create] * 8 + [lambda: delete(False), lambda cascade=cascade: delete(cascade)])
        # Then no task outlives its session, and every surviving session's counter is exact
        for item in TaskModel.scan():
            assert SessionModel.count(item.session_id) == 1
        report = consistency_report(store)
        assert report.violations == []
        assert report.tasks_with_valid_session == report.total_tasks


def test_many_tasks_claiming_one_claude_session_id(
    store: Store, task_factory, moto_server: EmbeddedAws, settings: Settings
) -> None:
    # Given 40 tasks and one Claude session id per round, 5 rounds
    for _ in range(5):
        tasks = [task_factory() for _ in range(40)]
        moto_server.forget_stream(settings.tasks_table)  # see the test below
        claude_id = str(uuid.uuid4())
        winners: list[str] = []

        def claim(index: int, claude_id: str = claude_id, tasks: list = tasks, winners: list = winners) -> None:
            _counted()
            try:
                record_turn(store, tasks[index], claim=claude_id)
            except ClaudeSessionTaken:
                return
            with _lock:
                winners.append(tasks[index].task_id)

        # When every task's first turn, leased and recorded as the worker does, claims it at once
        run_all([lambda i=i: claim(i) for i in range(40)])
        # Then exactly one task holds it, the claim names that task, and only that task's turn was written
        assert len(winners) == 1
        holders = [t.task_id for t in TaskModel.scan() if t.claude_session_id == claude_id]
        assert holders == winners
        assert ClaudeSessionClaim.get(claude_id).task_id == winners[0]
        assert {item.task_id for item in InteractionModel.scan() if item.task_id in {t.task_id for t in tasks}} == {
            winners[0]
        }
    assert consistency_report(store).shared_claude_session_ids == 0


def test_concurrent_runs_and_follow_ups_on_one_task(
    store: Store, task_factory, moto_server: EmbeddedAws, settings: Settings
) -> None:
    # Given one task and 10 threads; each, 12 times, sends a follow-up, then takes the lease (waiting while
    # another run holds it), records the answer to the head prompt and hands the task back, as the worker does
    task = task_factory()
    recorded: list[int] = []
    released = threading.Condition()
    releases = [0]

    def run_once(worker: int, n: int) -> None:
        while True:
            with released:
                seen = releases[0]
            _counted()
            lease = Lease.start(60)
            try:
                store.runs.lease(task.task_id, task.session_id, lease)
            except LeaseRefused:
                # Pacing only: a refused run waits for the next hand-back, then races the others for the lease.
                # Polling instead swamped moto, which copies every table on each transaction, on a busy machine.
                with released:
                    released.wait_for(lambda seen=seen: releases[0] != seen, timeout=1)
                continue
            while True:
                current = store.tasks.load(task.task_id)
                try:
                    store.runs.record(current, lease, turn(current, reply=f"answer {worker}/{n}"))
                except ConcurrentUpdate:  # a follow-up landed between the read and the write
                    continue
                break
            store.runs.release(current, lease, count_attempt=False)
            # Nothing reads the task events here, and moto copies every one kept in each transaction on the
            # task: 600 writes made the last ones many times slower than the first (the stack's reader trims them).
            moto_server.forget_stream(settings.tasks_table)
            with _lock:
                recorded.append(current.interaction_count)
            with released:
                releases[0] += 1
                released.notify_all()
            return

    def follow_ups_and_runs(worker: int) -> None:
        for n in range(12):
            _counted()
            store.transitions.follow_up("alice", task.task_id, f"{worker}/{n}")
            run_once(worker, n)

    # When they all run at once
    run_all([lambda w=w: follow_ups_and_runs(w) for w in range(10)])
    # Then seq is exactly 1..240, user and assistant in turn: no gap, no duplicate, and the counter agrees
    items = sorted(InteractionModel.query(task.task_id), key=lambda item: int(item.seq))
    assert [int(item.seq) for item in items] == list(range(1, 241))
    assert [item.role for item in items] == ["user", "assistant"] * 120
    assert sorted(recorded) == list(range(0, 240, 2))
    after = store.tasks.get("alice", task.task_id)
    assert (after.interaction_count, after.status, after.turns) == (240, TaskStatus.QUEUED, 120)
    # And every prompt was answered once, in the order it was sent, but the last, still pending
    prompts = ["Say hello", *(f"{w}/{n}" for w in range(10) for n in range(12))]
    answered = [item.content for item in items if item.role == "user"]
    assert sorted([*answered, *after.pending_prompts]) == sorted(prompts)
    for w in range(10):
        mine = [p for p in [*answered, *after.pending_prompts] if p.startswith(f"{w}/")]
        assert mine == [f"{w}/{n}" for n in range(12)]
    assert consistency_report(store).violations == []
