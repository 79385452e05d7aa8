"""The full check compares each session's task counters with its tasks (`counter_drift`), and the recount
repairs them with a write that a concurrent task change makes fail and count again."""

from __future__ import annotations

import time
from typing import Any

import boto3
import pytest

from claude_tasks.app.janitor import Janitor
from claude_tasks.app.queue import TaskQueue
from claude_tasks.core.config import Settings
from claude_tasks.store import Store, counters
from claude_tasks.store.audit import consistency_report
from claude_tasks.store.audit_scan import Progress
from claude_tasks.store.counters import Drift
from claude_tasks.store.models import SessionModel, TaskModel
from tests.support.dynamodb_calls import record_operations


@pytest.fixture(autouse=True)
def _index_settles_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto's indexes are immediate: the recount's wait for the index (a second on DynamoDB) is not needed."""
    monkeypatch.setattr(counters, "INDEX_SETTLE_S", 0.0)


def _corrupt(session_id: str, **figures: int) -> None:
    """Write counters directly, as a fault (or a deployment upgraded with tasks already there) leaves them."""
    SessionModel(session_id).update(actions=[getattr(SessionModel, name).set(value) for name, value in figures.items()])


def _drifts(report: Any) -> list[tuple[str, str | None, int | None, int | None]]:
    return sorted((v.subject, v.counter, v.stored, v.counted) for v in report.violations if v.kind == "counter_drift")


def test_a_corrupted_counter_is_reported_as_drift_and_the_recount_clears_it(
    store: Store, session_factory, task_factory
) -> None:
    # Given a session with two queued tasks, whose queued counter says 5 and whose succeeded counter says 1
    session = session_factory()
    task_factory(session), task_factory(session)
    _corrupt(session.session_id, tasks_queued=5, tasks_succeeded=1)
    # When the full check runs
    report = consistency_report(store, page_size=1)
    # Then each counter off is one counter_drift, with its stored and counted figures
    assert _drifts(report) == [
        (session.session_id, "tasks_queued", 5, 2),
        (session.session_id, "tasks_succeeded", 1, 0),
    ]
    # And when an admin recounts the session, it says what it corrected, and the next check finds nothing
    fixed = store.counters.recount_session(session.session_id)
    assert fixed == [Drift("tasks_queued", 5, 2), Drift("tasks_succeeded", 1, 0)]
    assert consistency_report(store).violations == []
    assert store.counters.recount_session(session.session_id) == []


def test_counters_of_a_stack_upgraded_with_tasks_are_recounted_from_zero(
    store: Store, session_factory, task_factory
) -> None:
    # Given a session whose counters were never written (tasks made before the counters existed)
    session = session_factory()
    task_factory(session)
    SessionModel(session.session_id).update(actions=[SessionModel.tasks_queued.remove()])
    # When the full check runs, then the recount
    assert _drifts(consistency_report(store)) == [(session.session_id, "tasks_queued", 0, 1)]
    store.counters.recount_session(session.session_id)
    # Then the counter is the count
    assert SessionModel.get(session.session_id).tasks_queued == 1


def test_a_task_created_while_its_session_is_checked_is_no_drift(store: Store, session_factory, task_factory) -> None:
    # Given a session with one task, and another task created just after the scan read the session item
    session = session_factory()
    task_factory(session)
    created: list[str] = []

    def create(operation: str, params: dict[str, Any]) -> None:
        if operation == "Query" and params.get("IndexName") == "by-session" and not created:
            created.append(task_factory(session).task_id)

    record_operations(store, create)
    # When the full check runs
    report = consistency_report(store)
    # Then the index saw more tasks than the item it scanned counted, and nothing is reported
    assert created
    assert report.violations == []


def test_tasks_created_between_the_steps_of_a_full_check_are_no_drift(
    store: Store, settings: Settings, session_factory, task_factory
) -> None:
    # Given sessions with tasks, and a full check that takes one step per janitor run
    sessions = [session_factory() for _ in range(3)]
    for session in sessions:
        task_factory(session)
    tiny = settings.model_copy(update={"audit_segments": 2, "audit_page_size": 1})
    Janitor(Store(tiny), TaskQueue(tiny)).run(start_full_check=True, budget_s=0)
    report, steps = None, 0
    while report is None:
        # When a task is created in each session between steps
        task_factory(sessions[steps % len(sessions)])
        report, steps = Janitor(Store(tiny), TaskQueue(tiny)).run(budget_s=0).report, steps + 1
        assert steps < 200
    # Then no counter is reported off
    assert _drifts(report) == []
    assert report.violations == []


def test_the_recount_counts_again_when_a_task_is_created_between_its_count_and_its_write(
    store: Store, session_factory, task_factory
) -> None:
    # Given a session of one task whose counters were lost
    session = session_factory()
    task_factory(session)
    _corrupt(session.session_id, tasks_queued=0)
    writes: list[str] = []

    def create(operation: str, params: dict[str, Any]) -> None:
        """Just as the recount sends its write, another task is created in the session (it commits first)."""
        if operation != "TransactWriteItems" or writes:
            return
        writes.append("recount")
        task_factory(session)

    sent = record_operations(store, create)
    # When the session is recounted
    fixed = store.counters.recount_session(session.session_id)
    # Then its first write was refused, it counted again, and the figure written counts both tasks
    assert writes == ["recount"]
    assert sent.count("TransactWriteItems") == 3  # the recount's refused write, the creation's, the recount's
    assert fixed == [Drift("tasks_queued", 1, 2)]
    item = SessionModel.get(session.session_id, consistent_read=True)
    assert (item.task_count, item.tasks_queued) == (2, 2)
    assert consistency_report(store).violations == []


def test_the_count_waits_for_the_index_between_reading_the_session_and_listing_its_tasks(
    store: Store, session_factory, task_factory
) -> None:
    # Given a session with a task, and every DynamoDB call and wait recorded in order
    session = session_factory()
    task_factory(session)
    sent = record_operations(store)
    # When its tasks are counted, with a stand-in for the wait
    seen = counters.settled(session.session_id, settle=0.25, sleep=lambda s: sent.append(f"sleep {s}"))
    # Then the session was read consistently, then the wait, then the index was queried (then the task re-read)
    assert seen is not None and seen[1]["task_count"] == 1
    assert sent[:3] == ["GetItem", "sleep 0.25", "Query"]


def test_a_count_rereads_its_tasks_100_to_a_request_and_skips_one_deleted_since_the_index_listed_it(
    store: Store, session_factory, task_factory
) -> None:
    # Given a session of 101 tasks, the first of which is deleted just as the count starts re-reading them
    session = session_factory()
    first, *_ = [task_factory(session) for _ in range(101)]

    deleted: list[str] = []

    def delete(operation: str, params: dict[str, Any]) -> None:
        if operation == "BatchGetItem" and not deleted:  # by a client of its own, so not among the count's calls
            key = {"task_id": {"S": first.task_id}}
            boto3.client("dynamodb").delete_item(TableName=TaskModel.Meta.table_name, Key=key)
            deleted.append(first.task_id)

    sent = record_operations(store, delete)
    # When its tasks are counted
    figures = counters.counted(session.session_id)
    # Then one index query listed them and two consistent BatchGetItem requests re-read them, none one by one,
    # and the deleted task is not counted
    assert sent == ["Query", "BatchGetItem", "BatchGetItem"] and deleted
    assert figures["task_count"] == figures["tasks_queued"] == 100


def test_a_counter_that_moved_after_the_scan_saw_it_is_not_reported(
    store: Store, session_factory, task_factory
) -> None:
    # Given a session of two tasks whose queued counter says 5, and that counter written 7 just after the scan
    session = session_factory()
    task_factory(session), task_factory(session)
    _corrupt(session.session_id, tasks_queued=5)
    moved: list[int] = []

    def move(operation: str, params: dict[str, Any]) -> None:
        if operation == "Query" and params.get("IndexName") == "by-session" and not moved:
            moved.append(7)
            _corrupt(session.session_id, tasks_queued=7)

    record_operations(store, move)
    # When the full check runs, the counter is not reported: it is not what the scan saw
    assert _drifts(consistency_report(store)) == []
    # Then the next check, where it holds still, reports it as it is
    assert moved
    assert _drifts(consistency_report(store)) == [(session.session_id, "tasks_queued", 7, 2)]


def test_a_confirmation_that_would_start_past_the_deadline_is_done_in_the_next_step(
    store: Store, session_factory, task_factory
) -> None:
    # Given two sessions with a drifted counter each, and a step whose deadline passes while the scan checks
    # its second (the first item of a step always finishes)
    sessions = [session_factory() for _ in range(2)]
    for session in sessions:
        task_factory(session)
        _corrupt(session.session_id, tasks_queued=3)
    progress = Progress.begin(segments=1)
    deadline = time.monotonic() + 5
    indexed: list[str] = []

    def stall(operation: str, params: dict[str, Any]) -> None:
        """The second session's first index read (the scan's cheap one) ends after the deadline."""
        if operation == "Query" and params.get("IndexName") == "by-session":
            indexed.append(params["ExpressionAttributeValues"][":0"]["S"])
            if len(set(indexed)) == 2:
                while time.monotonic() < deadline:
                    time.sleep(0.05)

    record_operations(store, stall)
    # When the step runs
    progress.advance(store, deadline)
    # Then the second session was suspected but not confirmed: it is not counted, and the sessions job
    # resumes from the first
    job = next(job for job in progress.jobs if job.table == "sessions")
    first, second = indexed[0], indexed[-1]
    assert first != second
    assert not job.done and job.start_key == {"session_id": {"S": first}}
    assert progress.tally.total_sessions == 1
    assert [v.subject for v in progress.tally.violations] == [first]
    # And the next step does it, and reports each session's drift once
    progress.advance(store, time.monotonic() + 600)
    assert job.done and progress.tally.total_sessions == 2
    assert sorted(v.subject for v in progress.tally.violations) == sorted(s.session_id for s in sessions)
