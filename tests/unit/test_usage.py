"""Usage totals and quota counters: written by the transactions they count, refused by the quota's conditions."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

import pytest

from claude_tasks.claude.pricing import PRICES
from claude_tasks.core.errors import QuotaExceeded, StaleInteractionCount
from claude_tasks.core.records import NewTask
from claude_tasks.core.usage import Quota, QuotaOverride, month
from claude_tasks.store import Store
from claude_tasks.store.audit import consistency_report
from claude_tasks.store.models import TaskModel, UsageModel
from claude_tasks.store.runs import Lease
from tests.support.clock import pin_mid_minute
from tests.support.dynamodb_calls import record_operations
from tests.support.turns import turn


@pytest.fixture(autouse=True)
def _pinned_clock(monkeypatch: pytest.MonkeyPatch) -> datetime:
    # Every test here counts within a UTC minute, day or month: none of them may see one end.
    return pin_mid_minute(monkeypatch)


def _priced(store: Store, task_factory):  # a task leased, its turn recorded with a cost
    task = task_factory()
    lease = Lease.start(60)
    store.runs.lease(task.task_id, task.session_id, lease)
    held = store.tasks.load(task.task_id)
    record = turn(held, reply="Hi.")
    answer = record.interactions[1].model_copy(update={"cost_usd": 0.25})
    store.runs.record(held, lease, replace(record, interactions=(record.interactions[0], answer)))
    return task, lease


def test_a_turn_adds_its_tokens_and_cost_to_the_session_and_the_owner(store: Store, task_factory) -> None:
    # Given a task whose one turn spent 10 input and 5 output tokens for $0.25
    task, _ = _priced(store, task_factory)
    # When the session and the owner's usage are read
    session = store.sessions.get("alice", task.session_id)
    mine = store.usage.for_owner("alice")
    # Then each total holds the turn, priced with the table's version, and the task counted as succeeded
    for totals in (session.usage, mine.total, mine.month, mine.days[-1]):
        assert (totals.usage.input_tokens, totals.usage.output_tokens, totals.turns) == (10, 5, 1)
        assert totals.cost_usd == pytest.approx(0.25)
        assert totals.prices == [PRICES.version]
    assert (
        session.usage.tasks
        == mine.total.tasks
        == {
            "queued": 0,
            "running": 0,
            "succeeded": 1,
            "failed": 0,
            "exhausted": 0,
            "cancelled": 0,
        }
    )
    assert [d.turns for d in mine.days[:-1]] == [0] * 29  # the 29 days before: nothing


def test_a_refused_turn_adds_nothing_to_the_totals(store: Store, task_factory) -> None:
    # Given a leased task with two prompts, its first turn recorded
    task = task_factory()
    store.transitions.follow_up("alice", task.task_id, "And then?")
    lease = Lease.start(60)
    store.runs.lease(task.task_id, task.session_id, lease)
    stale = store.tasks.load(task.task_id)
    store.runs.record(stale, lease, turn(stale, reply="first"))
    # When a turn is recorded against the old read (refused: the same transaction as the totals)
    with pytest.raises(StaleInteractionCount):
        store.runs.record(stale, lease, turn(stale, reply="second"))
    # Then the totals hold one turn, not two
    assert store.usage.for_owner("alice").total.turns == 1
    assert store.sessions.get("alice", task.session_id).usage.turns == 1


def test_status_changes_move_tasks_between_counts(store: Store, task_factory) -> None:
    # Given three tasks: one running, one cancelled, one left queued
    running, cancelled, _ = task_factory(), task_factory(), task_factory()
    store.runs.lease(running.task_id, running.session_id, Lease.start(60))
    store.transitions.cancel("alice", cancelled.task_id)
    # When the owner's totals are read
    total = UsageModel.get("alice", "total", consistent_read=True)
    # Then each status counts its tasks, and `active` the queued and running ones
    tasks = store.usage.for_owner("alice").total.tasks
    assert (tasks["queued"], tasks["running"], tasks["cancelled"]) == (1, 1, 1)
    assert total.active == 2
    # And a retry and a delete move them again
    store.transitions.retry("alice", cancelled.task_id)
    store.tasks.delete("alice", cancelled.task_id)
    tasks = store.usage.for_owner("alice").total.tasks
    assert (tasks["queued"], tasks["running"], tasks["cancelled"]) == (1, 1, 0)
    assert UsageModel.get("alice", "total", consistent_read=True).active == 2


def test_the_active_tasks_quota_refuses_the_next_creation(store: Store, session_factory, task_factory) -> None:
    # Given alice allowed 2 active tasks, and 2 queued
    store.usage.set_quota("alice", QuotaOverride(max_active_tasks=2))
    session = session_factory()
    task_factory(session), task_factory(session)
    # When a third is created, Then the quota refuses it, saying so
    with pytest.raises(QuotaExceeded) as refused:
        task_factory(session)
    assert (refused.value.limit, refused.value.current, refused.value.allowed) == ("max_active_tasks", 2, 2)
    assert store.sessions.get("alice", session.session_id).task_count == 2
    # And bob, with the deployment's default (no limit), is not refused
    task_factory(session_factory(owner="bob"))


def test_the_per_minute_quota_refuses_until_the_minute_ends(store: Store, session_factory, task_factory) -> None:
    # Given alice allowed one task per minute, and one created (the clock stopped mid-minute, so both
    # creations fall in the same minute however slow the machine)
    store.usage.set_quota("alice", QuotaOverride(max_tasks_per_minute=1))
    session = session_factory()
    task_factory(session)
    # When another is created in the same minute, Then it is refused until the minute ends
    with pytest.raises(QuotaExceeded) as refused:
        task_factory(session)
    assert refused.value.limit == "max_tasks_per_minute"
    assert refused.value.resets_at is not None and refused.value.resets_at.endswith(":00.000000Z")
    assert 1 <= refused.value.retry_after_s <= 60


def test_the_monthly_spend_quota_refuses_once_spent(
    store: Store, session_factory, task_factory, _pinned_clock: datetime
) -> None:
    # Given alice allowed $0.20 a month and a turn that cost $0.25
    store.usage.set_quota("alice", QuotaOverride(monthly_spend_usd=0.2))
    task, _ = _priced(store, task_factory)
    # When another task is created, Then it is refused until the next month
    with pytest.raises(QuotaExceeded) as refused:
        task_factory(store.sessions.get("alice", task.session_id))
    assert (refused.value.limit, refused.value.current) == ("monthly_spend_usd", 0.25)
    assert refused.value.resets_at == month(_pinned_clock).ends_iso


def test_an_owner_override_keeps_the_other_defaults(settings) -> None:
    # Given a deployment default of 5 active tasks and 10 per minute, and alice's override of the per-minute one
    store = Store(settings.model_copy(update={"quota_max_active_tasks": 5, "quota_max_tasks_per_minute": 10}))
    store.usage.set_quota("alice", QuotaOverride(max_tasks_per_minute=3))
    # Then alice's quota has the override and the other default; bob's, the defaults
    assert store.usage.quota("alice") == Quota(max_active_tasks=5, max_tasks_per_minute=3)
    assert store.usage.quota("bob") == Quota(max_active_tasks=5, max_tasks_per_minute=10)
    assert store.usage.for_owner("alice").quota == store.usage.quota("alice")


def test_an_override_of_0_lifts_the_default_and_an_unset_limit_keeps_it(settings, session_factory) -> None:
    # Given a deployment default of 1 active task and 10 per minute, and alice's override of 0 active tasks
    store = Store(settings.model_copy(update={"quota_max_active_tasks": 1, "quota_max_tasks_per_minute": 10}))
    store.usage.set_quota("alice", QuotaOverride(max_active_tasks=0))
    # Then 0 means no limit, as in the deployment's settings, and the unset per-minute limit is the default
    assert store.usage.quota("alice") == Quota(max_active_tasks=None, max_tasks_per_minute=10)
    # And alice creates past the default's one active task, while bob (the default) is held to it
    session = session_factory()
    new = NewTask(prompt="Hi")
    for _ in range(3):
        store.tasks.create("alice", session.session_id, new)
    bob = session_factory(owner="bob")
    store.tasks.create("bob", bob.session_id, new)
    with pytest.raises(QuotaExceeded):
        store.tasks.create("bob", bob.session_id, new)


def test_an_override_of_0_spend_and_rate_lifts_those_defaults(settings) -> None:
    # Given defaults on every limit, and alice's override lifting the rate and the spend
    store = Store(
        settings.model_copy(
            update={"quota_max_active_tasks": 4, "quota_max_tasks_per_minute": 2, "quota_monthly_spend_usd": 1.5}
        )
    )
    mine = store.usage.set_quota("alice", QuotaOverride(max_tasks_per_minute=0, monthly_spend_usd=0))
    # Then her quota keeps only the active tasks' default; the override is kept as sent
    assert mine.quota == Quota(max_active_tasks=4) == store.usage.quota("alice")
    assert store.usage.owner_quota("alice").override == QuotaOverride(max_tasks_per_minute=0, monthly_spend_usd=0)
    # And clearing it brings the defaults back
    assert (
        store.usage.clear_quota("alice").quota
        == store.usage.quota("alice")
        == settings.model_copy(
            update={"quota_max_active_tasks": 4, "quota_max_tasks_per_minute": 2, "quota_monthly_spend_usd": 1.5}
        ).quota
    )


def test_a_follow_up_that_queues_a_finished_task_is_held_to_the_active_tasks_quota(
    store: Store, session_factory, task_factory
) -> None:
    # Given alice allowed one active task: one cancelled, another queued
    store.usage.set_quota("alice", QuotaOverride(max_active_tasks=1))
    session = session_factory()
    finished = task_factory(session)
    store.transitions.cancel("alice", finished.task_id)
    task_factory(session)
    # When she follows up on the cancelled one (which would queue it again), Then the quota refuses it
    with pytest.raises(QuotaExceeded) as refused:
        store.transitions.follow_up("alice", finished.task_id, "And now?")
    assert (refused.value.limit, refused.value.current, refused.value.allowed) == ("max_active_tasks", 1, 1)
    # And nothing moved: the task is still cancelled without the prompt, and one task is active
    assert store.tasks.get("alice", finished.task_id).status == "cancelled"
    assert store.tasks.get("alice", finished.task_id).pending_prompts == finished.pending_prompts
    assert UsageModel.get("alice", "total", consistent_read=True).active == 1
    # And a retry is refused the same way
    with pytest.raises(QuotaExceeded):
        store.transitions.retry("alice", finished.task_id)


def test_a_retry_is_not_held_to_the_creation_rate(store: Store, session_factory, task_factory) -> None:
    # Given alice allowed one creation a minute, and one task created and cancelled this minute
    store.usage.set_quota("alice", QuotaOverride(max_tasks_per_minute=1))
    task = task_factory(session_factory())
    store.transitions.cancel("alice", task.task_id)
    # When she retries it, Then it is queued: a retry creates nothing
    assert store.transitions.retry("alice", task.task_id).status == "queued"


def test_a_follow_up_over_the_monthly_spend_is_refused(store: Store, task_factory) -> None:
    # Given alice allowed $0.20 a month, and a task that succeeded with a turn that cost $0.25
    store.usage.set_quota("alice", QuotaOverride(monthly_spend_usd=0.2))
    task, _ = _priced(store, task_factory)
    # When she follows up on the succeeded task, Then the month's spend refuses it
    with pytest.raises(QuotaExceeded) as refused:
        store.transitions.follow_up("alice", task.task_id, "More?")
    assert refused.value.limit == "monthly_spend_usd"


def test_a_fork_counts_against_the_active_tasks_quota(store: Store, session_factory, task_factory) -> None:
    # Given alice allowed one active task, and one queued
    store.usage.set_quota("alice", QuotaOverride(max_active_tasks=1))
    source = task_factory(session_factory())
    # When she forks it, Then the quota refuses the fork and nothing is counted for it
    with pytest.raises(QuotaExceeded):
        store.forks.fork("alice", source.task_id, "And in French?", None, None)
    assert store.usage.for_owner("alice").total.tasks["queued"] == 1
    assert store.sessions.get("alice", source.session_id).task_count == 1


@pytest.mark.parametrize("key", [None, "fork-1"])
def test_a_fork_the_quota_refuses_to_queue_is_deleted_unless_a_key_can_finish_it(
    store: Store, session_factory, task_factory, key: str | None
) -> None:
    # Given alice allowed two active tasks, one queued, and another created just after her fork was
    # (the fork is created finished, so the quota let it in; queuing it is refused)
    store.usage.set_quota("alice", QuotaOverride(max_active_tasks=2))
    session = session_factory()
    source = task_factory(session)
    raced: list[str] = []

    def create(operation: str, params: dict[str, Any]) -> None:
        """The transaction after the one that puts the fork (its queuing) is preceded by another creation."""
        if operation != "TransactWriteItems" or "created" in raced:
            return
        if "forked" in raced:
            raced.append("created")
            task_factory(session)
        elif "forked_from" in str(params.get("TransactItems")):
            raced.append("forked")

    record_operations(store, create)
    # When she forks the first task with a prompt
    with pytest.raises(QuotaExceeded) as refused:
        store.forks.fork("alice", source.task_id, "And in French?", None, key)
    # Then the quota refuses it; without a key nothing is left of the fork, with one it waits for the replay
    assert raced and refused.value.limit == "max_active_tasks"
    forks = [item for item in TaskModel.scan() if item.forked_from == source.task_id]
    assert len(forks) == (0 if key is None else 1)
    assert store.sessions.get("alice", session.session_id).task_count == 2 + len(forks)
    assert consistency_report(store).violations == []
