"""Tasks: create and list in a session; list the caller's across sessions; read, change, delete; follow up,
cancel, retry, fork; read the interactions."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from claude_tasks.core.records import Task, TaskStatus

from problems import documented
from routes.params import Cursor, IdempotencyKey, Limit, Owner, Service, SessionId, TaskId, fingerprint
from schemas import (
    CreateTaskBody,
    FollowUpBody,
    ForkBody,
    InteractionPage,
    PublicTaskStatus,
    TaskPage,
    TaskView,
    UpdateTaskBody,
)

router = APIGatewayHttpRouter()  # type: ignore[no-untyped-call]  # Powertools leaves __init__ unannotated
TAGS = ["tasks"]
QUEUED = "The task, queued; `Location` names it."
# An Idempotency-Key replayed with another body is a 422 (IdempotencyKeyReused), as the IETF draft has it.
StatusFilter = Annotated[PublicTaskStatus | None, Query(description="Only tasks in this status.")]


def _accepted(task: Task) -> Response[TaskView]:
    return Response(202, "application/json", TaskView.of(task), {"Location": f"/tasks/{task.task_id}"})


@router.post(
    "/sessions/<session_id>/tasks",
    status_code=202,
    operation_id="createTask",
    summary="Create a task in a session and queue it",
    tags=TAGS,
    responses=documented(202, QUEUED, 400, 404, 409, 413, 429, 503, headers=["Location"]),
)
def create_task(
    session_id: SessionId, body: CreateTaskBody, owner: Owner, service: Service, idempotency_key: IdempotencyKey = None
) -> Response[TaskView]:
    replay = fingerprint(body, session_id=str(session_id)) if idempotency_key else None
    return _accepted(service.create_task(owner, str(session_id), body.to_new_task(), idempotency_key, replay))


@router.get(
    "/sessions/<session_id>/tasks",
    operation_id="listTasks",
    summary="A session's tasks, oldest first, optionally in one status",
    tags=TAGS,
    responses=documented(200, "One page of tasks.", 400, 404),
)
def list_tasks(
    session_id: SessionId,
    owner: Owner,
    service: Service,
    limit: Limit = 50,
    cursor: Cursor = None,
    status: StatusFilter = None,
) -> TaskPage:
    return TaskPage.of(service.tasks(owner, str(session_id), _wanted(status), limit, cursor))


@router.get(
    "/tasks",
    operation_id="listMyTasks",
    summary="The caller's tasks across all their sessions, newest first, optionally in one status",
    tags=TAGS,
    responses=documented(200, "One page of tasks.", 400),
)
def list_my_tasks(
    owner: Owner,
    service: Service,
    limit: Limit = 50,
    cursor: Cursor = None,
    status: StatusFilter = None,
) -> TaskPage:
    return TaskPage.of(service.my_tasks(owner, _wanted(status), limit, cursor))


def _wanted(status: str | None) -> TaskStatus | None:
    return TaskStatus(status) if status else None


@router.get(
    "/tasks/<task_id>",
    operation_id="getTask",
    summary="One task",
    tags=TAGS,
    responses=documented(200, "The task.", 404),
)
def get_task(task_id: TaskId, owner: Owner, service: Service) -> TaskView:
    return TaskView.of(service.task(owner, str(task_id)))


@router.patch(
    "/tasks/<task_id>",
    operation_id="updateTask",
    summary="Change a task's title or metadata (nothing else can change)",
    tags=TAGS,
    responses=documented(200, "The task as changed.", 400, 404, 503),
)
def update_task(task_id: TaskId, body: UpdateTaskBody, owner: Owner, service: Service) -> TaskView:
    return TaskView.of(service.update_task(owner, str(task_id), body.changes()))


@router.delete(
    "/tasks/<task_id>",
    status_code=204,
    operation_id="deleteTask",
    summary="Delete a task and its interactions (not while it runs)",
    tags=TAGS,
    responses=documented(204, "Deleted.", 404, 409, 503),
)
def delete_task(task_id: TaskId, owner: Owner, service: Service) -> Response[None]:
    service.delete_task(owner, str(task_id))
    return Response(204)


@router.post(
    "/tasks/<task_id>/messages",
    status_code=202,
    operation_id="sendMessage",
    summary="Follow up in the task's conversation; while it runs, the prompt waits its turn",
    tags=TAGS,
    responses=documented(202, QUEUED, 400, 404, 413, 429, 503, headers=["Location"]),
)
def send_message(task_id: TaskId, body: FollowUpBody, owner: Owner, service: Service) -> Response[TaskView]:
    return _accepted(service.follow_up(owner, str(task_id), body.prompt))


@router.post(
    "/tasks/<task_id>/cancel",
    operation_id="cancelTask",
    summary="Cancel a queued or running task",
    tags=TAGS,
    responses=documented(200, "The task, cancelled.", 404, 409, 503),
)
def cancel_task(task_id: TaskId, owner: Owner, service: Service) -> TaskView:
    return TaskView.of(service.cancel(owner, str(task_id)))


@router.post(
    "/tasks/<task_id>/retry",
    status_code=202,
    operation_id="retryTask",
    summary="Queue a failed, exhausted or cancelled task again, its conversation kept",
    tags=TAGS,
    responses=documented(202, QUEUED, 404, 409, 429, 503, headers=["Location"]),
)
def retry_task(task_id: TaskId, owner: Owner, service: Service) -> Response[TaskView]:
    return _accepted(service.retry(owner, str(task_id)))


@router.post(
    "/tasks/<task_id>/fork",
    status_code=202,
    operation_id="forkTask",
    summary="A new task whose conversation starts from this one's (with its own Claude session)",
    tags=TAGS,
    responses=documented(202, "The new task; `Location` names it.", 400, 404, 409, 413, 429, 503, headers=["Location"]),
)
def fork_task(
    task_id: TaskId, body: ForkBody, owner: Owner, service: Service, idempotency_key: IdempotencyKey = None
) -> Response[TaskView]:
    target = str(body.session_id) if body.session_id else None
    replay = fingerprint(body, task_id=str(task_id)) if idempotency_key else None
    return _accepted(service.fork(owner, str(task_id), body.prompt, target, idempotency_key, replay))


@router.get(
    "/tasks/<task_id>/interactions",
    operation_id="listInteractions",
    summary="A task's interactions in seq order; poll with after_seq for new ones",
    tags=TAGS,
    responses=documented(200, "One page of interactions.", 400, 404),
)
def list_interactions(
    task_id: TaskId,
    owner: Owner,
    service: Service,
    limit: Limit = 50,
    cursor: Cursor = None,
    # Bounded: DynamoDB numbers hold at most 38 digits, and no task has 2^31 turns.
    after_seq: Annotated[int, Query(ge=0, le=2**31 - 1, description="Only interactions with a greater seq.")] = 0,
) -> InteractionPage:
    return InteractionPage.of(service.interactions(owner, str(task_id), after_seq, limit, cursor))
