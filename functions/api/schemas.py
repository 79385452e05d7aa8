"""The HTTP API's request bodies and responses; the OpenAPI document is generated from these.

Responses reuse the domain records, so bookkeeping fields marked `exclude=True`
(lease, version, run counters) appear neither in a response nor in the document.
Request bodies forbid unknown fields and are strict (`true` or `"5"` is no number, `5` no string: the
caller is told rather than the value coerced), and `UpdateTaskBody` says which fields can never change.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal, Self, get_args
from uuid import UUID

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    Strict,
    ValidationInfo,
    WithJsonSchema,
    model_validator,
)
from pydantic.json_schema import SkipJsonSchema
from pydantic_core import PydanticCustomError

from claude_tasks.app.dead_letter_views import DeadLetterPage, Redrive
from claude_tasks.claude import BACKEND_NAMES
from claude_tasks.core import paths
from claude_tasks.core.limits import (
    MAX_METADATA_CHARS,
    MAX_METADATA_DEPTH,
    MAX_MODEL_CHARS,
    MAX_NAME_CHARS,
    MAX_REPLY_TOKENS,
    MAX_SYSTEM_BYTES,
    MAX_TITLE_CHARS,
    at_most_bytes,
    depth,
)
from claude_tasks.core.offer import McpServers, StrictLimits, StrictMcpServer, ToolRules
from claude_tasks.core.records import (
    AgentOptions,
    Interaction,
    McpServer,
    NewTask,
    Page,
    PermissionMode,
    Session,
    Task,
    TaskStatus,
    Workspace,
)
from claude_tasks.core.usage import QuotaOverride
from claude_tasks.store.audit import ConsistencyReport, Recount

__all__ = ["ConsistencyReport", "DeadLetterPage", "Recount", "Redrive"]

# `deleting` is internal: a reader never sees a task in it, so callers can neither filter by it nor receive it.
PublicTaskStatus = Literal["queued", "running", "succeeded", "failed", "cancelled", "exhausted"]
PUBLIC_TASK_STATUSES: tuple[str, ...] = get_args(PublicTaskStatus)


def _small_json(value: dict[str, Any]) -> dict[str, Any]:
    # Nesting first (json.dumps recurses): a response must serialise it again, and pydantic stops at ~255.
    if depth(value, give_up_after=MAX_METADATA_DEPTH) > MAX_METADATA_DEPTH:
        raise ValueError(f"metadata must nest at most {MAX_METADATA_DEPTH} levels of objects and arrays")
    # Metadata lives inside the item: bound it well below DynamoDB's 400 KB item limit.
    if len(json.dumps(value, default=str)) > MAX_METADATA_CHARS:
        raise ValueError(f"metadata must serialise to at most {MAX_METADATA_CHARS} characters of JSON")
    return value


def _known_backend(value: str) -> str:
    if value not in BACKEND_NAMES:
        raise ValueError(f"backend must be one of {', '.join(sorted(BACKEND_NAMES))}")
    return value


def _project_path(value: str) -> str:
    try:
        return paths.normalise(value)
    except paths.InvalidProjectPath as error:
        raise PydanticCustomError("project_path", "{reason}", {"reason": str(error)}) from error


def _immutable(value: object, info: ValidationInfo) -> None:
    raise PydanticCustomError("immutable_field", "{field} cannot be changed after creation", {"field": info.field_name})


Metadata = Annotated[
    dict[str, Any],
    AfterValidator(_small_json),
    Field(description="Free-form JSON, at most 16 KiB, nested at most 32 levels."),
]
Backend = Annotated[
    str, AfterValidator(_known_backend), WithJsonSchema({"type": "string", "enum": sorted(BACKEND_NAMES)})
]
Timestamp = Annotated[str, Field(json_schema_extra={"format": "date-time"}, description="ISO-8601, UTC.")]
# Accepted by the model only to be refused with a clear message; absent from the document.
Immutable = Annotated[SkipJsonSchema[object], AfterValidator(_immutable), Field(None, exclude=True)]

# Claude Code's options, as `CreateTaskBody` takes them and `TaskView` shows them: flat in the task.
AGENT_FIELDS = ("allowed_tools", "disallowed_tools", "permission_mode", "mcp_servers", "workspace")
ALLOWED_TOOLS = (
    "Tools Claude Code may use without asking: names (`Read`, `mcp__github__get_issue`) or permission rules "
    "(`Bash(git diff:*)`); claude-code tasks only."
)
DISALLOWED_TOOLS = "Tools Claude Code may not use, in the same form as `allowed_tools`; claude-code tasks only."
PERMISSION_MODE = (
    "How Claude Code asks before using a tool; absent or null: `acceptEdits`. `bypassPermissions` only where the "
    "deployment allows it (ALLOW_BYPASS_PERMISSIONS). claude-code tasks only."
)
MCP_SERVERS = "MCP servers Claude Code may use, by name; absent or null: the session's. claude-code tasks only."
MASKED_MCP_SERVERS = (
    "MCP servers Claude Code may use, by name. `env` and `headers` name what is set; each value is shown as `***`."
)
WORKSPACE = (
    "`project`: the session's project itself; `worktree`: a git worktree of it made for this task (`worktree` "
    "names it once made). claude-code tasks only."
)
MASK = "***"
# Powertools validates the parsed body in Python mode, where a strict enum takes no string.
Permission = Annotated[PermissionMode, Strict(False)]
WorkspaceKind = Annotated[Workspace, Strict(False)]


def servers(sent: dict[str, StrictMcpServer] | None) -> dict[str, McpServer] | None:
    """The MCP servers a body sent, as the domain's records."""
    return None if sent is None else {name: McpServer(**server.model_dump()) for name, server in sent.items()}


