"""Administration, for the principals configured as admins: the consistency report and its recount, the
dead-letter queues, and owners' quotas."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from claude_tasks.core.usage import OwnerQuota

from problems import documented
from routes.params import DeadLetters, Owner, Service
from schemas import ConsistencyReport, DeadLetterPage, QuotaBody, Recount, RecountBody, Redrive, RedriveBody

router = APIGatewayHttpRouter()  # type: ignore[no-untyped-call]  # Powertools leaves __init__ unannotated
QuotaOwner = Annotated[str, Path(min_length=1, max_length=256, description="The owner (a principal) whose quota.")]
QUOTAS = (
    "A limit the overrides leave unset takes the deployment's default (QUOTA_* settings); 0 is no limit, "
    "as in those settings, so an override can lift a default."
)


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


@router.post(
    "/admin/consistency/recount",
    operation_id="recountCounters",
    summary="Set a session's or an owner's task counters to what their tasks add up to",
    description=(
        "The repair of a `counter_drift`, and of counters that began at 0 when a stack with tasks was upgraded. "
        "Name exactly one of `session_id` (its `task_count` and tasks by status) and `owner` (their usage "
        "total's tasks by status and `active`, the figure the active-tasks quota reads). "
        "The tasks are counted while the counters' item holds still, and the counters written in one write "
        "conditioned on that item being unchanged since: a task changed meanwhile makes it count again (503 if "
        "it never settles within 15 s: try again; 503 also for more than 2,000 tasks, too many to count within "
        "the API's time limit: nothing is changed). Turns, tokens and cost are not recounted (spend stays "
        "after a task is deleted)."
    ),
    tags=["admin"],
    responses=documented(200, "The counters corrected (none: they were right).", 400, 403, 404, 503),
)
def recount(owner: Owner, service: Service, body: RecountBody) -> Recount:
    if body.owner is not None:
        return service.recount_owner(owner, body.owner)
    assert body.session_id is not None  # noqa: S101  # RecountBody names exactly one
    return service.recount(owner, body.session_id)


@router.get(
    "/admin/dead-letters",
    operation_id="listDeadLetters",
    summary="The messages in the dead-letter queues, each with the worker's reason (they stay there)",
    tags=["admin"],
    responses=documented(200, "Up to `limit` dead letters, of both task queues.", 403, 503),
)
def list_dead_letters(
    owner: Owner,
    queues: DeadLetters,
    limit: Annotated[int, Query(ge=1, le=100, description="At most this many messages.")] = 50,
) -> DeadLetterPage:
    return queues.letters(owner, limit)


@router.post(
    "/admin/dead-letters/redrive",
    operation_id="redriveDeadLetters",
    summary="Send dead letters back to their task queues; a task.run of a task that ended is refused",
    tags=["admin"],
    responses=documented(200, "What was redriven and what was refused, and why.", 400, 403, 503),
)
def redrive_dead_letters(owner: Owner, queues: DeadLetters, body: RedriveBody) -> Redrive:
    return queues.redrive(owner, list(body.message_ids))


@router.get(
    "/admin/quotas/<owner>",
    operation_id="getOwnerQuota",
    summary="An owner's quota overrides and the quota that applies to them",
    description=QUOTAS,
    tags=["admin"],
    responses=documented(200, "The overrides (all unset: none kept) and the quota that applies.", 403),
)
def get_quota(owner: QuotaOwner, caller: Owner, service: Service) -> OwnerQuota:
    return service.quota(caller, owner)


@router.put(
    "/admin/quotas/<owner>",
    operation_id="setOwnerQuota",
    summary="Replace an owner's quota overrides",
    description=QUOTAS,
    tags=["admin"],
    responses=documented(200, "The overrides as kept, and the quota that now applies.", 400, 403, 503),
)
def set_quota(owner: QuotaOwner, caller: Owner, service: Service, body: QuotaBody) -> OwnerQuota:
    return service.set_quota(caller, owner, body.override())


@router.delete(
    "/admin/quotas/<owner>",
    status_code=204,
    operation_id="clearOwnerQuota",
    summary="Drop an owner's quota overrides: the deployment's defaults apply",
    tags=["admin"],
    responses=documented(204, "Cleared (also when none were kept).", 403, 503),
)
def clear_quota(owner: QuotaOwner, caller: Owner, service: Service) -> Response[None]:
    service.clear_quota(caller, owner)
    return Response(204)
