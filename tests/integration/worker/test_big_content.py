"""A turn too large for a DynamoDB item is kept in the content bucket; readers and Claude get it back whole."""

from __future__ import annotations

import boto3

from claude_tasks.core.records import Role
from claude_tasks.store.models import InteractionModel
from tests.integration.worker.conftest import MakeTask
from tests.support.anthropic_stub import AnthropicStub, Reply
from tests.support.worker import Worker, failed_ids, load_event, retarget


def test_a_large_reply_goes_to_s3_and_is_read_back_transparently(
    worker: Worker, stub: AnthropicStub, make_task: MakeTask
) -> None:
    # Given items limited to 1 kB of content, a large prompt and a larger reply
    store = worker.use(
        claude_backend="anthropic", anthropic_base_url=stub.url, inline_content_limit=1000, claude_timeout_s=30.0
    )
    prompt, answer = "Explain. " * 200, "Because " * 1000
    stub.script(Reply(text=answer.strip()))
    task = make_task(prompt)
    # When the worker runs the task
    assert failed_ids(worker.invoke(retarget(load_event("task-run-batch"), [task]))) == set()
    # Then both items keep a pointer instead of the content, and the objects hold the text
    items = list(InteractionModel.query(task.task_id))
    assert [(item.content is None, bool(item.content_ref)) for item in items] == [(True, True)] * 2
    s3 = boto3.client("s3", region_name=store.settings.region, endpoint_url=store.settings.aws_endpoint_url)
    body = s3.get_object(Bucket=store.settings.content_bucket, Key=items[1].content_ref)["Body"].read().decode()
    assert body == answer.strip()
    # And readers get the text back
    assert [(t.role, t.content) for t in store.interactions.all(task.task_id)] == [
        (Role.USER, prompt),
        (Role.ASSISTANT, answer.strip()),
    ]
    # And a follow-up sends Claude the whole conversation, read back from S3
    store.transitions.follow_up(task.owner, task.task_id, "Shorter, please.")
    assert failed_ids(worker.invoke(retarget(load_event("task-run-batch"), [task]))) == set()
    assert [m["content"] for m in stub.requests[1].body["messages"]] == [prompt, answer.strip(), "Shorter, please."]
