"""An owner's counters (their usage `total`: tasks by status and `active`, the figure the active-tasks quota
reads) are recounted from their tasks with a write a concurrent task change makes fail and count again, and the
full check reports them off as a `counter_drift` whose subject is the owner."""

from __future__ import annotations

from typing import Any

import pytest

from claude_tasks.app.janitor import Janitor
from claude_tasks.app.queue import TaskQueue
from claude_tasks.core import usage as periods
from claude_tasks.core.config import Settings
from claude_tasks.store import Store, counters
from claude_tasks.store.audit import consistency_report
from claude_tasks.store.counters import Drift
from claude_tasks.store.models import TaskModel, UsageModel
from tests.support.dynamodb_calls import record_operations


@pytest.fixture(autouse=True)
def _index_settles_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto's indexes are immediate: the recount's wait for the index (a second on DynamoDB) is not needed."""
    monkeypatch.setattr(counters, "INDEX_SETTLE_S", 0.0)


def _total(owner: str) -> UsageModel:
    return UsageModel.get(owner, periods.TOTAL, consistent_read=True)


def _corrupt(owner: str, **figures: int) -> None:
    """Write the owner's counters directly, as a fault leaves them (or an upgrade that found old tasks ending)."""
    UsageModel(owner, periods.TOTAL).update(
        actions=[getattr(UsageModel, name).set(value) for name, value in figures.items()]
    )


def test_a_negative_active_count_is_recounted(store: Store, session_factory, task_factory) -> None:
    # Given alice's two queued tasks, and her total saying -3 active (old tasks ended after an upgrade)
    session = session_factory()
    task_factory(session), task_factory(session)
    _corrupt("alice", active=-3, tasks_succeeded=4)
    # When an admin recounts her
    fixed = store.counters.recount_owner("alice")
    # Then it says what it corrected, her total holds the count, and a second recount finds nothing
    assert fixed == [Drift("tasks_succeeded", 4, 0), Drift("active", -3, 2)]
    total = _total("alice")
    assert (total.tasks_queued, total.tasks_succeeded, total.active) == (2, 0, 2)
    assert store.counters.recount_owner("alice") == []


def test_an_owner_upgraded_with_tasks_and_no_total_gets_one(store: Store, session_factory, task_factory) -> None:
    # Given bob's task, written before the owners' counters existed: no total item at all
    task_factory(session_factory(owner="bob"))
    UsageModel(owner="bob", period=periods.TOTAL).delete()
    # When he is recounted
    fixed = store.counters.recount_owner("bob")
    # Then his total is made with the count, and written by a transaction (it carries a write_id)
    assert fixed == [Drift("tasks_queued", 0, 1), Drift("active", 0, 1)]
    total = _total("bob")
    assert (total.tasks_queued, total.active) == (1, 1)
    assert total.write_id is not None


def test_an_owner_with_nothing_has_nothing_to_correct(store: Store) -> None:
    assert store.counters.recount_owner("nobody") == []


def test_every_tally_stamps_the_owner_total(store: Store, session_factory, task_factory) -> None:
    # Given alice's total after one task's creation
    session = session_factory()
    task_factory(session)
    first = _total("alice").write_id
    # When another task is created
    task_factory(session)
    # Then the total was stamped again: the recount's condition sees every tally
    assert first is not None and _total("alice").write_id not in (None, first)


def test_the_owner_recount_counts_again_when_a_task_is_created_between_its_count_and_its_write(
    store: Store, session_factory, task_factory
) -> None:
    # Given alice's one task, and her active count lost
    session = session_factory()
    task_factory(session)
    _corrupt("alice", active=0)
    writes: list[str] = []

    def create(operation: str, params: dict[str, Any]) -> None:
        """Just as the recount sends its write, another task is created (it commits first)."""
        if operation != "TransactWriteItems" or writes:
            return
        writes.append("recount")
        task_factory(session)

    sent = record_operations(store, create)
    # When she is recounted
    fixed = store.counters.recount_owner("alice")
    # Then its first write was refused, it counted again, and the figure written counts both tasks
    assert writes == ["recount"]
    assert sent.count("TransactWriteItems") == 3  # the recount's refused write, the creation's, the recount's
    assert fixed == [Drift("active", 1, 2)]
    total = _total("alice")
    assert (total.tasks_queued, total.active) == (2, 2)


def _drifts(report: Any) -> list[tuple[str, str | None, int | None, int | None]]:
    return sorted((v.subject, v.counter, v.stored, v.counted) for v in report.violations if v.kind == "counter_drift")


def test_the_full_check_reports_an_owners_drift_and_the_recount_clears_it(
    store: Store, session_factory, task_factory
) -> None:
    # Given alice's tasks in two sessions, her active count gone negative; and bob, upgraded with no total
    first, second = session_factory(), session_factory()
    task_factory(first), task_factory(second), task_factory(second)
    task_factory(session_factory(owner="bob"))
    _corrupt("alice", active=-3)
    UsageModel(owner="bob", period=periods.TOTAL).delete()
    # When the full check runs a page at a time
    report = consistency_report(store, page_size=1)
    # Then each owner's counter off is one counter_drift whose subject is the owner, and no session is off
    assert _drifts(report) == [
        ("alice", "active", -3, 3),
        ("bob", "active", 0, 1),
        ("bob", "tasks_queued", 0, 1),
    ]
    assert [v.kind for v in report.violations] == ["counter_drift"] * 3
    # And once both are recounted, the next check finds nothing
    store.counters.recount_owner("alice"), store.counters.recount_owner("bob")
    assert consistency_report(store).violations == []


