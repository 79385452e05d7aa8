"""A user's whole journey through the local stack over HTTP, and what API Gateway answers by itself."""

from __future__ import annotations

from typing import Any

import pytest

from claude_tasks.core.clock import now_iso
from claude_tasks_dev.cli.client import ApiClient, ApiError
from tests.e2e.local_stack import RunningStack, finished, report_since, wait_until

WAIT_S = 15
REPORT_WAIT_S = 60  # a full check every 2 s, half a second of it per janitor run (FAST)


def test_session_task_follow_up_cancel_delete_then_audit_is_clean(
    stack: RunningStack, api: ApiClient, session: dict[str, Any]
) -> None:
    sid = session["session_id"]
    # Given a task queued in the session
    task = api.call("POST", f"/sessions/{sid}/tasks", {"prompt": "Say hello"})
    assert task["status"] == "queued"
    # When the worker has run it
    done = wait_until(finished(api, task["task_id"]), WAIT_S, "the first run")
    # Then it succeeded with the offline model, and its two turns belong to its session
    assert done["status"] == "succeeded", done
    assert done["claude_session_id"]
    turns = api.call("GET", f"/tasks/{task['task_id']}/interactions")["items"]
    assert [(t["seq"], t["role"]) for t in turns] == [(1, "user"), (2, "assistant")]
    assert {t["session_id"] for t in turns} == {sid}
    assert "offline model" in turns[1]["content"]

    # When a follow-up is sent and run
    api.call("POST", f"/tasks/{task['task_id']}/messages", {"prompt": "And goodbye"})
    again = wait_until(finished(api, task["task_id"]), WAIT_S, "the follow-up")
    # Then the same conversation continues: same Claude session id, four turns
    assert again["status"] == "succeeded"
    assert again["claude_session_id"] == done["claude_session_id"]
    assert api.call("GET", f"/tasks/{task['task_id']}/interactions", query={"after_seq": 2})["items"][0]["seq"] == 3

    # When a second task is cancelled while it is still queued or running
    cancelled = _cancel_before_it_finishes(api, sid)
    # Then it stays cancelled: the worker never overwrites it with a result
    assert wait_until(finished(api, cancelled["task_id"]), WAIT_S, "the cancelled task")["status"] == "cancelled"

    # When both tasks and then the session are deleted
    for task_id in (task["task_id"], cancelled["task_id"]):
        assert api.send("DELETE", f"/tasks/{task_id}").status == 204
    assert api.send("DELETE", f"/sessions/{sid}").status == 204
    # Then they are gone, and the consistency report finds nothing wrong
    with pytest.raises(ApiError) as gone:
        api.call("GET", f"/sessions/{sid}")
    assert gone.value.status == 404
    report = wait_until(report_since(stack.api("admin"), now_iso()), REPORT_WAIT_S, "the janitor's next report")
    assert report["violations"] == [], report
    assert report["shared_claude_session_ids"] == 0


def _cancel_before_it_finishes(api: ApiClient, sid: str) -> dict[str, Any]:
    """Create tasks until a cancel lands first: the offline model is quick, but a poll away (0.1 s)."""
    for _ in range(5):
        task = api.call("POST", f"/sessions/{sid}/tasks", {"prompt": "Take your time"})
        response = api.send("POST", f"/tasks/{task['task_id']}/cancel", {})
        if response.status == 200:
            assert response.body["status"] == "cancelled"
            return task  # type: ignore[no-any-return]
        assert response.status == 409, response.body  # it had already finished: try again
        api.call("DELETE", f"/tasks/{task['task_id']}")
    pytest.fail("every task finished before its cancel arrived")


def test_a_request_without_a_bearer_token_is_refused_before_the_handler(stack: RunningStack) -> None:
    # Given no Authorization header, or one of the wrong form
    for token in (None, ""):
        response = ApiClient(stack.api_url, token).send("GET", "/sessions")
        # Then API Gateway's own 401 answers, with its challenge header
        assert response.status == 401
        assert response.body == {"message": "Unauthorized"}
        assert response.headers["www-authenticate"].startswith("Bearer")
    response = ApiClient(stack.api_url, None).send("GET", "/sessions", headers={"authorization": "Basic YTpi"})
    assert response.status == 401


def test_unknown_routes_get_api_gateways_404_and_the_openapi_document_is_public(stack: RunningStack) -> None:
    # Given no token at all
    anonymous = ApiClient(stack.api_url, None)
    # When an undeclared route and a declared method-less pair are asked for
    assert anonymous.send("GET", "/nothing-here").body == {"message": "Not Found"}
    assert anonymous.send("PUT", "/sessions").status == 404
    # Then the public route (Auth: NONE in the template) answers without a token
    document = anonymous.send("GET", "/openapi.json")
    assert document.status == 200
    assert "/sessions" in document.body["paths"]


def test_another_principals_session_is_not_found(stack: RunningStack, session: dict[str, Any]) -> None:
    # Given a session of one principal
    # When another principal asks for it
    response = stack.api("someone-else").send("GET", f"/sessions/{session['session_id']}")
    # Then it does not exist for them
    assert response.status == 404


def test_the_admin_principal_reads_the_report_and_others_may_not(stack: RunningStack, api: ApiClient) -> None:
    assert api.send("GET", "/admin/consistency").status == 403
    wait_until(report_since(stack.api("admin"), ""), REPORT_WAIT_S, "the janitor's first report")
