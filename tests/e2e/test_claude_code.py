"""`make dev` with a Messages API reachable through ANTHROPIC_BASE_URL: a claude-code task edits a file in a real
directory, and a follow-up continues the same Claude Code session. The stack is its own (it needs the key and
the endpoint in its environment); Claude is the project's stub, scripting the model's tool calls."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.local_stack import FAST, RunningStack, finished, start_stack, wait_until
from tests.support.anthropic_stub import AnthropicStub, Reply, ToolUse

pytest.importorskip("claude_agent_sdk", reason="Claude Code tests need the `claude-code` extra")

# A Claude Code run starts a CLI process (about a second here); generous for a busy machine.
RUN_TIMEOUT_S = 120


@pytest.fixture(scope="module")
def stub() -> Iterator[AnthropicStub]:
    with AnthropicStub() as server:
        yield server


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, stub: AnthropicStub) -> Iterator[RunningStack]:
    env = {"ANTHROPIC_BASE_URL": stub.url, "ANTHROPIC_API_KEY": "sk-ant-local-test"}
    running = start_stack(tmp_path_factory.mktemp("claude-code-stack"), "--no-persist", *FAST, env=env)
    yield running
    assert running.stop() == 0, running.output()[-3000:]


def test_a_claude_code_task_edits_a_file_in_the_project_and_a_follow_up_continues_its_session(
    stack: RunningStack, stub: AnthropicStub, tmp_path: Path
) -> None:
    # Given a real project directory, a session for it, and Claude asking to edit a file, then answering
    project = tmp_path / "demo"
    project.mkdir()
    (project / "greeting.txt").write_text("hello\n")
    api = stack.api("dana")
    session = api.call("POST", "/sessions", {"project_path": str(project), "name": "demo"})
    edit = ToolUse("Edit", {"file_path": str(project / "greeting.txt"), "old_string": "hello", "new_string": "hi"})
    stub.script(
        Reply(text="Reading it first.", tool_uses=(ToolUse("Read", {"file_path": str(project / "greeting.txt")}),))
    )
    stub.script(Reply(text="Now the edit.", tool_uses=(edit,)), Reply(text="Changed hello to hi."))
    # When a claude-code task is created through the API
    body = {
        "prompt": "Say hi instead of hello in greeting.txt",
        "backend": "claude-code",
        "allowed_tools": ["Read", "Edit"],
    }
    task = api.call("POST", f"/sessions/{session['session_id']}/tasks", body)
    done = wait_until(finished(api, task["task_id"]), RUN_TIMEOUT_S, "the claude-code task to finish")
    # Then the file was edited in the real directory, and the task succeeded with each step as a turn
    assert done["status"] == "succeeded", done
    assert (project / "greeting.txt").read_text() == "hi\n"
    turns = api.call("GET", f"/tasks/{task['task_id']}/interactions")["items"]
    tools = [(t["tool_name"], t["stop_reason"]) for t in turns if t["role"] == "tool"]
    assert tools == [("Read", "tool_use"), ("Read", "tool_result"), ("Edit", "tool_use"), ("Edit", "tool_result")]
    claude_session_id = done["claude_session_id"]
    # When a follow-up is sent
    stub.script(Reply(text="It says hi now."))
    api.call("POST", f"/tasks/{task['task_id']}/messages", {"prompt": "What does it say now?"})
    wait_until(lambda: len(stub.requests) >= 4, RUN_TIMEOUT_S, "the follow-up's request")
    again = wait_until(finished(api, task["task_id"]), RUN_TIMEOUT_S, "the follow-up to finish")
    # Then it continued the same Claude Code session: same id, the earlier turns resent from its transcript
    assert (again["status"], again["claude_session_id"]) == ("succeeded", claude_session_id)
    follow_up = stub.requests[-1]
    assert follow_up.headers.get("x-claude-code-session-id") == claude_session_id
    assert "Changed hello to hi." in str(follow_up.body["messages"])
