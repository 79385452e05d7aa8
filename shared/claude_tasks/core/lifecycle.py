"""The task lifecycle as one table: who may move a task from which states to which, by what event.

The store builds every status condition and every status change from this table
(`TaskWrite.transition`), and docs/task-lifecycle.md shows it (a test keeps the two
equal): a transition not written here cannot be committed.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from claude_tasks.core.records import TaskStatus

# One letter a state keeps the table below readable as a table.
Q, R = TaskStatus.QUEUED, TaskStatus.RUNNING
S, F, X, C = TaskStatus.SUCCEEDED, TaskStatus.FAILED, TaskStatus.EXHAUSTED, TaskStatus.CANCELLED
D = TaskStatus.DELETING
ACTIVE = frozenset({Q, R})
FINISHED = frozenset({S, F, X, C})
VISIBLE = ACTIVE | FINISHED


class Actor(StrEnum):
    API = "API"
    WORKER = "worker"


class Event(StrEnum):
    CREATE = "create"
    EDIT = "edit title or metadata"
    FOLLOW_UP = "follow-up on an active task"
    REOPEN = "follow-up on a finished task"
    CANCEL = "cancel"
    RETRY = "retry"
    FORK = "fork (created while its conversation is copied)"
    FORK_COPIED = "fork copied"
    DELETE = "delete"
    LEASE = "lease"
    TAKE_OVER = "take over an expired lease"
    RECORD_TURN = "record a turn"
    END = "end without a turn"
    RELEASE = "give back after a retryable error"
    FAIL = "fail"


@dataclass(frozen=True)
class Transition:
    """`actor` may apply `event` to a task in one of `sources` (none: a new task), leaving it in one of
    `targets` (none: its state unchanged)."""

    actor: Actor
    event: Event
    sources: frozenset[TaskStatus]
    targets: frozenset[TaskStatus]


def _t(actor: Actor, event: Event, sources: frozenset[TaskStatus], *targets: TaskStatus) -> Transition:
    return Transition(actor, event, sources, frozenset(targets))


LIFECYCLE: tuple[Transition, ...] = (
    _t(Actor.API, Event.CREATE, frozenset(), Q),
    _t(Actor.API, Event.EDIT, VISIBLE),
    _t(Actor.API, Event.FOLLOW_UP, ACTIVE),
    _t(Actor.API, Event.REOPEN, FINISHED, Q),
    _t(Actor.API, Event.CANCEL, ACTIVE, C),
    _t(Actor.API, Event.RETRY, frozenset({F, X, C}), Q),
    _t(Actor.API, Event.FORK, frozenset(), S),
    _t(Actor.API, Event.FORK_COPIED, frozenset({S}), Q, S),
    _t(Actor.API, Event.DELETE, VISIBLE - {R} | {D}, D),
    _t(Actor.WORKER, Event.LEASE, frozenset({Q}), R),
    _t(Actor.WORKER, Event.TAKE_OVER, frozenset({R}), R),
    _t(Actor.WORKER, Event.RECORD_TURN, frozenset({R}), R, S, X),
    _t(Actor.WORKER, Event.END, frozenset({R}), S, X),
    _t(Actor.WORKER, Event.RELEASE, frozenset({R}), Q),
    _t(Actor.WORKER, Event.FAIL, frozenset({R}), F),
)
_BY_EVENT = {transition.event: transition for transition in LIFECYCLE}


def transition(event: Event) -> Transition:
    """The table's row for `event`."""
    return _BY_EVENT[event]


def sources(event: Event) -> frozenset[TaskStatus]:
    """The states a task must be in for `event` to apply."""
    return _BY_EVENT[event].sources


def markdown() -> str:
    """The table as docs/task-lifecycle.md shows it."""
    order = list(TaskStatus)

    def states(statuses: frozenset[TaskStatus]) -> str:
        return ", ".join(f"`{s.value}`" for s in sorted(statuses, key=order.index)) or "(new task)"

    rows = [f"| {t.actor.value} | {t.event.value} | {states(t.sources)} | {states(t.targets)} |" for t in LIFECYCLE]
    return "\n".join(["| who | event | from | to |", "| --- | --- | --- | --- |", *rows])


if __name__ == "__main__":
    print(markdown())
