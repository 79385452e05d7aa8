"""`claude-tasks events tail` on a local stack's events log (written by the stack's own `EventLog`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from claude_tasks_dev.cli import main
from claude_tasks_dev.local.event_log import EventLog


def _event(task_id: str, owner: str, status: str, previous: str | None, reason: str | None = None) -> dict[str, Any]:
    detail = {"event_id": f"{task_id}-{status}", "task_id": task_id, "owner": owner, "status": status}
    detail.update(previous_status=previous, reason=reason, occurred_at="2026-11-30T12:00:00.000000Z")
    return {"source": "claude-task-server", "detail-type": f"Task {status.capitalize()}", "detail": detail}


@pytest.fixture
def stack_file(tmp_path: Path) -> Path:
    """A stack.json naming an events log that holds two tasks' events, one line each."""
    log = EventLog(tmp_path / "events.jsonl")
    log.append(_event("t-1", "alice", "queued", None))
    log.append(_event("t-2", "bob", "queued", None))
    log.append(_event("t-1", "alice", "failed", "running", reason="Claude answered 500"))
    path = tmp_path / "stack.json"
    path.write_text(json.dumps({"api_url": "http://127.0.0.1:9", "events_log": str(log.path)}))
    return path


def test_tail_prints_the_events_of_one_owner_in_order(stack_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # When alice's events are asked for
    code = main(["--stack-file", str(stack_file), "events", "tail", "--owner", "alice"])
    # Then both are printed, one line each, with the change and the reason
    lines = capsys.readouterr().out.splitlines()
    assert code == 0 and len(lines) == 2
    assert "Task Queued" in lines[0] and "- -> queued" in lines[0]
    assert "Task Failed" in lines[1] and "running -> failed" in lines[1] and "(Claude answered 500)" in lines[1]


def test_tail_as_json_prints_the_bus_events_as_they_are(stack_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--stack-file", str(stack_file), "--json", "events", "tail", "--lines", "1"])
    (line,) = capsys.readouterr().out.splitlines()
    assert code == 0 and json.loads(line) == _event("t-1", "alice", "failed", "running", reason="Claude answered 500")


def test_tail_against_a_deployed_api_says_where_its_events_are(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--api-url", "https://api.example.com", "--token", "t", "events", "tail"])
    assert code == 2 and "rules" in capsys.readouterr().err


def test_the_log_is_moved_aside_when_it_grows_past_its_limit(tmp_path: Path) -> None:
    # Given a log with a small limit
    log = EventLog(tmp_path / "events.jsonl", max_bytes=400)
    # When more events than fit are appended
    for n in range(10):
        log.append(_event(f"t-{n}", "alice", "queued", None))
    # Then the file stays under the limit, the one before it is kept aside, and the last events are in memory
    assert log.path.stat().st_size <= 400 and (tmp_path / "events.jsonl.1").is_file()
    assert json.loads(log.path.read_text().splitlines()[-1])["detail"]["task_id"] == "t-9"
    assert len(log.recent) == 10
