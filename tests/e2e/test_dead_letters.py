"""Dead letters through the local stack: the worker's reason in `GET /admin/dead-letters` and `claude-tasks dlq`.

Locally the task queue's redrive is the template's (`maxReceiveCount` 5) and the stack's worker loop
makes a failed record visible again after `--retry-delay` (0 here), so a message the worker cannot
take reaches the DLQ within seconds: on the receive after its fifth.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from claude_tasks_dev.cli import main
from claude_tasks_dev.cli.client import ApiClient
from tests.e2e.local_stack import FAST, RunningStack, finished, start_stack, wait_until
from tests.support.anthropic_stub import AnthropicStub, HttpError, Reply

WAIT_S = 30
ADMIN = "admin"  # the local stack's admin principal


def _letters(admin: ApiClient) -> dict[str, dict[str, Any]]:
    page: dict[str, Any] = admin.call("GET", "/admin/dead-letters", query={"limit": 100})
    return {item["message_id"]: item for item in page["items"]}


def _letter_for_task(admin: ApiClient, task_id: str) -> dict[str, Any] | None:
    return next((item for item in _letters(admin).values() if item["task_id"] == task_id), None)


def _cli(stack: RunningStack, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    capsys.readouterr()
    code = main(["--stack-file", str(stack.stack_file), "--token", ADMIN, *args])
    return code, capsys.readouterr().out


def test_a_malformed_message_is_listed_with_its_reason_and_redriven(
    stack: RunningStack, api: ApiClient, capsys: pytest.CaptureFixture[str]
) -> None:
    admin = stack.api(ADMIN)
    queue_url = stack.info["queues"]["task_queue_url"]
    # Given a message that is not JSON, and a task.run of the wrong schema (no session_id), posted to the queue
    not_json = stack.sqs().send_message(QueueUrl=queue_url, MessageBody=f"not json {uuid.uuid4()}")["MessageId"]
    marker = f"no-session-{uuid.uuid4()}"
    stack.sqs().send_message(QueueUrl=queue_url, MessageBody=json.dumps({"type": "task.run", "task_id": marker}))
    # When the worker has given up on both, then the admin API lists each with the worker's reason
    wait_until(lambda: not_json in _letters(admin), WAIT_S, "the message that is not JSON in the DLQ")
    letter = _letters(admin)[not_json]
    assert letter["queue"] == "tasks" and letter["receive_count"] == 5
    assert letter["reason"].startswith("invalid task message: body: Invalid JSON")
    wrong = wait_until(lambda: _letter_for_task(admin, marker), WAIT_S, "the wrong-schema message in the DLQ")
    assert wrong["kind"] == "task.run" and "session_id: Field required" in wrong["reason"]
    # And a caller who is no admin is refused
    assert api.send("GET", "/admin/dead-letters").status == 403
    # And `claude-tasks dlq list` shows the message with its reason
    code, out = _cli(stack, capsys, "dlq", "list")
    assert code == 0
    [row] = [line for line in out.splitlines() if line.startswith(not_json)]
    assert "invalid task message" in row
    # When the wrong-schema message is redriven with the CLI
    code, out = _cli(stack, capsys, "--json", "dlq", "redrive", wrong["message_id"])
    # Then it left the DLQ for the task queue; the worker refuses it again, and it comes back as a new message
    assert code == 0 and json.loads(out) == {"redriven": [wrong["message_id"]], "refused": []}
    back = wait_until(
        lambda: (found := _letter_for_task(admin, marker)) and found["message_id"] != wrong["message_id"] and found,
        WAIT_S,
        "the redriven message back in the DLQ",
    )
    assert "session_id: Field required" in back["reason"]


@pytest.fixture
def overloaded_stack(tmp_path: Path) -> Iterator[tuple[RunningStack, AnthropicStub]]:
    """A stack on the anthropic backend whose Messages API (a stub) is overloaded on every call."""
    with AnthropicStub() as anthropic:
        anthropic.otherwise = HttpError(529, "overloaded_error")
        env = {"ANTHROPIC_API_KEY": "sk-ant-local-test", "ANTHROPIC_BASE_URL": anthropic.url}
        running = start_stack(tmp_path, "--no-persist", *FAST, env=env)
        try:
            yield running, anthropic
        finally:
            assert running.stop() == 0, running.output()[-2000:]


def test_a_task_that_failed_on_every_receive_is_refused_a_redrive_and_pointed_to_retry(
    overloaded_stack: tuple[RunningStack, AnthropicStub], capsys: pytest.CaptureFixture[str]
) -> None:
    stack, anthropic = overloaded_stack
    api, admin = stack.api("alice"), stack.api(ADMIN)
    # Given a task whose every run meets an overloaded Claude
    session = api.call("POST", "/sessions", {"project_path": "/work/dlq"})
    task = api.call("POST", f"/sessions/{session['session_id']}/tasks", {"prompt": "Are you there?"})
    # When it failed on its last receive and its message reached the DLQ
    assert wait_until(finished(api, task["task_id"]), WAIT_S, "the task to fail")["status"] == "failed"
    letter = wait_until(lambda: _letter_for_task(admin, task["task_id"]), WAIT_S, "its task.run in the DLQ")
    # Then the listing says why, and on which receive the worker gave up
    assert letter["kind"] == "task.run" and letter["session_id"] == session["session_id"]
    assert "overloaded_error" in letter["reason"] and "receive 5 of 5" in letter["reason"]
    # When an admin redrives it, then it is refused: the task already failed, and the detail points to retry
    reply = admin.call("POST", "/admin/dead-letters/redrive", {"message_ids": [letter["message_id"]]})
    assert reply["redriven"] == []
    [refusal] = reply["refused"]
    assert "already failed" in refusal["detail"] and f"POST /tasks/{task['task_id']}/retry" in refusal["detail"]
    # And the CLI says the same, with status 4, and the message stays in the DLQ
    code, out = _cli(stack, capsys, "dlq", "redrive", letter["message_id"])
    assert code == 4 and f"POST /tasks/{task['task_id']}/retry" in out
    assert letter["message_id"] in _letters(admin)
    # When Claude answers again and the task is retried as the detail says, then it succeeds
    anthropic.otherwise = Reply()
    api.call("POST", f"/tasks/{task['task_id']}/retry")
    assert wait_until(finished(api, task["task_id"]), WAIT_S, "the retried task")["status"] == "succeeded"
