"""Claude Code's per-task options on the HTTP API: tools, permission mode, MCP servers, workspace.

They are flat in `CreateTaskBody` and in `TaskView`, mean something only to the
`claude-code` backend, and a session may hold MCP servers its claude-code tasks inherit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from claude_tasks.core.config import Settings
from claude_tasks.core.records import Session, Task
from claude_tasks.store import Store, TaskWrite
from claude_tasks.store.models import SessionModel, TaskModel
from tests.support import tables
from tests.unit.api.conftest import Call

Configure = Callable[..., Settings]
TOKEN = "ghp_secret-token-123"  # noqa: S105 - a made-up token the responses must never show
GITHUB = {"type": "http", "url": "https://mcp.example.com/github", "headers": {"Authorization": f"Bearer {TOKEN}"}}
LINTER = {"command": "npx", "args": ["-y", "linter-mcp"], "env": {"LINTER_TOKEN": TOKEN}}


@pytest.fixture
def claude_code(configure: Configure) -> Settings:
    """A deployment that offers claude-code (the default stays offline)."""
    return configure(enabled_backends="claude-code,offline")


def _create(call: Call, session: Session, body: dict[str, Any], **changes: Any) -> Any:
    return call("create_task", path={"session_id": session.session_id}, body={"prompt": "Fix it", **body}, **changes)


def test_a_claude_code_task_keeps_its_options_and_shows_them_flat(
    call: Call, claude_code: Settings, session: Session
) -> None:
    # Given: every option, as a caller sends them
    options = {
        "allowed_tools": ["Read", "Edit", "Bash(git diff:*)", "mcp__github__get_issue"],
        "disallowed_tools": ["WebFetch", "Bash(rm:*)"],
        "permission_mode": "plan",
        "mcp_servers": {"linter": {"command": "npx", "args": ["-y", "linter-mcp"]}},
        "workspace": "worktree",
    }
    # When
    result = _create(call, session, {"backend": "claude-code", **options})
    # Then: queued, the options flat in the response as they were sent, and in the item's `agent`
    assert result.status == 202, result.body
    task = result.json()
    assert {name: task[name] for name in options} == {
        **options,
        "mcp_servers": {
            "linter": {"type": "stdio", "command": "npx", "args": ["-y", "linter-mcp"], "env": {}, "url": None,
                       "headers": {}},
        },
    }  # fmt: skip
    assert "agent" not in task and task["worktree"] is None
    assert TaskModel.get(task["task_id"]).agent["allowed_tools"] == options["allowed_tools"]
    # And: reading it back shows the same
    assert call("get_task", path={"task_id": task["task_id"]}).json() == task


def test_a_task_without_options_shows_the_defaults(call: Call, session: Session) -> None:
    # When: a task that names no option, on the chat backend
    task = _create(call, session, {}).json()
    # Then: nothing set, the project as workspace, nothing stored for them
    assert {name: task[name] for name in ("allowed_tools", "disallowed_tools", "permission_mode", "mcp_servers")} == (
        dict.fromkeys(("allowed_tools", "disallowed_tools", "permission_mode", "mcp_servers"))
    )
    assert task["workspace"] == "project" and task["worktree"] is None
    assert TaskModel.get(task["task_id"]).agent is None


def test_the_worktree_a_task_runs_in_is_shown(call: Call, store: Store, task: Task) -> None:
    # Given: a task whose first run made its worktree (as the worker records it)
    write = TaskWrite(task.task_id, task.session_id)
    write.actions.append(TaskModel.worktree.set({"path": "/work/project/.worktrees/t1", "branch": "claude/t1"}))
    store.tasks.commit(write)
    # When
    shown = call("get_task", path={"task_id": task.task_id}).json()
    # Then
    assert shown["worktree"] == {"path": "/work/project/.worktrees/t1", "branch": "claude/t1"}


@pytest.mark.parametrize(
    ("options", "field", "says"),
    [
        ({"allowed_tools": ["Bash git diff"]}, "allowed_tools.0", "permission rule such as `Bash(git diff:*)`"),
        ({"allowed_tools": ["Read", "Bash(echo (hi))"]}, "allowed_tools.1", "no parentheses"),
        ({"disallowed_tools": ["Read,Edit"]}, "disallowed_tools.0", "tool name such as `Read`"),
        ({"allowed_tools": ["Bash(" + "x" * 300 + ")"]}, "allowed_tools.0", "at most 256 characters"),
        ({"allowed_tools": ["Read"] * 65}, "allowed_tools", "at most 64 items"),
        ({"allowed_tools": "Read"}, "allowed_tools", "valid list"),
        ({"permission_mode": "yolo"}, "permission_mode", "'acceptEdits'"),
        ({"workspace": "tmp"}, "workspace", "'worktree'"),
        ({"mcp_servers": {"linter": {"args": ["x"]}}}, "mcp_servers.linter", "a stdio MCP server needs `command`"),
        ({"mcp_servers": {"gh": {"type": "http"}}}, "mcp_servers.gh", "an http MCP server needs `url`"),
        ({"mcp_servers": {"gh": {"type": "sse", "url": "file:///etc"}}}, "mcp_servers.gh.url", "^https?://"),
        ({"mcp_servers": {"my server": LINTER}}, "mcp_servers.my server.[key]", "letters, digits, `_` or `-`"),
        ({"mcp_servers": {f"s{i}": LINTER for i in range(17)}}, "mcp_servers", "at most 16 items"),
        ({"mcp_servers": {"big": {"command": "x", "args": ["y" * 1000] * 20}}}, "mcp_servers", "16384 characters"),
        ({"mcp_servers": {"gh": {**GITHUB, "timeout": 5}}}, "mcp_servers.gh.timeout", "Extra inputs"),
    ],
    ids=[
        "space-outside-a-rule",
        "parentheses-in-a-rule",
        "comma",
        "rule-too-long",
        "too-many-tools",
        "not-a-list",
        "unknown-permission-mode",
        "unknown-workspace",
        "stdio-without-command",
        "http-without-url",
        "url-not-http",
        "bad-server-name",
        "too-many-servers",
        "servers-too-big",
        "unknown-server-field",
    ],
)
def test_invalid_options_are_422_naming_the_field_and_the_rule(
    call: Call, claude_code: Settings, session: Session, options: dict[str, Any], field: str, says: str
) -> None:
    # When
    result = _create(call, session, {"backend": "claude-code", **options})
    # Then: refused, naming the field and saying what is wanted, and nothing stored
    assert result.status == 422, result.body
    problem = result.json()
    assert problem["type"] == "urn:claude-tasks:problem:validation-error"
    assert [(e["location"], e["field"]) for e in problem["errors"]] == [("body", field)]
    assert says in problem["errors"][0]["detail"]
    assert tables.counts()["tasks"] == 0


def test_a_refused_mcp_server_is_not_echoed_with_its_secrets(
    call: Call, claude_code: Settings, session: Session
) -> None:
    # When: an invalid server carrying a token
    result = _create(call, session, {"backend": "claude-code", "mcp_servers": {"gh": {**GITHUB, "command": "x"}}})
    # Then: refused without the token anywhere in the answer
    assert result.status == 422 and TOKEN not in result.body


def test_bypass_permissions_is_refused_saying_how_to_allow_it(
    call: Call, claude_code: Settings, session: Session
) -> None:
    # When: the deployment does not allow it (the default)
    result = _create(call, session, {"backend": "claude-code", "permission_mode": "bypassPermissions"})
    # Then
    assert result.status == 422
    problem = result.json()
    assert problem["type"] == "urn:claude-tasks:problem:not-offered"
    assert [e["field"] for e in problem["errors"]] == ["permission_mode"]
    assert "ALLOW_BYPASS_PERMISSIONS=true" in problem["detail"]
    assert tables.counts()["tasks"] == 0


def test_bypass_permissions_is_taken_where_the_deployment_allows_it(
    call: Call, configure: Configure, session: Session
) -> None:
    # Given
    configure(enabled_backends="claude-code,offline", allow_bypass_permissions=True)
    # When
    result = _create(call, session, {"backend": "claude-code", "permission_mode": "bypassPermissions"})
    # Then
    assert result.status == 202, result.body
    assert result.json()["permission_mode"] == "bypassPermissions"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"backend": "offline", "allowed_tools": ["Read"]}, "allowed_tools"),
        ({"permission_mode": "plan"}, "permission_mode"),  # the deployment's default backend: offline
        ({"workspace": "worktree", "mcp_servers": {}}, "mcp_servers"),
    ],
    ids=["named-backend", "default-backend", "several"],
)
def test_options_on_a_task_that_does_not_run_on_claude_code_are_422(
    call: Call, claude_code: Settings, session: Session, body: dict[str, Any], field: str
) -> None:
    # When
    result = _create(call, session, body)
    # Then: refused, saying the options are claude-code's and how to ask for it
    assert result.status == 422, result.body
    problem = result.json()
    assert problem["type"] == "urn:claude-tasks:problem:not-offered"
    assert [e["field"] for e in problem["errors"]] == [field]
    assert "only apply to the claude-code backend" in problem["detail"]
    assert "'offline'" in problem["detail"] and '"backend": "claude-code"' in problem["detail"]
    assert tables.counts()["tasks"] == 0


def test_options_where_claude_code_is_not_offered_say_so(call: Call, session: Session) -> None:
    # When: the deployment offers no claude-code at all
    result = _create(call, session, {"allowed_tools": ["Read"]})
    # Then
    assert result.status == 422
    assert "this deployment does not offer claude-code" in result.json()["detail"]


def test_options_are_taken_when_claude_code_is_the_deployments_default(
    call: Call, configure: Configure, session: Session
) -> None:
    # Given
    configure(enabled_backends="claude-code,offline", claude_backend="claude-code")
    # When: no backend named
    result = _create(call, session, {"allowed_tools": ["Read"], "workspace": "worktree"})
    # Then
    assert result.status == 202, result.body
    assert result.json()["workspace"] == "worktree" and result.json()["backend"] is None


def test_a_claude_code_task_where_the_deployment_has_no_api_key_is_422(
    call: Call, configure: Configure, session: Session
) -> None:
    # Given: claude-code offered, but no Anthropic API key configured (the local stack without one)
    configure(enabled_backends="claude-code,offline", anthropic_key_configured=False)
    # When
    result = _create(call, session, {"backend": "claude-code"})
    # Then: refused up front rather than failed by the worker, saying how to configure one
    assert result.status == 422
    assert "backend 'claude-code' needs an Anthropic API key" in result.json()["detail"]
    assert "ANTHROPIC_API_KEY" in result.json()["detail"]


def _open(call: Call, body: dict[str, Any]) -> Any:
    return call("create_session", body={"project_path": "/work/project", **body})


def test_a_session_shows_its_mcp_servers_with_secrets_masked(call: Call, claude_code: Settings) -> None:
    # When
    result = _open(call, {"mcp_servers": {"github": GITHUB, "linter": LINTER}})
    # Then: names of headers and variables shown, their values masked, here and in the list
    assert result.status == 201, result.body
    shown = result.json()["mcp_servers"]
    assert shown["github"]["headers"] == {"Authorization": "***"} and shown["github"]["url"] == GITHUB["url"]
    assert shown["linter"]["env"] == {"LINTER_TOKEN": "***"} and shown["linter"]["args"] == LINTER["args"]
    listed = call("list_sessions", query={}).json()["items"]
    assert TOKEN not in result.body and TOKEN not in str(listed) and listed[0]["mcp_servers"] == shown
    # And: the item keeps the real values, for the tasks that inherit them
    assert SessionModel.get(result.json()["session_id"]).mcp_servers["github"]["headers"] == GITHUB["headers"]


def test_a_claude_code_task_naming_no_mcp_servers_inherits_the_sessions(call: Call, claude_code: Settings) -> None:
    # Given: a session with MCP servers
    session_id = _open(call, {"mcp_servers": {"github": GITHUB}}).json()["session_id"]
    # When: a claude-code task names none
    result = call("create_task", path={"session_id": session_id}, body={"prompt": "hi", "backend": "claude-code"})
    # Then: it has the session's, masked in the answer, whole in the item
    assert result.status == 202, result.body
    assert result.json()["mcp_servers"]["github"]["headers"] == {"Authorization": "***"}
    assert TOKEN not in result.body
    assert TaskModel.get(result.json()["task_id"]).agent["mcp_servers"]["github"]["headers"] == GITHUB["headers"]


@pytest.mark.parametrize(
    ("body", "servers"),
    [
        ({"backend": "claude-code", "mcp_servers": {"linter": LINTER}}, ["linter"]),
        ({"backend": "claude-code", "mcp_servers": {}}, []),
        ({"backend": "offline"}, None),
    ],
    ids=["its-own", "explicitly-none", "not-claude-code"],
)
def test_a_task_with_its_own_servers_or_on_another_backend_does_not_inherit(
    call: Call, claude_code: Settings, body: dict[str, Any], servers: list[str] | None
) -> None:
    # Given: a session with MCP servers
    session_id = _open(call, {"mcp_servers": {"github": GITHUB}}).json()["session_id"]
    # When
    result = call("create_task", path={"session_id": session_id}, body={"prompt": "hi", **body})
    # Then
    assert result.status == 202, result.body
    shown = result.json()["mcp_servers"]
    assert (None if shown is None else sorted(shown)) == servers


def test_session_mcp_servers_where_claude_code_is_not_offered_are_422(call: Call) -> None:
    # When: the deployment offers no claude-code
    result = _open(call, {"mcp_servers": {"github": GITHUB}})
    # Then: refused, nothing stored
    assert result.status == 422
    assert result.json()["type"] == "urn:claude-tasks:problem:not-offered"
    assert "does not offer claude-code" in result.json()["detail"]
    assert tables.counts()["sessions"] == 0


def test_an_invalid_session_mcp_server_is_422(call: Call, claude_code: Settings) -> None:
    # When
    result = _open(call, {"mcp_servers": {"linter": {"env": {"LINTER_TOKEN": TOKEN}}}})
    # Then
    assert result.status == 422
    assert result.json()["errors"][0]["field"] == "mcp_servers.linter"
    assert "needs `command`" in result.json()["detail"] and TOKEN not in result.body


def test_a_fork_keeps_the_sources_options(call: Call, configure: Configure, session: Session) -> None:
    # Given: a claude-code task with options
    configure(enabled_backends="claude-code,offline")
    source = _create(call, session, {"backend": "claude-code", "allowed_tools": ["Read"], "workspace": "worktree"})
    # When
    fork = call("fork_task", path={"task_id": source.json()["task_id"]}, body={"prompt": "again"})
    # Then
    assert fork.status == 202, fork.body
    assert fork.json()["allowed_tools"] == ["Read"] and fork.json()["workspace"] == "worktree"


def test_a_task_record_without_options_is_unchanged_by_the_view(task: Task, call: Call) -> None:
    # When: a task made before these options existed is read
    shown = call("get_task", path={"task_id": task.task_id}).json()
    # Then
    assert shown["workspace"] == "project" and shown["mcp_servers"] is None


def test_a_replay_that_spells_out_the_defaults_is_the_same_request(
    call: Call, claude_code: Settings, session: Session
) -> None:
    # Given: a task created with an Idempotency-Key, naming none of the options
    key = {"Idempotency-Key": "defaults-1"}
    first = _create(call, session, {"backend": "claude-code"}, headers=key)
    # When: the same request is sent again, its options spelt out as null
    spelt = dict.fromkeys(("allowed_tools", "disallowed_tools", "permission_mode", "mcp_servers", "workspace"))
    again = _create(call, session, {"backend": "claude-code", **spelt}, headers=key)
    # Then: the same task, not a 422 for a different request
    assert again.status == 202, again.body
    assert again.json()["task_id"] == first.json()["task_id"]
