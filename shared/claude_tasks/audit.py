"""The consistency report: the seed report's figures, and every invariant violation found.

Reads the four tables with paginated scans (PynamoDB follows `LastEvaluatedKey`),
so it is correct for tables of any size; memory grows with the number of tasks.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Literal

from pydantic import BaseModel, Field

from claude_tasks.domain import TaskStatus
from claude_tasks.store.models import ClaudeSessionClaim, InteractionModel, SessionModel, TaskModel

ViolationKind = Literal[
    "orphaned_task",
    "orphaned_interaction",
    "interaction_session_mismatch",
    "task_count_mismatch",
    "interaction_count_mismatch",
    "interaction_seq_gap",
    "shared_claude_session_id",
    "unclaimed_claude_session_id",
]


class Violation(BaseModel):
    kind: ViolationKind
    subject: str = Field(description="The id of the item at fault (session, task, or task#seq).")
    detail: str


class ConsistencyReport(BaseModel):
    total_sessions: int
    sessions_with_tasks: int
    orphaned_sessions: int
    total_tasks: int
    tasks_with_valid_session: int
    total_interactions: int
    tasks_with_claude_session_id: int
    shared_claude_session_ids: int
    violations: list[Violation]

    @property
    def consistent(self) -> bool:
        return not self.violations


class _Tally:
    def __init__(self) -> None:
        self.violations: list[Violation] = []

    def add(self, kind: ViolationKind, subject: str, detail: str) -> None:
        self.violations.append(Violation(kind=kind, subject=subject, detail=detail))


def consistency_report(page_size: int | None = None) -> ConsistencyReport:
    """Scan every table and check invariants 1–5 of DESIGN.md. Never raises for bad data: reports it."""
    tally = _Tally()
    session_counters = {item.session_id: int(item.task_count) for item in SessionModel.scan(page_size=page_size)}
    tasks = {item.task_id: item for item in TaskModel.scan(page_size=page_size)}
    real_task_count: Counter[str] = Counter(task.session_id for task in tasks.values())
    seqs: dict[str, list[int]] = defaultdict(list)
    total_interactions = 0
    for turn in InteractionModel.scan(page_size=page_size):
        total_interactions += 1
        _check_interaction(tally, turn, tasks.get(turn.task_id))
        seqs[turn.task_id].append(int(turn.seq))
    valid = 0
    for task in tasks.values():
        if task.session_id in session_counters:
            valid += 1
        else:
            tally.add("orphaned_task", task.task_id, f"its session {task.session_id} does not exist")
        _check_turns(tally, task, sorted(seqs.get(task.task_id, [])))
    for session_id, counter in session_counters.items():
        if counter != real_task_count[session_id]:
            tally.add(
                "task_count_mismatch",
                session_id,
                f"task_count is {counter}, but {real_task_count[session_id]} task(s) reference it",
            )
    shared = _check_claude_ids(tally, tasks, page_size)
    with_tasks = sum(1 for session_id in session_counters if real_task_count[session_id])
    return ConsistencyReport(
        total_sessions=len(session_counters),
        sessions_with_tasks=with_tasks,
        orphaned_sessions=len(session_counters) - with_tasks,
        total_tasks=len(tasks),
        tasks_with_valid_session=valid,
        total_interactions=total_interactions,
        tasks_with_claude_session_id=sum(1 for task in tasks.values() if task.claude_session_id),
        shared_claude_session_ids=shared,
        violations=tally.violations,
    )


def _check_interaction(tally: _Tally, turn: InteractionModel, task: TaskModel | None) -> None:
    subject = f"{turn.task_id}#{int(turn.seq)}"
    if task is None:
        tally.add("orphaned_interaction", subject, f"its task {turn.task_id} does not exist")
    elif turn.session_id != task.session_id:
        tally.add(
            "interaction_session_mismatch",
            subject,
            f"session_id is {turn.session_id}, its task's is {task.session_id}",
        )


def _check_turns(tally: _Tally, task: TaskModel, seqs: list[int]) -> None:
    if task.status == TaskStatus.DELETING.value:
        return  # its interactions are being removed: counts are in flux by design
    if int(task.interaction_count) != len(seqs):
        tally.add(
            "interaction_count_mismatch",
            task.task_id,
            f"interaction_count is {int(task.interaction_count)}, but {len(seqs)} interaction(s) exist",
        )
    if seqs != list(range(1, len(seqs) + 1)):
        tally.add("interaction_seq_gap", task.task_id, f"seq values are not 1..{len(seqs)}")


def _check_claude_ids(tally: _Tally, tasks: dict[str, TaskModel], page_size: int | None) -> int:
    holders: dict[str, list[str]] = defaultdict(list)
    for task in tasks.values():
        if task.claude_session_id:
            holders[task.claude_session_id].append(task.task_id)
    shared = 0
    for claude_id, task_ids in holders.items():
        if len(task_ids) > 1:
            shared += 1
            tally.add("shared_claude_session_id", claude_id, f"held by tasks {', '.join(sorted(task_ids))}")
    claims = {claim.claude_session_id: claim.task_id for claim in ClaudeSessionClaim.scan(page_size=page_size)}
    for claude_id, task_ids in holders.items():
        for task_id in task_ids:
            if claims.get(claude_id) != task_id:
                tally.add(
                    "unclaimed_claude_session_id",
                    task_id,
                    f"holds {claude_id}, but the claim names {claims.get(claude_id) or 'no task'}",
                )
    return shared
