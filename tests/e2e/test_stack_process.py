"""The stack as a process: clean stops on SIGINT and SIGTERM, data kept across a restart, clear start failures."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from tests.e2e.local_stack import FAST, finished, start_stack, wait_until
from tests.support.anthropic_stub import AnthropicStub


def test_data_survives_a_restart_and_ctrl_c_stops_cleanly_and_saves(tmp_path: Path) -> None:
    # Given a stack that keeps its data in a state folder, with a finished task in it
    first = start_stack(tmp_path, *FAST)
    api = first.api("alice")
    session = api.call("POST", "/sessions", {"project_path": "/work/kept"})
    task = api.call("POST", f"/sessions/{session['session_id']}/tasks", {"prompt": "Remember me"})
    wait_until(finished(api, task["task_id"]), 15, "the task to finish")
    # When it is stopped with Ctrl-C, which under make arrives twice at once (terminal and make)
    first.process.send_signal(signal.SIGINT)
    assert first.stop(signal.SIGINT) == 0, first.output()[-2000:]
    # Then it saved its data and removed its stack file
    assert (tmp_path / "state.json").is_file()
    assert not first.stack_file.exists()
    # And a new stack on the same folder serves the same session, task and turns
    second = start_stack(tmp_path, *FAST)
    try:
        again = second.api("alice")
        assert again.call("GET", f"/sessions/{session['session_id']}")["task_count"] == 1
        assert again.call("GET", f"/tasks/{task['task_id']}")["status"] == "succeeded"
        assert len(again.call("GET", f"/tasks/{task['task_id']}/interactions")["items"]) == 2
        assert "restored" in second.output()
    finally:
        assert second.stop(signal.SIGTERM) == 0, second.output()[-2000:]


def test_a_second_stack_on_a_taken_port_says_which_flag_to_change(tmp_path: Path) -> None:
    # Given a running stack
    running = start_stack(tmp_path / "first", "--no-persist", *FAST)
    try:
        port = running.api_url.rsplit(":", 1)[1]
        # When another is started on its API port
        other = subprocess.run(  # noqa: S603 - this interpreter, our module, fixed arguments
            [sys.executable, "-m", "claude_tasks_dev.local", "--aws-port", "0", "--api-port", port,
             "--state-dir", str(tmp_path / "second"), "--no-persist"],
            capture_output=True, text=True, timeout=30,
        )  # fmt: skip
        # Then it fails at once, names the flag, and leaves no stack file behind
        assert other.returncode == 1
        assert "--api-port" in other.stderr
        assert not (tmp_path / "second" / "stack.json").exists()
    finally:
        assert running.stop() == 0


def test_an_anthropic_key_in_the_environment_selects_the_anthropic_backend(tmp_path: Path) -> None:
    # Given a developer's ANTHROPIC_API_KEY (and a stub Messages API standing in for Anthropic)
    with AnthropicStub() as anthropic:
        env = {"ANTHROPIC_API_KEY": "sk-ant-local-test", "ANTHROPIC_BASE_URL": anthropic.url}
        running = start_stack(tmp_path, "--no-persist", *FAST, env=env)
        try:
            # When a task runs
            api = running.api("alice")
            session = api.call("POST", "/sessions", {"project_path": "/work/real"})
            task = api.call("POST", f"/sessions/{session['session_id']}/tasks", {"prompt": "Hi Claude"})
            done = wait_until(finished(api, task["task_id"]), 20, "the run")
            # Then the stack said so, the key reached Anthropic through the local secret, and Claude answered
            assert running.info["claude_backend"] == "anthropic"
            assert "Claude backend: anthropic" in running.output()
            assert done["status"] == "succeeded", done
            assert [r.api_key for r in anthropic.requests] == ["sk-ant-local-test"]
            turns = api.call("GET", f"/tasks/{task['task_id']}/interactions")["items"]
            assert turns[-1]["content"] == "Hello from the stub."
        finally:
            assert running.stop() == 0, running.output()[-2000:]
