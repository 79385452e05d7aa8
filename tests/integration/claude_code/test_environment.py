"""What the agent's tools see of the worker's environment: the allow-list, never the worker's AWS credentials."""

from __future__ import annotations

import os

from claude_tasks.core.records import AgentOptions, Role, TaskStatus
from claude_tasks.store import Store
from tests.integration.claude_code.conftest import MakeTask
from tests.support.anthropic_stub import AnthropicStub, Reply, ToolUse
from tests.support.worker import Worker, load_event, retarget


def test_a_bash_tool_sees_no_aws_credentials_or_secret_of_the_worker(
    worker: Worker, store: Store, stub: AnthropicStub, make_task: MakeTask
) -> None:
    # Given a worker holding AWS credentials, and Claude running `env` with Bash allowed
    secret = os.environ["AWS_SECRET_ACCESS_KEY"]
    assert secret
    stub.script(Reply(text="", tool_uses=(ToolUse("Bash", {"command": "env"}),)), Reply(text="Listed."))
    task = make_task("Show the environment", agent=AgentOptions(allowed_tools=["Bash"]))
    # When the worker runs it
    assert worker.invoke(retarget(load_event("task-run-batch"), [task])) == {"batchItemFailures": []}
    # Then the tool ran, and its output holds no credential value and no secret's name with a value
    assert store.tasks.load(task.task_id).status is TaskStatus.SUCCEEDED
    (output,) = [t.content for t in store.interactions.all(task.task_id) if t.stop_reason == "tool_result"]
    assert "PATH=" in output
    assert secret not in output
    assert os.environ["AWS_ACCESS_KEY_ID"] not in output
    leaked = [
        line for line in output.splitlines() if line.startswith(("AWS_", "CURSOR_SECRET")) and not line.endswith("=")
    ]
    assert leaked == []
    assert all(t.role is not Role.ERROR for t in store.interactions.all(task.task_id))
