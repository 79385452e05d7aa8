"""The task queue: the messages it carries and the sender the API uses.

Three message types share the queue: `task.run` (the API, for new tasks,
follow-ups, retries and forks), `task.create` (posted straight to the
queue by pipelines) and `task.cleanup` (the API, after deleting a task that
left a worktree: only the worker reaches the project's files). All are
validated with these models at the worker.
"""

from __future__ import annotations

import hashlib
from functools import cached_property
from typing import TYPE_CHECKING, Annotated, Literal

from aws_lambda_powertools import Logger
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, Strict, TypeAdapter, ValidationError

from claude_tasks.app.delivery import MessageRejected
from claude_tasks.core.clients import make_client
from claude_tasks.core.config import Settings
from claude_tasks.core.limits import MAX_MODEL_CHARS, MAX_SYSTEM_BYTES, at_most_bytes
from claude_tasks.core.offer import AGENT_BACKEND, McpServers, StrictLimits, ToolRules, effective_backend
from claude_tasks.core.records import (
    AgentOptions,
    McpServer,
    NewTask,
    PermissionMode,
    Task,
    TaskLimits,
    Workspace,
    Worktree,
)

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

logger = Logger(child=True)


class _Message(BaseModel):
    # Strict, as the API's bodies: `"5"` is no number here either.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, defer_build=True)


class TaskRun(_Message):
    """Run the task's pending prompts."""

    type: Literal["task.run"] = "task.run"
    task_id: str = Field(min_length=1, max_length=64)
    session_id: str = Field(min_length=1, max_length=64)


class TaskCreate(_Message):
    """Create a task in an existing session of `owner`, then run it; the idempotency key makes it once."""

    type: Literal["task.create"] = "task.create"
    session_id: str = Field(min_length=1, max_length=64)
    owner: str = Field(min_length=1, max_length=256)
    # The prompt's limits are configured (`max_prompt_chars`): the worker checks them, as the API does.
    prompt: str = Field(min_length=1)
    idempotency_key: str = Field(min_length=1, max_length=256)
    # The API's bounds: both are stored in the task item, under DynamoDB's 400 KB.
    model: str | None = Field(None, min_length=1, max_length=MAX_MODEL_CHARS)
    system: Annotated[str, AfterValidator(at_most_bytes(MAX_SYSTEM_BYTES))] | None = Field(
        None, max_length=MAX_SYSTEM_BYTES
    )
    limits: StrictLimits | None = None
    # The backend (else the deployment's default), and Claude Code's options as the API takes them.
    backend: str | None = Field(None, min_length=1, max_length=32)
    allowed_tools: ToolRules | None = None
    disallowed_tools: ToolRules | None = None
    permission_mode: Annotated[PermissionMode, Strict(False)] | None = None
    mcp_servers: McpServers | None = None
    workspace: Annotated[Workspace, Strict(False)] | None = None
    # An SQS queue URL of this account under the deployment's reply prefix: the task's terminal events go
    # there too (checked at the worker: `check_reply_to`).
    reply_to: str | None = Field(None, min_length=1, max_length=1024)

    def new_task(self) -> NewTask:
        """The task this message asks for (not yet checked against what the deployment offers)."""
        agent = AgentOptions(
            allowed_tools=self.allowed_tools,
            disallowed_tools=self.disallowed_tools,
            permission_mode=self.permission_mode,
            mcp_servers=None
            if self.mcp_servers is None
            else {name: McpServer(**server.model_dump()) for name, server in self.mcp_servers.items()},
            workspace=self.workspace or Workspace.PROJECT,
        )
        return NewTask(
            prompt=self.prompt,
            backend=self.backend,
            model=self.model,
            system=self.system,
            limits=self.limits or TaskLimits(),
            agent=agent,
        )

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the message without its key: a replayed key with another message is refused. Fields
        at their defaults are left out, so a message written before a field existed keeps its fingerprint."""
        body = self.model_dump_json(exclude={"idempotency_key"}, exclude_defaults=True)
        return hashlib.sha256(body.encode()).hexdigest()


class TaskCleanup(_Message):
    """Remove what a deleted task left on disk: its git worktree (never its branch's commits)."""

    type: Literal["task.cleanup"] = "task.cleanup"
    task_id: str = Field(min_length=1, max_length=64)
    owner: str = Field(min_length=1, max_length=256)
    project_path: str = Field(min_length=1, max_length=4096)
    worktree: Worktree


Message = TaskRun | TaskCreate | TaskCleanup
TaskMessage = Annotated[Message, Field(discriminator="type")]
task_message = TypeAdapter[Message](TaskMessage, config=ConfigDict(defer_build=True))


class TaskQueue:
    """Sends `task.run` messages. Clients are made on first use: no network at import."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    @cached_property
    def _sqs(self) -> SQSClient:
        client: SQSClient = make_client("sqs", self._settings)
        return client

    def send(self, message: Message, queue_url: str | None = None) -> None:
        """Send one message (to the task queue unless `queue_url` says otherwise). Raises botocore's errors;
        see `send_run` for the forgiving form."""
        url = queue_url or self._settings.task_queue_url
        self._sqs.send_message(QueueUrl=url, MessageBody=message.model_dump_json())

    def queue_for(self, backend: str | None) -> str:
        """Where a task on `backend` (None: the deployment's default) runs: Claude Code tasks on their own
        queue where the deployment has one (in AWS, its container worker's), every other task on the task queue."""
        if self._settings.claude_code_queue_url and effective_backend(self._settings, backend) == AGENT_BACKEND:
            return self._settings.claude_code_queue_url
        return self._settings.task_queue_url

    def send_run(self, task: Task) -> bool:
        """Ask the worker that runs the task's backend to run it. Returns False (and logs) when the send failed:
        the task stays `queued`, and the janitor re-queues queued tasks nobody picked up."""
        try:
            self.send(TaskRun(task_id=task.task_id, session_id=task.session_id), self.queue_for(task.backend))
        except Exception:  # noqa: BLE001 - any send failure is recoverable by the janitor
            logger.exception("could not enqueue task; the janitor will re-queue it", extra={"task_id": task.task_id})
            return False
        return True

    def send_cleanup(self, task: Task, project_path: str) -> bool:
        """Ask the worker to remove the deleted task's worktree, if it had one. Returns False (and logs) when
        the send failed: the worktree stays (its branch holds the work), removable with `git worktree remove`."""
        if task.worktree is None:
            return True
        message = TaskCleanup(task_id=task.task_id, owner=task.owner, project_path=project_path, worktree=task.worktree)
        try:
            self.send(message, self.queue_for(task.backend))  # the worker that reaches the project's files
        except Exception:  # noqa: BLE001 - a worktree left behind loses nothing
            logger.exception("could not ask for the worktree's removal", extra={"task_id": task.task_id})
            return False
        return True


def parse(body: str) -> Message:
    """The message in `body`. Raises `MessageRejected` saying what is wrong (not JSON, unknown type, fields)."""
    try:
        return task_message.validate_json(body)
    except ValidationError as invalid:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or 'body'}: {error['msg']}"
            for error in invalid.errors()[:5]
        )
        raise MessageRejected(f"invalid task message: {problems}") from invalid
