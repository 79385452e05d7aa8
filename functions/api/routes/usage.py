"""Usage: the caller's totals and quota (`GET /usage`); an admin may read any owner's."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from claude_tasks.core.usage import OwnerUsage

from problems import documented
from routes.params import Owner, Service

router = APIGatewayHttpRouter()  # type: ignore[no-untyped-call]  # Powertools leaves __init__ unannotated


@router.get(
    "/usage",
    operation_id="getUsage",
    summary="Your usage: tokens, cost and tasks by status, in total, this month and per day (30 days), and your quota",
    tags=["usage"],
    responses=documented(200, "The totals and the quota that applies.", 403),
)
def get_usage(
    owner: Owner,
    service: Service,
    of: Annotated[
        str | None, Query(alias="owner", min_length=1, max_length=256, description="Another owner's (admins only).")
    ] = None,
) -> OwnerUsage:
    return service.usage(owner, of)
