"""Read tables directly (around the repository) so tests assert what is really stored."""

from __future__ import annotations

from claude_tasks.store.models import ClaudeSessionClaim, InteractionModel, SessionModel, TaskModel


def counts() -> dict[str, int]:
    """How many items each table holds."""
    return {
        "sessions": sum(1 for _ in SessionModel.scan()),
        "tasks": sum(1 for _ in TaskModel.scan()),
        "interactions": sum(1 for _ in InteractionModel.scan()),
        "claims": sum(1 for _ in ClaudeSessionClaim.scan()),
    }


def task_count(session_id: str) -> int:
    return int(SessionModel.get(session_id, consistent_read=True).task_count)
