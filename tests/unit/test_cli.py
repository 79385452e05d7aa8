"""`claude-tasks` without a stack: targets, exit statuses and output, against a canned HTTP server."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from claude_tasks_dev.cli import main, output
from claude_tasks_dev.cli.admin import render_report

REPORT = {
    "total_sessions": 3, "sessions_with_tasks": 2, "orphaned_sessions": 1, "total_tasks": 4,
    "tasks_with_valid_session": 4, "total_interactions": 8, "tasks_with_claude_session_id": 4,
    "shared_claude_session_ids": 0, "violations": [],
}  # fmt: skip


class Canned(BaseHTTPRequestHandler):
    """Answers GET/POST with `routes[(method, path)]` = (status, body); records each request."""

    routes: dict[tuple[str, str], tuple[int, Any]] = {}
    seen: list[tuple[str, str, str | None]] = []

    def _answer(self) -> None:
        path = self.path.split("?", 1)[0]
        Canned.seen.append((self.command, self.path, self.headers.get("authorization")))
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
    Canned.routes, Canned.seen = {}, []
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


def test_audit_prints_the_table_and_exits_4_on_violations(api: str, capsys: pytest.CaptureFixture[str]) -> None:
    violation = {"kind": "orphaned_task", "subject": "t-9", "detail": "its session s-9 does not exist"}
    Canned.routes[("GET", "/admin/consistency")] = (200, {**REPORT, "violations": [violation]})
    assert main(["--api-url", api, "--token", "admin", "audit"]) == 4
    out = capsys.readouterr().out
    assert "Orphaned sessions (no tasks)" in out and "Violations: 1" in out and "orphaned_task  t-9" in out


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
