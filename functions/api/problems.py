"""The one place errors become HTTP: RFC 9457 `application/problem+json` responses, and their documentation.

Domain errors map by kind (not found 404, conflict 409, invalid 422, too large
413, forbidden 403, over a quota 429 with `Retry-After` and the quota's figures,
transient 503 with `Retry-After`); a bad cursor is 400.
Request validation is 422 with the invalid fields, a body that is not JSON is
400, and anything unexpected is a logged 500 whose body says nothing about the code.
No principal is 401 in the shape API Gateway's JWT authorizer gives it
(`application/json` `{"message": "Unauthorized"}`): the gateway answers almost every
401, so the document describes that one and the function's own agrees with it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any, cast

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError, ServiceError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestUnsupportedContentType, RequestValidationError
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse, OpenAPIResponseHeader

from claude_tasks.core.errors import DomainError, InvalidCursor, QuotaExceeded

from schemas import FieldError, Problem

PROBLEM_JSON = "application/problem+json"
# Any route: no principal (except the public ones), a body that is not JSON, bad parameters, our own bug.
ALWAYS = (401, 415, 422, 500)
RETRY_AFTER_S = "1"

_STATUS_BY_KIND = {
    "not_found": 404,
    "conflict": 409,
    "invalid": 422,
    "too_large": 413,
    "forbidden": 403,
    "transient": 503,
    "quota": 429,
}
_STATUS_BY_ERROR: dict[type[DomainError], int] = {InvalidCursor: 400}
UNAUTHORIZED = {"message": "Unauthorized"}
_LOCATIONS = frozenset({"body", "query", "path", "header", "cookie"})

logger = Logger(child=True)


class Unauthenticated(Exception):
    """The request carries no principal: API Gateway's authorizer did not run or put none in the context."""


# RFC 9110's reason phrases, fixed here: `HTTPStatus.phrase` changed in Python 3.13 (422 "Unprocessable
# Entity" -> "Unprocessable Content", 413 -> "Content Too Large"), and the Lambda runtime (3.13) and a
# developer's Python must produce the same responses and the same OpenAPI document.
_TITLES = {413: "Content Too Large", 422: "Unprocessable Content"}


def title(status: int) -> str:
    """The problem's `title`: the status's RFC 9110 reason phrase, whatever the Python version."""
    return _TITLES.get(status) or HTTPStatus(status).phrase


def problem(status: int, kind: str, detail: str, errors: list[FieldError] | None = None) -> Response[str]:
    """A problem response; `kind` names its type (`urn:claude-tasks:problem:<kind>`)."""
    body = Problem(
        type=f"urn:claude-tasks:problem:{kind}",
        title=title(status),
        status=status,
        detail=detail,
        errors=errors,
    )
    headers = {"Retry-After": RETRY_AFTER_S} if status == 503 else {}
    return Response(status, PROBLEM_JSON, body.model_dump_json(exclude_none=True), headers)


def unauthenticated() -> Response[str]:
    """401 as API Gateway's JWT authorizer answers it, so a client meets one shape whoever refused it."""
    return Response(401, "application/json", json.dumps(UNAUTHORIZED), {"WWW-Authenticate": "Bearer"})


def as_lambda_response(response: Response[str]) -> dict[str, Any]:
    """`response` as an API Gateway HTTP API (payload 2.0) result, for answers given before the resolver runs."""
    return {
        "statusCode": response.status_code,
        "headers": response.headers,
        "body": response.body,
        "isBase64Encoded": False,
    }


def over_quota(error: QuotaExceeded) -> Response[str]:
    """429: which quota, its figure now, its limit, when it allows more, and `Retry-After` in seconds."""
    body = Problem(
        type="urn:claude-tasks:problem:quota-exceeded",
        title=title(429),
        status=429,
        detail=str(error),
        limit=error.limit,
        current=error.current,
        allowed=error.allowed,
        resets_at=error.resets_at,
    )
    headers = {"Retry-After": str(error.retry_after_s)}
    return Response(429, PROBLEM_JSON, body.model_dump_json(exclude_none=True), headers)


def domain_error(error: DomainError) -> Response[str]:
    status = _STATUS_BY_ERROR.get(type(error)) or _STATUS_BY_KIND.get(error.kind, 422)
    field = getattr(error, "field", None)
    errors = [FieldError(location="body", field=field, type=_kind(error), detail=str(error))] if field else None
    return problem(status, _kind(error), str(error), errors)


