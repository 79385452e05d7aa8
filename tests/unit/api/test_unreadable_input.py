"""Bodies Python's JSON or DynamoDB cannot take are refused with a 4xx, never stored and never a 500."""

from __future__ import annotations

import pytest

from claude_tasks.core.records import Session
from tests.support import tables
from tests.unit.api.conftest import Call

NO_KEY = {"idempotency-key": None}


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize(
    "body",
    [
        '{"project_path": "/p", "metadata": {"a": ' + _nested(3000) + "}}",
        '{"project_path": "/p", "metadata": {"a": 1' + "0" * 5000 + "}}",
        '{"project_path": "/p", "metadata": {"a": 1e400}}',
        '{"project_path": "/p", "metadata": {"a": NaN}}',
    ],
    ids=["nested-3000-deep", "5000-digit-integer", "infinite-number", "nan"],
)
def test_a_body_json_cannot_take_safely_is_400(call: Call, body: str) -> None:
    # When
    result = call("create_session", body=body, headers=NO_KEY)
    # Then
    assert result.status == 400
    assert result.json()["type"] == "urn:claude-tasks:problem:malformed-json"
    assert tables.counts()["sessions"] == 0


@pytest.mark.parametrize(
    "body",
    ['{"project_path": "/p\\udc80"}', '{"project_path": "/p", "metadata": {"k\\ud800": 1}}'],
    ids=["in-a-value", "in-a-key"],
)
def test_a_lone_surrogate_anywhere_in_the_body_is_400(call: Call, body: str) -> None:
    # When
    result = call("create_session", body=body, headers=NO_KEY)
    # Then: refused, saying why
    assert result.status == 400
    assert "surrogate" in result.json()["detail"]
    assert tables.counts()["sessions"] == 0


def test_metadata_nested_too_deep_is_422_and_nothing_is_stored(call: Call, session: Session) -> None:
    # When: metadata nested 300 levels (each response would have to serialise it again)
    body = '{"prompt": "x", "metadata": {"a": ' + _nested(300) + "}}"
    result = call("create_task", path={"session_id": session.session_id}, body=body, headers=NO_KEY)
    # Then: refused on the field, and the session's tasks can still be listed
    assert result.status == 422
    assert result.json()["errors"][0]["field"] == "metadata"
    listed = call("list_tasks", path={"session_id": session.session_id})
    assert listed.status == 200 and listed.json()["items"] == []


def test_metadata_nested_32_levels_is_accepted(call: Call) -> None:
    # When
    body = '{"project_path": "/p", "metadata": {"a": ' + _nested(31) + "}}"
    result = call("create_session", body=body, headers=NO_KEY)
    # Then
    assert result.status == 201
    assert call("list_sessions").status == 200
