"""`claude-tasks` against the running local stack: what a person types, what a script reads."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from claude_tasks_dev.cli import main
from claude_tasks_dev.cli.client import ApiClient
from tests.e2e.local_stack import RunningStack, report_since, start_stack, wait_until

Cli = Callable[..., tuple[int, str, str]]


@pytest.fixture
def cli(stack: RunningStack, principal: str, capsys: pytest.CaptureFixture[str]) -> Cli:
    """Run one command as the test's principal; returns (exit status, stdout, stderr)."""

    def run(*args: str, token: str | None = None) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main(["--stack-file", str(stack.stack_file), "--token", token or principal, *args])
        out, err = capsys.readouterr()
        return code, out, err

    return run


def test_run_wait_prints_the_reply_and_the_task_is_listed(cli: Cli) -> None:
    # Given a session created with -q, as a script would
    code, session_id, _ = cli("sessions", "create", "/work/cli", "--name", "cli", "-q")
    assert code == 0
    session_id = session_id.strip()
    # When a prompt is run with --wait
    code, out, err = cli("run", session_id, "Hello from the CLI", "--wait", "--wait-timeout", "20")
    # Then the reply is printed, progress went to stderr, and the status is 0
    assert code == 0, err
    assert "#2 assistant" in out and "offline model" in out
    assert "succeeded" in err
    # And the task shows up in the session's list, as JSON for scripts
    code, out, _ = cli("--json", "tasks", "list", session_id)
    tasks = json.loads(out)
    assert [t["status"] for t in tasks] == ["succeeded"]
    # And a follow-up with --wait prints only the new reply
    code, out, _ = cli("tasks", "follow-up", tasks[0]["task_id"], "Once more", "--wait", "--wait-timeout", "20")
    assert code == 0 and "#4 assistant" in out and "#2" not in out


def test_errors_have_their_documented_exit_status(cli: Cli) -> None:
    # An unknown id is the API's 404: status 1, the problem's detail on stderr
    code, _, err = cli("tasks", "show", str(uuid.uuid4()))
    assert code == 1 and "HTTP 404" in err
    # A bad invocation is a usage error: status 2
    assert cli("sessions", "frobnicate")[0] == 2
    # Deleting a session that still has tasks is a conflict: status 1
    _, session_id, _ = cli("sessions", "create", "/work/cli", "-q")
    cli("run", session_id.strip(), "hi", "--wait", "--wait-timeout", "20")
    code, _, err = cli("sessions", "delete", session_id.strip())
    assert code == 1 and "HTTP 409" in err and "pass --cascade" in err
    assert cli("sessions", "delete", session_id.strip(), "--cascade")[0] == 0


def test_audit_prints_the_seed_reports_table(stack: RunningStack, cli: Cli) -> None:
    # Given the local stack once its janitor completed a full check (the CLI acts as its `admin` principal)
    wait_until(report_since(stack.api("admin"), ""), 60, "the janitor's first report")
    # When the audit runs, through the API and directly on the tables
    for extra in ([], ["--direct"]):
        code, out, _ = cli("audit", *extra, token="admin")
        # Then the figures and the verdict are printed, and a clean store exits 0
        assert code == 0, out
        for label in (
            "Total sessions",
            "Orphaned sessions",
            "Tasks with valid session_id",
            "Claude session ids shared",
        ):
            assert label in out
        assert "Violations: none" in out


def _session(cli: Cli, name: str = "cli") -> str:
    code, out, err = cli("sessions", "create", "/work/cli", "--name", name, "-q")
    assert code == 0, err
    return out.strip()


def test_watch_follows_a_task_to_its_end(cli: Cli) -> None:
    # Given a task queued without --wait
    code, task_id, _ = cli("run", _session(cli), "Hello, watcher", "-q")
    task_id = task_id.strip()
    # When it is watched
    code, out, err = cli("watch", task_id)
    # Then its prompt and reply were printed, each once, and it exits as it ended: succeeded, 0
    assert code == 0, err
    assert out.count("#1 user") == 1 and out.count("#2 assistant") == 1 and "offline model" in out
    assert f"task {task_id}: succeeded" in err


