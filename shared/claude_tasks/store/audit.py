"""The consistency report: the seed report's figures, and every invariant violation found.

Reads the four tables with paginated scans (PynamoDB follows `LastEvaluatedKey`),
so it is correct for tables of any size; memory grows with the number of tasks.
The scans are not one snapshot: the figures are as each scan saw them, and a
violation is only reported once re-read consistently (`audit_recheck`), so
writes made during the scans never show up as broken invariants.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

from claude_tasks.core.records import TaskStatus
from claude_tasks.store import audit_recheck as recheck
from claude_tasks.store.models import ClaudeSessionClaim, InteractionModel, SessionModel, TaskModel

if TYPE_CHECKING:
    from claude_tasks.store import Store

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
    model_config = ConfigDict(defer_build=True)

    kind: ViolationKind
    subject: str = Field(description="The id of the item at fault (session, task, or task#seq).")
    detail: str


class ConsistencyReport(BaseModel):
    model_config = ConfigDict(defer_build=True)

    total_sessions: int
    sessions_with_tasks: int
    orphaned_sessions: int
    total_tasks: int
    tasks_with_valid_session: int
    total_interactions: int
    tasks_with_claude_session_id: int
    shared_claude_session_ids: int
    violations: list[Violation]


class _Tally:
    def __init__(self) -> None:
        self.violations: list[Violation] = []

    def add(self, kind: ViolationKind, subject: str, detail: str | None) -> None:
        """Record a confirmed violation; `detail` None means the re-read cleared the suspect."""
        if detail is not None:
            self.violations.append(Violation(kind=kind, subject=subject, detail=detail))


def consistency_report(store: Store, page_size: int | None = None) -> ConsistencyReport:
    """Scan `store`'s tables and check invariants 1–5 (README, "Invariants"). Never raises for bad data: reports it.

    Every violation reported was confirmed by consistent reads after the scans;
    one whose figures moved meanwhile is left out.
    """
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
            tally.add("orphaned_task", task.task_id, recheck.orphaned_task(task.task_id))
        _check_turns(tally, task, sorted(seqs.get(task.task_id, [])))
    for session_id, counter in session_counters.items():
        if counter != real_task_count[session_id]:
            seen = [task.task_id for task in tasks.values() if task.session_id == session_id]
            _check_task_count(tally, session_id, counter, seen)
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
    task_id, seq = turn.task_id, int(turn.seq)
    if task is None:
        tally.add("orphaned_interaction", f"{task_id}#{seq}", recheck.orphaned_interaction(task_id, seq))
    elif turn.session_id != task.session_id:
        tally.add(
            "interaction_session_mismatch", f"{task_id}#{seq}", recheck.interaction_session_mismatch(task_id, seq)
        )


def _check_turns(tally: _Tally, task: TaskModel, seqs: list[int]) -> None:
    if task.status == TaskStatus.DELETING.value:
        return  # its interactions are being removed: counts are in flux by design
    if int(task.interaction_count) == len(seqs) and seqs == list(range(1, len(seqs) + 1)):
        return
    now = recheck.task_turns(task.task_id)  # suspect: recount its turns consistently
    if now is None:
        return
    count, seqs = now
    if count != len(seqs):
        tally.add(
            "interaction_count_mismatch",
            task.task_id,
            f"interaction_count is {count}, but {len(seqs)} interaction(s) exist",
        )
    if seqs != list(range(1, len(seqs) + 1)):
        tally.add("interaction_seq_gap", task.task_id, f"seq values are not 1..{len(seqs)}")


def _check_task_count(tally: _Tally, session_id: str, counter: int, seen: list[str]) -> None:
    now = recheck.session_tasks(session_id, counter, seen)
    if now is not None and now[0] != now[1]:
        tally.add("task_count_mismatch", session_id, f"task_count is {now[0]}, but {now[1]} task(s) reference it")


def _check_claude_ids(tally: _Tally, tasks: dict[str, TaskModel], page_size: int | None) -> int:
    holders: dict[str, list[str]] = defaultdict(list)
    for task in tasks.values():
        if task.claude_session_id:
            holders[task.claude_session_id].append(task.task_id)
    shared = 0
    for claude_id, task_ids in holders.items():
        if len(task_ids) > 1 and len(still := recheck.claude_id_holders(claude_id, task_ids)) > 1:
            shared += 1
            tally.add("shared_claude_session_id", claude_id, f"held by tasks {', '.join(still)}")
    claims = {claim.claude_session_id: claim.task_id for claim in ClaudeSessionClaim.scan(page_size=page_size)}
    for claude_id, task_ids in holders.items():
        for task_id in task_ids:
            if claims.get(claude_id) != task_id:
                tally.add("unclaimed_claude_session_id", task_id, recheck.unclaimed_claude_id(task_id))
    return shared
