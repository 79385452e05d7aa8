"""Drive an API Gateway HTTP API (payload 2.0) handler in-process: sample events, a result, a WSGI adapter.

    event = http_event("get_task", owner="alice", path={"task_id": task_id})
    result = invoke(handler, event)      # HttpResult(status, headers, body)

`http_event` starts from `events/api/<name>.json` — the same file `sam local
invoke` takes — and changes only what the test names. `as_wsgi(handler)` lets a
WSGI client (schemathesis, werkzeug) call the handler as if over HTTP.
"""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

from claude_tasks_dev.local.handlers import FakeContext

EVENTS = Path(__file__).resolve().parents[2] / "events" / "api"
Handler = Callable[[dict[str, Any], Any], dict[str, Any]]
_KEEP: Any = object()


@cache
def _sample(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / f"{name}.json").read_text())


def http_event(
    name: str,
    *,
    owner: str | None = "alice",
    iam_arn: str | None = None,
    path: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    body: Any = _KEEP,
    headers: dict[str, str | None] | None = None,
) -> dict[str, Any]:
    """The sample event `name` with the caller, path parameters, query, body and headers replaced.

    `owner=None` removes the authorizer context; `iam_arn` makes the caller an IAM principal.
    `body` is sent as JSON unless it is a `str` (sent as is); `None` removes it.
    A header given as None is removed.
    """
    event = copy.deepcopy(_sample(name))
    context = event["requestContext"]
    context.pop("authorizer", None)
    if iam_arn is not None:
        context["authorizer"] = {"iam": {"userArn": iam_arn, "accountId": "123456789012"}}
    elif owner is not None:
        context["authorizer"] = {"jwt": {"claims": {"sub": owner}, "scopes": None}}
    if path is not None:
        event["pathParameters"] = dict(path)
        event["rawPath"] = context["http"]["path"] = event["routeKey"].split(" ", 1)[1].format(**path)
    if query is not None:
        event["rawQueryString"] = urlencode(query)
        event["queryStringParameters"] = dict(query)
        if not query:
            del event["queryStringParameters"]
    if body is not _KEEP:
        _set_body(event, body)
    for header, value in (headers or {}).items():
        event["headers"].pop(header.lower(), None)
        if value is not None:
            event["headers"][header.lower()] = value
    return event


def _set_body(event: dict[str, Any], body: Any) -> None:
    event.pop("body", None)
    if body is not None:
        event["body"] = body if isinstance(body, str) else json.dumps(body)
        event["headers"].setdefault("content-type", "application/json")


@dataclass(frozen=True)
class HttpResult:
    status: int
    headers: dict[str, str]
    body: str

    def json(self) -> Any:
        return json.loads(self.body)

    def header(self, name: str) -> str | None:
        return {key.lower(): value for key, value in self.headers.items()}.get(name.lower())


def lambda_context(name: str = "ApiFunction") -> FakeContext:
    return FakeContext(name, 512, f"arn:aws:lambda:us-east-1:123456789012:function:{name}", 29.0)


def invoke(handler: Handler, event: dict[str, Any]) -> HttpResult:
    """Call `handler` as Lambda would and read its payload-2.0 result."""
    result = handler(event, lambda_context())
    body = result.get("body") or ""
    if result.get("isBase64Encoded"):
        body = base64.b64decode(body).decode()
    headers = {
        key: ", ".join(value) if isinstance(value, list) else str(value) for key, value in result["headers"].items()
    }
    return HttpResult(int(result["statusCode"]), headers, body)


def as_wsgi(handler: Handler, owner: str) -> Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]:
    """A WSGI app that turns each request into a payload-2.0 event and calls `handler`.

    Like API Gateway's JWT authorizer, it puts `owner` in the context only when the request
    has an `Authorization` header (any value); without one the handler sees no principal.
    """

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        method = environ["REQUEST_METHOD"]
        # WSGI decodes PATH_INFO as latin-1; API Gateway hands over the path percent-encoded.
        raw_path = quote(environ.get("PATH_INFO", "/").encode("latin-1"), safe="/:@!$&'()*+,;=-._~")
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length).decode("utf-8", "replace") if length else None
        caller = owner if environ.get("HTTP_AUTHORIZATION") else None
        event = http_event("get_openapi", owner=caller, body=body, headers=_wsgi_headers(environ))
        event["routeKey"] = "$default"
        event["rawPath"] = event["requestContext"]["http"]["path"] = raw_path
        event["requestContext"]["http"]["method"] = method
        event["rawQueryString"] = environ.get("QUERY_STRING", "")
        event.pop("queryStringParameters", None)
        if event["rawQueryString"]:
            event["queryStringParameters"] = _query(event["rawQueryString"])
        result = invoke(handler, event)
        start_response(f"{result.status} {HTTPStatus(result.status).phrase}", list(result.headers.items()))
        return [result.body.encode()]

    return app


def _wsgi_headers(environ: dict[str, Any]) -> dict[str, str | None]:
    headers: dict[str, str | None] = {"accept": None, "authorization": None}
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            headers[key[5:].replace("_", "-").lower()] = value
    if environ.get("CONTENT_TYPE"):
        headers["content-type"] = environ["CONTENT_TYPE"]
    return headers


def _query(raw: str) -> dict[str, str]:
    joined: dict[str, str] = {}
    for key, value in parse_qsl(raw, keep_blank_values=True):
        # API Gateway v2 joins repeated keys with commas.
        joined[key] = f"{joined[key]},{value}" if key in joined else value
    return joined