def invalid_request(error: RequestValidationError) -> Response[str]:
    """422 naming each invalid field; 400 when the body is not JSON at all; 500 for our own invalid response."""
    found = list(error.errors())
    if any(str((item.get("loc") or ("",))[0]) == "response" for item in found):
        # Powertools reports a response that breaks the document as a validation error: it is our bug.
        return unexpected(error)
    if any(item.get("type") == "json_invalid" for item in found):
        return malformed_json("the request body is not valid JSON")
    errors = [_field_error(item) for item in found]
    detail = "; ".join(f"{e.location}{'.' + e.field if e.field else ''}: {e.detail}" for e in errors)
    return problem(422, "validation-error", detail[:1000], errors)


def malformed_json(detail: str) -> Response[str]:
    """400: the body is not JSON this API can read (see `routes.params.refusal`)."""
    return problem(400, "malformed-json", detail)


def _field_error(item: Mapping[str, Any]) -> FieldError:
    loc: Sequence[Any] = item.get("loc") or ("body",)
    location = str(loc[0]) if str(loc[0]) in _LOCATIONS else "body"
    path = loc[1:] if str(loc[0]) in _LOCATIONS else loc
    # pydantic's messages name the rule broken, never the input; the input itself is not echoed back.
    return FieldError(
        location=location,
        field=".".join(str(part) for part in path),
        type=str(item.get("type", "invalid")),
        detail=str(item.get("msg", "invalid value")),
    )


def unsupported_media_type(error: Exception | None = None) -> Response[str]:
    return problem(415, "unsupported-media-type", "send the body as application/json")


def route_not_found(error: NotFoundError) -> Response[str]:
    return problem(404, "no-such-route", "no route matches this method and path")


def service_error(error: ServiceError) -> Response[str]:
    return problem(error.status_code, "http-error", str(error.msg))


def unexpected(error: Exception) -> Response[str]:
    logger.exception("unhandled error while serving the request")
    return problem(500, "internal-error", "the server failed to handle this request; it has been logged")


def register(app: APIGatewayHttpResolver) -> None:
    """Install every mapping on `app`; the most specific handler wins (Powertools looks up the error's MRO)."""
    app.exception_handler(DomainError)(domain_error)
    app.exception_handler(QuotaExceeded)(over_quota)
    app.exception_handler(Unauthenticated)(lambda _: unauthenticated())
    app.exception_handler(RequestValidationError)(invalid_request)
    app.exception_handler(RequestUnsupportedContentType)(unsupported_media_type)
    app.exception_handler(ServiceError)(service_error)
    app.not_found(route_not_found)
    app.exception_handler(Exception)(unexpected)


def documented(
    success: int, description: str, *errors: int, headers: Sequence[str] = (), public: bool = False
) -> dict[int, OpenAPIResponse]:
    """The `responses` of an operation: `success` (its body from the route's return type) and problem responses."""
    ok: OpenAPIResponse = {"description": description}
    if success == 204:
        ok["content"] = {}
    if headers:
        # `required` is valid OpenAPI, though Powertools' TypedDict does not list it.
        ok["headers"] = {
            name: cast(
                OpenAPIResponseHeader,
                {"description": _HEADER_DOCS[name], "required": True, "schema": {"type": "string"}},
            )
            for name in headers
        }
    responses: dict[int, OpenAPIResponse] = {success: ok}
    for status in sorted({*errors, *ALWAYS} - ({401} if public else set())):
        if status == 401:
            responses[status] = _GATEWAY_401
            continue
        responses[status] = {
            "description": title(status),
            "content": {PROBLEM_JSON: {"model": Problem}},
        }
        if status in (429, 503):
            responses[status]["headers"] = {
                "Retry-After": {"description": "Seconds to wait.", "schema": {"type": "string"}}
            }
    return responses


_HEADER_DOCS = {"Location": "The URL of the resource."}
# What the deployed JWT authorizer sends (not problem+json: the gateway answers before any function runs).
# `example` is valid OpenAPI, though Powertools' TypedDict does not list it.
_GATEWAY_401 = cast(
    OpenAPIResponse,
    {
        "description": 'No valid bearer token: API Gateway\'s own answer, `{"message": "Unauthorized"}`.',
        "headers": {
            "WWW-Authenticate": {"description": "The bearer challenge.", "schema": {"type": "string"}},
        },
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {"message": {"type": "string", "const": "Unauthorized"}},
                    "required": ["message"],
                },
                "example": UNAUTHORIZED,
            }
        },
    },
)


def _kind(error: DomainError) -> str:
    # SessionNotFound -> session-not-found: the problem type says which domain error it was.
    return re.sub(r"(?<!^)(?=[A-Z])", "-", type(error).__name__).lower()
