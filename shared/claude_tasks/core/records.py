"""The domain's records: what the repository returns and the edges serialise.

Fields marked `exclude=True` are bookkeeping the service needs (lease, version)
but a caller never sees.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator


class SessionStatus(StrEnum):
    ACTIVE = "active"
    DELETING = "deleting"


class TaskStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    EXHAUSTED = "exhausted"
    # Internal: the task's interactions are being removed; readers treat it as gone.
    DELETING = "deleting"


class Role(StrEnum):
    USER = "user"
    ASSISTANT = "assistant"
    TOOL = "tool"
    SYSTEM = "system"
    ERROR = "error"


class Record(BaseModel):
    # defer_build: a model's validator is built on its first use, not at import (`make bench`, cold import).
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)


class Workspace(StrEnum):
    """Where a Claude Code task works: the session's project itself, or its own git worktree of it."""

    PROJECT = "project"
    WORKTREE = "worktree"


class PermissionMode(StrEnum):
    """Claude Code's permission modes a task may ask for (`bypassPermissions` only where the deployment allows it)."""

    DEFAULT = "default"
    ACCEPT_EDITS = "acceptEdits"
    PLAN = "plan"
    DONT_ASK = "dontAsk"
    BYPASS_PERMISSIONS = "bypassPermissions"


class McpServer(Record):
    """An MCP server Claude Code may use: a local command (`stdio`) or a remote one (`http`, `sse`)."""

    type: Literal["stdio", "http", "sse"] = "stdio"
    command: str | None = Field(None, min_length=1, max_length=1024)
    args: list[str] = Field(default_factory=list, max_length=64)
    env: dict[str, str] = Field(default_factory=dict)
    url: str | None = Field(None, min_length=1, max_length=2048)
    headers: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _complete(self) -> McpServer:
        if self.type == "stdio" and (self.command is None or self.url is not None):
            raise ValueError("a stdio MCP server needs `command` (and no `url`)")
        if self.type != "stdio" and (self.url is None or self.command is not None):
            raise ValueError(f"an {self.type} MCP server needs `url` (and no `command`)")
        return self


class AgentOptions(Record):
    """How a Claude Code task may work; every field is ignored by the chat backends."""

    allowed_tools: list[str] | None = None
    disallowed_tools: list[str] | None = None
    permission_mode: PermissionMode | None = None
    mcp_servers: dict[str, McpServer] | None = None
    workspace: Workspace = Workspace.PROJECT


class Worktree(Record):
    """The git worktree a `workspace: worktree` task runs in, made on its first run."""

    path: str
    branch: str


class Usage(Record):
    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens + self.cache_creation_input_tokens + self.cache_read_input_tokens


class TaskLimits(Record):
    max_turns: int | None = Field(None, ge=1, le=1000)
    max_tokens: int | None = Field(None, ge=1)
    max_budget_usd: float | None = Field(None, gt=0)


class UsageTotals(Record):
    """What a session's or an owner's tasks spent, and how many of them are in each status.

    Kept by the writes themselves (a turn's transaction adds its tokens and cost; a status change
    moves a task from one count to another), never by a scan. `prices` names the price tables the
    cost was computed with (`claude_tasks.claude.pricing`), so a total says which prices it used.
    """

    usage: Usage = Field(default_factory=Usage)
    cost_usd: float = 0.0
    turns: int = 0
    tasks: dict[str, int] = Field(
        default_factory=dict, description="Tasks by status (queued, running, succeeded, failed, exhausted, cancelled)."
    )
    prices: list[str] = Field(default_factory=list, description="The price tables the cost was computed with.")


class Session(Record):
    session_id: str
    owner: str
    project_path: str
    name: str | None = None
    status: SessionStatus = SessionStatus.ACTIVE
    task_count: int = 0
    metadata: dict[str, Any] = Field(default_factory=dict)
    created_at: str
    updated_at: str
    # Defaults for the session's claude-code tasks: one created without `mcp_servers` takes these.
    mcp_servers: dict[str, McpServer] | None = None
    usage: UsageTotals = Field(default_factory=UsageTotals)


class Task(Record):
    task_id: str
    session_id: str
    owner: str
    prompt: str
    title: str | None = None
    status: TaskStatus = TaskStatus.QUEUED
    backend: str | None = None
    model: str | None = None
    system: str | None = None
    max_tokens: int | None = None
    claude_session_id: str | None = None
    interaction_count: int = Field(0, description="The interactions recorded, numbered by seq 1..n.")
    turns: int = Field(
        0, description="Prompts answered: a prompt and its reply are one turn, however many interactions it took."
    )
    pending_prompts: list[str] = Field(default_factory=list)
    limits: TaskLimits = Field(default_factory=TaskLimits)
    usage: Usage = Field(default_factory=Usage)
    cost_usd: float = 0.0
    error: str | None = None
    forked_from: str | None = None
    agent: AgentOptions = Field(default_factory=AgentOptions)
    worktree: Worktree | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    created_at: str
    updated_at: str
    version: int = Field(0, exclude=True)
    # The head pending prompt's run has begun (its user turn is recorded): a later run continues it.
    prompt_started: bool = Field(False, exclude=True)
    attempts: int = Field(0, exclude=True)
    run_turns: int = Field(0, exclude=True)
    run_tokens: int = Field(0, exclude=True)
    run_cost_usd: float = Field(0.0, exclude=True)
    lease_id: str | None = Field(None, exclude=True)
    lease_expires_at: str | None = Field(None, exclude=True)
    request_fingerprint: str | None = Field(None, exclude=True)
    # For the task's events: the key it was created with, and where its terminal events also go.
    idempotency_key: str | None = Field(None, exclude=True)
    reply_to: str | None = Field(None, exclude=True)


class Interaction(Record):
    task_id: str
    seq: int
    session_id: str
    role: Role
    content: str
    usage: Usage = Field(default_factory=Usage)
    cost_usd: float = 0.0
    duration_ms: int | None = None
    stop_reason: str | None = None
    model: str | None = None
    # A `tool` turn's tool, and the id pairing its use (`stop_reason: tool_use`, content: the input as
    # JSON) with its result (`tool_result` or `tool_error`, content: the output).
    tool_name: str | None = None
    tool_use_id: str | None = None
    created_at: str
    content_ref: str | None = Field(None, exclude=True)


class NewInteraction(Record):
    """An interaction about to be appended: the repository assigns `seq` and `created_at`."""

    role: Role
    content: str
    usage: Usage = Field(default_factory=Usage)
    cost_usd: float = 0.0
    duration_ms: int | None = None
    stop_reason: str | None = None
    model: str | None = None
    tool_name: str | None = None
    tool_use_id: str | None = None
    content_ref: str | None = None


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of a list; `next_cursor` is opaque and absent on the last page."""

    model_config = ConfigDict(defer_build=True)

    items: list[T]
    next_cursor: str | None = None


class NewTask(Record):
    """What a caller asks for when creating a task; the repository adds ids, status and timestamps."""

    prompt: str
    title: str | None = None
    backend: str | None = None
    model: str | None = None
    system: str | None = None
    max_tokens: int | None = None
    limits: TaskLimits = Field(default_factory=TaskLimits)
    agent: AgentOptions = Field(default_factory=AgentOptions)
    metadata: dict[str, Any] = Field(default_factory=dict)
