"""Runs that die mid-call (the invocation killed): each takeover counts an attempt, and the worker gives up."""

from __future__ import annotations

import contextlib

from claude_tasks.app.run import LEASE_GRACE_S
from claude_tasks.core.clock import iso_in
from claude_tasks.core.records import Role, TaskStatus
from claude_tasks.store import Store
from claude_tasks.store.runs import Lease
from tests.support.claude_double import ScriptedClaude
from tests.support.worker import Worker, failed_ids
from tests.unit.worker.conftest import MakeTask, Run


class LambdaKilled(BaseException):
    """Stands for the runtime ending the invocation (timeout, out of memory) in the middle of the Claude call."""


def _died(store: Store, make_task: MakeTask, times: int) -> str:
    """A task whose run died `times` times: each left its lease behind, already expired."""
    task = make_task()
    for n in range(times):
        store.runs.lease(task.task_id, task.session_id, Lease(f"dead-{n}", iso_in(-1)))
    return task.task_id


def test_taking_over_a_dead_run_counts_an_attempt(
    run: Run, claude: ScriptedClaude, store: Store, make_task: MakeTask
) -> None:
    # Given a task whose run died, its lease expired
    task = store.tasks.load(_died(store, make_task, times=1))
    assert (task.status, task.attempts) == (TaskStatus.RUNNING, 0)
    # When a redelivery takes the task over and runs it
    response = run(task, receive_count=2)
    # Then the run succeeded, and the dead run is counted
    assert failed_ids(response) == set()
    after = store.tasks.load(task.task_id)
    assert (after.status, after.attempts) == (TaskStatus.SUCCEEDED, 1)


def test_a_task_whose_run_died_too_often_is_failed_without_calling_claude(
    worker: Worker, run: Run, claude: ScriptedClaude, store: Store, make_task: MakeTask
) -> None:
    # Given a task whose run died as often as the queue allows receives (the first lease counts none)
    task = store.tasks.load(_died(store, make_task, times=worker.settings.max_receive_count))
    # When one more message for it arrives
    response = run(task)
    # Then Claude is not asked again: the task failed saying why, with an error turn, and the record is acknowledged
    assert failed_ids(response) == set()
    assert claude.requests == []
    after = store.tasks.load(task.task_id)
    assert after.status is TaskStatus.FAILED and after.lease_id is None
    assert after.error == (
        "the run did not finish 5 times (worker timeout, crash, retryable error, or a "
        "Claude Code run stopped at its deadline without a step)"
    )
    assert [(t.role, t.content) for t in store.interactions.all(task.task_id)] == [(Role.ERROR, after.error)]


def test_a_run_killed_on_every_delivery_stops_calling_claude(
    worker: Worker, run: Run, store: Store, make_task: MakeTask
) -> None:
    # Given Claude calls that outlast the invocation every time, the lease ending as the invocation does
    claude = ScriptedClaude(*[LambdaKilled() for _ in range(20)])
    worker.use(claude)
    task = make_task()
    # When the task's message (or the janitor's) is delivered again and again
    for receive in range(1, 13):
        with contextlib.suppress(LambdaKilled):
            run(task, receive_count=receive, remaining_s=-LEASE_GRACE_S)
    # Then Claude was called once per allowed receive, and the task ended failed
    assert len(claude.requests) == worker.settings.max_receive_count
    assert store.tasks.load(task.task_id).status is TaskStatus.FAILED
