"""Messages the worker must refuse, and messages with nothing left to run."""

from __future__ import annotations

import json

import pytest

from claude_tasks.core.records import McpServer, NewTask, PermissionMode, Session, TaskStatus, Workspace
from claude_tasks.core.usage import QuotaOverride
from claude_tasks.store import Store
from tests.conftest import SessionFactory
from tests.support.claude_double import ScriptedClaude
from tests.support.clock import pin_mid_minute
from tests.support.tables import counts
from tests.support.worker import Worker, failed_ids
from tests.unit.worker.conftest import MakeTask, Run

TASK = "7a1f0d3e-0000-4000-8000-000000000001"
SESSION = "5e7d1c2a-0000-4000-8000-000000000001"


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("not json", "Invalid JSON"),
        ("", "Invalid JSON"),
        ("[1, 2]", "Input should be"),
        (json.dumps({"type": "task.delete", "task_id": TASK}), "does not match any of the expected tags"),
        (json.dumps({"task_id": TASK, "session_id": SESSION}), "Unable to extract tag"),
        (json.dumps({"type": "task.run", "task_id": TASK}), "session_id: Field required"),
        (json.dumps({"type": "task.run", "task_id": "", "session_id": SESSION}), "at least 1 character"),
        (json.dumps({"type": "task.run", "task_id": TASK, "session_id": SESSION, "x": 1}), "Extra inputs"),
        (json.dumps({"type": "task.create", "session_id": SESSION, "owner": "o", "prompt": "p"}), "idempotency_key"),
    ],
)
def test_a_malformed_message_fails_its_record_with_the_reason_logged(
    run: Run, claude: ScriptedClaude, caplog: pytest.LogCaptureFixture, body: str, problem: str
) -> None:
    # Given a record whose body is not a valid task message
    # When the worker receives it
    response = run(body=body)
    # Then the record fails (SQS redrives it to the DLQ), saying what is wrong, and Claude is not called
    assert len(failed_ids(response)) == 1
    (logged,) = [r for r in caplog.records if r.getMessage() == "record not acknowledged"]
    assert logged.__dict__["reason"].startswith("invalid task message") and problem in logged.__dict__["reason"]
    assert claude.requests == []


def test_a_message_for_a_task_that_does_not_exist_is_acknowledged(run: Run, claude: ScriptedClaude) -> None:
    # Given a task.run for a task that was deleted (or never existed)
    body = {"type": "task.run", "task_id": TASK, "session_id": SESSION}
    # When the worker receives it
    response = run(body=body)
    # Then there is nothing to run: the record is acknowledged
    assert failed_ids(response) == set()
    assert claude.requests == []


def test_a_message_for_a_finished_or_cancelled_task_writes_nothing(
    run: Run, claude: ScriptedClaude, store: Store, make_task: MakeTask
) -> None:
    # Given a task that already ran, and one that was cancelled before it ran
    done, cancelled = make_task("done"), make_task("cancelled")
    run(done)
    store.transitions.cancel(cancelled.owner, cancelled.task_id)
    before = [store.tasks.load(t.task_id) for t in (done, cancelled)]
    # When their messages are delivered (again)
    responses = [run(done, receive_count=2), run(cancelled)]
    # Then both are acknowledged, and neither task changed
    assert [failed_ids(r) for r in responses] == [set(), set()]
    assert [store.tasks.load(t.task_id) for t in (done, cancelled)] == before
    assert before[1].status is TaskStatus.CANCELLED
    assert len(claude.requests) == 1


