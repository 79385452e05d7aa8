"""`GET /usage`, a session's `usage` block, and the 429 each quota answers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest

from claude_tasks.core.records import Session
from claude_tasks.core.usage import QuotaOverride
from claude_tasks.store import Store
from claude_tasks.store.runs import Lease
from tests.support.clock import pin_mid_minute
from tests.support.turns import turn
from tests.unit.api.conftest import Call

LIMITS = {
    "max_active_tasks": QuotaOverride(max_active_tasks=1),
    "max_tasks_per_minute": QuotaOverride(max_tasks_per_minute=1),
}


@pytest.fixture(autouse=True)
def _pinned_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    # Every test here counts within a UTC minute, day or month: none of them may see one end.
    pin_mid_minute(monkeypatch)


def _create(call: Call, session: Session, prompt: str = "Hi"):
    return call(
        "create_task",
        path={"session_id": session.session_id},
        body={"prompt": prompt},
        headers={"idempotency-key": None},
    )


@pytest.mark.parametrize("limit", sorted(LIMITS))
def test_a_creation_over_a_quota_is_429_saying_which_and_when(
    call: Call, store: Store, session: Session, limit: str
) -> None:
    # Given alice's quota allows one task (at once, or this minute) and she has created one
    store.usage.set_quota("alice", LIMITS[limit])
    assert _create(call, session).status == 202
    # When she creates another
    result = _create(call, session, "Again")
    # Then it is refused with 429 problem+json naming the limit, the figure, and when to come back
    assert result.status == 429, result.body
    body = result.json()
    assert result.headers["Content-Type"] == "application/problem+json"
    assert body["type"] == "urn:claude-tasks:problem:quota-exceeded"
    assert (body["limit"], body["current"], body["allowed"]) == (limit, 1, 1)
    assert int(result.headers["Retry-After"]) >= 1
    assert ("resets_at" in body) is (limit == "max_tasks_per_minute")


@pytest.mark.parametrize("name", ["send_message", "retry_task"])
def test_a_follow_up_or_retry_over_the_active_tasks_quota_is_429(
    call: Call, store: Store, session: Session, task_factory, name: str
) -> None:
    # Given alice allowed one active task: one cancelled, another queued
    store.usage.set_quota("alice", QuotaOverride(max_active_tasks=1))
    finished = task_factory(session)
    assert call("cancel_task", path={"task_id": finished.task_id}).status == 200
    assert _create(call, session).status == 202
    # When she follows up on (or retries) the cancelled task, which would queue it again
    body = {"prompt": "Go on"} if name == "send_message" else None
    result = call(name, path={"task_id": finished.task_id}, body=body)
    # Then 429 as for a creation, and the task stays cancelled
    assert result.status == 429, result.body
    problem = result.json()
    assert problem["type"] == "urn:claude-tasks:problem:quota-exceeded"
    assert (problem["limit"], problem["current"], problem["allowed"]) == ("max_active_tasks", 1, 1)
    assert int(result.headers["Retry-After"]) >= 1
    assert store.tasks.get("alice", finished.task_id).status == "cancelled"


def test_a_creation_over_the_monthly_spend_is_429_until_the_month_ends(
    call: Call, store: Store, session: Session, task_factory
) -> None:
    # Given alice allowed $0.001 a month and a turn that cost more
    store.usage.set_quota("alice", QuotaOverride(monthly_spend_usd=0.001))
    _spend(store, task_factory(session), 0.002)
    # When she creates a task, Then 429 names the spend and the month's end
    result = _create(call, session)
    assert result.status == 429, result.body
    body = result.json()
    assert (body["limit"], body["current"], body["allowed"]) == ("monthly_spend_usd", 0.002, 0.001)
    assert body["resets_at"].endswith("T00:00:00.000000Z")
    assert int(result.headers["Retry-After"]) >= 1


def test_get_usage_and_the_session_show_what_a_task_spent(
    call: Call, store: Store, session: Session, task_factory
) -> None:
    # Given a task of alice's whose turn cost $0.002
    _spend(store, task_factory(session), 0.002)
    # When alice reads her usage and the session
    mine = call("get_usage").json()
    read = call("get_session", path={"session_id": session.session_id}).json()
    # Then both show the turn's tokens, cost and the task by status; GET /usage per day for 30 days
    assert mine["owner"] == "alice" and len(mine["days"]) == 30
    for totals in (mine["total"], mine["month"], mine["days"][-1], read["usage"]):
        assert totals["cost_usd"] == pytest.approx(0.002)
        assert totals["usage"]["input_tokens"] == 10 and totals["turns"] == 1
    # Tasks by status are counts now: in total and per session (a day or a month only spends)
    assert mine["total"]["tasks"]["succeeded"] == read["usage"]["tasks"]["succeeded"] == 1
    assert mine["quota"] == {"max_active_tasks": None, "max_tasks_per_minute": None, "monthly_spend_usd": None}


def test_only_an_admin_reads_another_owners_usage(call: Call, configure: Callable[..., object]) -> None:
    # Given bob is not an admin, and carol is
    configure(admin_principals="carol")
    # Then bob may not read alice's usage; carol may
    assert call("get_usage", owner="bob", query={"owner": "alice"}).status == 403
    result = call("get_usage", owner="carol", query={"owner": "alice"})
    assert result.status == 200 and result.json()["owner"] == "alice"


def _spend(store: Store, task, cost: float) -> None:
    lease = Lease.start(60)
    store.runs.lease(task.task_id, task.session_id, lease)
    held = store.tasks.load(task.task_id)
    record = turn(held)
    answer = record.interactions[1].model_copy(update={"cost_usd": cost})
    store.runs.record(held, lease, replace(record, interactions=(record.interactions[0], answer)))
