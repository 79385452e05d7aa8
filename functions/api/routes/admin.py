"""Administration: the consistency report, for the principals configured as admins."""

from __future__ import annotations

from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from problems import documented
from routes.params import Owner, Service
from schemas import ConsistencyReport

router = APIGatewayHttpRouter()  # type: ignore[no-untyped-call]  # Powertools leaves __init__ unannotated


@router.get(
    "/admin/consistency",
    operation_id="getConsistencyReport",
    summary="The last completed consistency report: the stored data's figures and every invariant violation",
    description=(
        "The janitor's full check scans every table on its schedule (FullCheckSchedule) and stores its report; "
        "this serves that report (`started_at`, `completed_at` say how fresh it is) with one read. 404 before "
        "the first check completed."
    ),
    tags=["admin"],
    responses=documented(200, "The report.", 403, 404),
)
def consistency(owner: Owner, service: Service) -> ConsistencyReport:
    return service.consistency(owner)
