"""The task queue's messages, validated with these models at the worker.

Three message types share the queue: `task.run` (the API, for new tasks,
follow-ups, retries and forks), `task.create` (posted straight to the
queue by pipelines) and `task.cleanup` (the API, after deleting a task that
left a worktree: only the worker reaches the project's files).

Apart from the sender (`queue.TaskQueue`): a handler that only sends (the
janitor) does not define these models at its cold start.
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, Strict, TypeAdapter, ValidationError

from claude_tasks.app.delivery import MessageRejected
from claude_tasks.core.limits import MAX_MODEL_CHARS, MAX_SYSTEM_BYTES, at_most_bytes
from claude_tasks.core.offer import McpServers, StrictLimits, ToolRules
from claude_tasks.core.records import (
    AgentOptions,
    McpServer,
    NewTask,
    PermissionMode,
    TaskLimits,
    Workspace,
    Worktree,
)


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