def masked(stored: dict[str, McpServer] | None) -> dict[str, McpServer] | None:
    """MCP servers as a response shows them: `env` and `headers` may hold tokens, so only their names."""
    if stored is None:
        return None
    return {
        name: server.model_copy(
            update={"env": dict.fromkeys(server.env, MASK), "headers": dict.fromkeys(server.headers, MASK)}
        )
        for name, server in stored.items()
    }


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, defer_build=True)


class RedriveBody(_Body):
    message_ids: list[Annotated[str, Field(min_length=1, max_length=128)]] = Field(
        default_factory=list, max_length=100, description="The messages to redrive; none named (`{}`): every one."
    )


class RecountBody(_Body):
    session_id: str | None = Field(
        None, min_length=1, max_length=128, description="The session whose task counters to recount."
    )
    owner: str | None = Field(
        None,
        min_length=1,
        max_length=256,
        description="Or the owner whose counters (usage `total`: tasks by status, `active`) to recount.",
    )

    @model_validator(mode="after")
    def _one_subject(self) -> Self:
        if (self.session_id is None) == (self.owner is None):
            raise PydanticCustomError("one_subject", "name exactly one of session_id and owner")
        return self


# The largest limit an override takes (tasks, or USD).
MAX_QUOTA = 1_000_000_000


class QuotaBody(_Body):
    """An owner's quota overrides, replacing any kept: a limit left out (or null) takes the deployment's
    default, and 0 is no limit, as in the deployment's settings."""

    # Bounded well within what DynamoDB stores (38 digits): a larger number would fail the write as a 500.
    max_active_tasks: int | None = Field(None, ge=0, le=MAX_QUOTA, description="Tasks queued or running at once.")
    max_tasks_per_minute: int | None = Field(None, ge=0, le=MAX_QUOTA, description="Tasks created per minute (UTC).")
    monthly_spend_usd: float | None = Field(
        None, ge=0, le=MAX_QUOTA, description="Cost of the month's turns (UTC), in USD."
    )

    def override(self) -> QuotaOverride:
        return QuotaOverride(**self.model_dump())


class CreateSessionBody(_Body):
    project_path: Annotated[str, AfterValidator(_project_path)] = Field(
        description="Absolute, no `..` segments or control characters, at most 1024 characters; stored normalised.",
        # Documented for clients and fuzzers; the validator enforces the full rules with clearer messages.
        json_schema_extra={"pattern": "^/", "maxLength": paths.MAX_PATH_CHARS},
    )
    name: str | None = Field(None, max_length=MAX_NAME_CHARS)
    metadata: Metadata = Field(default_factory=dict)
    mcp_servers: McpServers | None = Field(
        None, description="MCP servers for the session's claude-code tasks that name none of their own."
    )


class CreateTaskBody(_Body):
    prompt: str = Field(min_length=1, description="Longer than the configured limit: 413.")
    title: str | None = Field(None, max_length=MAX_TITLE_CHARS)
    backend: Backend | None = None
    model: str | None = Field(None, min_length=1, max_length=MAX_MODEL_CHARS)
    system: Annotated[str, AfterValidator(at_most_bytes(MAX_SYSTEM_BYTES))] | None = Field(
        None, max_length=MAX_SYSTEM_BYTES
    )
    max_tokens: int | None = Field(None, ge=1, le=MAX_REPLY_TOKENS)
    limits: StrictLimits = Field(default_factory=StrictLimits)
    metadata: Metadata = Field(default_factory=dict)
    allowed_tools: ToolRules | None = Field(None, description=ALLOWED_TOOLS)
    disallowed_tools: ToolRules | None = Field(None, description=DISALLOWED_TOOLS)
    permission_mode: Permission | None = Field(None, description=PERMISSION_MODE)
    mcp_servers: McpServers | None = Field(None, description=MCP_SERVERS)
    workspace: WorkspaceKind | None = Field(None, description=WORKSPACE + " Absent or null: `project`.")

    def to_new_task(self) -> NewTask:
        fields = self.model_dump(exclude={"limits", *AGENT_FIELDS})
        options = {name: getattr(self, name) for name in AGENT_FIELDS if getattr(self, name) is not None}
        options["mcp_servers"] = servers(self.mcp_servers)
        return NewTask(**fields, limits=self.limits, agent=AgentOptions(**options))