def test_ids_by_prefix_and_tasks_across_sessions(cli: Cli) -> None:
    # Given a task in each of two sessions
    first, second = _session(cli, "one"), _session(cli, "two")
    older = cli("run", first, "In the first session", "--wait", "-q")[1].strip()
    newer = cli("run", second, "In the second session", "--wait", "-q")[1].strip()
    # When the caller's tasks are listed without a session
    code, out, _ = cli("--json", "tasks", "list")
    # Then both are there, newest first (GET /tasks), and the table names each task's session
    assert code == 0 and [t["task_id"] for t in json.loads(out)] == [newer, older]
    code, out, _ = cli("tasks", "list", "--status", "succeeded")
    assert f"{newer}  {second}  succeeded  1" in out
    # And 8 characters of an id, as people copy them, name the task and the session
    code, out, err = cli("--json", "tasks", "show", newer[:8])
    assert code == 0 and json.loads(out)["task_id"] == newer, err
    code, out, _ = cli("--json", "sessions", "show", first[:8])
    assert code == 0 and json.loads(out)["session_id"] == first
    # And fewer than 8 are refused
    assert cli("tasks", "show", newer[:6])[0] == 2


def test_a_list_says_when_there_is_more_and_all_reads_every_page(cli: Cli) -> None:
    # Given three sessions
    made = [_session(cli, f"s{i}") for i in range(3)]
    # When two are listed
    code, out, err = cli("--json", "sessions", "list", "--limit", "2")
    # Then two are printed and stderr says more exist, with the command for the next page
    assert code == 0 and len(json.loads(out)) == 2
    assert "2 shown; more exist" in err and "claude-tasks sessions list --cursor " in err
    next_page = err.split("claude-tasks sessions list ", 1)[1].split()
    code, out, _ = cli("--json", "sessions", "list", *next_page)
    assert [s["session_id"] for s in json.loads(out)] == made[:1]
    # And --all lists every one, saying nothing more
    code, out, err = cli("--json", "sessions", "list", "--all", "--limit", "1")
    assert sorted(s["session_id"] for s in json.loads(out)) == sorted(made) and "shown" not in err


def test_retry_of_a_succeeded_task_says_a_follow_up_continues_it(cli: Cli) -> None:
    task_id = cli("run", _session(cli), "Done at once", "--wait", "-q")[1].strip()
    code, _, err = cli("tasks", "retry", task_id)
    assert code == 1 and "HTTP 409" in err and "already succeeded" in err
    assert f"claude-tasks tasks follow-up {task_id}" in err


def test_fork_and_edit(cli: Cli) -> None:
    # Given a task that succeeded
    source = cli("run", _session(cli), "Write a haiku", "--wait", "-q")[1].strip()
    # When it is forked with a prompt, waiting for the reply
    code, out, err = cli("fork", source, "Same, in French", "--wait")
    # Then only the fork's own reply is printed (after the two copied interactions)
    assert code == 0, err
    assert "#4 assistant" in out and "#2" not in out
    # And a task's title and metadata can be changed
    code, out, _ = cli("--json", "tasks", "edit", source, "--title", "haiku", "--metadata", '{"ticket": "T-1"}')
    assert code == 0 and (json.loads(out)["title"], json.loads(out)["metadata"]) == ("haiku", {"ticket": "T-1"})


def test_a_refused_token_says_whose_it_was_and_where_it_came_from(cli: Cli) -> None:
    code, _, err = cli("sessions", "list", token="not a name")
    assert code == 1 and "HTTP 401" in err and "principal 'not a name' (from --token)" in err