def test_counters_left_by_an_owners_deleted_tasks_are_reported_and_recounted_to_zero(
    store: Store, session_factory, task_factory
) -> None:
    # Given carol, whose only task was deleted, her total still saying one queued and active (a fault's leftover);
    # and dave, whose task is gone too, with his counters right at 0
    task = task_factory(session_factory(owner="carol"))
    store.tasks.delete("carol", task.task_id)
    _corrupt("carol", tasks_queued=1, active=1)
    store.tasks.delete("dave", task_factory(session_factory(owner="dave")).task_id)
    # When the full check runs (the owner index lists no task of either)
    report = consistency_report(store, page_size=1)
    # Then carol's counters are reported through her total, and dave is not
    assert _drifts(report) == [("carol", "active", 1, 0), ("carol", "tasks_queued", 1, 0)]
    # And her recount sets them to 0, after which the check finds nothing
    assert store.counters.recount_owner("carol") == [Drift("tasks_queued", 1, 0), Drift("active", 1, 0)]
    assert consistency_report(store).violations == []


def test_the_janitors_stepwise_check_reports_an_owners_drift_once(
    store: Store, settings: Settings, session_factory, task_factory
) -> None:
    # Given alice's tasks across sessions, her queued counter off, and a check of one item per step
    for _ in range(3):
        task_factory(session_factory())
    _corrupt("alice", tasks_queued=9)
    tiny = settings.model_copy(update={"audit_segments": 2, "audit_page_size": 1})
    Janitor(Store(tiny), TaskQueue(tiny)).run(start_full_check=True, budget_s=0)
    report, steps = None, 0
    # When janitors take it step by step to its end
    while report is None:
        report, steps = Janitor(Store(tiny), TaskQueue(tiny)).run(budget_s=0).report, steps + 1
        assert steps < 200
    # Then the owner is reported once, whichever step met her first task
    assert _drifts(report) == [("alice", "tasks_queued", 9, 3)]


def test_a_task_created_while_its_owner_is_checked_is_no_drift(store: Store, session_factory, task_factory) -> None:
    # Given alice's task, and another created just after the check read her total (before it lists her tasks)
    session = session_factory()
    task_factory(session)
    created: list[str] = []

    def create(operation: str, params: dict[str, Any]) -> None:
        if (
            operation == "GetItem"
            and params.get("TableName") == UsageModel.Meta.table_name
            and not params.get("ConsistentRead")
            and not created
        ):
            created.append(task_factory(session).task_id)

    record_operations(store, create)
    # When the full check runs
    report = consistency_report(store)
    # Then her total was read before the creation and her tasks after (a suspect), and nothing is reported
    assert created
    assert report.violations == []


def test_the_owner_count_waits_for_the_index_between_reading_the_total_and_listing_the_tasks(
    store: Store, session_factory, task_factory
) -> None:
    # Given alice's task, and every DynamoDB call and wait recorded in order
    task_factory(session_factory())
    sent = record_operations(store)
    # When her tasks are counted, with a stand-in for the wait
    seen = counters.owner_settled("alice", settle=0.25, sleep=lambda s: sent.append(f"sleep {s}"))
    # Then her total was read consistently, then the wait, then the owner index was queried
    assert seen is not None and seen[1]["active"] == 1
    assert sent[:3] == ["GetItem", "sleep 0.25", "Query"]


def test_an_owner_over_the_cap_is_not_confirmed_nor_recounted_and_the_check_completes(
    store: Store, monkeypatch: pytest.MonkeyPatch, session_factory, task_factory
) -> None:
    # Given alice's three tasks, a cap of two, and her queued counter off
    monkeypatch.setattr(counters, "COUNT_CAP", 2)
    session = session_factory()
    for _ in range(3):
        task_factory(session)
    _corrupt("alice", tasks_queued=9)
    consistent: list[str] = []

    def record(operation: str, params: dict[str, Any]) -> None:
        if operation == "GetItem" and params.get("ConsistentRead"):
            consistent.append(params["TableName"])
        elif operation == "BatchGetItem":
            consistent.extend(params["RequestItems"])

    record_operations(store, record)
    # When the full check runs
    report = consistency_report(store)
    # Then it completed; she was a suspect (her total re-read), but her counters are not reported: none of
    # her tasks was re-read, and the report says one subject's counters were not checked
    assert report.total_tasks == 3
    assert report.violations == []
    assert report.counters_not_checked == 1
    assert UsageModel.Meta.table_name in consistent
    assert TaskModel.Meta.table_name not in consistent
    # And the recount refuses her, saying why, and writes nothing
    with pytest.raises(counters.TooManyToCount, match="owner alice has more than 2 tasks"):
        store.counters.recount_owner("alice")
    assert _total("alice").tasks_queued == 9
