"""PynamoDB models: the schema of the seven tables, declared once.

`template.yaml` declares the same keys and indexes for CloudFormation; a test
holds the two together. Table names, region, endpoint and timeouts come from
`Settings` through `bind`, so the same models serve moto in-process, moto
server over HTTP and DynamoDB in AWS.
"""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import (
    BinaryAttribute,
    BooleanAttribute,
    JSONAttribute,
    ListAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    VersionAttribute,
)
from pynamodb.connection import Connection
from pynamodb.constants import PAY_PER_REQUEST_BILLING_MODE
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from claude_tasks.core.config import Settings
from claude_tasks.core.records import TaskStatus
from claude_tasks.store.service_model import share_one_loader

SESSIONS_BY_OWNER = "by-owner"
TASKS_BY_SESSION = "by-session"
TASKS_BY_ACTIVE_SHARD = "by-active-shard"
TASKS_BY_OWNER = "by-owner"
SESSIONS_BY_IDLE_SHARD = "by-idle-shard"


class _Meta:
    billing_mode = PAY_PER_REQUEST_BILLING_MODE
    region = "us-east-1"
    host: str | None = None
    connect_timeout_seconds = 2.0
    read_timeout_seconds = 5.0
    max_retry_attempts = 3


class SessionsByOwner(GlobalSecondaryIndex["SessionModel"]):
    class Meta:
        index_name = SESSIONS_BY_OWNER
        projection = AllProjection()

    owner = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


# The statuses counted (`Totals.tasks_*`); `deleting` is not: a task marked for deletion has left its count.
# Here with the attributes, not in `tally` (the writes): reading a count needs none of the writing parts.
COUNTED = (
    TaskStatus.QUEUED,
    TaskStatus.RUNNING,
    TaskStatus.SUCCEEDED,
    TaskStatus.FAILED,
    TaskStatus.EXHAUSTED,
    TaskStatus.CANCELLED,
)


def count_attribute(status: TaskStatus) -> str:
    """The `Totals` attribute that counts the tasks in `status`."""
    return f"tasks_{status.value}"


class Totals:
    """Usage totals and tasks by status, on a session item and on an owner's usage items.

    Every attribute is only ever `ADD`ed to, in the transaction of the write it counts.
    """

    input_tokens = NumberAttribute(null=True)
    output_tokens = NumberAttribute(null=True)
    cache_creation_input_tokens = NumberAttribute(null=True)
    cache_read_input_tokens = NumberAttribute(null=True)
    cost_usd = NumberAttribute(null=True)
    turns = NumberAttribute(null=True)
    # The price tables the cost was computed with (`claude_tasks.claude.pricing.PRICES.version`).
    prices = UnicodeSetAttribute(null=True)
    tasks_queued = NumberAttribute(null=True)
    tasks_running = NumberAttribute(null=True)
    tasks_succeeded = NumberAttribute(null=True)
    tasks_failed = NumberAttribute(null=True)
    tasks_exhausted = NumberAttribute(null=True)
    tasks_cancelled = NumberAttribute(null=True)


class SessionsByIdleShard(GlobalSecondaryIndex["SessionModel"]):
    """Sparse: only sessions with no tasks carry `idle_shard` (`idle#0`..`idle#N-1`): the janitor's orphans."""

    class Meta:
        index_name = SESSIONS_BY_IDLE_SHARD
        projection = AllProjection()

    idle_shard = UnicodeAttribute(hash_key=True)
    updated_at = UnicodeAttribute(range_key=True)


class SessionModel(Totals, Model):
    class Meta(_Meta):
        table_name = "claude-tasks-sessions"

    session_id = UnicodeAttribute(hash_key=True)
    owner = UnicodeAttribute()
    project_path = UnicodeAttribute()
    name = UnicodeAttribute(null=True)
    status = UnicodeAttribute(default="active")
    task_count = NumberAttribute(default=0)
    metadata = JSONAttribute(null=True)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    # The id of the write that last put or updated the item: lets a retry recognise its own commit.
    write_id = UnicodeAttribute(null=True)
    # SHA-256 of the creating request (with an Idempotency-Key): a replay with another body is refused.
    request_fingerprint = UnicodeAttribute(null=True)
    # The MCP servers the session's claude-code tasks get when they name none (`McpServer` by name).
    mcp_servers = JSONAttribute(null=True)
    # Set exactly while `task_count` is 0, by the same transactions that move the counter.
    idle_shard = UnicodeAttribute(null=True)
    by_owner = SessionsByOwner()
    by_idle_shard = SessionsByIdleShard()


