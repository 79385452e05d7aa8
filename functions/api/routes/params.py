"""What routes take besides their own body: the caller, the service, and the shared parameters.

The owner comes only from the authorizer context API Gateway wrote (JWT `sub`,
else the IAM caller's ARN), never from anything the caller sends.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Annotated, Any
from uuid import UUID

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.depends import Depends
from aws_lambda_powertools.event_handler.openapi.params import Header, Path, Query
from aws_lambda_powertools.event_handler.request import Request

from claude_tasks.config import get_settings
from claude_tasks.queue import TaskQueue
from claude_tasks.service import TaskService
from claude_tasks.store import Store

from problems import Unauthenticated, unauthenticated, unsupported_media_type

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
    try form and multipart parsing, which this API never takes).
    """
    if principal(event) is None and not is_public(event):
        return unauthenticated()
    content_type = str((event.get("headers") or {}).get("content-type", "")).strip().lower()
    if event.get("body") and content_type and not content_type.startswith("application/json"):
        return unsupported_media_type()
    return None


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


Owner = Annotated[str, Depends(_owner)]
Service = Annotated[TaskService, Depends(task_service)]
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
        description="The same key from the same caller returns the first result and creates nothing new.",
    ),
]
