"""The local API Gateway in process, with a recording handler: the v2 event it sends, the reply it returns."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from claude_tasks_dev.checkout import repo_root
from claude_tasks_dev.cli.client import ApiClient
from claude_tasks_dev.local.gateway import Gateway
from claude_tasks_dev.local.handlers import LambdaFunction
from claude_tasks_dev.local.routes import match_route, routes_from_template
from claude_tasks_dev.local.template import load_template

EVENTS = repo_root() / "events" / "api"


class Recorder:
    """A handler that keeps each event and answers with whatever the test set."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.reply: Any = {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": "{}"}

    def __call__(self, event: dict[str, Any], context: Any) -> Any:
        assert context.get_remaining_time_in_millis() > 0
        self.events.append(event)
        if isinstance(self.reply, Exception):
            raise self.reply
        return self.reply


@pytest.fixture(scope="module")
def serving() -> Iterator[tuple[Gateway, Recorder]]:
    recorder = Recorder()
    function = LambdaFunction("ApiFunction", recorder, timeout_s=29, memory_mb=1024)
    running = Gateway(routes_from_template(load_template()), function).start()
    yield running, recorder
    running.stop()


@pytest.fixture
def gateway(serving: tuple[Gateway, Recorder]) -> Gateway:
    return serving[0]


@pytest.fixture
def recorder(serving: tuple[Gateway, Recorder]) -> Recorder:
    # One server for the module; each test starts with a clean recording and the default reply.
    serving[1].reset()
    return serving[1]


def _shape(value: Any) -> Any:
    """The keys of a JSON value, recursively; maps of names to values (headers, claims) count as one key."""
    if isinstance(value, dict):
        return {key: _shape(item) for key, item in value.items() if key not in ("headers", "claims", "pathParameters")}
    return type(value).__name__ if value is not None else None


@pytest.mark.parametrize("sample", sorted(EVENTS.glob("*.json")), ids=lambda p: p.stem)
def test_each_sample_events_route_is_served_with_the_same_event_shape(
    gateway: Gateway, recorder: Recorder, sample: Path
) -> None:
    # Given a sample event of events/api (what API Gateway sent in AWS)
    expected = json.loads(sample.read_text())
    method, path = expected["requestContext"]["http"]["method"], expected["rawPath"]
    # When the same request reaches the local gateway
    body = base64.b64decode(expected["body"]) if expected.get("isBase64Encoded") else expected.get("body")
    client = ApiClient(gateway.url, "alice")
    client.send(method, path, json.loads(body) if body else None, query=expected.get("queryStringParameters"))
    # Then the handler got an event of the same route and shape
    event = recorder.events[-1]
    assert event["routeKey"] == expected["routeKey"]
    assert event.get("pathParameters") == expected.get("pathParameters")
    assert event.get("queryStringParameters") == expected.get("queryStringParameters")
    assert _shape(event) == _shape(expected) | {"requestContext": _shape(event["requestContext"])}
    assert set(_shape(event["requestContext"])) >= set(_shape(expected["requestContext"])) - {"authorizer"}


def test_the_event_carries_the_principal_headers_cookies_query_and_body(gateway: Gateway, recorder: Recorder) -> None:
    # Given a request with repeated query keys, two cookies and a JSON body
    client = ApiClient(gateway.url, "alice")
    client.send("POST", "/sessions", {"a": 1}, query={"x": "1"}, headers={"cookie": "k=v; z=w", "X-Custom": "Yes"})
    event = recorder.events[-1]
    # Then it is API Gateway's v2 event, the principal in the JWT claims
    assert event["version"] == "2.0" and event["routeKey"] == "POST /sessions"
    assert event["requestContext"]["authorizer"]["jwt"]["claims"]["sub"] == "alice"
    assert event["requestContext"]["stage"] == "$default"
    assert event["requestContext"]["http"]["method"] == "POST"
    assert event["headers"]["x-custom"] == "Yes" and "cookie" not in event["headers"]
    assert event["cookies"] == ["k=v", "z=w"]
    assert event["rawQueryString"] == "x=1" and event["queryStringParameters"] == {"x": "1"}
    assert json.loads(event["body"]) == {"a": 1} and event["isBase64Encoded"] is False


def test_a_binary_body_is_base64_encoded_and_the_reply_decoded(gateway: Gateway, recorder: Recorder) -> None:
    # Given a handler that answers with a base64 body and a cookie
    recorder.reply = {"statusCode": 201, "body": base64.b64encode(b"\x00\x01").decode(), "isBase64Encoded": True,
                      "cookies": ["c=1"], "headers": {"content-type": "application/octet-stream"}}  # fmt: skip
    # When a form post arrives (API Gateway passes those base64-encoded too)
    response = ApiClient(gateway.url, "alice").send(
        "POST", "/sessions", None, headers={"content-type": "application/x-www-form-urlencoded"}
    )
    # Then the reply's bytes, status and cookie come back as sent
    assert response.status == 201 and response.headers["set-cookie"] == "c=1"


def test_a_handler_that_raises_is_api_gateways_500(gateway: Gateway, recorder: Recorder) -> None:
    recorder.reply = RuntimeError("boom")
    response = ApiClient(gateway.url, "alice").send("GET", "/sessions")
    assert response.status == 500 and response.body == {"message": "Internal Server Error"}


def test_a_public_route_gets_no_authorizer_context(gateway: Gateway, recorder: Recorder) -> None:
    ApiClient(gateway.url, None).send("GET", "/openapi.json")
    assert "authorizer" not in recorder.events[-1]["requestContext"]


def test_every_api_route_of_the_template_is_served_and_the_most_specific_wins() -> None:
    # Given the template's routes
    routes = routes_from_template(load_template())
    # Then a fixed segment beats a parameter, and every declared route matches its own path
    assert {r.route_key for r in routes} >= {"POST /sessions", "GET /tasks/{task_id}/interactions", "GET /openapi.json"}
    for route in routes:
        path = route.path.replace("{session_id}", "s-1").replace("{task_id}", "t-1")
        assert match_route(routes, route.method, path).route == route  # type: ignore[union-attr]
    assert match_route(routes, "GET", "/tasks/t-1/nothing") is None
