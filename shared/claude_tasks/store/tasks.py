"""Tasks: created inside an existing, active session of their owner, atomically with its counter."""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from pynamodb.exceptions import DoesNotExist
from pynamodb.expressions.update import Action

from claude_tasks.core.clock import now, now_iso
from claude_tasks.core.errors import (
    ConcurrentUpdate,
    Conflict,
    IdempotencyKeyReused,
    ImmutableField,
    SessionNotActive,
    SessionNotFound,
    TaskNotFound,
    TaskStateConflict,
)
from claude_tasks.core.lifecycle import Event
from claude_tasks.core.records import NewTask, Page, SessionStatus, Task, TaskStatus
from claude_tasks.store import cursor
from claude_tasks.store.faults import translate_faults
from claude_tasks.store.ids import id_for, request_token
from claude_tasks.store.models import InteractionModel, SessionModel, TaskModel
from claude_tasks.store.records import task_record
from claude_tasks.store.sessions import idle_shard
from claude_tasks.store.tally import Tally
from claude_tasks.store.task_write import TaskWrite
from claude_tasks.store.transaction import Cancelled, IdempotentReplay, Transaction
from claude_tasks.store.usage import QUOTA_NAMES

if TYPE_CHECKING:
    from claude_tasks.store import Store

MUTABLE_FIELDS = frozenset({"title", "metadata"})
_ATTEMPTS = 5  # deletes of a task whose session's counter keeps moving before giving up


def active_shard(task_id: str, shards: int) -> str:
    """The sparse index's partition for an active task: spread so no index partition runs hot."""
    return f"active#{zlib.crc32(task_id.encode()) % shards}"