def test_ctrl_c_leaves_the_task_running_and_a_crashed_stack_is_named(tmp_path: Path) -> None:
    # Given a stack of its own whose worker takes nothing (it polls the queue once an hour)
    own = start_stack(tmp_path / "idle", "--no-persist", "--poll-interval", "3600", "--janitor-interval", "0")
    try:
        api = own.api("watcher")
        session_id = api.call("POST", "/sessions", {"project_path": "/work/cli"})["session_id"]
        task_id = _still_queued(api, session_id)
        # When `claude-tasks watch` follows it, in a process of its own, and gets Ctrl-C (SIGINT)
        err_file = tmp_path / "watch.err"
        with err_file.open("wb") as err:
            watcher = subprocess.Popen(  # noqa: S603 - this interpreter, our CLI, fixed arguments
                [sys.executable, "-c", AT_A_TERMINAL + CLI, "--stack-file", str(own.stack_file), "--token",
                 "watcher", "watch", task_id],
                stdout=subprocess.DEVNULL, stderr=err,
            )  # fmt: skip
            wait_until(lambda: f"task {task_id}: queued" in err_file.read_text(), 20, "watch to show the task")
            watcher.send_signal(signal.SIGINT)
            code = watcher.wait(20)
        # Then it exits 130, saying the task keeps running and how to watch it again; and the task is queued still
        said = err_file.read_text()
        assert code == 130, said
        assert f"task {task_id} keeps running" in said and f"claude-tasks watch {task_id}" in said
        assert api.call("GET", f"/tasks/{task_id}")["status"] == "queued"
    finally:
        # And when the stack crashes (SIGKILL: it leaves its stack.json behind) ...
        own.process.kill()
        own.process.wait(20)
    # ... the CLI says the local stack is not running, which stack file named it, and how to start it
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", CLI, "--stack-file", str(own.stack_file), "sessions", "list"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 3
    assert "local stack is not running" in result.stderr and str(own.stack_file) in result.stderr
    assert "make dev" in result.stderr


CLI = "import sys; from claude_tasks_dev.cli import main; sys.exit(main())"
# Ctrl-C at a terminal always reaches the CLI; a suite started in the background (`cmd &` in a script) inherits
# SIGINT ignored, and Python then raises no KeyboardInterrupt. The watcher stands for the terminal's process.
AT_A_TERMINAL = "import signal; signal.signal(signal.SIGINT, signal.default_int_handler); "


def _still_queued(api: ApiClient, session_id: str) -> str:
    """A task nobody runs. The worker's one poll may come just after the stack started: then make another."""
    for _ in range(3):
        task_id = str(api.call("POST", f"/sessions/{session_id}/tasks", {"prompt": "Wait for me"})["task_id"])
        time.sleep(0.5)
        if api.call("GET", f"/tasks/{task_id}")["status"] == "queued":
            return task_id
    pytest.fail("the idle stack's worker kept running tasks")


def test_an_admin_sets_and_clears_a_quota_that_usage_then_shows(cli: Cli, principal: str) -> None:
    # Given the stack's admin (ADMIN_PRINCIPALS holds `admin` locally)
    admin = "admin"
    # When the admin sets the principal's quota: one active task, no per-minute limit
    code, out, err = cli("quotas", "set", principal, "--max-active", "1", "--per-minute", "0", token=admin)
    assert code == 0, err
    assert "0 (no limit)" in out
    # Then the principal's own `usage` shows the quota that applies
    code, out, _ = cli("--json", "usage")
    assert code == 0 and json.loads(out)["quota"]["max_active_tasks"] == 1
    code, out, _ = cli("usage")
    assert "all time" in out and "last 30 days" in out and "active tasks at once 1" in out
    # And the principal may not read or change quotas (403: status 1), nor may a negative limit be set (422)
    code, _, err = cli("quotas", "get", principal)
    assert code == 1 and "HTTP 403" in err
    code, _, err = cli("quotas", "set", principal, "--max-active", "-1", token=admin)
    assert code == 1 and "HTTP 422" in err and "max_active_tasks" in err
    # When the admin clears it, Then the defaults apply again
    code, out, err = cli("--json", "quotas", "clear", principal, token=admin)
    assert code == 0, err
    assert set(json.loads(out)["override"].values()) == {None}
