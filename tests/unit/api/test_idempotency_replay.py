"""An Idempotency-Key replayed with the same request returns the first resource; with another request, 422."""

from __future__ import annotations

from typing import Any

import pytest

from claude_tasks.core.records import Session, Task
from tests.conftest import SessionFactory
from tests.support import tables
from tests.unit.api.conftest import Call

KEY = {"Idempotency-Key": "replay-1"}
REUSED = "urn:claude-tasks:problem:idempotency-key-reused"


def test_a_session_key_replayed_with_another_body_is_422(call: Call) -> None:
    # Given: a session opened with a key
    first = call("create_session", body={"project_path": "/work/a"}, headers=KEY)
    assert first.status == 201
    # When: the same key with the same body, then with another body
    same = call("create_session", body={"project_path": "/work/a"}, headers=KEY)
    other = call("create_session", body={"project_path": "/work/b"}, headers=KEY)
    # Then: the first session again, then a refusal saying what to do; one session stored
    assert same.status == 201 and same.json()["session_id"] == first.json()["session_id"]
    assert other.status == 422, other.body
    assert other.json()["type"] == REUSED and "new key" in other.json()["detail"]
    assert tables.counts()["sessions"] == 1


@pytest.mark.parametrize("change", [{"prompt": "something else"}, {"prompt": "Say hello", "max_tokens": 7}])
def test_a_task_key_replayed_with_another_body_is_422(call: Call, session: Session, change: dict[str, Any]) -> None:
    # Given: a task created with a key
    path = {"session_id": session.session_id}
    first = call("create_task", path=path, body={"prompt": "Say hello"}, headers=KEY)
    assert first.status == 202
    # When: the same key with the same body, then with another body
    same = call("create_task", path=path, body={"prompt": "Say hello"}, headers=KEY)
    other = call("create_task", path=path, body=change, headers=KEY)
    # Then
    assert same.status == 202 and same.json()["task_id"] == first.json()["task_id"]
    assert other.status == 422 and other.json()["type"] == REUSED
    assert tables.counts()["tasks"] == 1


def test_a_task_key_replayed_in_another_session_is_422(
    call: Call, session: Session, session_factory: SessionFactory
) -> None:
    # Given: a task created with a key in one session
    assert call("create_task", path={"session_id": session.session_id}, headers=KEY).status == 202
    # When: the same key and body, in another session of the caller
    other = call("create_task", path={"session_id": session_factory().session_id}, headers=KEY)
    # Then: not the same request
    assert other.status == 422 and other.json()["type"] == REUSED


def test_a_fork_key_replayed_with_another_body_or_source_is_422(call: Call, task: Task, task_factory: Any) -> None:
    # Given: a fork made with a key
    path = {"task_id": task.task_id}
    first = call("fork_task", path=path, body={"prompt": "go on"}, headers=KEY)
    assert first.status == 202, first.body
    # When: replayed as is, with another prompt, and from another source task
    same = call("fork_task", path=path, body={"prompt": "go on"}, headers=KEY)
    other_body = call("fork_task", path=path, body={"prompt": "go elsewhere"}, headers=KEY)
    other_source = call("fork_task", path={"task_id": task_factory().task_id}, body={"prompt": "go on"}, headers=KEY)
    # Then
    assert same.status == 202 and same.json()["task_id"] == first.json()["task_id"]
    assert other_body.status == 422 and other_body.json()["type"] == REUSED
    assert other_source.status == 422 and other_source.json()["type"] == REUSED
