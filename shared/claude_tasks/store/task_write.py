"""One `Update` of a task inside a transaction, assembled from the parts several operations contribute.

A transaction may touch an item only once, so appending turns, claiming a
Claude session id and changing status — which all change the task — add their
conditions and actions to one `TaskWrite`. `explain` turns the task's old item
(returned on a failed condition) into the domain error that says which part failed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action

from claude_tasks.core import lifecycle
from claude_tasks.core.clock import now, now_iso
from claude_tasks.core.errors import (
    ClaudeSessionTaken,
    ConcurrentUpdate,
    DomainError,
    InteractionSessionMismatch,
    StaleInteractionCount,
    TaskNotFound,
    TaskStateConflict,
)
from claude_tasks.core.lifecycle import Event
from claude_tasks.core.records import TaskStatus
from claude_tasks.store.models import TaskModel
from claude_tasks.store.tally import Tally
from claude_tasks.store.transaction import Transaction


@dataclass
class TaskWrite:
    """The conditions and actions of one task `Update`; `session_id` is always required unchanged."""

    task_id: str
    session_id: str
    owner: str | None = None
    version: int | None = None
    expected_count: int | None = None
    claude_session_id: str | None = None
    # Set when `claude_session_id` replaces the id the task holds (a lost conversation rebuilt).
    replaces_claude_session_id: str | None = None
    allowed_statuses: frozenset[TaskStatus] | None = None
    lease_id: str | None = None
    actions: list[Action] = field(default_factory=list)
    extra: list[Condition] = field(default_factory=list)
    # The counters the write changes (tasks by status, usage): staged in the same transaction.
    tally: Tally | None = None

    def condition(self) -> Condition:
        cond = (
            TaskModel.task_id.exists()
            & (TaskModel.session_id == self.session_id)
            & (TaskModel.status != TaskStatus.DELETING.value)
        )
        if self.owner is not None:
            cond &= TaskModel.owner == self.owner
        if self.expected_count is not None:
            cond &= TaskModel.interaction_count == self.expected_count
        if self.replaces_claude_session_id is not None:
            cond &= TaskModel.claude_session_id == self.replaces_claude_session_id
        elif self.claude_session_id is not None:
            cond &= TaskModel.claude_session_id.does_not_exist() | (
                TaskModel.claude_session_id == self.claude_session_id
            )
        if self.allowed_statuses is not None:
            cond &= TaskModel.status.is_in(*sorted(s.value for s in self.allowed_statuses))
        if self.lease_id is not None:
            cond &= TaskModel.lease_id == self.lease_id
        for extra in self.extra:
            cond &= extra
        result: Condition = cond
        return result

    def moves(self, event: Event, to: TaskStatus | None = None) -> TaskWrite:
        """Require the task in a state the lifecycle table allows `event` from and, given `to`, move it there.

        Narrows any states already required (`TaskStateConflict` when none is left). A status change
        is counted (store/tally.py), so it must come from one known status. Raises ValueError when the
        table does not lead from `event` to `to`, or a change could come from several states: a
        mistake in our code, which this makes impossible to commit.
        """
        row = lifecycle.transition(event)
        if to is not None and to not in row.targets:
            raise ValueError(f"the lifecycle has no {event.value!r} into {to.value!r}")
        allowed = row.sources if self.allowed_statuses is None else self.allowed_statuses & row.sources
        if not allowed and self.allowed_statuses:  # required in a status the event does not apply to
            raise TaskStateConflict(
                f"task {self.task_id} is {', '.join(sorted(self.allowed_statuses))}: the operation needs it "
                f"to be one of {', '.join(sorted(row.sources))}"
            )
        self.allowed_statuses = allowed
        if to is not None:
            self.actions.append(TaskModel.status.set(to.value))
            if len(allowed) != 1:
                raise ValueError(f"{event.value!r} is counted: require the one status it moves from")
            (source,) = allowed
            self.counted().move(source, to)
        return self

    def counted(self) -> Tally:
        """The write's counter changes (made on first use). Raises ValueError without an `owner`."""
        if self.owner is None:
            raise ValueError(f"the write on task {self.task_id} is counted: name its owner")
        if self.tally is None:
            self.tally = Tally(self.owner, self.session_id, now())
        return self.tally

    def stage(self, tx: Transaction) -> None:
        """Add this update to `tx` under the name `task`. Version-checked only when a version was given."""
        item = TaskModel(self.task_id)
        # A version is always incremented; it is required unchanged only for optimistic-lock writes.
        item.version = self.version if self.version is not None else 1
        actions = [*self.actions, TaskModel.updated_at.set(now_iso())]
        tx.update("task", item, actions, self.condition(), check_version=self.version is not None)
        if self.tally is not None:
            self.tally.stage(tx)

    def explain(self, old: TaskModel | None) -> DomainError:
        """The domain error for a failed condition, given the task as it was (None: it did not exist)."""
        if old is None or old.status == TaskStatus.DELETING.value:
            return TaskNotFound(self.task_id)
        if self.owner is not None and old.owner != self.owner:
            return TaskNotFound(self.task_id)
        if old.session_id != self.session_id:
            return InteractionSessionMismatch(self.task_id, self.session_id, old.session_id)
        count = int(old.interaction_count or 0)
        if self.expected_count is not None and count != self.expected_count:
            return StaleInteractionCount(self.task_id, self.expected_count, count)
        held = old.claude_session_id
        if self.replaces_claude_session_id is not None and held != self.replaces_claude_session_id:
            return ConcurrentUpdate(
                f"task {self.task_id} no longer holds Claude session {self.replaces_claude_session_id}"
            )
        if self.replaces_claude_session_id is None and self.claude_session_id not in (None, held) and held is not None:
            return ClaudeSessionTaken(self.claude_session_id)
        status = old.status
        if self.allowed_statuses is not None and status not in self.allowed_statuses:
            return TaskStateConflict(f"task {self.task_id} is {status}")
        if self.lease_id is not None and old.lease_id != self.lease_id:
            return TaskStateConflict(f"task {self.task_id} is leased to another run")
        return ConcurrentUpdate(f"task {self.task_id} was changed by another writer; read it again")
