"""POST/GET /sessions, GET/DELETE /sessions/{session_id}."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from claude_tasks.core.records import Session, Task
from claude_tasks.store import Store
from claude_tasks.store.models import SessionModel
from tests.conftest import SessionFactory
from tests.support import tables
from tests.support.turns import record_turn
from tests.unit.api.conftest import Call

PROBLEM_JSON = "application/problem+json"


def test_create_session_returns_201_with_location_and_the_session(call: Call, store: Store) -> None:
    # Given / When: alice opens a session
    result = call("create_session", body={"project_path": "/work/demo", "name": "demo"})
    # Then: 201, Location names it, and it is stored as hers
    body = result.json()
    assert result.status == 201
    assert result.header("Location") == f"/sessions/{body['session_id']}"
    assert store.sessions.get("alice", body["session_id"]).project_path == "/work/demo"
    assert body["owner"] == "alice" and body["task_count"] == 0 and body["created_at"].endswith("Z")


def test_create_session_stores_the_project_path_normalised(call: Call) -> None:
    # When: the path has repeated slashes, `.` segments and a trailing slash
    result = call("create_session", body={"project_path": "//work/./demo//src/"})
    # Then: it is stored in normal form
    assert result.json()["project_path"] == "/work/demo/src"


def test_an_iam_caller_owns_by_its_arn(call: Call) -> None:
    # Given: API Gateway authorised the call with IAM, not a JWT
    arn = "arn:aws:iam::123456789012:user/pipeline"
    # When
    result = call("create_session", iam_arn=arn, body={"project_path": "/work/demo"})
    # Then
    assert result.json()["owner"] == arn


def test_create_session_without_a_principal_is_401_and_stores_nothing(call: Call) -> None:
    # When: the event carries no authorizer context
    result = call("create_session", owner=None)
    # Then
    assert result.status == 401
    # ... in the shape API Gateway's JWT authorizer gives (and the OpenAPI document describes)
    assert result.header("Content-Type") == "application/json"
    assert result.json() == {"message": "Unauthorized"}
    assert tables.counts()["sessions"] == 0


def test_no_principal_is_401_even_when_the_body_is_invalid(call: Call) -> None:
    # When: an anonymous caller sends an invalid body
    result = call("create_session", owner=None, body={"project_path": 42})
    # Then: it learns nothing about the input
    assert result.status == 401


@pytest.mark.parametrize(
    ("project_path", "says"),
    [
        ("work/demo", "absolute"),
        ("/work/../etc", "'..'"),
        ("/work/\x00demo", "control"),
        ("/work/\x1bdemo", "control"),
        ("/" + "a" * 1024, "longer than 1024"),
    ],
)
def test_an_unsafe_project_path_is_422_naming_the_field(call: Call, project_path: str, says: str) -> None:
    # When
    result = call("create_session", body={"project_path": project_path})
    # Then: 422, the error names body.project_path and says which rule
    problem = result.json()
    assert result.status == 422
    assert problem["errors"][0]["location"] == "body" and problem["errors"][0]["field"] == "project_path"
    assert says in problem["errors"][0]["detail"]
    assert tables.counts()["sessions"] == 0


def test_a_project_path_outside_the_configured_root_is_422(call: Call, configure: Callable[..., object]) -> None:
    # Given: sessions are confined to /srv/projects
    configure(project_root="/srv/projects")
    # When
    outside = call("create_session", body={"project_path": "/srv/other"})
    inside = call("create_session", body={"project_path": "/srv/projects/demo"})
    # Then
    assert outside.status == 422 and "inside /srv/projects" in outside.json()["detail"]
    assert inside.status == 201


@pytest.mark.parametrize(
    "body",
    [{}, {"project_path": "/w", "owner": "mallory"}, {"project_path": "/w", "name": "n" * 201}, {"project_path": 7}],
    ids=["missing-path", "unknown-field", "long-name", "wrong-type"],
)
def test_an_invalid_body_is_422(call: Call, body: dict[str, object]) -> None:
    # When
    result = call("create_session", body=body)
    # Then
    assert result.status == 422
    assert result.json()["errors"]


def test_malformed_json_is_400(call: Call) -> None:
    # When: the body is not JSON
    result = call("create_session", body='{"project_path": ')
    # Then
    assert result.status == 400
    assert result.json()["type"] == "urn:claude-tasks:problem:malformed-json"


def test_the_same_idempotency_key_returns_the_same_session(call: Call) -> None:
    # Given: alice opened a session with a key
    first = call("create_session", headers={"Idempotency-Key": "k-1"})
    # When: she sends the same request again
    again = call("create_session", headers={"Idempotency-Key": "k-1"})
    # Then: the same session, and nothing new was stored
    assert again.status == 201
    assert again.json()["session_id"] == first.json()["session_id"]
    assert tables.counts()["sessions"] == 1


def test_the_same_idempotency_key_from_another_owner_is_another_session(call: Call) -> None:
    # When: alice and bob use the same key
    alice = call("create_session", owner="alice", headers={"Idempotency-Key": "k-1"})
    bob = call("create_session", owner="bob", headers={"Idempotency-Key": "k-1"})
    # Then
    assert alice.json()["session_id"] != bob.json()["session_id"]
    assert bob.json()["owner"] == "bob"


def test_get_session_returns_it(call: Call, session: Session) -> None:
    # When
    result = call("get_session", path={"session_id": session.session_id})
    # Then
    assert result.status == 200
    assert result.json()["session_id"] == session.session_id


def test_another_owners_session_is_404_exactly_like_a_missing_one(call: Call, session: Session) -> None:
    # When: bob asks for alice's session, and for one that never existed
    foreign = call("get_session", owner="bob", path={"session_id": session.session_id})
    missing = call("get_session", owner="bob", path={"session_id": "00000000-0000-4000-8000-000000000000"})
    # Then: the same answer, apart from the id
    assert foreign.status == missing.status == 404
    assert foreign.json()["type"] == missing.json()["type"] == "urn:claude-tasks:problem:session-not-found"


def test_a_session_id_that_is_not_a_uuid_is_422(call: Call) -> None:
    # When
    result = call("get_session", path={"session_id": "not-a-uuid"})
    # Then
    assert result.status == 422
    assert result.json()["errors"][0] | {"detail": ""} == {
        "location": "path",
        "field": "session_id",
        "type": "uuid_parsing",
        "detail": "",
    }


def test_list_sessions_is_newest_first_and_only_the_callers(call: Call, session_factory: SessionFactory) -> None:
    # Given: two sessions of alice's and one of bob's
    older, newer = session_factory(owner="alice"), session_factory(owner="alice")
    session_factory(owner="bob")
    # When
    result = call("list_sessions", query={})
    # Then
    assert [item["session_id"] for item in result.json()["items"]] == [newer.session_id, older.session_id]
    assert result.json().get("next_cursor") is None


def test_list_sessions_pages_with_the_cursor(call: Call, session_factory: SessionFactory) -> None:
    # Given: five sessions
    made = {session_factory(owner="alice").session_id for _ in range(5)}
    # When: alice reads them two at a time
    seen: list[str] = []
    cursor: str | None = None
    for _ in range(5):
        query = {"limit": "2"} | ({"cursor": cursor} if cursor else {})
        page = call("list_sessions", query=query).json()
        seen += [item["session_id"] for item in page["items"]]
        cursor = page.get("next_cursor")
        if cursor is None:
            break
    # Then: every session once
    assert sorted(seen) == sorted(made)


def _first_cursor(call: Call, owner: str) -> str:
    cursor = call("list_sessions", owner=owner, query={"limit": "1"}).json()["next_cursor"]
    assert cursor
    return str(cursor)


def test_a_tampered_cursor_is_400(call: Call, session_factory: SessionFactory) -> None:
    # Given: a real cursor with one character changed
    for _ in range(2):
        session_factory(owner="alice")
    cursor = _first_cursor(call, "alice")
    tampered = cursor[:-3] + ("A" if cursor[-3] != "A" else "B") + cursor[-2:]
    # When
    result = call("list_sessions", query={"cursor": tampered})
    # Then
    assert result.status == 400
    assert result.json()["type"] == "urn:claude-tasks:problem:invalid-cursor"


def test_another_owners_cursor_is_400(call: Call, session_factory: SessionFactory) -> None:
    # Given: bob's cursor
    for _ in range(2):
        session_factory(owner="bob")
    cursor = _first_cursor(call, "bob")
    # When: alice presents it
    result = call("list_sessions", owner="alice", query={"cursor": cursor})
    # Then
    assert result.status == 400


@pytest.mark.parametrize("limit", ["0", "101", "ten"])
def test_a_limit_outside_1_to_100_is_422(call: Call, limit: str) -> None:
    # When
    result = call("list_sessions", query={"limit": limit})
    # Then
    assert result.status == 422
    assert result.json()["errors"][0]["field"] == "limit"


def test_delete_an_empty_session_is_204(call: Call, session: Session) -> None:
    # When
    result = call("delete_session", path={"session_id": session.session_id}, query={})
    # Then
    assert result.status == 204 and result.body == ""
    assert tables.counts()["sessions"] == 0


def test_delete_a_session_with_tasks_is_409(call: Call, session: Session, task: Task) -> None:
    # When: no cascade
    result = call("delete_session", path={"session_id": session.session_id}, query={})
    # Then: 409 saying why, and nothing deleted
    assert result.status == 409
    assert "still has 1 task" in result.json()["detail"]
    assert tables.counts()["sessions"] == 1 and tables.counts()["tasks"] == 1


def test_delete_with_cascade_removes_tasks_and_interactions_first(call: Call, store: Store, task: Task) -> None:
    # Given: the task has a recorded turn
    record_turn(store, task)
    # When
    result = call("delete_session", path={"session_id": task.session_id}, query={"cascade": "true"})
    # Then
    assert result.status == 204
    assert tables.counts() == {"sessions": 0, "tasks": 0, "interactions": 0, "claims": 0}


def test_delete_another_owners_session_is_404_and_keeps_it(call: Call, session: Session) -> None:
    # When
    result = call("delete_session", owner="bob", path={"session_id": session.session_id}, query={"cascade": "true"})
    # Then
    assert result.status == 404
    assert SessionModel.get(session.session_id).status == "active"
