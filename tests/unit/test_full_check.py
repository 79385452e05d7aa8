"""The audit that scales: frequent duties read indexes only; the full check runs in budgeted, resumable steps."""

from __future__ import annotations

import json
from typing import Any

from claude_tasks.app.janitor import Janitor
from claude_tasks.app.queue import TaskQueue
from claude_tasks.core import usage as periods
from claude_tasks.core.clock import iso_in, now_iso
from claude_tasks.core.config import Settings
from claude_tasks.core.lifecycle import ACTIVE
from claude_tasks.core.records import TaskStatus
from claude_tasks.store import Store
from claude_tasks.store.audit import ConsistencyReport, consistency_report
from claude_tasks.store.models import (
    ClaudeSessionClaim,
    InteractionModel,
    SessionModel,
    TaskModel,
    UsageModel,
)
from claude_tasks_dev.local.schedule import full_check_event
from claude_tasks_dev.local.template import load_template
from tests.support.dynamodb_calls import record_operations
from tests.support.turns import record_turn


def _age(model: type[SessionModel] | type[TaskModel], key: str, hours: float, **fields: object) -> None:
    item = model.get(key)
    actions = [model.updated_at.set(iso_in(-hours * 3600))]
    actions += [getattr(model, name).set(value) for name, value in fields.items()]
    item.update(actions=actions)


def _raw_task(task_id: str, session_id: str, **fields: object) -> None:
    """A task written around the repository, but counted in its owner's total as a tally would (the owner's
    counters are not what these tests break)."""
    task = TaskModel(
        task_id, session_id=session_id, owner="alice", prompt="p", created_at=now_iso(), updated_at=now_iso(), **fields
    )
    task.save()
    status = TaskStatus(task.status)
    if status != TaskStatus.DELETING:
        actions = [getattr(UsageModel, f"tasks_{status.value}").add(1)]
        actions += [UsageModel.active.add(1)] if status in ACTIVE else []
        UsageModel("alice", periods.TOTAL).update(actions=actions)


def _comparable(report: ConsistencyReport) -> dict[str, Any]:
    figures = report.model_dump(exclude={"started_at", "completed_at", "violations"})
    return figures | {"violations": sorted((v.kind, v.subject, v.detail) for v in report.violations)}


def test_the_frequent_duties_read_indexes_and_never_scan(
    store: Store, settings: Settings, session_factory, task_factory
) -> None:
    # Given an old empty session, a fresh one, a long-queued task and a running one whose lease expired
    old = session_factory()
    _age(SessionModel, old.session_id, hours=48)
    session_factory()
    queued, expired = task_factory(), task_factory()
    _age(TaskModel, queued.task_id, hours=1)
    _age(TaskModel, expired.task_id, hours=1, status="running", lease_expires_at=iso_in(-60))
    sent = record_operations(store)
    # When the janitor runs on its frequent schedule
    run = Janitor(store, TaskQueue(settings)).run()
    # Then it did both duties through index queries, and sent no Scan at all
    assert (run.orphans_deleted, run.tasks_requeued) == (1, 2)
    assert "Query" in sent and "Scan" not in sent
    assert sent.count("Query") == 2 * settings.active_shards  # one per shard of each sparse index


