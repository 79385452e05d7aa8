"""API Gateway HTTP API (payload format 2.0): the HTTP response it makes of a Lambda's reply, or of its own errors."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any


@dataclass
class HttpResponse:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""


def gateway_error(status: int, message: str, request_id: str, **headers: str) -> HttpResponse:
    """An answer API Gateway itself gives (the function is not called): `{"message": ...}`."""
    extra = [(name.replace("_", "-"), value) for name, value in headers.items()]
    return HttpResponse(
        status,
        [("content-type", "application/json"), ("apigw-requestid", request_id), *extra],
        json.dumps({"message": message}).encode(),
    )


def read_reply(result: Any, request_id: str) -> HttpResponse:
    """The HTTP response for a function's return value, by the 2.0 rules.

    A dict with `statusCode` is used as given (headers, cookies, body, base64);
    any other JSON value becomes a 200 `application/json` body. Raises ValueError
    for a reply API Gateway would reject (it answers 500 then).
    """
    if not (isinstance(result, dict) and "statusCode" in result):
        return HttpResponse(
            200, [("content-type", "application/json"), ("apigw-requestid", request_id)], json.dumps(result).encode()
        )
    status = result["statusCode"]
    if not isinstance(status, int) or not 100 <= status <= 599:
        raise ValueError(f"statusCode {status!r} is not an HTTP status")
    headers = [(str(k).lower(), str(v)) for k, v in (result.get("headers") or {}).items()]
    headers += [("set-cookie", str(cookie)) for cookie in result.get("cookies") or []]
    if not any(name == "content-type" for name, _ in headers):
        headers.append(("content-type", "application/json"))
    headers.append(("apigw-requestid", request_id))
    body = result.get("body") or ""
    if not isinstance(body, str):
        raise ValueError(f"body must be a string, not {type(body).__name__}")
    data = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode()
    return HttpResponse(status, headers, data)
