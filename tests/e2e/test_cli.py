"""`claude-tasks` against the running local stack: what a person types, what a script reads."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable

import pytest

from claude_tasks_dev.cli import main
from tests.e2e.local_stack import RunningStack

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
    assert code == 1 and "HTTP 409" in err
    assert cli("sessions", "delete", session_id.strip(), "--cascade")[0] == 0


def test_audit_prints_the_seed_reports_table(cli: Cli) -> None:
    # Given the local stack (the CLI acts as its `admin` principal for the report)
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
