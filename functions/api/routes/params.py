"""What routes take besides their own body: the caller, the service, and the shared parameters.

The owner comes only from the authorizer context API Gateway wrote (JWT `sub`,
else the IAM caller's ARN), never from anything the caller sends.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
from collections.abc import Mapping
from email.message import EmailMessage
from functools import cache
from typing import Annotated, Any
from uuid import UUID

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.depends import Depends
from aws_lambda_powertools.event_handler.openapi.params import Header, Path, Query
from aws_lambda_powertools.event_handler.request import Request
from pydantic import BaseModel

from claude_tasks.app.dead_letters import DeadLetterQueues
from claude_tasks.app.queue import TaskQueue
from claude_tasks.app.service import TaskService
from claude_tasks.core import limits
from claude_tasks.core.config import get_settings
from claude_tasks.store import Store

from problems import Unauthenticated, malformed_json, unauthenticated, unsupported_media_type

PUBLIC_ROUTES = frozenset({("GET", "/openapi.json")})


def principal(event: Mapping[str, Any]) -> str | None:
    """The authenticated caller in an API Gateway v2 event, or None."""
    authorizer = (event.get("requestContext") or {}).get("authorizer") or {}
    sub = ((authorizer.get("jwt") or {}).get("claims") or {}).get("sub")
    if isinstance(sub, str) and sub:
        return sub
    arn = (authorizer.get("iam") or {}).get("userArn")
    return arn if isinstance(arn, str) and arn else None


def is_public(event: Mapping[str, Any]) -> bool:
    method = ((event.get("requestContext") or {}).get("http") or {}).get("method", "")
    return (str(method).upper(), event.get("rawPath", "")) in PUBLIC_ROUTES


def refusal(event: Mapping[str, Any]) -> Response[str] | None:
    """The answer to a request refused before routing, or None to route it.

    No principal on a route that needs one: 401, before the input is even
    validated. A body that is not JSON by its content type: 415 (Powertools would
    try form and multipart parsing, which this API never takes). A body that is
    not JSON we can read safely: 400 (Powertools would fail on it with a 500).
    """
    if principal(event) is None and not is_public(event):
        return unauthenticated()
    content_type = str((event.get("headers") or {}).get("content-type", "")).strip()
    if event.get("body") and content_type and not is_json_media_type(content_type):
        return unsupported_media_type()
    return _unreadable_body(event)


def with_json_content_type(event: dict[str, Any]) -> dict[str, Any]:
    """`event` with a JSON body's content type spelled `application/json`, the only spelling Powertools
    parses as JSON (it compares a case-sensitive prefix; `application/merge-patch+json` would be refused)."""
    headers = event.get("headers") or {}
    if event.get("body") and is_json_media_type(str(headers.get("content-type", ""))):
        event = {**event, "headers": {**headers, "content-type": "application/json"}}
    return event


def is_json_media_type(content_type: str) -> bool:
    """`application/json` or a `+json` suffix type (RFC 6839), whatever its parameters (`; charset=utf-8`).

    The media type is compared whole: `application/jsonx` or `application/json-seq` is not JSON.
    """
    message = EmailMessage()
    message["content-type"] = content_type
    # The stdlib's header parser (RFC 2045 rules); it falls back to text/plain for a malformed value.
    media_type = message.get_content_type()
    kind, _, subtype = media_type.partition("/")
    return kind == "application" and (subtype == "json" or (subtype.endswith("+json") and subtype != "+json"))


def _unreadable_body(event: Mapping[str, Any]) -> Response[str] | None:
    """400 for a body Python's JSON cannot take safely: invalid, nested too deep, a number that is too long
    or not finite (NaN, 1e400: no DynamoDB number holds it), or a string holding a lone surrogate (no
    UTF-8 for it: storing or answering it would fail)."""
    body = event.get("body")
    if not body:
        return None
    try:
        text = base64.b64decode(body).decode() if event.get("isBase64Encoded") else str(body)
        parsed = json.loads(text, parse_float=_finite, parse_constant=_no_constant)
    except (ValueError, RecursionError):  # JSONDecodeError, UnicodeDecodeError, binascii.Error: ValueErrors
        return malformed_json(
            "the request body is not valid JSON, nests too deep, or has a number too long or not finite"
        )
    if limits.depth(parsed, give_up_after=limits.MAX_BODY_DEPTH) > limits.MAX_BODY_DEPTH:
        return malformed_json(f"the request body nests deeper than {limits.MAX_BODY_DEPTH} levels")
    try:
        json.dumps(parsed, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        return malformed_json("the request body has a string with a lone UTF-16 surrogate (\\ud800-\\udfff)")
    except (ValueError, RecursionError):
        return malformed_json("the request body nests too deep")
    return None


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"{text[:20]} is out of range")
    return number


def _no_constant(text: str) -> float:
    raise ValueError(f"{text} is not JSON")


def fingerprint(body: BaseModel, **path: str) -> str:
    """SHA-256 of the request's canonical form (path parameters and the body as validated, keys sorted):
    two requests that mean the same have the same one, so a replayed Idempotency-Key can be told apart
    from the same key sent with another request (the IETF Idempotency-Key draft's 422).

    Fields at their defaults are left out: a field sent as its default means what leaving it out does, and
    a field added to a body later does not change the fingerprint of a request that does not use it."""
    sent = body.model_dump(mode="json", exclude_defaults=True)
    canonical = json.dumps({"path": path, "body": sent}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _owner(request: Request) -> str:
    owner = principal(request.resolved_event.raw_event)
    if owner is None:
        raise Unauthenticated()
    return owner


@cache
def task_service() -> TaskService:
    """The service, built on first use from the settings (no network at import); tests clear the cache."""
    settings = get_settings()
    return TaskService(Store(settings), TaskQueue(settings))


@cache
def dead_letter_queues() -> DeadLetterQueues:
    """The DLQs' administration, built on first use as `task_service` is; tests clear the cache."""
    settings = get_settings()
    return DeadLetterQueues(Store(settings), settings)


Owner = Annotated[str, Depends(_owner)]
Service = Annotated[TaskService, Depends(task_service)]
DeadLetters = Annotated[DeadLetterQueues, Depends(dead_letter_queues)]
SessionId = Annotated[UUID, Path(description="A session's id.")]
TaskId = Annotated[UUID, Path(description="A task's id.")]
Limit = Annotated[int, Query(ge=1, le=100, description="At most this many items.")]
Cursor = Annotated[
    str | None, Query(min_length=1, max_length=4096, description="The `next_cursor` of the previous page.")
]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=256,
        description=(
            "The same key from the same caller with the same request returns the first result and creates "
            "nothing new; with a different request it is a 422."
        ),
    ),
]