class TasksBySession(GlobalSecondaryIndex["TaskModel"]):
    class Meta:
        index_name = TASKS_BY_SESSION
        projection = AllProjection()

    session_id = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class TasksByOwner(GlobalSecondaryIndex["TaskModel"]):
    """`GET /tasks`: one owner's tasks across their sessions, by creation time."""

    class Meta:
        index_name = TASKS_BY_OWNER
        projection = AllProjection()

    owner = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class TasksByActiveShard(GlobalSecondaryIndex["TaskModel"]):
    """Sparse: only queued and running tasks carry `active_shard` (`active#0`..`active#N-1`)."""

    class Meta:
        index_name = TASKS_BY_ACTIVE_SHARD
        projection = AllProjection()

    active_shard = UnicodeAttribute(hash_key=True)
    updated_at = UnicodeAttribute(range_key=True)


class TaskModel(Model):
    class Meta(_Meta):
        table_name = "claude-tasks-tasks"

    task_id = UnicodeAttribute(hash_key=True)
    session_id = UnicodeAttribute()
    owner = UnicodeAttribute()
    prompt = UnicodeAttribute()
    title = UnicodeAttribute(null=True)
    status = UnicodeAttribute(default="queued")
    backend = UnicodeAttribute(null=True)
    model = UnicodeAttribute(null=True)
    system = UnicodeAttribute(null=True)
    max_tokens = NumberAttribute(null=True)
    claude_session_id = UnicodeAttribute(null=True)
    interaction_count = NumberAttribute(default=0)
    turns = NumberAttribute(default=0)
    pending_prompts = ListAttribute(of=UnicodeAttribute, default=list)
    limits = JSONAttribute(null=True)
    input_tokens = NumberAttribute(default=0)
    output_tokens = NumberAttribute(default=0)
    cache_creation_input_tokens = NumberAttribute(default=0)
    cache_read_input_tokens = NumberAttribute(default=0)
    cost_usd = NumberAttribute(default=0)
    error = UnicodeAttribute(null=True)
    forked_from = UnicodeAttribute(null=True)
    agent = JSONAttribute(null=True)
    worktree = JSONAttribute(null=True)
    metadata = JSONAttribute(null=True)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    prompt_started = BooleanAttribute(null=True)
    attempts = NumberAttribute(default=0)
    run_turns = NumberAttribute(default=0)
    run_tokens = NumberAttribute(default=0)
    run_cost_usd = NumberAttribute(default=0)
    lease_id = UnicodeAttribute(null=True)
    lease_expires_at = UnicodeAttribute(null=True)
    active_shard = UnicodeAttribute(null=True)
    idempotency_key = UnicodeAttribute(null=True)
    # SHA-256 of the creating request (task, fork or task.create): a replay with another body is refused.
    request_fingerprint = UnicodeAttribute(null=True)
    # The SQS queue a `task.create` named for the task's terminal events (checked against the allowed prefix).
    reply_to = UnicodeAttribute(null=True)
    version = VersionAttribute()
    # The id of the transaction that last wrote the item: lets a retry recognise its own commit.
    write_id = UnicodeAttribute(null=True)
    by_session = TasksBySession()
    by_owner = TasksByOwner()
    by_active_shard = TasksByActiveShard()


class InteractionModel(Model):
    class Meta(_Meta):
        table_name = "claude-tasks-interactions"

    task_id = UnicodeAttribute(hash_key=True)
    seq = NumberAttribute(range_key=True)
    session_id = UnicodeAttribute()
    owner = UnicodeAttribute()
    role = UnicodeAttribute()
    content = UnicodeAttribute(null=True)
    content_ref = UnicodeAttribute(null=True)
    input_tokens = NumberAttribute(default=0)
    output_tokens = NumberAttribute(default=0)
    cache_creation_input_tokens = NumberAttribute(default=0)
    cache_read_input_tokens = NumberAttribute(default=0)
    cost_usd = NumberAttribute(default=0)
    duration_ms = NumberAttribute(null=True)
    stop_reason = UnicodeAttribute(null=True)
    model = UnicodeAttribute(null=True)
    tool_name = UnicodeAttribute(null=True)
    tool_use_id = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()


class ClaudeSessionClaim(Model):
    """Uniqueness claim: the item keyed by a `claude_session_id` names the one task that holds it.

    Claims are never deleted, only marked retired, so a retired id is never handed out again.
    """

    class Meta(_Meta):
        table_name = "claude-tasks-claude-sessions"

    claude_session_id = UnicodeAttribute(hash_key=True)
    task_id = UnicodeAttribute()
    session_id = UnicodeAttribute()
    owner = UnicodeAttribute()
    claimed_at = UnicodeAttribute()
    retired_at = UnicodeAttribute(null=True)


