"""GET /capabilities: what the console's forms offer is exactly what the API accepts."""

from __future__ import annotations

from collections.abc import Callable

from claude_tasks.core.config import Settings
from tests.unit.api.conftest import Call


def test_capabilities_name_the_caller_and_whether_they_are_an_admin(
    call: Call, configure: Callable[..., Settings]
) -> None:
    # Given: root is the only admin
    configure(admin_principals="root")
    # When each asks
    alice, root = call("get_capabilities", owner="alice").json(), call("get_capabilities", owner="root").json()
    # Then each is told who they are, and only root that they are an admin
    assert (alice["principal"], alice["admin"]) == ("alice", False)
    assert (root["principal"], root["admin"]) == ("root", True)


def test_capabilities_offer_only_backends_that_can_run_and_the_allowed_models(
    call: Call, configure: Callable[..., Settings]
) -> None:
    # Given: anthropic and offline enabled but no Anthropic key, two models allowed
    configure(
        enabled_backends="anthropic,offline",
        anthropic_key_configured=False,
        allowed_models="claude-a,claude-b",
        claude_backend="offline",
    )
    # When
    offer = call("get_capabilities", owner="alice").json()
    # Then anthropic (which would be refused) is not offered; offline names no models; no Claude Code options
    assert offer["backends"] == [{"name": "offline", "models": [], "default_model": None}]
    assert offer["default_backend"] == "offline"
    assert offer["permission_modes"] == [] and offer["workspaces"] == []
    # Given a key and claude-code
    configure(enabled_backends="anthropic,claude-code,offline", allowed_models="claude-a,claude-b")
    offer = call("get_capabilities", owner="alice").json()
    # Then both keyed backends offer the allowed models, and bypassPermissions is not among the modes
    assert [(b["name"], b["models"]) for b in offer["backends"]] == [
        ("anthropic", ["claude-a", "claude-b"]),
        ("claude-code", ["claude-a", "claude-b"]),
        ("offline", []),
    ]
    assert "bypassPermissions" not in offer["permission_modes"] and "acceptEdits" in offer["permission_modes"]
    assert offer["workspaces"] == ["project", "worktree"]


def test_the_limits_are_the_ones_the_api_enforces(call: Call, configure: Callable[..., Settings]) -> None:
    # Given a configured prompt limit
    configure(max_prompt_chars=10)
    limits = call("get_capabilities", owner="alice").json()["limits"]
    # When a prompt one longer than the offered maximum is sent, it is refused
    session = call("create_session", owner="alice").json()
    too_long = call("create_task", owner="alice", path={"session_id": session["session_id"]}, body={"prompt": "x" * 11})
    # Then
    assert limits["max_prompt_chars"] == 10
    assert too_long.status == 413
