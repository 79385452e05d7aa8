"""API Gateway HTTP API (payload format 2.0): the event it sends a Lambda, and how it reads the reply.

Follows the documented v2 format: lower-cased headers with repeated values
joined by commas, cookies moved to `cookies`, repeated query keys joined by
commas, absent keys rather than empty ones, binary bodies base64-encoded, and
a JWT authorizer's claims under `requestContext.authorizer.jwt`.
"""

from __future__ import annotations

import base64
import os
import re
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from claude_tasks_dev.local.handlers import ACCOUNT_ID
from claude_tasks_dev.local.routes import RouteMatch

_TOKEN = re.compile(r"[A-Za-z0-9._@+:-]{1,128}")
# Checked against AWS (ministackorg/ministack#766): only these arrive as text; everything else — a missing
# content type and form posts included — arrives base64-encoded.
_TEXT_TYPES = re.compile(r"^\s*(text/|application/([\w.+-]*\+)?(json|xml|javascript)\b)", re.IGNORECASE)
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass
class HttpRequest:
    """What the gateway received, before any routing: raw path and query, headers in arrival order."""

    method: str
    path: str
    raw_path: str
    raw_query: str
    headers: list[tuple[str, str]]
    body: bytes
    source_ip: str
    host: str


def new_request_id() -> str:
    """An id of the shape API Gateway puts in `apigw-requestid` (base64 of 10 random bytes)."""
    return base64.b64encode(os.urandom(10)).decode()


def principal_from(authorization: str | None) -> str | None:
    """The local JWT authorizer: `Bearer <name>` makes `<name>` the principal; anything else is None."""
    scheme, _, token = (authorization or "").strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not _TOKEN.fullmatch(token):
        return None
    return token


def build_event(request: HttpRequest, match: RouteMatch, principal: str | None, request_id: str) -> dict[str, Any]:
    """The payload-2.0 event for `request` on the matched route; `principal` becomes the JWT `sub`."""
    headers, cookies = _headers_and_cookies(request)
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": match.route.route_key,
        "rawPath": request.raw_path,
        "rawQueryString": request.raw_query,
        "headers": headers,
        "requestContext": _request_context(request, match, principal, request_id, headers.get("user-agent", "")),
        "isBase64Encoded": False,
    }
    if cookies:
        event["cookies"] = cookies
    query = _query_parameters(request.raw_query)
    if query:
        event["queryStringParameters"] = query
    if match.path_parameters:
        event["pathParameters"] = match.path_parameters
    if request.body:
        _set_body(event, request.body, headers.get("content-type", ""))
    return event


def _headers_and_cookies(request: HttpRequest) -> tuple[dict[str, str], list[str]]:
    """Lower-cased headers, repeated ones joined by commas, plus what API Gateway adds; cookies apart."""
    headers: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in request.headers:
        key = name.lower()
        if key == "cookie":
            cookies.extend(part.strip() for part in value.split(";") if part.strip())
        else:
            headers[key] = f"{headers[key]},{value}" if key in headers else value
    headers.setdefault("x-forwarded-for", request.source_ip)
    headers.setdefault("x-forwarded-port", request.host.rpartition(":")[2] if ":" in request.host else "80")
    headers.setdefault("x-forwarded-proto", "http")
    headers.setdefault("x-amzn-trace-id", f"Root=1-{int(time.time()):08x}-{os.urandom(12).hex()}")
    return headers, cookies


def _request_context(
    request: HttpRequest, match: RouteMatch, principal: str | None, request_id: str, user_agent: str
) -> dict[str, Any]:
    now = time.time()
    stamp = time.gmtime(now)
    context: dict[str, Any] = {
        "accountId": ACCOUNT_ID,
        "apiId": "local",
        "domainName": request.host,
        "domainPrefix": request.host.split(".")[0],
        "http": {
            "method": request.method,
            "path": request.path,
            "protocol": "HTTP/1.1",
            "sourceIp": request.source_ip,
            "userAgent": user_agent,
        },
        "requestId": request_id,
        "routeKey": match.route.route_key,
        "stage": "$default",
        "time": time.strftime(f"%d/{_MONTHS[stamp.tm_mon - 1]}/%Y:%H:%M:%S +0000", stamp),
        "timeEpoch": int(now * 1000),
    }
    if principal is not None:
        context["authorizer"] = {"jwt": {"claims": _claims(principal, request.host, int(now)), "scopes": None}}
    return context


def _claims(principal: str, host: str, now: int) -> dict[str, str]:
    """What a JWT authorizer passes on: the token's claims, all as strings."""
    issued = {"iat": str(now), "exp": str(now + 3600)}
    return {"sub": principal, "username": principal, "iss": f"http://{host}/local", "token_use": "access", **issued}


def _query_parameters(raw_query: str) -> dict[str, str]:
    query: dict[str, str] = {}
    for key, value in parse_qsl(raw_query, keep_blank_values=True):
        query[key] = f"{query[key]},{value}" if key in query else value
    return query


def _set_body(event: dict[str, Any], body: bytes, content_type: str) -> None:
    if _TEXT_TYPES.match(content_type):
        try:
            event["body"] = body.decode("utf-8")
            return
        except UnicodeDecodeError:
            pass  # not text after all: sent base64-encoded, as API Gateway does with binary
    event["body"] = base64.b64encode(body).decode()
    event["isBase64Encoded"] = True
