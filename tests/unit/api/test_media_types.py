"""Which bodies are JSON (by their media type), and the 401 the document promises."""

from __future__ import annotations

import json
from types import ModuleType

import pytest

from claude_tasks.core.records import Task
from tests.support import tables
from tests.unit.api.conftest import Call

BODY_ROUTES = ("create_session", "create_task", "update_task", "send_message", "fork_task")
NOT_JSON = ["application/jsonx", "application/json-seq", "text/json", "application/+json"]


def _path(name: str, task: Task) -> dict[str, str] | None:
    if name == "create_task":
        return {"session_id": task.session_id}
    return None if name == "create_session" else {"task_id": task.task_id}


@pytest.mark.parametrize("name", BODY_ROUTES)
@pytest.mark.parametrize("content_type", NOT_JSON)
def test_a_media_type_that_only_starts_like_json_is_415(call: Call, task: Task, name: str, content_type: str) -> None:
    # Given: the route's sample body, labelled with a media type that is not JSON
    before = tables.counts()
    # When
    result = call(name, path=_path(name, task), headers={"content-type": content_type})
    # Then: refused, saying what to send, and nothing written
    assert result.status == 415, result.body
    assert result.json()["type"] == "urn:claude-tasks:problem:unsupported-media-type"
    assert "application/json" in result.json()["detail"]
    assert tables.counts() == before


@pytest.mark.parametrize("name", BODY_ROUTES)
@pytest.mark.parametrize(
    "content_type", ["Application/JSON", "application/json; charset=utf-8", "application/merge-patch+json"]
)
def test_json_in_any_spelling_is_read(call: Call, task: Task, name: str, content_type: str) -> None:
    # When: the sample body, labelled as JSON with another case, a parameter, or a +json suffix
    result = call(name, path=_path(name, task), headers={"content-type": content_type})
    # Then: read as JSON, like application/json
    assert result.status in (200, 201, 202), result.body


def test_the_document_describes_the_gateways_401(api: ModuleType) -> None:
    # Given: the committed document
    doc = json.loads(api.openapi.COMMITTED.read_text())
    # Then: every authenticated operation documents API Gateway's {"message": "Unauthorized"}, not a problem
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            if operation.get("security") == []:
                assert "401" not in operation["responses"], (method, path)
                continue
            content = operation["responses"]["401"]["content"]
            assert list(content) == ["application/json"], (method, path)
            assert content["application/json"]["schema"]["required"] == ["message"]


def test_the_functions_own_401_has_the_documented_shape(call: Call) -> None:
    # When: a request reaches the function without a principal (a route the authorizer does not guard)
    result = call("get_task", owner=None, path={"task_id": "7a1f0d3e-0000-4000-8000-000000000001"})
    # Then: the same answer as the gateway's
    assert result.status == 401
    assert result.header("Content-Type") == "application/json"
    assert result.header("WWW-Authenticate") == "Bearer"
    assert result.json() == {"message": "Unauthorized"}
