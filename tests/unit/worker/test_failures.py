"""Claude failures: retryable ones go back to the queue until the last receive; fatal ones fail at once."""

from __future__ import annotations

from claude_tasks.claude import FatalClaudeError, RetryableClaudeError
from claude_tasks.core.records import Role, TaskStatus
from claude_tasks.store import Store
from tests.support.claude_double import ScriptedClaude
from tests.support.worker import Worker, failed_ids
from tests.unit.worker.conftest import MakeTask, Run


def test_a_retryable_error_requeues_the_task_and_fails_the_record(
    worker: Worker, store: Store, make_task: MakeTask, run: Run
) -> None:
    # Given Claude rate-limited
    worker.use(ScriptedClaude(RetryableClaudeError("anthropic HTTP 429 rate_limit_error")))
    task = make_task()
    # When the worker runs the task
    response = run(task)
    # Then the record fails for SQS to redeliver, and the task is queued again, attempt counted, nothing written
    assert len(failed_ids(response)) == 1
    after = store.tasks.load(task.task_id)
    assert (after.status, after.attempts, after.lease_id, after.error) == (TaskStatus.QUEUED, 1, None, None)
    assert (after.pending_prompts, after.interaction_count) == ([task.prompt], 0)


def test_a_retryable_error_on_the_last_receive_fails_the_task(
    worker: Worker, store: Store, make_task: MakeTask, run: Run
) -> None:
    # Given Claude rate-limited, on the message's last allowed receive
    worker.use(ScriptedClaude(RetryableClaudeError("anthropic HTTP 429 rate_limit_error")))
    task = make_task()
    # When the worker runs the task
    response = run(task, receive_count=worker.settings.max_receive_count)
    # Then the task failed with the reason and an error turn, and the record still fails (on to the DLQ)
    assert len(failed_ids(response)) == 1
    after = store.tasks.load(task.task_id)
    assert after.status is TaskStatus.FAILED and "rate_limit_error" in (after.error or "")
    assert [(t.role, t.content) for t in store.interactions.all(task.task_id)] == [(Role.ERROR, after.error)]


def test_a_fatal_error_fails_the_task_and_acknowledges_the_record(
    worker: Worker, store: Store, make_task: MakeTask, run: Run
) -> None:
    # Given Claude refusing the request for good
    worker.use(ScriptedClaude(FatalClaudeError("anthropic: Claude declined to answer (stop_reason refusal)")))
    task = make_task()
    # When the worker runs the task
    response = run(task)
    # Then the record is acknowledged and the task failed at once, its prompt kept for a retry
    assert failed_ids(response) == set()
    after = store.tasks.load(task.task_id)
    assert (after.status, after.pending_prompts, after.lease_id) == (TaskStatus.FAILED, [task.prompt], None)
    assert "declined" in (after.error or "")


def test_a_retried_failed_task_sends_claude_its_turns_but_not_the_error(
    worker: Worker, store: Store, make_task: MakeTask, run: Run
) -> None:
    # Given a task that failed fatally once
    claude = ScriptedClaude(FatalClaudeError("invalid request"), "Fine now.")
    worker.use(claude)
    task = make_task("Try this.")
    run(task)
    # When the caller retries it and the worker runs it again
    store.transitions.retry(task.owner, task.task_id)
    run(task)
    # Then it succeeded; Claude saw the prompt only, while the record keeps the error turn
    assert store.tasks.load(task.task_id).status is TaskStatus.SUCCEEDED
    assert [(t.role, t.content) for t in claude.requests[1].conversation] == [("user", "Try this.")]
    assert [t.role for t in store.interactions.all(task.task_id)] == [Role.ERROR, Role.USER, Role.ASSISTANT]


def test_a_task_naming_an_unknown_backend_fails(worker: Worker, store: Store, make_task: MakeTask, run: Run) -> None:
    # Given a task that asks for a backend nobody built (the default backend lookup is used)
    worker.use()
    task = make_task(backend="nonesuch")
    # When the worker runs it
    response = run(task)
    # Then it can never run: failed at once, saying which backends exist
    assert failed_ids(response) == set()
    after = store.tasks.load(task.task_id)
    assert after.status is TaskStatus.FAILED and "unknown Claude backend 'nonesuch'" in (after.error or "")


def test_an_unexpected_error_gives_the_task_back_for_a_retry(
    worker: Worker, store: Store, make_task: MakeTask, run: Run
) -> None:
    # Given a backend that breaks in a way nobody classified
    worker.use(ScriptedClaude(KeyError("content")))
    task = make_task()
    # When the worker runs the task
    response = run(task)
    # Then the lease is not left behind: the task is queued again and the record redelivered
    assert len(failed_ids(response)) == 1
    after = store.tasks.load(task.task_id)
    assert (after.status, after.attempts, after.lease_id) == (TaskStatus.QUEUED, 1, None)
