"""What a caller cannot slip past the API: forged cursors, coerced numbers, backends and models the
deployment does not run."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from typing import Any

import pytest

from claude_tasks.core.config import Settings
from claude_tasks.core.records import Session
from tests.conftest import SessionFactory
from tests.support import tables
from tests.unit.api.conftest import Call


def _unpack(cursor: str) -> dict[str, Any]:
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    return decoded


def _pack(payload: dict[str, Any]) -> str:
    text = json.dumps(payload, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def test_a_cursor_edited_with_a_recomputed_plain_digest_is_400(call: Call, session_factory: SessionFactory) -> None:
    # Given: a real cursor of alice's sessions
    sessions = [session_factory() for _ in range(3)]
    cursor = call("list_sessions", query={"limit": "1"}).json()["next_cursor"]
    assert call("list_sessions", query={"limit": "1", "cursor": cursor}).status == 200
    # When: its key is edited and the integrity field recomputed as a plain SHA-256 of the scope
    payload = _unpack(cursor)
    payload["k"]["session_id"] = {"S": sessions[0].session_id}
    payload["s"] = hashlib.sha256(b"sessions\x00alice").hexdigest()[:24]
    result = call("list_sessions", query={"limit": "1", "cursor": _pack(payload)})
    # Then: refused as not made by the service
    assert result.status == 400, result.body
    assert result.json()["type"] == "urn:claude-tasks:problem:invalid-cursor"


def test_a_cursor_signed_with_another_key_is_400(
    call: Call, configure: Callable[..., Settings], session_factory: SessionFactory
) -> None:
    # Given: a cursor made under one deployment's key
    for _ in range(2):
        session_factory()
    cursor = call("list_sessions", query={"limit": "1"}).json()["next_cursor"]
    # When: another deployment (another key) is handed it
    configure(cursor_secret="another-deployments-key")
    result = call("list_sessions", query={"limit": "1", "cursor": cursor})
    # Then
    assert result.status == 400


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"prompt": "hi", "max_tokens": True}, "max_tokens"),
        ({"prompt": "hi", "max_tokens": "5"}, "max_tokens"),
        ({"prompt": "hi", "max_tokens": 5.0}, "max_tokens"),
        ({"prompt": "hi", "limits": {"max_turns": "3"}}, "limits.max_turns"),
        ({"prompt": "hi", "limits": {"max_budget_usd": True}}, "limits.max_budget_usd"),
        ({"prompt": 5}, "prompt"),
        ({"prompt": "hi", "title": 1}, "title"),
    ],
)
def test_a_value_of_the_wrong_json_type_is_422_not_coerced(
    call: Call, session: Session, body: dict[str, Any], field: str
) -> None:
    # When: a number sent as a boolean or a string (or the reverse)
    result = call("create_task", path={"session_id": session.session_id}, body=body)
    # Then: refused, naming the field, and no task stored
    assert result.status == 422, result.body
    assert [e["field"] for e in result.json()["errors"]] == [field]
    assert tables.counts()["tasks"] == 0


def test_numbers_of_the_right_type_are_taken(call: Call, session: Session) -> None:
    # When: integers where integers go, and an integer for a float
    body = {"prompt": "hi", "max_tokens": 5, "limits": {"max_turns": 3, "max_budget_usd": 1}}
    result = call("create_task", path={"session_id": session.session_id}, body=body)
    # Then
    assert result.status == 202, result.body
    assert result.json()["max_tokens"] == 5


@pytest.mark.parametrize(
    ("overrides", "body", "field", "says"),
    [
        ({"enabled_backends": "offline"}, {"backend": "bedrock"}, "backend", "choose one of: offline"),
        ({"enabled_backends": "offline", "claude_backend": "bedrock"}, {}, "backend", "choose one of: offline"),
        ({"anthropic_key_configured": False}, {"backend": "anthropic"}, "backend", "ANTHROPIC_API_KEY"),
        ({}, {"model": "gpt-4o"}, "model", "claude-sonnet-4-6"),
        ({"allowed_models": "claude-haiku-4-5"}, {"model": "claude-sonnet-4-6"}, "model", "claude-haiku-4-5"),
    ],
)
def test_a_task_the_deployment_cannot_run_is_422_saying_what_it_offers(
    call: Call,
    configure: Callable[..., Settings],
    session: Session,
    overrides: dict[str, Any],
    body: dict[str, Any],
    field: str,
    says: str,
) -> None:
    # Given: a deployment that offers only some backends or models
    configure(**overrides)
    # When
    result = call("create_task", path={"session_id": session.session_id}, body={"prompt": "hi", **body})
    # Then: refused up front, naming the field and what would run, and nothing stored or queued
    assert result.status == 422, result.body
    problem = result.json()
    assert problem["type"] == "urn:claude-tasks:problem:not-offered"
    assert [e["field"] for e in problem["errors"]] == [field]
    assert says in problem["detail"]
    assert tables.counts()["tasks"] == 0


def test_an_offered_backend_and_model_are_taken(
    call: Call, configure: Callable[..., Settings], session: Session
) -> None:
    # Given: a deployment with a key and the default model list
    configure(enabled_backends="anthropic,offline", anthropic_key_configured=True)
    # When
    body = {"prompt": "hi", "backend": "anthropic", "model": "claude-haiku-4-5"}
    result = call("create_task", path={"session_id": session.session_id}, body=body)
    # Then
    assert result.status == 202, result.body
