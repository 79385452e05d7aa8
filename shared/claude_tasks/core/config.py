"""The service's configuration: one typed object, read from the environment once.

Every default is the one a local run wants, so `make dev` and the tests need no
environment at all; in AWS, `template.yaml` sets each variable from its resources.
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from claude_tasks.core.usage import Quota

# Current Claude model ids on the Anthropic API (aliases and dated ids), newest families first. A Bedrock
# deployment names its own (inference profile ids) in CLAUDE_MODELS.
DEFAULT_MODELS = (
    "claude-opus-5-5",
    "claude-sonnet-5-5",
    "claude-haiku-5-5",
    "claude-fable-5-1",
    "claude-mythos-5-1",
    "claude-opus-5",
    "claude-sonnet-5",
    "claude-fable-5",
    "claude-mythos-5",
    "claude-opus-4-8",
    "claude-opus-4-7",
    "claude-opus-4-6",
    "claude-sonnet-4-6",
    "claude-opus-4-5",
    "claude-opus-4-5-20251101",
    "claude-sonnet-4-5",
    "claude-sonnet-4-5-20250929",
    "claude-haiku-4-5",
    "claude-haiku-4-5-20251001",
)


class Settings(BaseModel):
    """Everything the functions read from their environment, and nothing else does.

    `Settings(**values)` takes each field from `values` (by name or variable name), else from the
    environment variable named by its alias, else its default — pydantic-settings' order, without
    pydantic-settings: importing it (with asyncio, argparse and dotenv) cost every cold start ~40 ms
    for fields that are all plain strings, numbers and booleans, which pydantic parses from text itself.
    """

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    region: str = Field("us-east-1", validation_alias="AWS_REGION")
    aws_endpoint_url: str | None = Field(None, validation_alias="AWS_ENDPOINT_URL")

    sessions_table: str = Field("claude-tasks-sessions", validation_alias="SESSIONS_TABLE")
    tasks_table: str = Field("claude-tasks-tasks", validation_alias="TASKS_TABLE")
    interactions_table: str = Field("claude-tasks-interactions", validation_alias="INTERACTIONS_TABLE")
    claude_sessions_table: str = Field("claude-tasks-claude-sessions", validation_alias="CLAUDE_SESSIONS_TABLE")
    transcripts_table: str = Field("claude-tasks-transcripts", validation_alias="TRANSCRIPTS_TABLE")
    # Owners' usage totals, quota counters and per-owner quota overrides (store/usage.py).
    usage_table: str = Field("claude-tasks-usage", validation_alias="USAGE_TABLE")
    audit_table: str = Field("claude-tasks-audit", validation_alias="AUDIT_TABLE")
    task_queue_url: str = Field("", validation_alias="TASK_QUEUE_URL")
    dlq_url: str = Field("", validation_alias="DLQ_URL")
    # Where claude-code tasks run, when not on the task queue (in AWS, the container worker's own queue).
    # The worker whose TASK_QUEUE_URL is this queue runs them; any other hands them over to it.
    claude_code_queue_url: str = Field("", validation_alias="CLAUDE_CODE_QUEUE_URL")
    # Its dead-letter queue, which the API lists and redrives next to DLQ_URL's (only the API reads it).
    claude_code_dlq_url: str = Field("", validation_alias="CLAUDE_CODE_DLQ_URL")
    content_bucket: str = Field("claude-tasks-content", validation_alias="CONTENT_BUCKET")
    # Task events: the bus they are published on and their `source` (the service's name); the queues a
    # `task.create` may name as `reply_to` start with this prefix (empty: none may be named).
    event_bus_name: str = Field("claude-tasks-events", validation_alias="EVENT_BUS_NAME")
    event_source: str = Field("claude-task-server", validation_alias="POWERTOOLS_SERVICE_NAME")
    reply_queue_prefix: str = Field("claude-tasks-reply-", validation_alias="REPLY_QUEUE_PREFIX")

    # DynamoDB client timeouts: PynamoDB's own defaults (15 s connect, 30 s read)
    # would outlive an API Lambda's timeout.
    db_connect_timeout_s: float = Field(2.0, validation_alias="DB_CONNECT_TIMEOUT_S")
    db_read_timeout_s: float = Field(5.0, validation_alias="DB_READ_TIMEOUT_S")
    db_max_retries: int = Field(3, validation_alias="DB_MAX_RETRIES")

    claude_backend: str = Field("offline", validation_alias="CLAUDE_BACKEND")
    claude_model: str = Field("claude-sonnet-4-6", validation_alias="CLAUDE_MODEL")
    claude_max_tokens: int = Field(4096, validation_alias="CLAUDE_MAX_TOKENS")
    claude_timeout_s: float = Field(120.0, validation_alias="CLAUDE_TIMEOUT_S")
    anthropic_base_url: str | None = Field(None, validation_alias="ANTHROPIC_BASE_URL")
    anthropic_secret_id: str = Field("claude-tasks/anthropic-api-key", validation_alias="ANTHROPIC_SECRET_ID")
    # What this deployment can run: a task naming anything else is refused at the API (422), not failed later.
    enabled_backends: str = Field("anthropic,bedrock,offline", validation_alias="ENABLED_BACKENDS")
    # False when no Anthropic API key was configured: `anthropic` tasks are refused with how to configure one.
    anthropic_key_configured: bool = Field(True, validation_alias="ANTHROPIC_KEY_CONFIGURED")
    # Claude Code's `bypassPermissions` runs every tool without asking: refused (422) unless an operator allows it.
    allow_bypass_permissions: bool = Field(False, validation_alias="ALLOW_BYPASS_PERMISSIONS")
    # Comma-separated model ids a task may name; unset: DEFAULT_MODELS.
    allowed_models: str | None = Field(None, validation_alias="CLAUDE_MODELS")
    # The HMAC key that signs pagination cursors (the template's generated secret; the local stack's own).
    cursor_secret: str = Field("local-cursor-key", validation_alias="CURSOR_SECRET")

    # Spans of Claude calls and DynamoDB transactions through OpenTelemetry (claude_tasks.core.tracing).
    # Off: the OpenTelemetry API is never imported. The template sets it with its `Tracing` parameter.
    tracing_enabled: bool = Field(False, validation_alias="TRACING_ENABLED")

    max_prompt_chars: int = Field(100_000, validation_alias="MAX_PROMPT_CHARS")
    project_root: str | None = Field(None, validation_alias="PROJECT_ROOT")
    # Where the Claude Code worker finds projects (in AWS, its EFS mount): a session's project is then
    # `<mount>/<owner>/<project_path>`, so no owner reaches another's files. Unset: the path as it is.
    projects_mount: str | None = Field(None, validation_alias="PROJECTS_MOUNT")
    admin_principals: str = Field("", validation_alias="ADMIN_PRINCIPALS")
    orphan_retention_hours: float = Field(24.0, validation_alias="ORPHAN_RETENTION_HOURS")
    requeue_after_s: int = Field(300, validation_alias="REQUEUE_AFTER_S")
    lease_seconds: int = Field(900, validation_alias="LEASE_SECONDS")
    max_receive_count: int = Field(5, validation_alias="MAX_RECEIVE_COUNT")
    # The longest a worker holds back a message it reports failed (a task.create over its owner's quota
    # waits the quota's Retry-After, not the whole visibility timeout): at most the queue's own
    # VisibilityTimeout (TaskQueue 900 s, ClaudeCodeQueue 5400 s), so no wait is longer than SQS's would be.
    max_hold_s: int = Field(900, ge=1, validation_alias="MAX_HOLD_S")
    inline_content_limit: int = Field(200_000, validation_alias="INLINE_CONTENT_LIMIT")
    # Partitions of each sparse index the janitor reads (active tasks, idle sessions): no hot key.
    active_shards: int = Field(16, validation_alias="ACTIVE_SHARDS")
    # The janitor's full consistency check: items per scan page (0 = DynamoDB's 1 MB pages), the
    # parallel scan's segments per table, and the seconds one invocation spends on it before saving
    # its progress for the next. The defaults suit the local stack, whose emulator serves one request
    # at a time: short pages and a short budget never hold every other call for long; the template
    # sets AWS's own.
    audit_page_size: int = Field(0, ge=0, validation_alias="AUDIT_PAGE_SIZE")
    audit_segments: int = Field(1, ge=1, le=64, validation_alias="AUDIT_SEGMENTS")
    audit_budget_s: float = Field(1.0, gt=0, validation_alias="AUDIT_BUDGET_S")

    @model_validator(mode="before")
    @classmethod
    def _from_environment(cls, values: Any) -> Any:
        if not isinstance(values, dict):
            return values
        given = set(values)
        found = {
            name: os.environ[str(field.validation_alias)]
            for name, field in cls.model_fields.items()
            if str(field.validation_alias) in os.environ and not {name, field.validation_alias} & given
        }
        return {**found, **values}

    # Per-owner quotas, the deployment's defaults (0 = no limit); an owner's item in the usage table
    # overrides any of them. Over one, the API answers 429 and a `task.create` message waits.
    quota_max_active_tasks: int = Field(0, ge=0, validation_alias="QUOTA_MAX_ACTIVE_TASKS")
    quota_max_tasks_per_minute: int = Field(0, ge=0, validation_alias="QUOTA_MAX_TASKS_PER_MINUTE")
    quota_monthly_spend_usd: float = Field(0.0, ge=0, validation_alias="QUOTA_MONTHLY_SPEND_USD")

    @field_validator(
        "aws_endpoint_url", "anthropic_base_url", "project_root", "projects_mount", "allowed_models", mode="before"
    )
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # CloudFormation cannot omit a variable conditionally; an empty parameter means "not set".
        return None if value == "" else value

    @property
    def backends(self) -> frozenset[str]:
        """The Claude backends this deployment offers."""
        return frozenset(b.strip().lower() for b in self.enabled_backends.split(",") if b.strip())

    @property
    def models(self) -> tuple[str, ...]:
        """The model ids a task may name."""
        if self.allowed_models is None:
            return DEFAULT_MODELS
        return tuple(m.strip() for m in self.allowed_models.split(",") if m.strip())

    @property
    def quota(self) -> Quota:
        """The deployment's default quota (a 0 setting is no limit)."""
        return Quota(
            max_active_tasks=self.quota_max_active_tasks or None,
            max_tasks_per_minute=self.quota_max_tasks_per_minute or None,
            monthly_spend_usd=self.quota_monthly_spend_usd or None,
        )

    @property
    def admins(self) -> frozenset[str]:
        """The principals allowed to read the consistency report."""
        return frozenset(p.strip() for p in self.admin_principals.split(",") if p.strip())


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read from the environment on first use."""
    return Settings()