class UpdateTaskBody(_Body):
    """Only `title` and `metadata` change; naming any other task field is refused field by field."""

    title: str | None = Field(None, max_length=MAX_TITLE_CHARS)
    metadata: Metadata | None = None
    session_id: Immutable
    task_id: Immutable
    owner: Immutable
    status: Immutable
    prompt: Immutable
    claude_session_id: Immutable

    def changes(self) -> dict[str, Any]:
        """The fields the caller sent, by name; `metadata: null` clears the metadata (to `{}`)."""
        sent = self.model_dump(include={"title", "metadata"}, exclude_unset=True)
        if "metadata" in sent and sent["metadata"] is None:
            sent["metadata"] = {}
        return sent


class FollowUpBody(_Body):
    prompt: str = Field(min_length=1, description="Longer than the configured limit: 413.")


class ForkBody(_Body):
    prompt: str | None = Field(None, min_length=1, description="Without one, the fork is `succeeded`, nothing pending.")
    # Not strict: Powertools validates the parsed body in Python mode, where a strict UUID takes no string.
    session_id: Annotated[UUID, Strict(False)] | None = Field(
        None, description="Another of the caller's sessions; default: the source's."
    )


class SessionView(Session):
    created_at: Timestamp
    updated_at: Timestamp
    mcp_servers: dict[str, McpServer] | None = Field(
        None, description=MASKED_MCP_SERVERS + " The session's claude-code tasks that name none get these."
    )

    @classmethod
    def of(cls, session: Session) -> Self:
        return cls.model_validate({**dict(session), "mcp_servers": masked(session.mcp_servers)})


class TaskView(Task):
    """A task, its Claude Code options flat as `CreateTaskBody` takes them (the record groups them in `agent`)."""

    status: Annotated[TaskStatus, WithJsonSchema({"type": "string", "enum": list(PUBLIC_TASK_STATUSES)})] = (
        TaskStatus.QUEUED
    )
    agent: SkipJsonSchema[AgentOptions] = Field(default_factory=AgentOptions, exclude=True)
    created_at: Timestamp
    updated_at: Timestamp
    allowed_tools: list[str] | None = Field(None, description=ALLOWED_TOOLS)
    disallowed_tools: list[str] | None = Field(None, description=DISALLOWED_TOOLS)
    permission_mode: PermissionMode | None = Field(None, description=PERMISSION_MODE)
    mcp_servers: dict[str, McpServer] | None = Field(None, description=MASKED_MCP_SERVERS)
    workspace: Workspace = Field(Workspace.PROJECT, description=WORKSPACE)

    @classmethod
    def of(cls, task: Task) -> Self:
        agent = task.agent
        return cls.model_validate(
            {
                **dict(task),
                **{name: getattr(agent, name) for name in AGENT_FIELDS},
                "mcp_servers": masked(agent.mcp_servers),
            }
        )


class InteractionView(Interaction):
    created_at: Timestamp

    @classmethod
    def of(cls, interaction: Interaction) -> Self:
        return cls.model_validate(interaction, from_attributes=True)


class SessionPage(Page[SessionView]):
    """One page of sessions; pass `next_cursor` back as `cursor` for the next."""

    @classmethod
    def of(cls, page: Page[Session]) -> Self:
        return cls(items=[SessionView.of(item) for item in page.items], next_cursor=page.next_cursor)


class TaskPage(Page[TaskView]):
    """One page of tasks; pass `next_cursor` back as `cursor` for the next."""

    @classmethod
    def of(cls, page: Page[Task]) -> Self:
        return cls(items=[TaskView.of(item) for item in page.items], next_cursor=page.next_cursor)


class InteractionPage(Page[InteractionView]):
    """One page of interactions in `seq` order; pass `next_cursor` back as `cursor` for the next."""

    @classmethod
    def of(cls, page: Page[Interaction]) -> Self:
        return cls(items=[InteractionView.of(item) for item in page.items], next_cursor=page.next_cursor)


class FieldError(BaseModel):
    model_config = ConfigDict(defer_build=True)

    location: Literal["body", "query", "path", "header", "cookie"]
    field: str = Field(description="Dotted path inside the location; empty for the whole body.")
    type: str
    detail: str


class Problem(BaseModel):
    """RFC 9457 problem details (`application/problem+json`)."""

    model_config = ConfigDict(defer_build=True)

    type: str = Field(description="A URI naming the kind of problem.")
    title: str
    status: int
    detail: str
    errors: list[FieldError] | None = Field(None, description="The invalid fields (validation errors only).")
    limit: str | None = Field(
        None,
        description="429 only: the quota that refused the request "
        "(`max_active_tasks`, `max_tasks_per_minute` or `monthly_spend_usd`).",
    )
    current: float | None = Field(None, description="429 only: the figure the quota counts, now.")
    allowed: float | None = Field(None, description="429 only: the quota's limit.")
    resets_at: str | None = Field(
        None, description="429 only: when the quota allows more (absent: when one of your active tasks ends)."
    )
