"""Every route, from its own sample event in events/api/: it succeeds, needs a principal, and hides other tenants."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from claude_tasks.app.janitor import Janitor
from claude_tasks.app.queue import TaskQueue
from claude_tasks.core.records import Task, TaskStatus
from claude_tasks.store import Store
from tests.support.http_api import EVENTS
from tests.unit.api.conftest import Call

SAMPLES = {path.stem: json.loads(path.read_text()) for path in sorted(EVENTS.glob("*.json"))}
AUTHENTICATED = sorted(name for name in SAMPLES if name != "get_openapi")
# Routes naming a session or a task (an admin's routes name an owner instead: not a tenant's ids).
WITH_IDS = sorted(name for name in SAMPLES if {"session_id", "task_id"} & set(SAMPLES[name].get("pathParameters", {})))
ANOTHER_OWNER = "bob"


def _ids(name: str, task: Task) -> dict[str, str]:
    wanted = SAMPLES[name].get("pathParameters", {})
    named = {"session_id": task.session_id, "task_id": task.task_id, "owner": ANOTHER_OWNER}
    return {key: named[key] for key in wanted}


def _body(name: str, task: Task) -> dict[str, object]:
    """The body for a sample that names a session in it rather than in its path."""
    return {"body": {"session_id": task.session_id}} if name == "recount_counters" else {}


def _expected(name: str) -> int:
    method = SAMPLES[name]["routeKey"].split(" ", 1)[0]
    if method == "DELETE":
        return 204
    if name == "create_session":
        return 201
    if name in {"create_task", "send_message", "retry_task", "fork_task"}:
        return 202
    return 200


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_the_sample_event_succeeds(
    call: Call,
    configure: Callable[..., object],
    store: Store,
    task: Task,
    put_in_state: Callable[..., Task],
    name: str,
) -> None:
    # Given: alice's task (failed, for retry to run on), and alice an admin (for the report the janitor made)
    configure(admin_principals="alice")
    if name == "retry_task":
        put_in_state(task, TaskStatus.FAILED)
    if name == "get_consistency":
        Janitor(store, TaskQueue(store.settings)).run(start_full_check=True, budget_s=60)
    # When: the sample is sent as is, apart from the ids and the caller
    result = call(name, owner="alice", path=_ids(name, task) or None, **_body(name, task))
    # Then
    assert result.status == _expected(name), result.body


@pytest.mark.parametrize("name", AUTHENTICATED)
def test_the_route_needs_a_principal(call: Call, task: Task, name: str) -> None:
    # When: the sample without an authorizer context
    result = call(name, owner=None, path=_ids(name, task) or None)
    # Then
    assert result.status == 401
    assert result.json() == {"message": "Unauthorized"}


@pytest.mark.parametrize("name", WITH_IDS)
def test_another_owners_ids_are_404(call: Call, task: Task, name: str) -> None:
    # When: bob names alice's session or task
    result = call(name, owner="bob", path=_ids(name, task))
    # Then: as if they did not exist
    assert result.status == 404
    assert result.json()["type"] in {
        "urn:claude-tasks:problem:session-not-found",
        "urn:claude-tasks:problem:task-not-found",
    }
