"""POST /admin/consistency/recount: an admin's repair of a session's task counters."""

from __future__ import annotations

from collections.abc import Callable

from claude_tasks.app.janitor import Janitor
from claude_tasks.app.queue import TaskQueue
from claude_tasks.core.config import Settings
from claude_tasks.core.records import Task
from claude_tasks.store import Store
from claude_tasks.store.models import SessionModel
from tests.unit.api.conftest import Call


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
