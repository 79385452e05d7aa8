"""`claude-tasks` without a stack: targets, exit statuses and output, against a canned HTTP server."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

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

    # (method, path) or, for one page of a list, (method, path, cursor)
    routes: dict[tuple[str, ...], tuple[int, Any]] = {}
    seen: list[tuple[str, str, str | None]] = []
    bodies: list[Any] = []

    def _answer(self) -> None:
        path = self.path.split("?", 1)[0]
        Canned.seen.append((self.command, self.path, self.headers.get("authorization")))
        length = int(self.headers.get("content-length") or 0)
        Canned.bodies.append(json.loads(self.rfile.read(length)) if length else None)
        cursor = parse_qs(self.path.partition("?")[2]).get("cursor", [""])[0]
        answer = Canned.routes.get((self.command, path, cursor)) or Canned.routes.get((self.command, path))
        status, body = answer or (404, {"message": "Not Found"})
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_DELETE = do_PATCH = do_PUT = _answer

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


def test_recount_sends_the_session_and_prints_what_was_corrected(api: str, capsys: pytest.CaptureFixture[str]) -> None:
    # Given an API whose recount corrected one counter
    fix = {"counter": "tasks_queued", "stored": 0, "counted": 2}
    Canned.routes[("POST", "/admin/consistency/recount")] = (200, {"session_id": "s-1", "corrected": [fix]})
    # When the session is recounted
    assert main(["--api-url", api, "--token", "admin", "recount", "--session", "s-1"]) == 0
    # Then the route got the session, and the correction is printed
    assert Canned.bodies[-1] == {"session_id": "s-1"}
    assert "tasks_queued  0 -> 2" in capsys.readouterr().out


def test_recount_owner_sends_the_owner(api: str, capsys: pytest.CaptureFixture[str]) -> None:
    # Given an API whose recount corrected an owner's active count
    fix = {"counter": "active", "stored": -1, "counted": 0}
    Canned.routes[("POST", "/admin/consistency/recount")] = (200, {"owner": "alice", "corrected": [fix]})
    # When the owner is recounted
    assert main(["--api-url", api, "--token", "admin", "recount", "--owner", "alice"]) == 0
    # Then the route got the owner alone, and the correction is printed
    assert Canned.bodies[-1] == {"owner": "alice"}
    assert "owner alice: corrected 1 counter(s)" in (out := capsys.readouterr().out) and "active  -1 -> 0" in out


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


def _totals(cost: float, turns: int, tasks: dict[str, int] | None = None) -> dict[str, Any]:
    usage = {"input_tokens": 10 * turns, "output_tokens": 5 * turns}
    return {"usage": usage, "cost_usd": cost, "turns": turns, "tasks": tasks or {}, "prices": []}


USAGE = {
    "owner": "bob",
    "total": _totals(1.5, 7, {"queued": 1, "running": 0, "succeeded": 5, "failed": 1}),
    "month": _totals(0.5, 3),
    "days": [{"day": f"2026-11-{d:02d}", **_totals(0.25 if d > 28 else 0.0, 1 if d > 28 else 0)} for d in range(1, 31)],
    "quota": {"max_active_tasks": 5, "max_tasks_per_minute": None, "monthly_spend_usd": 20.0},
}
OWNER_QUOTA = {
    "owner": "alice",
    "override": {"max_active_tasks": 0, "max_tasks_per_minute": None, "monthly_spend_usd": 2.5},
    "quota": {"max_active_tasks": None, "max_tasks_per_minute": 10, "monthly_spend_usd": 2.5},
}


def test_usage_prints_all_time_this_month_the_last_30_days_and_the_quota(
    api: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given bob's usage: 7 turns in all, 3 this month, 2 in the last 30 days
    Canned.routes[("GET", "/usage")] = (200, USAGE)
    # When he asks for it
    assert main(["--api-url", api, "--token", "bob", "usage"]) == 0
    out = capsys.readouterr().out
    # Then one row per period, the tasks by status in all time, and the quota with "no limit" for None
    rows = {line.split("  ")[0]: line for line in out.splitlines()}
    assert "7" in rows["all time"] and "1.5000" in rows["all time"] and "1/0/5/1/0/0" in rows["all time"]
    assert "0.5000" in rows["this month"] and "30 in / 15 out" in rows["this month"]
    assert "0.5000" in rows["last 30 days"] and "20 in / 10 out" in rows["last 30 days"]
    assert "active tasks at once 5, tasks created per minute no limit, spend per month (USD) 20" in out
    assert Canned.seen[-1][:2] == ("GET", "/usage")


def test_usage_of_another_owner_asks_with_the_owner_and_json_is_the_apis(
    api: str, capsys: pytest.CaptureFixture[str]
) -> None:
    Canned.routes[("GET", "/usage")] = (200, USAGE)
    assert main(["--api-url", api, "--token", "admin", "--json", "usage", "--owner", "bob"]) == 0
    assert json.loads(capsys.readouterr().out) == USAGE
    assert Canned.seen[-1][:2] == ("GET", "/usage?owner=bob")


def test_quotas_get_shows_the_overrides_and_what_applies(api: str, capsys: pytest.CaptureFixture[str]) -> None:
    Canned.routes[("GET", "/admin/quotas/alice")] = (200, OWNER_QUOTA)
    assert main(["--api-url", api, "--token", "admin", "quotas", "get", "alice"]) == 0
    rows = {line.split()[0]: line.split("  ") for line in capsys.readouterr().out.splitlines() if line.strip()}
    assert [cell.strip() for cell in rows["max_active_tasks"] if cell.strip()] == [
        "max_active_tasks", "0 (no limit)", "no limit"
    ]  # fmt: skip
    assert [cell.strip() for cell in rows["max_tasks_per_minute"] if cell.strip()] == [
        "max_tasks_per_minute", "default", "10"
    ]  # fmt: skip


def test_quotas_set_sends_only_the_limits_given_and_clear_deletes(api: str) -> None:
    # Given the admin routes
    path = "/admin/quotas/alice%40example.com"
    Canned.routes[("PUT", path)] = (200, OWNER_QUOTA)
    Canned.routes[("DELETE", path)] = (204, None)
    Canned.routes[("GET", path)] = (200, OWNER_QUOTA)
    # When a quota is set with two limits, Then the PUT body names only them (the third takes the default)
    argv = ["--api-url", api, "--token", "admin", "quotas", "set", "alice@example.com"]
    assert main([*argv, "--max-active", "0", "--monthly-usd", "2.5"]) == 0
    assert Canned.seen[-1][:2] == ("PUT", path)
    assert Canned.bodies[-1] == {"max_active_tasks": 0, "monthly_spend_usd": 2.5}
    # When it is cleared, Then a DELETE, and the quota read back
    assert main(["--api-url", api, "--token", "admin", "quotas", "clear", "alice@example.com"]) == 0
    assert [seen[:2] for seen in Canned.seen[-2:]] == [("DELETE", path), ("GET", path)]


@pytest.mark.parametrize("command", [["get"], ["set", "--per-minute", "3"], ["clear"]])
def test_quotas_refuse_an_owner_the_route_cannot_address(
    api: str, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    verb, *flags = command
    assert main(["--api-url", api, "--token", "admin", "quotas", verb, "team/alice", *flags]) == 2
    assert "holds a '/'" in capsys.readouterr().err and Canned.seen == []


def test_a_refused_quota_is_status_1_with_the_apis_detail(api: str, capsys: pytest.CaptureFixture[str]) -> None:
    problem = {"type": "urn:claude-tasks:problem:forbidden", "status": 403, "detail": "only administrators may set"}
    Canned.routes[("PUT", "/admin/quotas/alice")] = (403, problem)
    assert main(["--api-url", api, "--token", "bob", "quotas", "set", "alice", "--per-minute", "3"]) == 1
    assert "only administrators" in capsys.readouterr().err


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


# --- issue 12: the CLI as a new user found it -------------------------------------------------------------

TASK_A = "0b7c2f1e-5d4a-4c3b-9a8f-7e6d5c4b3a21"
TASK_B = "0b7c2f1e-9999-4c3b-9a8f-7e6d5c4b3a22"
SESSION_A = "4b6f2a3e-9c1d-4e8f-a7b2-5d3c1e9f0a61"


def _bob(api: str, *argv: str) -> int:
    return main(["--api-url", api, "--token", "bob", *argv])


def test_a_unique_prefix_of_8_characters_names_the_task(api: str, capsys: pytest.CaptureFixture[str]) -> None:
    # Given two tasks whose ids share their first 8 characters (as `run --wait` once showed them)
    listing = {"items": [{"task_id": TASK_A}, {"task_id": TASK_B}], "next_cursor": None}
    Canned.routes[("GET", "/tasks")] = (200, listing)
    Canned.routes[("GET", f"/tasks/{TASK_A}")] = (200, {**QUEUED, "task_id": TASK_A})
    # When a longer, unique prefix is given
    assert _bob(api, "tasks", "show", TASK_A[:13]) == 0
    # Then the task it names was asked for by its whole id
    assert Canned.seen[-1][1] == f"/tasks/{TASK_A}" and TASK_A in capsys.readouterr().out


def test_an_ambiguous_prefix_lists_the_candidates_and_a_short_one_is_refused(
    api: str, capsys: pytest.CaptureFixture[str]
) -> None:
    Canned.routes[("GET", "/tasks")] = (200, {"items": [{"task_id": TASK_A}, {"task_id": TASK_B}], "next_cursor": None})
    # An ambiguous prefix: a usage error naming both
    assert _bob(api, "tasks", "show", TASK_A[:8]) == 2
    err = capsys.readouterr().err
    assert TASK_A in err and TASK_B in err and "fits 2 tasks" in err
    # Fewer than 8 characters: refused before any listing
    seen = len(Canned.seen)
    assert _bob(api, "tasks", "show", TASK_A[:7]) == 2
    assert "at least 8 characters" in capsys.readouterr().err and len(Canned.seen) == seen
    # A prefix nothing fits: status 1, as a 404 would be
    assert _bob(api, "tasks", "show", "ffffffff") == 1


def test_a_session_prefix_is_looked_up_in_the_sessions(api: str) -> None:
    Canned.routes[("GET", "/sessions")] = (200, {"items": [{"session_id": SESSION_A}], "next_cursor": None})
    Canned.routes[("POST", f"/sessions/{SESSION_A}/tasks")] = (202, QUEUED)
    assert _bob(api, "run", SESSION_A[:8], "hi") == 0
    assert Canned.seen[-1][:2] == ("POST", f"/sessions/{SESSION_A}/tasks")


def test_tasks_list_without_a_session_lists_yours_across_sessions(api: str, capsys: pytest.CaptureFixture[str]) -> None:
    # Given tasks in two sessions
    rows = [
        {"task_id": TASK_A, "session_id": SESSION_A, "status": "failed", "turns": 1, "interaction_count": 5},
        {"task_id": TASK_B, "session_id": "s-2", "status": "failed", "turns": 2, "interaction_count": 4},
    ]
    Canned.routes[("GET", "/tasks")] = (200, {"items": rows, "next_cursor": None})
    # When they are listed without a session, one status only
    assert _bob(api, "tasks", "list", "--status", "failed") == 0
    # Then GET /tasks was asked with the filter; each row names its session, and TURNS is the API's `turns`
    assert Canned.seen[-1][1].startswith("/tasks?") and "status=failed" in Canned.seen[-1][1]
    heading, first, _ = capsys.readouterr().out.splitlines()
    assert heading.split()[:4] == ["TASK", "SESSION", "STATUS", "TURNS"]
    assert first.split()[:4] == [TASK_A, SESSION_A, "failed", "1"]


def test_a_list_that_goes_on_says_so_and_all_pages_through(api: str, capsys: pytest.CaptureFixture[str]) -> None:
    # Given 55 sessions, served 50 to a page (the canned API ignores the cursor: it only counts pages)
    page = {"items": [{"session_id": f"s-{i}"} for i in range(50)], "next_cursor": "c-50"}
    Canned.routes[("GET", "/sessions")] = (200, page)
    # When the first 50 are listed
    assert _bob(api, "--json", "sessions", "list") == 0
    # Then the 50 are printed and stderr says more exist and how to see them
    captured = capsys.readouterr()
    assert len(json.loads(captured.out)) == 50
    assert "50 shown; more exist" in captured.err and "--all" in captured.err and "--cursor c-50" in captured.err
    # And with --all every page is read until next_cursor is null, with no note
    Canned.routes[("GET", "/sessions")] = (200, {"items": [{"session_id": "s-last"}], "next_cursor": None})
    assert _bob(api, "--json", "sessions", "list", "--all", "--cursor", "c-50") == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out) == [{"session_id": "s-last"}] and captured.err == ""
    assert "cursor=c-50" in Canned.seen[-1][1]


def test_a_full_last_page_is_not_called_more(api: str, capsys: pytest.CaptureFixture[str]) -> None:
    # Given a list that ends with a full page: DynamoDB still hands out a cursor after it
    Canned.routes[("GET", "/sessions")] = (200, {"items": [{"session_id": "s-1"}], "next_cursor": "c-1"})
    Canned.routes[("GET", "/sessions", "c-1")] = (200, {"items": [], "next_cursor": None})
    # When it is listed
    assert _bob(api, "sessions", "list", "--limit", "1") == 0
    # Then the CLI looked behind the cursor, found nothing, and says nothing
    assert "shown" not in capsys.readouterr().err


def test_fork_edit_and_the_new_run_flags_send_what_the_api_takes(api: str) -> None:
    # fork, with a prompt and another session
    Canned.routes[("POST", "/tasks/t-1/fork")] = (202, {**QUEUED, "task_id": "t-2", "forked_from": "t-1"})
    assert _bob(api, "fork", "t-1", "Same, in French", "--session", "s-2") == 0
    assert Canned.seen[-1][:2] == ("POST", "/tasks/t-1/fork")
    assert Canned.bodies[-1] == {"prompt": "Same, in French", "session_id": "s-2"}
    # tasks edit: title and metadata, then clearing the metadata
    Canned.routes[("PATCH", "/tasks/t-1")] = (200, QUEUED)
    assert _bob(api, "tasks", "edit", "t-1", "--title", "haiku", "--metadata", '{"ticket": "T-1"}') == 0
    assert Canned.bodies[-1] == {"title": "haiku", "metadata": {"ticket": "T-1"}}
    assert _bob(api, "tasks", "edit", "t-1", "--clear-metadata") == 0
    assert Canned.bodies[-1] == {"metadata": None}
    assert _bob(api, "tasks", "edit", "t-1") == 2  # nothing to change
    assert _bob(api, "tasks", "edit", "t-1", "--metadata", "[1]") == 2  # not an object
    # run: backend, model, max tokens per reply, and every limit
    Canned.routes[("POST", "/sessions/s-1/tasks")] = (202, QUEUED)
    argv = ["run", "s-1", "hi", "--backend", "anthropic", "--model", "claude-haiku-4-5", "--max-tokens", "256"]
    limits = ["--max-turns", "3", "--max-run-tokens", "9000", "--max-budget-usd", "0.25"]
    assert _bob(api, *argv, *limits) == 0
    assert Canned.bodies[-1] == {
        "prompt": "hi", "backend": "anthropic", "model": "claude-haiku-4-5", "max_tokens": 256,
        "limits": {"max_turns": 3, "max_tokens": 9000, "max_budget_usd": 0.25},
    }  # fmt: skip


def test_retry_of_a_succeeded_task_says_to_follow_up(api: str, capsys: pytest.CaptureFixture[str]) -> None:
    # Given the API's 409 for a task that already succeeded
    detail = "task t-1 already succeeded: there is nothing to run again; to continue its conversation, send a …"
    Canned.routes[("POST", "/tasks/t-1/retry")] = (409, {"status": 409, "detail": detail})
    # When it is retried
    assert _bob(api, "tasks", "retry", "t-1") == 1
    # Then the CLI says it succeeded and which command continues it
    err = capsys.readouterr().err
    assert "already succeeded" in err and 'claude-tasks tasks follow-up t-1 "your prompt"' in err


def test_deleting_a_session_with_tasks_suggests_the_cascade_flag(api: str, capsys: pytest.CaptureFixture[str]) -> None:
    detail = "session s-1 still has 2 task(s): delete them first or pass cascade=true"
    Canned.routes[("DELETE", "/sessions/s-1")] = (409, {"status": 409, "detail": detail})
    assert _bob(api, "sessions", "delete", "s-1") == 1
    err = capsys.readouterr().err
    assert "pass --cascade" in err and "cascade=true" not in err


def test_a_missing_stack_file_is_named(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--stack-file", "/nonexistent", "sessions", "list"]) == 3
    err = capsys.readouterr().err
    assert "/nonexistent (from --stack-file)" in err and "make dev" in err


def test_a_stale_stack_file_says_the_stack_is_not_running(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Given the stack.json a crashed stack left behind: its port is closed now
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    stack_file = tmp_path / "stack.json"
    stack_file.write_text(json.dumps({"api_url": f"http://127.0.0.1:{port}"}))
    # When the CLI is used
    assert main(["--stack-file", str(stack_file), "sessions", "list"]) == 3
    # Then it says the local stack is not running, which file named it, and how to start it
    err = capsys.readouterr().err
    assert "local stack is not running" in err and str(stack_file) in err and "make dev" in err


@pytest.mark.parametrize(
    ("argv", "env", "says"),
    [
        (["--token", "bad name"], {}, "principal 'bad name' (from --token)"),
        ([], {"CLAUDE_TASKS_TOKEN": "bad name"}, "principal 'bad name' (from CLAUDE_TASKS_TOKEN)"),
        ([], {"USER": "bad name"}, "principal 'bad name' (the default: your login name, $USER)"),
    ],
    ids=["flag", "env", "default"],
)
def test_a_refused_token_names_the_principal_and_where_it_came_from(
    api: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    argv: list[str],
    env: dict[str, str],
    says: str,
) -> None:
    # Given an API that refuses every token, as the gateway's authorizer does a malformed one
    monkeypatch.delenv("CLAUDE_TASKS_TOKEN", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    Canned.routes[("GET", "/sessions")] = (401, {"message": "Unauthorized"})
    # When
    assert main(["--api-url", api, *argv, "sessions", "list"]) == 1
    # Then
    assert says in capsys.readouterr().err


def test_the_quick_starts_curl_and_the_cli_act_as_the_same_principal(api: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the README's quick start
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    quick_start = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    bearers = set(re.findall(r"Authorization: Bearer ([^'\"\s]+)", quick_start))
    # Then its curl acts as $USER, and the CLI, given no token, acts as $USER too
    assert bearers == {"$USER"}
    monkeypatch.delenv("CLAUDE_TASKS_TOKEN", raising=False)
    monkeypatch.setenv("USER", "carol")
    Canned.routes[("GET", "/sessions")] = (200, {"items": [], "next_cursor": None})
    assert main(["--api-url", api, "sessions", "list"]) == 0
    assert Canned.seen[-1][2] == "Bearer carol"


def _poll_answers(monkeypatch: pytest.MonkeyPatch, steps: list[tuple[dict[str, Any], list[dict[str, Any]]]]) -> None:
    """The canned API moves to the next (task, new turns) each time the CLI pauses between polls."""
    from claude_tasks_dev.cli import wait

    def answer(step: tuple[dict[str, Any], list[dict[str, Any]]]) -> None:
        Canned.routes[("GET", "/tasks/t-1")] = (200, step[0])
        Canned.routes[("GET", "/tasks/t-1/interactions")] = (200, {"items": step[1], "next_cursor": None})

    remaining = list(steps)
    answer(remaining.pop(0))

    def pause(_: float) -> None:
        if not remaining:
            raise KeyboardInterrupt  # what Ctrl-C does to a sleeping CLI
        answer(remaining.pop(0))

    monkeypatch.setattr(wait.time, "sleep", pause)


def test_watch_prints_turns_as_they_arrive_and_exits_with_the_outcome(
    api: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a task that runs: first its prompt, then a tool call, its result, then the reply
    running = {"task_id": "t-1", "status": "running"}
    use = _tool(3, "tool_use", json.dumps({"command": "pytest"}), "Bash", "tu-1")
    _poll_answers(
        monkeypatch,
        [
            ({"task_id": "t-1", "status": "queued"}, []),
            (running, [CONVERSATION[0], {"seq": 2, "role": "assistant", "content": "Running the tests."}, use]),
            (running, [_tool(4, "tool_result", "ok", "Bash", "tu-1")]),
            ({"task_id": "t-1", "status": "succeeded"}, [{"seq": 5, "role": "assistant", "content": "All green."}]),
        ],
    )
    # When it is watched (stdout is no terminal here: plain status lines on stderr)
    assert _bob(api, "watch", "t-1") == 0
    # Then each turn was printed once, in order; the tool call waited for its result to print as one line
    captured = capsys.readouterr()
    out = captured.out
    assert out.index("#1 user") < out.index("#2 assistant") < out.index("#3 tool Bash(pytest) → ok")
    assert out.index("#3 tool Bash(pytest) → ok") < out.index("#5 assistant") and out.count("#2 assistant") == 1
    assert "→ …" not in out
    # And each status was said once, on stderr, with the whole id
    assert [line for line in captured.err.splitlines() if line.startswith("task t-1:")] == [
        "task t-1: queued", "task t-1: running", "task t-1: succeeded",
    ]  # fmt: skip
    # And the polls asked only for turns after those already printed
    assert "after_seq=4" in [p for m, p, _ in Canned.seen if "interactions" in p][-1]


def test_ctrl_c_while_watching_says_the_task_keeps_running(
    api: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a task that keeps running
    _poll_answers(monkeypatch, [({"task_id": "t-1", "status": "running"}, [CONVERSATION[0]])])
    # When Ctrl-C interrupts the watch (and then a --wait)
    assert _bob(api, "watch", "t-1") == 130
    # Then the turns so far were printed, and a line says the task keeps running and how to watch it again
    captured = capsys.readouterr()
    assert "#1 user" in captured.out
    assert "task t-1 keeps running" in captured.err and "claude-tasks watch t-1" in captured.err
    _poll_answers(monkeypatch, [({"task_id": "t-1", "status": "running"}, [])])
    Canned.routes[("POST", "/tasks/t-1/messages")] = (202, {"task_id": "t-1", "status": "running"})
    assert _bob(api, "tasks", "follow-up", "t-1", "more", "--wait") == 130
    assert "claude-tasks watch t-1" in capsys.readouterr().err


def test_the_status_line_is_live_only_on_a_terminal(api: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    from claude_tasks_dev.cli.client import ApiClient
    from claude_tasks_dev.cli.context import Context
    from claude_tasks_dev.cli.target import Target
    from claude_tasks_dev.cli.wait import StatusLine

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    task = {"task_id": "t-1", "status": "running", "interaction_count": 3}
    # On a terminal: one line redrawn in place
    out, err = Terminal(), Terminal()
    StatusLine(Context(Target(api, "bob"), ApiClient(api, "bob"), out=out, err=err), "t-1").show(task)
    assert err.getvalue().startswith("\r\033[K") and "task t-1: running" in err.getvalue()
    # Piped: a plain line per status, no control characters
    out, err = io.StringIO(), Terminal()
    StatusLine(Context(Target(api, "bob"), ApiClient(api, "bob"), out=out, err=err), "t-1").show(task)
    assert err.getvalue() == "task t-1: running\n"
