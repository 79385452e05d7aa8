"""The executor works inside the task's session and continues the task's own Claude conversation."""

from __future__ import annotations

from claude_tasks.core.records import Session, TaskStatus
from claude_tasks.store.audit import consistency_report
from claude_tasks.store.models import ClaudeSessionClaim
from tests.conftest import SessionFactory
from tests.integration.worker.conftest import MakeTask
from tests.support.claude_double import ScriptedClaude
from tests.support.worker import Worker, failed_ids, load_event, retarget, with_bodies


def test_task_executor_session_id_usage(worker: Worker, make_task: MakeTask, session_factory: SessionFactory) -> None:
    # Given two sessions of one owner with a task each, and Claude watched at the backend boundary
    claude = ScriptedClaude()
    store = worker.use(claude)
    first, second = session_factory(owner="alice"), session_factory(owner="alice")
    mine, other = make_task("Name a prime.", session=first), make_task("Name a colour.", session=second)
    # When both run in one batch, and then a follow-up on the first runs
    assert failed_ids(worker.invoke(retarget(load_event("task-run-batch"), [mine, other]))) == set()
    store.transitions.follow_up(mine.owner, mine.task_id, "And the next one?")
    assert failed_ids(worker.invoke(retarget(load_event("task-run-batch"), [mine]))) == set()
    # Then every interaction carries its own task's session_id
    for task, session in ((mine, first), (other, second)):
        assert {turn.session_id for turn in store.interactions.all(task.task_id)} == {session.session_id}
        assert store.tasks.load(task.task_id).session_id == session.session_id
    # And the follow-up continued the first task's own Claude session id, never the other's
    mine_now, other_now = store.tasks.load(mine.task_id), store.tasks.load(other.task_id)
    assert mine_now.claude_session_id and other_now.claude_session_id
    assert mine_now.claude_session_id != other_now.claude_session_id
    asked_for_mine = [r for r in claude.requests if r.conversation[0].content == "Name a prime."]
    assert [r.claude_session_id for r in asked_for_mine] == [mine_now.claude_session_id] * 2
    # And its conversation was its own history only
    assert [t.content for t in asked_for_mine[1].conversation if t.role == "user"] == [
        "Name a prime.",
        "And the next one?",
    ]
    # And each id is claimed by its own task, with no invariant broken
    for task in (mine_now, other_now):
        assert ClaudeSessionClaim.get(task.claude_session_id).task_id == task.task_id
    assert consistency_report(store).violations == []


def test_a_run_message_naming_another_session_is_rejected_and_writes_nothing(
    worker: Worker, make_task: MakeTask, session_factory: SessionFactory
) -> None:
    # Given a task, and a task.run that names the task with a session it does not belong to
    claude = ScriptedClaude()
    store = worker.use(claude)
    task = make_task()
    elsewhere: Session = session_factory(owner="alice")
    body = {"type": "task.run", "task_id": task.task_id, "session_id": elsewhere.session_id}
    event = with_bodies(load_event("task-run-batch"), [body])
    # When the worker receives it
    response = worker.invoke(event)
    # Then the record fails (to the DLQ by redrive) and the task was not touched
    assert failed_ids(response) == {event["Records"][0]["messageId"]}
    after = store.tasks.load(task.task_id)
    assert (after.status, after.version, after.interaction_count) == (TaskStatus.QUEUED, task.version, 0)
    assert claude.requests == []
