"""The worker with the real anthropic SDK against the local Messages API stub: replies, SDK retries, errors."""

from __future__ import annotations

from claude_tasks.core.records import Role, TaskStatus, Usage
from claude_tasks.store import Store
from claude_tasks.store.models import ClaudeSessionClaim
from tests.integration.worker.conftest import MakeTask
from tests.support.anthropic_stub import AnthropicStub, Hang, HttpError, MidStreamError, Reply
from tests.support.worker import Worker, failed_ids, load_event, redelivered, retarget


def test_a_reply_is_recorded_with_its_usage_and_the_task_succeeds(
    worker: Worker, anthropic: Store, stub: AnthropicStub, make_task: MakeTask
) -> None:
    # Given a queued task, and Claude answering with cached input
    stub.script(Reply(text="Four.", input_tokens=20, output_tokens=3, cache_read_input_tokens=7))
    task = make_task("What is 2 + 2?")
    # When the worker receives its task.run
    response = worker.invoke(retarget(load_event("task-run-batch"), [task]))
    # Then the record is acknowledged and the task succeeded, lease and prompt gone
    assert response == {"batchItemFailures": []}
    done = anthropic.tasks.load(task.task_id)
    assert (done.status, done.pending_prompts, done.lease_id) == (TaskStatus.SUCCEEDED, [], None)
    # And one user and one assistant turn were written, the usage on the turn and summed on the task
    turns = anthropic.interactions.all(task.task_id)
    assert [(t.role, t.content) for t in turns] == [(Role.USER, "What is 2 + 2?"), (Role.ASSISTANT, "Four.")]
    usage = Usage(input_tokens=20, output_tokens=3, cache_read_input_tokens=7)
    assert (turns[1].usage, turns[1].stop_reason, turns[1].model) == (usage, "end_turn", "claude-sonnet-4-6")
    assert done.usage == usage and done.cost_usd == turns[1].cost_usd > 0
    # And the task's new Claude session id is claimed for it
    assert ClaudeSessionClaim.get(done.claude_session_id).task_id == task.task_id
    assert stub.requests[0].body["messages"] == [{"role": "user", "content": "What is 2 + 2?"}]


def test_a_429_is_retried_by_the_sdk_then_the_reply_is_recorded_once(
    worker: Worker, anthropic: Store, stub: AnthropicStub, make_task: MakeTask
) -> None:
    # Given Claude rate-limiting the first request
    stub.script(HttpError(429, "rate_limit_error"), Reply(text="Done."))
    task = make_task()
    # When the worker runs the task
    response = worker.invoke(retarget(load_event("task-run-batch"), [task]))
    # Then the SDK retried, and one pair of turns was written
    assert failed_ids(response) == set()
    assert len(stub.requests) == 2
    assert [t.content for t in anthropic.interactions.all(task.task_id)] == [task.prompt, "Done."]
    assert anthropic.tasks.load(task.task_id).status is TaskStatus.SUCCEEDED


def test_529_until_retries_run_out_requeues_then_fails_on_the_last_receive(
    worker: Worker, anthropic: Store, stub: AnthropicStub, make_task: MakeTask
) -> None:
    # Given Claude overloaded for every attempt of the SDK (1 + 2 retries)
    stub.script(*[HttpError(529, "overloaded_error", "Overloaded")] * 3)
    task = make_task()
    event = retarget(load_event("task-run-batch"), [task])
    # When the worker receives the message for the first time
    response = worker.invoke(event)
    # Then the record is reported failed for SQS to redeliver, and the task is queued with the attempt counted
    assert failed_ids(response) == {event["Records"][0]["messageId"]}
    queued = anthropic.tasks.load(task.task_id)
    assert (queued.status, queued.attempts, queued.lease_id, queued.pending_prompts) == (
        TaskStatus.QUEUED,
        1,
        None,
        [task.prompt],
    )
    assert anthropic.interactions.all(task.task_id) == []
    # When it is received for the last allowed time and Claude is still overloaded
    stub.script(*[HttpError(529, "overloaded_error", "Overloaded")] * 3)
    response = worker.invoke(redelivered(event, receive_count=worker.settings.max_receive_count))
    # Then the task failed with the reason and an error turn, and the record fails on to the DLQ
    assert failed_ids(response) == {event["Records"][0]["messageId"]}
    failed = anthropic.tasks.load(task.task_id)
    assert failed.status is TaskStatus.FAILED and "overloaded_error" in (failed.error or "")
    assert [(t.role, t.content) for t in anthropic.interactions.all(task.task_id)] == [(Role.ERROR, failed.error)]
    assert failed.pending_prompts == [task.prompt]  # a retry runs it again


def test_an_overload_in_the_middle_of_the_stream_is_retried_and_recorded_once(
    worker: Worker, anthropic: Store, stub: AnthropicStub, make_task: MakeTask
) -> None:
    # Given a stream that breaks off with an overloaded_error event, then a good one
    stub.script(MidStreamError("overloaded_error"), Reply(text="Recovered."))
    task = make_task()
    # When the worker runs the task
    response = worker.invoke(retarget(load_event("task-run-batch"), [task]))
    # Then the request was sent again, and only the complete reply was recorded
    assert failed_ids(response) == set()
    assert len(stub.requests) == 2
    assert [t.content for t in anthropic.interactions.all(task.task_id)] == [task.prompt, "Recovered."]


def test_a_400_fails_the_task_at_once_and_acknowledges_the_record(
    worker: Worker, anthropic: Store, stub: AnthropicStub, make_task: MakeTask
) -> None:
    # Given Claude refusing the request as invalid
    stub.script(HttpError(400, "invalid_request_error", "prompt is too long"))
    task = make_task()
    # When the worker runs the task
    response = worker.invoke(retarget(load_event("task-run-batch"), [task]))
    # Then the record is acknowledged (no retry can help), and the task failed, saying why
    assert failed_ids(response) == set()
    assert len(stub.requests) == 1
    failed = anthropic.tasks.load(task.task_id)
    assert failed.status is TaskStatus.FAILED and "prompt is too long" in (failed.error or "")
    assert [t.role for t in anthropic.interactions.all(task.task_id)] == [Role.ERROR]


def test_a_hanging_response_times_out_and_the_record_is_retried(
    worker: Worker, stub: AnthropicStub, make_task: MakeTask
) -> None:
    # Given Claude that never answers, and a 0.5 s client timeout
    store = worker.use(claude_backend="anthropic", anthropic_base_url=stub.url, claude_timeout_s=0.5)
    stub.script(*[Hang(seconds=10)] * 3)
    task = make_task()
    event = retarget(load_event("task-run-batch"), [task])
    # When the worker runs the task
    response = worker.invoke(event)
    # Then the timeout is retryable: the record fails for redelivery and the task is queued again
    assert failed_ids(response) == {event["Records"][0]["messageId"]}
    queued = store.tasks.load(task.task_id)
    assert (queued.status, queued.attempts) == (TaskStatus.QUEUED, 1)
    assert store.interactions.all(task.task_id) == []