@translate_faults
class TaskRepository:
    def __init__(self, store: Store) -> None:
        self._store = store

    def create(
        self,
        owner: str,
        session_id: str,
        new: NewTask,
        idempotency_key: str | None = None,
        forked_from: str | None = None,
        request_fingerprint: str | None = None,
        reply_to: str | None = None,
    ) -> Task:
        """Create a queued task in one transaction with its session's counter (see `insert`).

        `reply_to` (already checked) is kept for the task's events.
        The same owner and idempotency key return the task made the first time.
        Raises `SessionNotFound` or `SessionNotActive`; `IdempotencyKeyReused` (see `insert`).
        """
        item = self.new_item(id_for(owner, "task", idempotency_key), session_id, owner, new, idempotency_key)
        item.forked_from = forked_from
        item.request_fingerprint = request_fingerprint
        item.reply_to = reply_to
        task, _ = self.insert(item, request_token(owner, "task", idempotency_key), idempotent=bool(idempotency_key))
        return task

    def insert(self, item: TaskModel, token: str | None, idempotent: bool) -> tuple[Task, bool]:
        """Write a new task item in one transaction with its session's counter; returns (task, created).

        The transaction requires the session to exist, be active and be the
        item's owner's (`ADD task_count 1`), and the task id to be new. A retry
        that meets this very write committed (a timeout hid its answer) returns the
        task with `created` True (see `Transaction.commit`). When `idempotent`, an
        existing task of that id (an earlier call) is returned with `created` False, unless it was
        made from another `request_fingerprint`: `IdempotencyKeyReused`.
        It also counts the task for its session and owner (store/tally.py) and, under the owner's
        quota, requires fewer than the allowed active tasks, creations this minute and spend this
        month: `QuotaExceeded` says which limit refused it.
        Raises `SessionNotFound` or `SessionNotActive` only when the session's own
        condition failed; `TransientStoreError` when the database did not answer.
        """
        owner, session_id = item.owner, item.session_id
        if not session_id:
            raise SessionNotFound("(none)")
        # The quota read builds the conditions; the conditions, in the transaction, enforce it.
        tally = Tally(owner, session_id, now(), quota=self._store.usage.quota(owner))
        tally.move(None, TaskStatus(item.status))
        tx = self._store.transaction(token)
        tx.update(
            "session",
            SessionModel(session_id),
            # No longer idle: out of the janitor's orphan index in the same write as the counter.
            [
                SessionModel.task_count.add(1),
                SessionModel.updated_at.set(item.created_at),
                SessionModel.idle_shard.remove(),
                *tally.session_actions(),
            ],
            SessionModel.session_id.exists()
            & (SessionModel.owner == owner)
            & (SessionModel.status == SessionStatus.ACTIVE.value),
        )
        tx.put("task", item, TaskModel.task_id.does_not_exist())
        tally.stage(tx, session=False)
        try:
            _commit_once(tx)
        except IdempotentReplay:
            return self._replayed(item), False
        except Cancelled as cancelled:
            if "task" in cancelled.failed and idempotent:
                return self._replayed(item), False
            if "session" in cancelled.failed:
                raise _session_error(session_id, owner, cancelled.item("session", SessionModel)) from cancelled
            over = set(cancelled.failed) & set(QUOTA_NAMES)
            if over and tally.quota is not None:
                raise self._store.usage.exceeded(owner, tally.quota, over, tally.at) from cancelled
            # A random id already taken by another write: never expected, and never "no such session".
            raise Conflict(f"task {item.task_id} already exists") from cancelled
        return task_record(item), True  # as written, version included: no read back

    def _replayed(self, item: TaskModel) -> Task:
        """The task an earlier call made with `item`'s id, if it came from the same request.

        Raises `IdempotencyKeyReused` when both carry a fingerprint and they differ (an item
        older than fingerprints, or a caller without one, is not comparable).
        """
        task = self.get(item.owner, item.task_id)
        if None not in (task.request_fingerprint, item.request_fingerprint) and (
            task.request_fingerprint != item.request_fingerprint
        ):
            raise IdempotencyKeyReused("fork" if item.forked_from else "task")
        return task

    def new_item(
        self, task_id: str, session_id: str, owner: str, new: NewTask, idempotency_key: str | None = None
    ) -> TaskModel:
        """The item of a new `queued` task whose one pending prompt is `new.prompt`; nothing is written."""
        stamp = now_iso()
        return TaskModel(
            task_id,
            session_id=session_id,
            owner=owner,
            prompt=new.prompt,
            title=new.title,
            status=TaskStatus.QUEUED.value,
            backend=new.backend,
            model=new.model,
            system=new.system,
            max_tokens=new.max_tokens,
            pending_prompts=[new.prompt],
            limits=new.limits.model_dump(exclude_none=True),
            agent=new.agent.model_dump(mode="json", exclude_defaults=True) or None,
            metadata=new.metadata,
            created_at=stamp,
            updated_at=stamp,
            active_shard=active_shard(task_id, self._store.settings.active_shards),
            idempotency_key=idempotency_key,
        )

    def load(self, task_id: str) -> Task:
        """The task whatever its owner (for the worker and janitor). Raises `TaskNotFound`."""
        try:
            item = TaskModel.get(task_id, consistent_read=True)
        except DoesNotExist as error:
            raise TaskNotFound(task_id) from error
        if item.status == TaskStatus.DELETING.value:
            raise TaskNotFound(task_id)
        return task_record(item)

    def get(self, owner: str, task_id: str) -> Task:
        """The owner's task. Raises `TaskNotFound` if absent, being deleted, or someone else's."""
        task = self.load(task_id)
        if task.owner != owner:
            raise TaskNotFound(task_id)
        return task

    def list_for_session(
        self,
        owner: str,
        session_id: str,
        status: TaskStatus | None = None,
        limit: int = 50,
        after: str | None = None,
    ) -> Page[Task]:
        """The session's tasks, oldest first, optionally only those in `status`. Raises `SessionNotFound`."""
        self._store.sessions.get(owner, session_id)
        scope = f"tasks\x00{owner}\x00{session_id}\x00{status}"
        start = cursor.decode(
            after, scope, frozenset({"task_id", "session_id", "created_at"}), {"session_id": session_id}
        )
        condition = (TaskModel.owner == owner) & (TaskModel.status != TaskStatus.DELETING.value)
        if status is not None:
            condition &= TaskModel.status == status.value
        results = TaskModel.by_session.query(
            session_id, filter_condition=condition, limit=limit, last_evaluated_key=start
        )
        items = [task_record(item) for item in results]
        return Page[Task](items=items, next_cursor=cursor.encode(results.last_evaluated_key, scope))

    def list_for_owner(
        self, owner: str, status: TaskStatus | None = None, limit: int = 50, after: str | None = None
    ) -> Page[Task]:
        """The owner's tasks across all their sessions, newest first, optionally only those in `status`.

        Reads the `by-owner` index: one query, never a scan. As with every filtered page, a page may hold
        fewer than `limit` items and still have a `next_cursor`. Raises `InvalidCursor`.
        """
        scope = f"owner-tasks\x00{owner}\x00{status}"
        start = cursor.decode(after, scope, frozenset({"task_id", "owner", "created_at"}), {"owner": owner})
        condition = TaskModel.status != TaskStatus.DELETING.value
        if status is not None:
            condition &= TaskModel.status == status.value
        results = TaskModel.by_owner.query(
            owner, filter_condition=condition, scan_index_forward=False, limit=limit, last_evaluated_key=start
        )
        items = [task_record(item) for item in results]
        return Page[Task](items=items, next_cursor=cursor.encode(results.last_evaluated_key, scope))

    def all_in_session(self, owner: str, session_id: str) -> Iterator[Task]:
        """Every task of the session (all pages), including ones being deleted."""
        for item in TaskModel.by_session.query(session_id, filter_condition=TaskModel.owner == owner):
            yield task_record(item)

    def stuck(self, queued_before: str, now: str) -> Iterator[Task]:
        """Active tasks nobody is working on: `queued` and untouched since `queued_before`, or
        `running` under an expired lease. Reads the sparse active index, shard by shard."""
        for shard in range(self._store.settings.active_shards):
            for item in TaskModel.by_active_shard.query(f"active#{shard}", TaskModel.updated_at < queued_before):
                expired = item.lease_expires_at is None or item.lease_expires_at < now
                if item.status == TaskStatus.QUEUED.value or (item.status == TaskStatus.RUNNING.value and expired):
                    yield task_record(item)

    def update(self, owner: str, task_id: str, changes: dict[str, Any]) -> Task:
        """Change a task's title or metadata; returns the task as it is after the write.

        Title and metadata do not depend on the run state, so the write is not
        version-checked: a worker's turn committed meanwhile does not refuse it. It
        requires the task to exist, be the owner's, keep its session and not be
        deleting. Raises `ImmutableField` for any other field — `session_id` above
        all — or `TaskNotFound`.
        """
        for name in changes:
            if name not in MUTABLE_FIELDS:
                raise ImmutableField(name)
        task = self.get(owner, task_id)
        write = TaskWrite(task_id, task.session_id, owner=owner).moves(Event.EDIT)
        if "title" in changes:
            write.actions.append(TaskModel.title.set(changes["title"]))
        if "metadata" in changes:
            write.actions.append(TaskModel.metadata.set(changes["metadata"] or {}))
        self.commit(write)
        # Read back: other fields (status, version) may have moved since `task` was read.
        return self.get(owner, task_id)

    def delete(self, owner: str, task_id: str) -> Task:
        """Delete a task: mark it `deleting` (conditional), delete its interactions and its Claude Code
        transcript, then one transaction deletes the task and decrements its session's `task_count`.
        Returns the task as it was (its worktree, if any, is the caller's to remove).

        A running task is refused (`TaskStateConflict`): cancel it first. A task found
        already gone at the last step was deleted (by this call's committed retry, or
        by a concurrent delete): that is success. Raises `TaskNotFound`.
        """
        task = self._mark_deleting(owner, task_id)
        with InteractionModel.batch_write() as batch:
            for item in InteractionModel.query(task_id, consistent_read=True):
                batch.delete(item)
        if task.claude_session_id is not None:
            # Before the task goes: a delete interrupted here is repeated (the task stays `deleting`).
            self._store.transcripts.delete(task.owner, task.claude_session_id)
            # The claim too: retired after the task had gone, a failure here answered 503 for a delete
            # that had happened, and its retry found nothing to finish (404), the claim left unretired.
            self._store.claims.retire(task)
        self._remove(task)
        return task

    def _remove(self, task: Task) -> None:
        """Delete the `deleting` task and decrement its session's counter in one transaction.

        The session enters the idle index in the write that takes its counter to 0: the
        counter as read picks the variant, and the condition requires it still (`> 1`
        survives tasks created meanwhile). A counter that moved is read from the
        cancellation and the write tried again. Raises `TaskNotFound` when the session is
        gone, `ConcurrentUpdate` when its counter never held still.
        """
        counter = self._counter(task.session_id)
        for _ in range(_ATTEMPTS):
            tx = self._store.transaction()
            tx.delete("task", TaskModel(task.task_id), TaskModel.status == TaskStatus.DELETING.value)
            actions: list[Action] = [SessionModel.task_count.add(-1), SessionModel.updated_at.set(now_iso())]
            condition = SessionModel.session_id.exists()
            if counter > 1:
                condition &= SessionModel.task_count > 1
            else:
                condition &= SessionModel.task_count == counter
                if counter == 1:
                    actions.append(SessionModel.idle_shard.set(idle_shard(task.session_id, self._shards)))
            tx.update("session", SessionModel(task.session_id), actions, condition)
            try:
                tx.commit()
                return
            except Cancelled as cancelled:
                # Nothing leaves `deleting`, so a failed task condition means the task is gone, its
                # counter decremented once, by whichever delete committed: this one's included.
                if "task" in cancelled.failed:
                    return
                old = cancelled.item("session", SessionModel)
                if old is None:
                    raise TaskNotFound(task.task_id) from cancelled
                counter = int(old.task_count)
        raise ConcurrentUpdate(f"the session of task {task.task_id} kept changing; try again")

    def _counter(self, session_id: str) -> int:
        try:
            return int(SessionModel.get(session_id, consistent_read=True, attributes_to_get=["task_count"]).task_count)
        except DoesNotExist:
            return 0  # the transaction's condition fails and says what there is

    @property
    def _shards(self) -> int:
        return self._store.settings.active_shards

    def _mark_deleting(self, owner: str, task_id: str) -> Task:
        try:
            task = self.get(owner, task_id)
        except TaskNotFound:
            # A delete that stopped half-way left the task `deleting`: finish it.
            task = self.load_deleting(owner, task_id)
            return task
        write = TaskWrite(task_id, task.session_id, owner=owner)
        write.allowed_statuses = frozenset({task.status})  # the move out of it is counted
        write.moves(Event.DELETE, TaskStatus.DELETING)
        write.actions.append(TaskModel.active_shard.remove())
        self.commit(write)
        return task

    def load_deleting(self, owner: str, task_id: str) -> Task:
        try:
            item = TaskModel.get(task_id, consistent_read=True)
        except DoesNotExist as error:
            raise TaskNotFound(task_id) from error
        if item.owner != owner or item.status != TaskStatus.DELETING.value:
            raise TaskNotFound(task_id)
        return task_record(item)

    def commit(self, write: TaskWrite) -> None:
        """Commit one task update alone; a failed condition becomes the domain error that explains it:
        the task's own first, else a quota's (`QuotaExceeded`, for a write whose tally carries one)."""
        tx = self._store.transaction()
        write.stage(tx)
        try:
            tx.commit()
        except Cancelled as cancelled:
            over = set(cancelled.failed) & set(QUOTA_NAMES)
            tally = write.tally
            if over and "task" not in cancelled.failed and tally is not None and tally.quota is not None:
                raise self._store.usage.exceeded(tally.owner, tally.quota, over, tally.at) from cancelled
            error = write.explain(cancelled.item("task", TaskModel))
            if isinstance(error, TaskStateConflict) and write.allowed_statuses is not None:
                error = TaskStateConflict(
                    f"{error}: the operation needs it to be one of {', '.join(sorted(write.allowed_statuses))}"
                )
            raise error from cancelled


def _commit_once(tx: Transaction) -> None:
    """Commit; if DynamoDB refuses the token as used with other parameters, make sure an attempt committed.

    The token is reused by a retry whose request differs (a new timestamp); DynamoDB refuses
    that for ten minutes whether or not the first attempt committed. The deterministic task id
    and `attribute_not_exists` keep the write idempotent without the token, so commit once more
    without it: a committed first attempt then shows as the task's own condition failing.
    """
    try:
        tx.commit()
    except IdempotentReplay:
        if tx.client_request_token is None:
            raise
        tx.client_request_token = None
        tx.commit()


def _session_error(session_id: str, owner: str, old: SessionModel | None) -> Exception:
    if old is None or old.owner != owner:
        return SessionNotFound(session_id)
    return SessionNotActive(session_id, old.status)
