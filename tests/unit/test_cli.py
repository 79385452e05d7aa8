"""`claude-tasks` without a stack: targets, exit statuses and output, against a canned HTTP server."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from claude_tasks_dev.cli import main, output, turns
from claude_tasks_dev.cli.admin import render_report

REPORT = {
    "total_sessions": 3, "sessions_with_tasks": 2, "orphaned_sessions": 1, "total_tasks": 4,
    "tasks_with_valid_session": 4, "total_interactions": 8, "tasks_with_claude_session_id": 4,
    "shared_claude_session_ids": 0, "violations": [],
}  # fmt: skip


class Canned(BaseHTTPRequestHandler):
    """Answers GET/POST with `routes[(method, path)]` = (status, body); records each request and JSON body."""

    routes: dict[tuple[str, str], tuple[int, Any]] = {}
    seen: list[tuple[str, str, str | None]] = []
    bodies: list[Any] = []

    def _answer(self) -> None:
        path = self.path.split("?", 1)[0]
        Canned.seen.append((self.command, self.path, self.headers.get("authorization")))
        length = int(self.headers.get("content-length") or 0)
        Canned.bodies.append(json.loads(self.rfile.read(length)) if length else None)
        status, body = Canned.routes.get((self.command, path), (404, {"message": "Not Found"}))
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_DELETE = _answer

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def api() -> Iterator[str]:
    Canned.routes, Canned.seen, Canned.bodies = {}, [], []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Canned)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_no_local_stack_is_status_3_with_what_to_do(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--stack-file", "/nonexistent/stack.json", "sessions", "list"]) == 3
    assert "make dev" in capsys.readouterr().err


def test_an_api_nobody_answers_is_status_3(capsys: pytest.CaptureFixture[str]) -> None:
    # Port 9 (discard) on loopback: nothing listens there
    assert main(["--api-url", "http://127.0.0.1:9", "--timeout", "2", "sessions", "list"]) == 3
    assert "cannot reach" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        ["--api-url", "ftp://example.com", "sessions", "list"],
        ["--api-url", "https://api.example.com", "sessions", "list"],  # remote, and no token
        ["sessions"],
        ["run", "only-a-session"],
    ],
)
def test_bad_usage_is_status_2(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CLAUDE_TASKS_TOKEN", raising=False)
    assert main(argv) == 2


def test_the_token_is_sent_as_a_bearer_and_errors_are_status_1(api: str, capsys: pytest.CaptureFixture[str]) -> None:
    # Given an API that knows no such task
    Canned.routes[("GET", "/tasks/t-1")] = (
        404,
        {"title": "Not Found", "status": 404, "detail": "task t-1 does not exist"},
    )
    # When it is asked for as bob
    code = main(["--api-url", api, "--token", "bob", "tasks", "show", "t-1"])
    # Then the problem's detail is shown, the status is 1, and bob was the bearer
    assert code == 1
    assert "task t-1 does not exist" in capsys.readouterr().err
    assert Canned.seen[-1][2] == "Bearer bob"


def test_an_id_cannot_change_the_route(api: str) -> None:
    main(["--api-url", api, "--token", "bob", "tasks", "show", "../sessions"])
    assert Canned.seen[-1][1] == "/tasks/..%2Fsessions"


def test_wait_exits_4_when_the_task_failed_and_5_when_time_runs_out(
    api: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a task that failed, with an error turn
    failed = {"task_id": "t-1", "status": "failed", "error": "Claude said no", "interaction_count": 2}
    Canned.routes[("POST", "/sessions/s-1/tasks")] = (202, {**failed, "status": "queued"})
    Canned.routes[("GET", "/tasks/t-1")] = (200, failed)
    turns = [{"seq": 2, "role": "error", "content": "Claude said no"}]
    Canned.routes[("GET", "/tasks/t-1/interactions")] = (200, {"items": turns, "next_cursor": None})
    # When it is run with --wait, the status is 4 and the error is shown
    assert main(["--api-url", api, "--token", "bob", "run", "s-1", "hi", "--wait"]) == 4
    captured = capsys.readouterr()
    assert "#2 error" in captured.out and "Claude said no" in captured.err
    # And a task that stays queued past the timeout is status 5
    Canned.routes[("GET", "/tasks/t-1")] = (200, {**failed, "status": "queued"})
    assert main(["--api-url", api, "--token", "bob", "run", "s-1", "hi", "--wait", "--wait-timeout", "0"]) == 5


def test_wait_with_quiet_prints_only_the_task_id_once_it_ended(api: str, capsys: pytest.CaptureFixture[str]) -> None:
    # Given a task that succeeds
    done = {"task_id": "t-2", "status": "succeeded", "interaction_count": 2}
    Canned.routes[("POST", "/sessions/s-1/tasks")] = (202, {**done, "status": "queued"})
    Canned.routes[("GET", "/tasks/t-2")] = (200, done)
    # When it is run with --wait -q, as `TID=$(claude-tasks run … --wait -q)` does
    code = main(["--api-url", api, "--token", "bob", "run", "s-1", "hi", "--wait", "-q"])
    # Then stdout is the id alone, after the wait, and the status says it succeeded
    assert (code, capsys.readouterr().out) == (0, "t-2\n")
    # And a task that ended otherwise still prints its id, with status 4
    Canned.routes[("GET", "/tasks/t-2")] = (200, {**done, "status": "failed", "error": "no"})
    assert main(["--api-url", api, "--token", "bob", "run", "s-1", "hi", "--wait", "-q"]) == 4
    assert capsys.readouterr().out == "t-2\n"


def test_audit_prints_the_table_and_exits_4_on_violations(api: str, capsys: pytest.CaptureFixture[str]) -> None:
    violation = {"kind": "orphaned_task", "subject": "t-9", "detail": "its session s-9 does not exist"}
    Canned.routes[("GET", "/admin/consistency")] = (200, {**REPORT, "violations": [violation]})
    assert main(["--api-url", api, "--token", "admin", "audit"]) == 4
    out = capsys.readouterr().out
    assert "Orphaned sessions (no tasks)" in out and "Violations: 1" in out and "orphaned_task  t-9" in out


def test_dlq_list_shows_each_reason_and_redrive_exits_4_when_one_is_refused(
    api: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given an API with one dead letter, whose redrive is refused
    letter = {
        "message_id": "m-1", "queue": "tasks", "kind": "task.run", "task_id": "t-1", "session_id": "s-1",
        "reason": "anthropic HTTP 529 overloaded_error (receive 5 of 5)", "sent_at": "2026-01-02T03:04:05.000000Z",
        "receive_count": 5,
    }  # fmt: skip
    refused = {"message_id": "m-1", "detail": "task t-1 already failed: retry it with POST /tasks/t-1/retry"}
    Canned.routes[("GET", "/admin/dead-letters")] = (200, {"items": [letter], "next_cursor": None})
    Canned.routes[("POST", "/admin/dead-letters/redrive")] = (200, {"redriven": [], "refused": [refused]})
    # When listed, then the reason is on the message's row
    assert main(["--api-url", api, "--token", "admin", "dlq", "list"]) == 0
    heading, row = capsys.readouterr().out.splitlines()
    assert heading.split()[:3] == ["MESSAGE", "QUEUE", "KIND"] and "overloaded_error" in row
    # When the message is redriven by id, then the refusal is printed with its detail, and the status is 4
    assert main(["--api-url", api, "--token", "admin", "dlq", "redrive", "m-1"]) == 4
    assert "POST /tasks/t-1/retry" in capsys.readouterr().out
    assert Canned.bodies[-1] == {"message_ids": ["m-1"]}


def test_json_output_is_the_apis_own_json(api: str, capsys: pytest.CaptureFixture[str]) -> None:
    page = {"items": [{"session_id": "s-1", "project_path": "/p"}], "next_cursor": None}
    Canned.routes[("GET", "/sessions")] = (200, page)
    assert main(["--api-url", api, "--token", "bob", "--json", "sessions", "list"]) == 0
    assert json.loads(capsys.readouterr().out) == page["items"]


def test_tables_and_fields_are_readable() -> None:
    rows: list[dict[str, Any]] = [
        {"id": "a", "at": "2026-01-02T03:04:05.123456Z", "text": "x" * 100},
        {"id": "b", "at": None},
    ]
    table = output.table(rows, [("id", "ID", None), ("at", "AT", None), ("text", "TEXT", 10)])
    heading, first, second = table.splitlines()
    assert heading.split() == ["ID", "AT", "TEXT"]
    assert first.split()[:3] == ["a", "2026-01-02", "03:04:05"] and first.endswith("xxxxxxxxx…")
    assert second.split() == ["b", "-", "-"]
    assert output.table([], [("id", "ID", None)]) == "(none)"
    assert "Violations: none" in render_report(REPORT)


QUEUED = {"task_id": "t-1", "session_id": "s-1", "status": "queued"}


def test_run_sends_claude_codes_options_in_the_body(api: str, tmp_path: Path) -> None:
    # Given an MCP config in Claude Code's own shape
    config = tmp_path / "servers.json"
    config.write_text(json.dumps({"mcpServers": {"github": {"type": "http", "url": "https://mcp.example.com"}}}))
    Canned.routes[("POST", "/sessions/s-1/tasks")] = (202, QUEUED)
    # When a claude-code task is run with every option
    code = main([
        "--api-url", api, "--token", "bob", "run", "s-1", "Fix the tests", "--backend", "claude-code",
        "--tools", "Read,Edit,Bash(git diff:*, git log:*)", "--tools", "Grep", "--disallowed-tools", "WebFetch",
        "--permission-mode", "acceptEdits", "--worktree", "--mcp-config", str(config),
        "--max-turns", "5", "--max-budget-usd", "0.5",
    ])  # fmt: skip
    # Then the body carries each, as the API takes them
    assert code == 0
    assert Canned.bodies[-1] == {
        "prompt": "Fix the tests",
        "backend": "claude-code",
        "allowed_tools": ["Read", "Edit", "Bash(git diff:*, git log:*)", "Grep"],
        "disallowed_tools": ["WebFetch"],
        "permission_mode": "acceptEdits",
        "mcp_servers": {"github": {"type": "http", "url": "https://mcp.example.com"}},
        "workspace": "worktree",
        "limits": {"max_turns": 5, "max_budget_usd": 0.5},
    }


def test_run_without_options_sends_only_what_was_given(api: str) -> None:
    Canned.routes[("POST", "/sessions/s-1/tasks")] = (202, QUEUED)
    assert main(["--api-url", api, "--token", "bob", "run", "s-1", "hi", "--title", "Greeting"]) == 0
    assert Canned.bodies[-1] == {"prompt": "hi", "title": "Greeting"}


def test_sessions_create_sends_the_mcp_config_as_the_sessions_defaults(api: str, tmp_path: Path) -> None:
    # Given a plain name-to-server config
    config = tmp_path / "servers.json"
    config.write_text(json.dumps({"linter": {"command": "npx", "args": ["linter-mcp"], "env": {"TOKEN": "t0k"}}}))
    session = {"session_id": "s-1", "project_path": "/p", "mcp_servers": {"linter": {"type": "stdio", "env": {}}}}
    Canned.routes[("POST", "/sessions")] = (201, session)
    # When
    code = main(["--api-url", api, "--token", "bob", "sessions", "create", "/p", "--mcp-config", str(config)])
    # Then
    assert code == 0
    assert Canned.bodies[-1] == {"project_path": "/p", "mcp_servers": json.loads(config.read_text())}


@pytest.mark.parametrize(
    ("content", "says"),
    [(None, "cannot read"), ("{not json", "is not JSON"), ('{"mcpServers": ["github"]}', "must hold")],
    ids=["missing", "not-json", "wrong-shape"],
)
def test_an_mcp_config_that_cannot_be_used_is_status_2(
    api: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None, says: str
) -> None:
    config = tmp_path / "servers.json"
    if content is not None:
        config.write_text(content)
    assert main(["--api-url", api, "--token", "bob", "run", "s-1", "hi", "--mcp-config", str(config)]) == 2
    assert says in capsys.readouterr().err and Canned.seen == []


def _tool(seq: int, stop_reason: str, content: str, name: str = "Read", use_id: str = "tu-1") -> dict[str, Any]:
    return {
        "seq": seq, "role": "tool", "stop_reason": stop_reason, "content": content, "tool_name": name,
        "tool_use_id": use_id,
    }  # fmt: skip


CONVERSATION = [
    {"seq": 1, "role": "user", "content": "Fix the tests"},
    {"seq": 2, "role": "system", "content": "Claude Code started\nmodel: claude-sonnet-4-6"},
    {"seq": 3, "role": "assistant", "content": "Let me look.", "stop_reason": "tool_use"},
    _tool(4, "tool_use", json.dumps({"file_path": "/work/project/" + "deep/" * 20 + "test_app.py"})),
    _tool(5, "tool_use", json.dumps({"command": "pytest -q  tests/unit"}), "Bash", "tu-2"),
    _tool(6, "tool_result", "1 import x\n2 ...", use_id="tu-1"),
    _tool(7, "tool_error", "Exit code 1\nE   AssertionError", "Bash", "tu-2"),
    _tool(8, "tool_use", json.dumps({"pattern": "def test_"}), "Grep", "tu-3"),
]


def test_a_tool_call_and_its_result_print_as_one_line() -> None:
    # When the conversation is printed for people
    lines = turns.conversation(CONVERSATION).splitlines()
    # Then user and assistant turns are as before; each tool call is one line with its target and outcome
    assert lines[:2] == ["#1 user", "  Fix the tests"]
    assert lines[3] == "#2 system · Claude Code started"
    assert lines[5:7] == ["#3 assistant (tool_use)", "  Let me look."]
    read, bash, grep = lines[8:]
    assert read.startswith("#4 tool Read(…") and read.endswith("/deep/test_app.py) → ok")
    assert bash == "#5 tool Bash(pytest -q tests/unit) → error: Exit code 1"
    assert grep == "#8 tool Grep(def test_) → …"  # no result yet
    assert not any(line.startswith(("#6", "#7")) for line in lines)


def test_a_result_whose_use_is_not_listed_prints_on_its_own() -> None:
    assert turns.conversation(CONVERSATION[6:7]) == "#7 tool Bash → error: Exit code 1"


def test_system_notes_are_dimmed_on_a_terminal() -> None:
    assert turns.conversation(CONVERSATION[1:2], dim=True) == "\033[2m#2 system · Claude Code started\033[0m"


def test_interactions_prints_tool_calls_in_one_line_each(api: str, capsys: pytest.CaptureFixture[str]) -> None:
    # Given a task's turns
    Canned.routes[("GET", "/tasks/t-1/interactions")] = (200, {"items": CONVERSATION, "next_cursor": None})
    # When they are listed (stdout is no terminal here: nothing dimmed)
    assert main(["--api-url", api, "--token", "bob", "interactions", "t-1"]) == 0
    # Then
    out = capsys.readouterr().out
    assert "#5 tool Bash(pytest -q tests/unit) → error: Exit code 1\n#8 tool Grep" in out
    assert "\033[" not in out


def test_a_task_shows_its_claude_code_options_and_server_names(api: str, capsys: pytest.CaptureFixture[str]) -> None:
    # Given a claude-code task with options, its secrets masked by the API
    task = {
        **QUEUED, "backend": "claude-code", "allowed_tools": ["Read"], "permission_mode": None,
        "mcp_servers": {"github": {"type": "http", "headers": {"Authorization": "***"}}}, "workspace": "worktree",
        "worktree": None,
    }  # fmt: skip
    Canned.routes[("GET", "/tasks/t-1")] = (200, task)
    # When
    assert main(["--api-url", api, "--token", "bob", "tasks", "show", "t-1"]) == 0
    # Then the options it has are listed, the servers by name and kind
    out = capsys.readouterr().out
    assert "allowed_tools" in out and "workspace" in out and "github (http)" in out
    assert "permission_mode" not in out and "worktree " not in out
