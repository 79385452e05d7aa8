"""The janitor: orphaned sessions past retention go, racing creations win, stuck tasks are re-queued."""

from __future__ import annotations

import json

import boto3
import pytest
from aws_lambda_powertools import Metrics

from claude_tasks.app.janitor import Janitor
from claude_tasks.app.queue import TaskQueue
from claude_tasks.core.clock import iso_in
from claude_tasks.core.config import Settings
from claude_tasks.core.records import NewTask
from claude_tasks.store import Store
from claude_tasks.store.audit_record import PROGRESS
from claude_tasks.store.models import AuditRecord, SessionModel, TaskModel


@pytest.fixture
def janitor(store: Store, settings: Settings) -> Janitor:
    return Janitor(store, TaskQueue(settings))


def _age(model: type[SessionModel] | type[TaskModel], key: str, hours: float, **fields: object) -> None:
    item = model.get(key)
    actions = [model.updated_at.set(iso_in(-hours * 3600))]
    actions += [getattr(model, name).set(value) for name, value in fields.items()]
    item.update(actions=actions)


def _queued_task_ids(settings: Settings) -> list[str]:
    sqs = boto3.client("sqs", region_name=settings.region)
    messages = sqs.receive_message(QueueUrl=settings.task_queue_url, MaxNumberOfMessages=10)
    return sorted(json.loads(m["Body"])["task_id"] for m in messages.get("Messages", []))


def test_orphaned_sessions_past_retention_are_deleted(janitor: Janitor, session_factory, task_factory) -> None:
    # Given an old empty session, a fresh empty one, and an old one with a task
    old, fresh, busy = session_factory(), session_factory(), session_factory()
    task_factory(busy)
    _age(SessionModel, old.session_id, hours=48)
    _age(SessionModel, busy.session_id, hours=48)
    # When the janitor runs
    deleted = janitor.delete_orphans()
    # Then only the old empty session is gone
    assert deleted == 1
    assert {s.session_id for s in SessionModel.scan()} == {fresh.session_id, busy.session_id}


def test_a_task_created_after_the_scan_wins_the_race(store: Store, session_factory) -> None:
    # Given an old empty session the janitor has already listed as orphaned
    session = session_factory()
    _age(SessionModel, session.session_id, hours=48)
    cutoff = iso_in(-24 * 3600)
    assert [s.session_id for s in store.sessions.orphans(cutoff)] == [session.session_id]
    # When a task is created before the janitor's delete
    store.tasks.create("alice", session.session_id, NewTask(prompt="p"))
    # Then the conditional delete refuses, and the session and its task stay
    assert store.sessions.delete_if_orphaned(session.session_id, cutoff) is False
    assert SessionModel.get(session.session_id).task_count == 1


def test_stuck_tasks_are_requeued(janitor: Janitor, settings: Settings, task_factory) -> None:
    # Given a long-queued task, a running task whose lease expired, one with a live lease, and a fresh one
    queued, expired, live = task_factory(), task_factory(), task_factory()
    task_factory()
    _age(TaskModel, queued.task_id, hours=1)
    _age(TaskModel, expired.task_id, hours=1, status="running", lease_expires_at=iso_in(-60))
    _age(TaskModel, live.task_id, hours=1, status="running", lease_expires_at=iso_in(600))
    # When the janitor runs
    requeued = janitor.requeue_stuck()
    # Then the queued and the expired ones are sent to the queue again, and nothing else
    assert requeued == 2
    assert _queued_task_ids(settings) == sorted([queued.task_id, expired.task_id])


def test_a_task_given_back_after_an_error_is_left_to_its_own_message(
    janitor: Janitor, settings: Settings, task_factory
) -> None:
    # Given two tasks a worker gave back after a retryable error (attempt counted): one lately,
    # its SQS message due again when the visibility timeout (`lease_seconds`) ends, and one long ago
    recent, lost = task_factory(), task_factory()
    _age(TaskModel, recent.task_id, hours=(settings.requeue_after_s + 60) / 3600, attempts=1)
    _age(TaskModel, lost.task_id, hours=(settings.lease_seconds + 60) / 3600, attempts=1)
    # When the janitor runs
    requeued = janitor.requeue_stuck()
    # Then only the one whose message should have come back by now is sent again
    assert requeued == 1
    assert _queued_task_ids(settings) == [lost.task_id]


def test_the_report_is_published_as_metrics(janitor: Janitor, session_factory, capsys) -> None:
    # Given one orphaned session
    session_factory()
    metrics = Metrics(namespace="ClaudeTaskServer", service="janitor")
    # When the slow schedule's run starts a full check, completes it and flushes its metrics
    run = janitor.run(metrics, start_full_check=True, budget_s=60)
    metrics.flush_metrics()
    # Then the figures are in the EMF log line
    emf = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert emf["OrphanedSessions"] == [1.0] or emf["OrphanedSessions"] == 1.0
    assert emf["InvariantViolations"] in (0, 0.0, [0.0])
    assert emf["CountersNotChecked"] in (0, 0.0, [0.0])
    assert run.report is not None and run.report.violations == []


def test_the_full_check_scans_in_pages_of_the_configured_size_and_only_once_started(
    store: Store, settings: Settings, session_factory
) -> None:
    # Given five sessions, and a janitor told to read two items a scan page
    for _ in range(5):
        session_factory()
    tuned = settings.model_copy(update={"audit_page_size": 2})
    janitor = Janitor(Store(tuned), TaskQueue(tuned))
    limits: list[object] = []
    client = SessionModel._get_connection().connection.client
    client.meta.events.register("before-parameter-build.dynamodb.Scan", lambda params, **_: limits.append(params))
    # When it runs on the frequent schedule, then on the slow one
    frequent = janitor.run()
    assert frequent.report is None and limits == []
    started = janitor.run(start_full_check=True, budget_s=60)
    # Then only the full check scanned, reading the sessions in pages of two, and it completed
    session_pages = [p for p in limits if isinstance(p, dict) and p["TableName"] == settings.sessions_table]
    assert len([p for p in session_pages if p.get("Limit") == 2]) >= 3
    assert started.report is not None and started.report.total_sessions == 5
    assert not started.full_check_under_way


def test_a_session_whose_last_task_is_deleted_is_an_orphan_in_time(
    janitor: Janitor, store: Store, session_factory, task_factory
) -> None:
    # Given a session whose only task is deleted, the session then left alone past retention
    session = session_factory()
    task = task_factory(session)
    store.tasks.delete("alice", task.task_id)
    _age(SessionModel, session.session_id, hours=48)
    # When the janitor runs
    deleted = janitor.delete_orphans()
    # Then the idle index led it to the session
    assert deleted == 1
    assert list(SessionModel.scan()) == []


def test_progress_this_version_cannot_read_is_replaced_by_a_new_check(
    janitor: Janitor, session_factory, caplog: pytest.LogCaptureFixture
) -> None:
    # Given a session, and a full check's progress saved by another version of the janitor (a rollback)
    session_factory()
    body = {"started_at": "2026-11-30T00:00:00.000000Z", "segments": 1, "jobs": [{"table": "claims", "segment": 0}]}
    AuditRecord(PROGRESS, body=body, updated_at="2026-11-30T00:00:00.000000Z").save()
    # When the janitor runs on its frequent schedule
    run = janitor.run(budget_s=60)
    # Then it does not fail: it says so and checks everything anew, to a report of what is there now
    assert run.report is not None and run.report.total_sessions == 1 and run.report.violations == []
    assert any("cannot be read" in record.getMessage() for record in caplog.records)
