"""Sessions: open, list, read, delete."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from problems import documented
from routes.params import Cursor, IdempotencyKey, Limit, Owner, Service, SessionId, fingerprint
from schemas import CreateSessionBody, SessionPage, SessionView, servers

router = APIGatewayHttpRouter()  # type: ignore[no-untyped-call]  # Powertools leaves __init__ unannotated
TAGS = ["sessions"]


@router.post(
    "/sessions",
    status_code=201,
    operation_id="createSession",
    summary="Open a session for a project",
    tags=TAGS,
    responses=documented(
        201, "The session (the first one, for a repeated Idempotency-Key).", 400, headers=["Location"]
    ),
)
def create_session(
    body: CreateSessionBody, owner: Owner, service: Service, idempotency_key: IdempotencyKey = None
) -> Response[SessionView]:
    session = service.open_session(
        owner,
        body.project_path,
        body.name,
        body.metadata,
        idempotency_key,
        fingerprint(body) if idempotency_key else None,
        mcp_servers=servers(body.mcp_servers),
    )
    location = {"Location": f"/sessions/{session.session_id}"}
    return Response(201, "application/json", SessionView.of(session), location)


@router.get(
    "/sessions",
    operation_id="listSessions",
    summary="The caller's sessions, newest first",
    tags=TAGS,
    responses=documented(200, "One page of sessions.", 400),
)
def list_sessions(owner: Owner, service: Service, limit: Limit = 50, cursor: Cursor = None) -> SessionPage:
    return SessionPage.of(service.sessions(owner, limit, cursor))


@router.get(
    "/sessions/<session_id>",
    operation_id="getSession",
    summary="One session",
    tags=TAGS,
    responses=documented(200, "The session.", 404),
)
def get_session(session_id: SessionId, owner: Owner, service: Service) -> SessionView:
    return SessionView.of(service.session(owner, str(session_id)))


@router.delete(
    "/sessions/<session_id>",
    status_code=204,
    operation_id="deleteSession",
    summary="Delete a session (with cascade=true, its tasks and their interactions first)",
    tags=TAGS,
    responses=documented(204, "Deleted.", 404, 409, 503),
)
def delete_session(
    session_id: SessionId,
    owner: Owner,
    service: Service,
    cascade: Annotated[bool, Query(description="Delete the session's tasks first.")] = False,
) -> Response[None]:
    service.delete_session(owner, str(session_id), cascade)
    return Response(204)
