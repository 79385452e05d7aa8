"""The consistency report: the seed report's figures, and every invariant violation found.

The full check reads the tables of sessions, tasks and turns, and the owners' usage
totals, with a parallel, segmented scan (`audit_scan`) and checks each item where it stands, with point reads
of the items it names (`audit_checks`), so its state is a handful of counters and the
violations: it can stop at any item and go on in another invocation (`audit_record`
keeps the progress). The scans are not one snapshot: the figures are as each scan
saw them, and a violation is only reported once re-read consistently
(`audit_recheck`), so writes made during the scans never show up as broken invariants.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

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
    "counter_drift",
]
# Violations a report lists; beyond, only their number (the report is one item of at most 400 KB).
LISTED_VIOLATIONS = 500


class Violation(BaseModel):
    model_config = ConfigDict(defer_build=True)

    kind: ViolationKind
    subject: str = Field(description="The id of the item at fault (session, task, Claude session id, or task#seq).")
    detail: str
    counter: str | None = Field(
        None, description="`counter_drift`: the session's (or, subject an owner, the owner's) counter that is off."
    )
    stored: int | None = Field(None, description="`counter_drift`: the counter's stored figure.")
    counted: int | None = Field(None, description="`counter_drift`: what the session's (owner's) tasks add up to.")


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
    violations_not_listed: int = Field(0, description="Violations found beyond the ones listed.")
    counters_not_checked: int = Field(
        0,
        description="Sessions and owners whose counters looked off but have too many tasks (over 2,000) to be "
        "counted: neither reported nor recountable (each is named in the janitor's log).",
    )
    started_at: str | None = Field(None, description="When the full check that made this report began (UTC).")
    completed_at: str | None = Field(None, description="When it completed (UTC).")


class CounterFix(BaseModel):
    model_config = ConfigDict(defer_build=True)

    counter: str
    stored: int = Field(description="The figure the counter held.")
    counted: int = Field(description="What the session's (or owner's) tasks add up to: the figure it holds now.")


class Recount(BaseModel):
    """What a recount (`POST /admin/consistency/recount`) corrected; none when the counters were right."""

    model_config = ConfigDict(defer_build=True)

    # One of the two: the session recounted, or the owner (whose usage `total` holds their counters).
    session_id: str | None = Field(None, exclude_if=lambda value: value is None)
    owner: str | None = Field(None, exclude_if=lambda value: value is None)
    corrected: list[CounterFix]


class Tally(BaseModel):
    """What the scans have counted and confirmed so far; segments' tallies merge into one."""

    model_config = ConfigDict(defer_build=True)

    total_sessions: int = 0
    sessions_with_tasks: int = 0
    total_tasks: int = 0
    tasks_with_valid_session: int = 0
    total_interactions: int = 0
    tasks_with_claude_session_id: int = 0
    violations: list[Violation] = Field(default_factory=list)
    violations_not_listed: int = 0
    counters_not_checked: int = 0

    def add(self, kind: ViolationKind, subject: str, detail: str | None, **figures: Any) -> None:
        """Record a confirmed violation once; `detail` None means the re-read cleared the suspect.
        `figures` are a `counter_drift`'s counter, stored and counted figures."""
        counter = figures.get("counter")
        if detail is None or any(
            v.kind == kind and v.subject == subject and v.counter == counter for v in self.violations
        ):
            return
        if len(self.violations) >= LISTED_VIOLATIONS:
            self.violations_not_listed += 1
            return
        self.violations.append(Violation(kind=kind, subject=subject, detail=detail, **figures))

    def merge(self, other: Tally) -> None:
        for name in type(self).model_fields:
            if name not in ("violations", "violations_not_listed"):
                setattr(self, name, getattr(self, name) + getattr(other, name))
        self.violations_not_listed += other.violations_not_listed
        for violation in other.violations:
            figures = violation.model_dump(include={"counter", "stored", "counted"}, exclude_none=True)
            self.add(violation.kind, violation.subject, violation.detail, **figures)

    def report(self, started_at: str | None = None, completed_at: str | None = None) -> ConsistencyReport:
        shared = {v.subject for v in self.violations if v.kind == "shared_claude_session_id"}
        return ConsistencyReport(
            total_sessions=self.total_sessions,
            sessions_with_tasks=self.sessions_with_tasks,
            orphaned_sessions=self.total_sessions - self.sessions_with_tasks,
            total_tasks=self.total_tasks,
            tasks_with_valid_session=self.tasks_with_valid_session,
            total_interactions=self.total_interactions,
            tasks_with_claude_session_id=self.tasks_with_claude_session_id,
            shared_claude_session_ids=len(shared),
            violations=self.violations,
            violations_not_listed=self.violations_not_listed,
            counters_not_checked=self.counters_not_checked,
            started_at=started_at,
            completed_at=completed_at,
        )


def consistency_report(store: Store, page_size: int | None = None, segments: int = 1) -> ConsistencyReport:
    """Check invariants 1–5 (README, "Invariants") and the sessions' task counters over all of `store`'s data
    in one go, in this process.

    The janitor's full check in one call, with no time budget and nothing stored: for
    tests and `claude-tasks audit --direct`. Never raises for bad data: reports it.
    Every violation reported was confirmed by consistent reads.
    """
    from claude_tasks.store.audit_scan import Progress  # the scan imports this module's models

    progress = Progress.begin(segments)
    progress.advance(store, deadline=math.inf, page_size=page_size)
    return progress.tally.report(progress.started_at)