def test_a_full_check_split_over_many_runs_reports_what_one_run_reports(
    store: Store, settings: Settings, session_factory, task_factory
) -> None:
    # Given sessions, tasks and turns, some of them broken around the repository
    for _ in range(3):
        session = session_factory()
        for _ in range(2):
            record_turn(store, task_factory(session), claim=None)
    _raw_task("orphan-task", "no-such-session")
    _raw_task("twin-a", session.session_id, claude_session_id="shared")
    _raw_task("twin-b", session.session_id, claude_session_id="shared")
    ClaudeSessionClaim("shared", task_id="twin-a", session_id=session.session_id, owner="alice", claimed_at="t").save()
    InteractionModel("no-such-task", 1, session_id="s", owner="alice", role="user", content="x", created_at="t").save()
    whole = consistency_report(store)
    # When janitors with no time to spare (a new one each run: nothing is kept in memory) check it step by step
    tiny = settings.model_copy(update={"audit_segments": 2, "audit_page_size": 1})
    Janitor(Store(tiny), TaskQueue(tiny)).run(start_full_check=True, budget_s=0)
    steps, report = 1, None
    while report is None:
        run = Janitor(Store(tiny), TaskQueue(tiny)).run(budget_s=0)
        steps, report = steps + 1, run.report
        assert steps < 200
    # Then it took several steps (how many items a zero budget lets a step take depends on the machine's
    # speed: at least one per job), and its report is the one-run report
    assert steps > 2
    assert _comparable(report) == _comparable(whole)
    assert len(whole.violations) >= 4 and whole.shared_claude_session_ids == 1
    # And it was stored: the API serves it, and no check is left under way
    assert store.audit.last_report() == report
    assert store.audit.under_way() is None


def test_a_violation_fixed_before_its_confirmation_is_not_reported(store: Store, session_factory) -> None:
    # Given a task whose session does not exist (yet)
    _raw_task("early-task", "late-session")
    fixed: list[str] = []

    def fix(operation: str, params: dict[str, Any]) -> None:
        """The session appears just before the audit re-reads the task consistently to confirm it."""
        if operation == "GetItem" and params.get("ConsistentRead") and not fixed:
            fixed.append(params["TableName"])
            stamp = now_iso()
            SessionModel("late-session", owner="alice", project_path="/p", created_at=stamp, updated_at=stamp).save()

    record_operations(store, fix)
    # When the full check runs
    report = consistency_report(store)
    # Then it did suspect the task and re-read it, and reports nothing
    assert fixed == [TaskModel.Meta.table_name]
    assert report.violations == []
    assert report.total_tasks == 1


def test_two_janitors_on_one_check_never_count_an_item_twice(store: Store, settings: Settings, session_factory) -> None:
    # Given a full check under way, loaded by two janitors at once
    for _ in range(4):
        session_factory()
    assert store.audit.start()
    first, second = store.audit.under_way(), store.audit.under_way()
    assert first is not None and second is not None
    # When both advance it and save
    for _, progress in (first, second):
        progress.advance(store, deadline=0)
    saved = [store.audit.save(record, progress) for record, progress in (first, second)]
    # Then only the first save stands
    assert saved == [True, False]


def test_a_full_check_is_started_once_while_one_is_under_way(store: Store, settings: Settings) -> None:
    # Given a full check under way
    assert store.audit.start()
    # When the slow schedule fires again before it completed
    again = store.audit.start()
    # Then no second one starts, and the next run completes the first
    assert again is False
    assert Janitor(store, TaskQueue(settings)).run(budget_s=60).report is not None


def test_the_local_stack_sends_the_full_check_event_the_template_schedules() -> None:
    # Given the template's FullCheck schedule
    events = load_template()["Resources"]["JanitorFunction"]["Properties"]["Events"]
    # Then its input is the event the local stack sends
    assert json.loads(events["FullCheck"]["Properties"]["Input"]) == full_check_event()


def test_a_session_written_before_the_idle_index_is_put_in_it_by_the_full_check(
    store: Store, settings: Settings
) -> None:
    # Given an old empty session as items were written before the idle index existed
    stamp = iso_in(-48 * 3600)
    SessionModel("before-the-index", owner="alice", project_path="/p", created_at=stamp, updated_at=stamp).save()
    janitor = Janitor(store, TaskQueue(settings))
    assert janitor.delete_orphans() == 0  # the index does not know it
    # When a full check has run
    janitor.run(start_full_check=True, budget_s=60)
    # Then the session is in the index, its age kept, and the next frequent run deletes it
    assert SessionModel.get("before-the-index").updated_at == stamp
    assert janitor.run().orphans_deleted == 1
