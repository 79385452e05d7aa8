"""Conversions between PynamoDB items and the domain's records."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from claude_tasks.core.records import (
    AgentOptions,
    Interaction,
    McpServer,
    Role,
    Session,
    SessionStatus,
    Task,
    TaskLimits,
    TaskStatus,
    Usage,
    UsageTotals,
    Worktree,
)
from claude_tasks.store.models import COUNTED, InteractionModel, SessionModel, TaskModel, Totals, count_attribute


def _usage(item: TaskModel | InteractionModel) -> Usage:
    return Usage(
        input_tokens=int(item.input_tokens or 0),
        output_tokens=int(item.output_tokens or 0),
        cache_creation_input_tokens=int(item.cache_creation_input_tokens or 0),
        cache_read_input_tokens=int(item.cache_read_input_tokens or 0),
    )


def _dict(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, dict) else {}


def session_record(item: SessionModel) -> Session:
    return Session(
        session_id=item.session_id,
        owner=item.owner,
        project_path=item.project_path,
        name=item.name,
        status=SessionStatus(item.status),
        task_count=int(item.task_count),
        metadata=_dict(item.metadata),
        created_at=item.created_at,
        updated_at=item.updated_at,
        mcp_servers=_servers(item.mcp_servers),
        usage=totals(item),
    )


def _servers(value: Any) -> dict[str, McpServer] | None:
    return {name: McpServer(**server) for name, server in value.items()} if isinstance(value, dict) else None


def task_record(item: TaskModel) -> Task:
    return Task(
        task_id=item.task_id,
        session_id=item.session_id,
        owner=item.owner,
        prompt=item.prompt,
        title=item.title,
        status=TaskStatus(item.status),
        backend=item.backend,
        model=item.model,
        system=item.system,
        max_tokens=None if item.max_tokens is None else int(item.max_tokens),
        claude_session_id=item.claude_session_id,
        interaction_count=int(item.interaction_count),
        turns=int(item.turns or 0),
        pending_prompts=list(item.pending_prompts or []),
        limits=TaskLimits(**_dict(item.limits)),
        usage=_usage(item),
        cost_usd=float(item.cost_usd or 0),
        error=item.error,
        forked_from=item.forked_from,
        agent=AgentOptions(**_dict(item.agent)),
        worktree=Worktree(**item.worktree) if isinstance(item.worktree, dict) else None,
        metadata=_dict(item.metadata),
        created_at=item.created_at,
        updated_at=item.updated_at,
        version=int(item.version or 0),
        attempts=int(item.attempts or 0),
        run_turns=int(item.run_turns or 0),
        run_tokens=int(item.run_tokens or 0),
        run_cost_usd=float(item.run_cost_usd or 0),
        lease_id=item.lease_id,
        lease_expires_at=item.lease_expires_at,
        request_fingerprint=item.request_fingerprint,
        prompt_started=bool(item.prompt_started),
        idempotency_key=item.idempotency_key,
        reply_to=item.reply_to,
    )


def task_from_image(image: Mapping[str, Any]) -> Task:
    """The task in a DynamoDB stream record's image (`NewImage` or `OldImage`, in DynamoDB's JSON)."""
    return task_record(TaskModel.from_raw_data(dict(image)))


def interaction_record(item: InteractionModel, content: str | None = None) -> Interaction:
    return Interaction(
        task_id=item.task_id,
        seq=int(item.seq),
        session_id=item.session_id,
        role=Role(item.role),
        content=content if content is not None else (item.content or ""),
        usage=_usage(item),
        cost_usd=float(item.cost_usd or 0),
        duration_ms=None if item.duration_ms is None else int(item.duration_ms),
        stop_reason=item.stop_reason,
        model=item.model,
        tool_name=item.tool_name,
        tool_use_id=item.tool_use_id,
        created_at=item.created_at,
        content_ref=item.content_ref,
    )


def totals(item: Totals | None) -> UsageTotals:
    """The totals an item holds (zeros for an item never written)."""
    if item is None:
        return UsageTotals(tasks={status.value: 0 for status in COUNTED})
    tasks = {status.value: int(getattr(item, count_attribute(status)) or 0) for status in COUNTED}
    return UsageTotals(
        usage=Usage(
            input_tokens=int(item.input_tokens or 0),
            output_tokens=int(item.output_tokens or 0),
            cache_creation_input_tokens=int(item.cache_creation_input_tokens or 0),
            cache_read_input_tokens=int(item.cache_read_input_tokens or 0),
        ),
        cost_usd=float(item.cost_usd or 0),
        turns=int(item.turns or 0),
        tasks=tasks,
        prices=sorted(item.prices or ()),
    )
