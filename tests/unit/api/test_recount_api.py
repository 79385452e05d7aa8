"""POST /admin/consistency/recount: an admin's repair of a session's or an owner's task counters."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from claude_tasks.app.janitor import Janitor
from claude_tasks.app.queue import TaskQueue
from claude_tasks.core import usage as periods
from claude_tasks.core.config import Settings
from claude_tasks.core.records import Task
from claude_tasks.store import Store, counters
from claude_tasks.store.models import SessionModel, UsageModel
from tests.unit.api.conftest import Call


@pytest.fixture(autouse=True)
def _index_settles_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto's indexes are immediate: the recount's wait for the index (a second on DynamoDB) is not needed."""
    monkeypatch.setattr(counters, "INDEX_SETTLE_S", 0.0)


def test_an_admin_recounts_a_drifted_session_and_the_next_report_is_clean(
    call: Call, configure: Callable[..., Settings], store: Store, settings: Settings, task: Task
) -> None:
    # Given: alice is an admin, and her session's queued counter was overwritten; the full check reported it
    configure(admin_principals="alice")
    SessionModel(task.session_id).update(actions=[SessionModel.tasks_queued.set(7)])
    report = Janitor(store, TaskQueue(settings)).run(start_full_check=True, budget_s=60).report
    assert report is not None
    assert [(v.kind, v.counter, v.stored, v.counted) for v in report.violations] == [
        ("counter_drift", "tasks_queued", 7, 1)
    ]
    # When she recounts the session
    result = call("recount_counters", owner="alice", body={"session_id": task.session_id})
    # Then: what was corrected, and the next full check finds nothing
    assert result.status == 200, result.body
    assert result.json() == {
        "session_id": task.session_id,
        "corrected": [{"counter": "tasks_queued", "stored": 7, "counted": 1}],
    }
    report = Janitor(store, TaskQueue(settings)).run(start_full_check=True, budget_s=60).report
    assert report is not None and report.violations == []


def test_the_recount_is_403_for_a_non_admin(call: Call, configure: Callable[..., Settings], task: Task) -> None:
    # Given: only root is an admin
    configure(admin_principals="root")
    # When alice asks to recount her own session
    result = call("recount_counters", owner="alice", body={"session_id": task.session_id})
    # Then
    assert result.status == 403
    assert result.json()["type"] == "urn:claude-tasks:problem:forbidden"


def test_the_recount_of_a_session_that_does_not_exist_is_404(call: Call, configure: Callable[..., Settings]) -> None:
    # Given: alice is an admin
    configure(admin_principals="alice")
    # When
    result = call("recount_counters", owner="alice", body={"session_id": "no-such-session"})
    # Then
    assert result.status == 404
    assert result.json()["type"] == "urn:claude-tasks:problem:session-not-found"


def test_an_admin_recounts_an_owner_whose_active_count_went_negative(
    call: Call, configure: Callable[..., Settings], task: Task
) -> None:
    # Given: alice is an admin, and her active count went negative (old tasks ended after an upgrade)
    configure(admin_principals="alice")
    UsageModel("alice", periods.TOTAL).update(actions=[UsageModel.active.set(-2)])
    # When she recounts herself
    result = call("recount_counters", owner="alice", body={"owner": "alice"})
    # Then: the owner, what was corrected, and the total holds her one queued task
    assert result.status == 200, result.body
    assert result.json() == {"owner": "alice", "corrected": [{"counter": "active", "stored": -2, "counted": 1}]}
    assert UsageModel.get("alice", periods.TOTAL, consistent_read=True).active == 1


@pytest.mark.parametrize("body", [{}, {"session_id": "s-1", "owner": "alice"}], ids=["neither", "both"])
def test_the_recount_names_exactly_one_of_a_session_and_an_owner(
    call: Call, configure: Callable[..., Settings], body: dict[str, str]
) -> None:
    # Given: alice is an admin
    configure(admin_principals="alice")
    # When she names neither or both
    result = call("recount_counters", owner="alice", body=body)
    # Then: a validation problem that says what to send
    assert result.status == 422, result.body
    problem = result.json()
    assert problem["type"] == "urn:claude-tasks:problem:validation-error"
    assert "exactly one of session_id and owner" in problem["detail"]


def test_the_recount_of_an_owner_with_more_tasks_than_it_counts_is_refused(
    call: Call, configure: Callable[..., Settings], task: Task, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given: alice is an admin with one task, and a cap of none
    configure(admin_principals="alice")
    monkeypatch.setattr(counters, "COUNT_CAP", 0)
    # When she recounts herself
    result = call("recount_counters", owner="alice", body={"owner": "alice"})
    # Then: 503, saying the tasks are too many to count within the API's time, and nothing changed
    assert result.status == 503, result.body
    assert "more than 0 tasks" in result.json()["detail"]
