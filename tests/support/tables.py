"""Read tables directly (around the repository) so tests assert what is really stored."""

from __future__ import annotations

from collections import Counter

from claude_tasks.store.models import ClaudeSessionClaim, InteractionModel, SessionModel, TaskModel
from claude_tasks.store.tally import COUNTED


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


def tasks_by_status(owner: str) -> dict[str, int]:
    """The owner's tasks in each counted status, as a scan finds them: what the owner's `total` item must count."""
    found = Counter(item.status for item in TaskModel.scan(TaskModel.owner == owner))
    return {status.value: found[status.value] for status in COUNTED}