class TranscriptItem(Model):
    """One item of a Claude Code session transcript (store/transcripts.py lays the items out).

    The partition is one owner's Claude session; `position` says what the item is: a stream's
    head (its next sequence number), an entry (in append order), the claim of an entry's `uuid`,
    or one part of an entry too large for a single item.
    """

    class Meta(_Meta):
        table_name = "claude-tasks-transcripts"

    transcript = UnicodeAttribute(hash_key=True)
    position = UnicodeAttribute(range_key=True)
    body = BinaryAttribute(legacy_encoding=False, null=True)
    blob = UnicodeAttribute(null=True)
    parts = NumberAttribute(null=True)
    next_seq = NumberAttribute(null=True)
    updated_at = UnicodeAttribute(null=True)
    write_id = UnicodeAttribute(null=True)


class UsageModel(Totals, Model):
    """An owner's usage in one period (`total`, `day#…`, `month#…`), their creation counter in one
    minute (`minute#…`), or their quota overrides (`quota`): see core/usage.py."""

    class Meta(_Meta):
        table_name = "claude-tasks-usage"

    owner = UnicodeAttribute(hash_key=True)
    period = UnicodeAttribute(range_key=True)
    # On `total`: tasks queued or running now, the figure the active-tasks quota's condition reads.
    active = NumberAttribute(null=True)
    # On `minute#…`: tasks created in that minute.
    created = NumberAttribute(null=True)
    # On `quota`: the owner's overrides of the deployment's quota (absent: the default; 0: no limit).
    max_active_tasks = NumberAttribute(null=True)
    max_tasks_per_minute = NumberAttribute(null=True)
    monthly_spend_usd = NumberAttribute(null=True)
    updated_at = UnicodeAttribute(null=True)
    expires_at = TTLAttribute(null=True)
    # The id of the transaction that last wrote the item (store/transaction.py stamps it on every tally):
    # the owner recount's write is conditioned on `total`'s being unchanged since it counted.
    write_id = UnicodeAttribute(null=True)


class DeadLetterReason(Model):
    """Why the worker gave up on a queue message: what the DLQ's copy of it cannot carry.

    Kept in the Transcripts table, in one partition of its own (`DEAD_LETTERS`, which no
    transcript partition can be: theirs always hold a `#`), keyed by the SQS message id;
    store/dead_letters.py says why there. DynamoDB's TTL drops it once `expires_at` passed.
    """

    class Meta(_Meta):
        table_name = "claude-tasks-transcripts"

    transcript = UnicodeAttribute(hash_key=True)
    position = UnicodeAttribute(range_key=True)  # the message id
    reason = UnicodeAttribute()
    failure = UnicodeAttribute()  # how the worker answered: MessageRejected, GaveUp, RetryLater, or an exception's type
    receive_count = NumberAttribute()
    failed_at = UnicodeAttribute()
    expires_at = TTLAttribute()


class AuditRecord(Model):
    """The janitor's full consistency check: `progress` while one runs, `report` once one completed.

    `body` is the JSON of `audit_progress.Progress` or of the report; `version` keeps two
    janitor invocations from both saving the same progress.
    """

    class Meta(_Meta):
        table_name = "claude-tasks-audit"

    name = UnicodeAttribute(hash_key=True)
    body = JSONAttribute()
    updated_at = UnicodeAttribute()
    version = VersionAttribute()


ALL_MODELS: tuple[type[Model], ...] = (
    SessionModel,
    TaskModel,
    InteractionModel,
    ClaudeSessionClaim,
    TranscriptItem,
    UsageModel,
    AuditRecord,
)


def _table_names(settings: Settings) -> dict[type[Model], str]:
    return {
        SessionModel: settings.sessions_table,
        TaskModel: settings.tasks_table,
        InteractionModel: settings.interactions_table,
        ClaudeSessionClaim: settings.claude_sessions_table,
        TranscriptItem: settings.transcripts_table,
        UsageModel: settings.usage_table,
        DeadLetterReason: settings.transcripts_table,
        AuditRecord: settings.audit_table,
    }


def bind(settings: Settings) -> Connection:
    """Point every model at the tables, region and endpoint of `settings`; return a transaction connection.

    PynamoDB keeps configuration on each model's `Meta` and caches a connection
    per model, so rebinding also drops the cached connections. Their botocore sessions share one loader.
    """
    share_one_loader()
    for model, table_name in _table_names(settings).items():
        meta: Any = model.Meta
        meta.table_name = table_name
        meta.region = settings.region
        meta.host = settings.aws_endpoint_url
        meta.connect_timeout_seconds = settings.db_connect_timeout_s
        meta.read_timeout_seconds = settings.db_read_timeout_s
        meta.max_retry_attempts = settings.db_max_retries
        model._connection = None
    return Connection(
        region=settings.region,
        host=settings.aws_endpoint_url,
        connect_timeout_seconds=settings.db_connect_timeout_s,
        read_timeout_seconds=settings.db_read_timeout_s,
        max_retry_attempts=settings.db_max_retries,
    )