def test_a_task_create_with_a_prompt_over_the_limit_is_rejected(
    worker: Worker, run: Run, session: Session, caplog: pytest.LogCaptureFixture
) -> None:
    # Given a worker allowing 20-character prompts, and a pipeline's task.create with a longer one
    worker.use(ScriptedClaude(), max_prompt_chars=20)
    body = {
        "type": "task.create",
        "session_id": session.session_id,
        "owner": session.owner,
        "prompt": "x" * 21,
        "idempotency_key": "k",
    }
    # When the worker receives it
    response = run(body=body)
    # Then the record fails saying why, and no task was created
    assert len(failed_ids(response)) == 1
    assert any("the limit is 20" in r.__dict__.get("reason", "") for r in caplog.records)
    assert counts()["tasks"] == 0


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"prompt": "\N{GRINNING FACE}" * 30_000}, "would be 120000 bytes in UTF-8; the limit is 100000"),
        ({"system": "\N{GRINNING FACE}" * 12_501}, "system: Value error, must be at most 50000 bytes in UTF-8"),
        ({"model": "m" * 129}, "model: String should have at most 128 characters"),
    ],
)
def test_a_task_create_too_large_for_the_task_item_is_rejected_saying_why(
    run: Run,
    claude: ScriptedClaude,
    session: Session,
    caplog: pytest.LogCaptureFixture,
    fields: dict[str, str],
    reason: str,
) -> None:
    # Given a pipeline's task.create whose prompt, system or model is within the character limit but too large
    body = {
        "type": "task.create",
        "session_id": session.session_id,
        "owner": session.owner,
        "prompt": "p",
        "idempotency_key": "k",
        **fields,
    }
    # When the worker receives it
    response = run(body=body)
    # Then it is rejected as a message (not an error retried until the DLQ), saying why; nothing was created
    assert len(failed_ids(response)) == 1
    (logged,) = [r for r in caplog.records if r.getMessage() == "record not acknowledged"]
    assert logged.__dict__["kind"] == "MessageRejected" and reason in logged.__dict__["reason"]
    assert counts()["tasks"] == 0
    assert claude.requests == []


def test_a_task_create_takes_claude_code_options_and_its_sessions_mcp_servers(
    worker: Worker, run: Run, store: Store, session_factory: SessionFactory
) -> None:
    # Given a deployment offering claude-code, and a session holding MCP servers for its tasks
    claude = ScriptedClaude()
    worker.use(claude, enabled_backends="offline,claude-code")
    linter = McpServer(type="stdio", command="linter-mcp")
    session = session_factory(owner="alice", mcp_servers={"linter": linter})
    body = {
        "type": "task.create",
        "session_id": session.session_id,
        "owner": "alice",
        "prompt": "Fix the lint errors",
        "idempotency_key": "pipeline-1",
        "backend": "claude-code",
        "allowed_tools": ["Read", "Edit", "Bash(ruff:*)"],
        "permission_mode": "acceptEdits",
        "workspace": "worktree",
    }
    # When a pipeline posts a claude-code task.create naming no MCP servers
    response = run(body=body)
    # Then the task was created with its options, and the session's servers
    assert failed_ids(response) == set()
    (task,) = store.tasks.list_for_session("alice", session.session_id, None, 10, None).items
    assert (task.backend, task.agent.allowed_tools, task.agent.workspace) == (
        "claude-code",
        ["Read", "Edit", "Bash(ruff:*)"],
        Workspace.WORKTREE,
    )
    assert task.agent.permission_mode is PermissionMode.ACCEPT_EDITS
    assert task.agent.mcp_servers == {"linter": linter}


def test_a_task_create_with_claude_code_options_for_another_backend_is_rejected_saying_why(
    worker: Worker, run: Run, session: Session, caplog: pytest.LogCaptureFixture
) -> None:
    # Given a pipeline's task.create naming tools, for the deployment's default (offline) backend
    worker.use(ScriptedClaude())
    body = {
        "type": "task.create",
        "session_id": session.session_id,
        "owner": session.owner,
        "prompt": "Fix it",
        "idempotency_key": "k",
        "allowed_tools": ["Read"],
    }
    # When the worker receives it
    response = run(body=body)
    # Then the record fails (to the DLQ) saying which option and why, and no task was created
    assert len(failed_ids(response)) == 1
    assert any("allowed_tools" in r.__dict__.get("reason", "") for r in caplog.records)
    assert counts()["tasks"] == 0


def test_a_task_create_over_its_owners_quota_waits_for_redelivery(
    run: Run, store: Store, session: Session, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given alice may create one task a minute, and has (in a minute that cannot end during the test)
    pin_mid_minute(monkeypatch)
    store.usage.set_quota(session.owner, QuotaOverride(max_tasks_per_minute=1))
    store.tasks.create(session.owner, session.session_id, NewTask(prompt="first"))
    body = {
        "type": "task.create",
        "session_id": session.session_id,
        "owner": session.owner,
        "prompt": "p",
        "idempotency_key": "over-quota",
    }
    # When a pipeline's task.create for her arrives
    response = run(body=body)
    # Then the record is not acknowledged (SQS delivers it again), saying which limit held it; nothing was created
    assert len(failed_ids(response)) == 1
    (logged,) = [r for r in caplog.records if r.getMessage() == "record not acknowledged"]
    assert logged.__dict__["kind"] == "OverQuota"
    assert "max_tasks_per_minute" in logged.__dict__["reason"]
    assert "delivered again" in logged.__dict__["reason"]
    assert counts()["tasks"] == 1
