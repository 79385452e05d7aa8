"""Confirm the audit's suspects with consistent reads, so a figure that moved during the scans is no violation.

The audit scans the tables one after another; under traffic a turn appended or a
task created between two scans looks like a broken invariant. Every write that
keeps an invariant is one transaction, so each suspect is re-read — `GetItem`
and base-table `Query` with `ConsistentRead` — and its figures recounted. A
counter that differs from what the scan saw, or changes while it is recounted,
moved: that suspect is dropped (a real fault stays, and a quieter audit reports it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from claude_tasks.core.errors import SessionNotFound
from claude_tasks.core.records import TaskStatus
from claude_tasks.store import counters
from claude_tasks.store.models import ClaudeSessionClaim, InteractionModel, SessionModel, TaskModel

M = TypeVar("M", SessionModel, TaskModel, InteractionModel, ClaudeSessionClaim)
F = TypeVar("F")
C = TypeVar("C")
# Recounts of one suspect before it is given up as moving: enough for a burst of turns, and bounded.
ATTEMPTS = 3


def fresh(model: type[M], hash_key: str, range_key: Any = None) -> M | None:
    """The item as it is now (a strongly consistent `GetItem`), or None when it does not exist."""
    try:
        return model.get(hash_key, range_key, consistent_read=True)
    except model.DoesNotExist:
        return None


def stable(read: Callable[[], F], recount: Callable[[], C]) -> tuple[F, C] | None:
    """`(figure, recount)` taken while `figure` held still (equal before and after the recount), or None."""
    for _ in range(ATTEMPTS):
        before = read()
        counted = recount()
        if before == read():
            return before, counted
    return None


def orphaned_task(task_id: str) -> str | None:
    """Why the task is orphaned now, or None: it is gone, or its session exists."""
    task = fresh(TaskModel, task_id)
    if task is None or fresh(SessionModel, task.session_id) is not None:
        return None
    return f"its session {task.session_id} does not exist"


def orphaned_interaction(task_id: str, seq: int) -> str | None:
    """Why the turn is orphaned now, or None; read turn, task, turn again (a task delete removes turns first)."""
    if fresh(InteractionModel, task_id, seq) is None or fresh(TaskModel, task_id) is not None:
        return None
    if fresh(InteractionModel, task_id, seq) is None:
        return None
    return f"its task {task_id} does not exist"


def interaction_session_mismatch(task_id: str, seq: int) -> str | None:
    """The mismatch as it is now, or None (`session_id` never changes, so one read of each settles it)."""
    turn, task = fresh(InteractionModel, task_id, seq), fresh(TaskModel, task_id)
    if turn is None or task is None or turn.session_id == task.session_id:
        return None
    return f"session_id is {turn.session_id}, its task's is {task.session_id}"


def task_turns(task_id: str) -> tuple[int, list[int]] | None:
    """`(interaction_count, seqs)` of a task, its turns queried consistently while its count held still.

    None when the task is gone, being deleted, or its count kept moving.
    """

    def read() -> tuple[int, str] | None:
        task = fresh(TaskModel, task_id)
        return None if task is None else (int(task.interaction_count), str(task.status))

    def recount() -> list[int]:
        turns = InteractionModel.query(task_id, consistent_read=True, attributes_to_get=["task_id", "seq"])
        return sorted(int(turn.seq) for turn in turns)

    seen = stable(read, recount)
    if seen is None or seen[0] is None:
        return None
    (count, status), seqs = seen[0], seen[1]
    if status == TaskStatus.DELETING.value:
        return None  # its interactions are being removed: counts are in flux by design
    return count, seqs


def session_tasks(session_id: str, scanned_counter: int, also: Iterable[str]) -> tuple[int, int] | None:
    """`(task_count, tasks referencing the session)`, with the counter still as the scan saw it and held still.

    Tasks are listed through the session index (which cannot be read consistently)
    and `also` (those the scan saw); each is confirmed with a consistent `GetItem`.
    Requiring the counter unchanged since the scan keeps a task created a moment
    ago, and not yet in the index, from looking like a missing one. None when the
    session is gone or its counter moved.
    """

    def read() -> int | None:
        session = fresh(SessionModel, session_id)
        return None if session is None else int(session.task_count)

    def recount() -> int:
        listed = {task.task_id for task in TaskModel.by_session.query(session_id, attributes_to_get=["task_id"])}
        return sum(1 for task_id in listed | set(also) if _references(task_id, session_id))

    seen = stable(read, recount)
    if seen is None or seen[0] is None or seen[0] != scanned_counter:
        return None
    return seen[0], seen[1]


def session_counters(session_id: str, scanned: dict[str, int]) -> list[counters.Drift] | None:
    """The session's counters that differ from its tasks, counted once while the session held still (`write_id`
    and counters unchanged around the count) and its counters still `scanned`, as the scan saw them (a counter
    that moved since is no drift); none when the session is gone or moved. One attempt: a moving session is
    not reported this run. None (not checked) when it has more than `counters.COUNT_CAP` tasks."""
    try:
        seen = counters.settled(session_id, attempts=1)
    except SessionNotFound:
        return []
    except counters.TooManyToCount:
        return None
    if seen is None or counters.stored(seen[0]) != scanned:
        return []
    session, figures = seen
    return counters.drifts(counters.stored(session), figures)


def owner_counters(owner: str, scanned: dict[str, int]) -> list[counters.Drift] | None:
    """The owner's counters that differ from their tasks, counted once while their usage `total` held still
    (`write_id` and counters unchanged around the count) and its counters still `scanned`; none when they
    moved. None (not checked) when the owner has more than `counters.COUNT_CAP` tasks."""
    try:
        seen = counters.owner_settled(owner, attempts=1)
    except counters.TooManyToCount:
        return None
    if seen is None or counters.owner_stored(seen[0]) != scanned:
        return []
    total, figures = seen
    return counters.drifts(counters.owner_stored(total), figures)


def claude_id_holders(claude_id: str, task_ids: Iterable[str]) -> list[str]:
    """Which of `task_ids` hold `claude_id` now (a task's id only changes to a new, never reused one)."""
    return sorted(
        t for t in task_ids if (task := fresh(TaskModel, t)) is not None and task.claude_session_id == claude_id
    )


def unclaimed_claude_id(task_id: str) -> str | None:
    """Why the task's Claude id is not claimed by it now, or None; the id and its claim change in one transaction."""
    task = fresh(TaskModel, task_id)
    if task is None or not task.claude_session_id:
        return None
    claim = fresh(ClaudeSessionClaim, task.claude_session_id)
    if claim is not None and claim.task_id == task_id:
        return None
    return f"holds {task.claude_session_id}, but the claim names {claim.task_id if claim else 'no task'}"


def _references(task_id: str, session_id: str) -> bool:
    task = fresh(TaskModel, task_id)
    return task is not None and task.session_id == session_id
