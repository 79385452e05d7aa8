"""Sessions: create, read, list, delete — the delete conditional on the session having no tasks."""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from pynamodb.exceptions import DoesNotExist, PutError, UpdateError

from claude_tasks.core.clock import now_iso
from claude_tasks.core.errors import (
    ConcurrentUpdate,
    Conflict,
    IdempotencyKeyReused,
    SessionHasRunningTasks,
    SessionHasTasks,
    SessionNotFound,
    TaskNotFound,
    TaskStateConflict,
)
from claude_tasks.core.records import McpServer, Page, Session, SessionStatus, Task, TaskStatus
from claude_tasks.store import cursor
from claude_tasks.store.faults import response_code, translate_faults
from claude_tasks.store.ids import id_for, new_id
from claude_tasks.store.models import SessionModel
from claude_tasks.store.records import session_record
from claude_tasks.store.transaction import Cancelled

if TYPE_CHECKING:
    from claude_tasks.store import Store

_CASCADE_ROUNDS = 10


def idle_shard(session_id: str, shards: int) -> str:
    """The sparse idle index's partition for a session with no tasks: spread so no partition runs hot."""
    return f"idle#{zlib.crc32(session_id.encode()) % shards}"


@translate_faults
class SessionRepository:
    def __init__(self, store: Store) -> None:
        self._store = store

    def create(
        self,
        owner: str,
        project_path: str,
        name: str | None = None,
        metadata: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
        request_fingerprint: str | None = None,
        mcp_servers: dict[str, McpServer] | None = None,
    ) -> Session:
        """Open an active session, holding `mcp_servers` for its claude-code tasks. The same owner and
        idempotency key return the session made the first time; raises `IdempotencyKeyReused` when that one
        was made from another `request_fingerprint`.

        A retry that meets this very write committed (a timeout hid its answer) returns it
        too. Raises `TransientStoreError` when the database did not answer.
        """
        session_id = id_for(owner, "session", idempotency_key)
        stamp = now_iso()
        item = SessionModel(
            session_id,
            owner=owner,
            project_path=project_path,
            name=name,
            status=SessionStatus.ACTIVE.value,
            task_count=0,
            metadata=metadata or {},
            created_at=stamp,
            updated_at=stamp,
            write_id=new_id(),
            request_fingerprint=request_fingerprint,
            mcp_servers=None if mcp_servers is None else _as_json(mcp_servers),
            idle_shard=idle_shard(session_id, self._store.settings.active_shards),
        )
        try:
            item.save(condition=SessionModel.session_id.does_not_exist())
        except PutError as error:
            if response_code(error) != "ConditionalCheckFailedException":
                raise
            return self._existing(item, idempotent=idempotency_key is not None)
        return session_record(item)

    def _existing(self, item: SessionModel, idempotent: bool) -> Session:
        """The session whose id `item` found taken: `item` itself committed by an earlier attempt of this
        write (the SDK's retry after a timeout), or — when `idempotent` — the first call's session."""
        try:
            existing = SessionModel.get(item.session_id, consistent_read=True)
        except DoesNotExist as error:
            raise ConcurrentUpdate(f"session {item.session_id} was deleted while being created; try again") from error
        if existing.write_id == item.write_id:
            return session_record(existing)
        if idempotent and existing.owner == item.owner:
            # Unknown on either side (an item older than fingerprints, a caller without one): not comparable.
            if None not in (existing.request_fingerprint, item.request_fingerprint) and (
                existing.request_fingerprint != item.request_fingerprint
            ):
                raise IdempotencyKeyReused("session")
            return session_record(existing)
        # A random id already taken by another write: never expected.
        raise Conflict(f"session {item.session_id} already exists")

    def get(self, owner: str, session_id: str) -> Session:
        """The owner's session. Raises `SessionNotFound` if it does not exist or belongs to someone else."""
        try:
            item = SessionModel.get(session_id, consistent_read=True)
        except DoesNotExist as error:
            raise SessionNotFound(session_id) from error
        if item.owner != owner:
            raise SessionNotFound(session_id)
        return session_record(item)

    def list_for_owner(self, owner: str, limit: int = 50, after: str | None = None) -> Page[Session]:
        """The owner's sessions, newest first, one page at a time."""
        scope = f"sessions\x00{owner}"
        start = cursor.decode(after, scope, frozenset({"session_id", "owner", "created_at"}), {"owner": owner})
        results = SessionModel.by_owner.query(owner, scan_index_forward=False, limit=limit, last_evaluated_key=start)
        items = [session_record(item) for item in results]
        return Page[Session](items=items, next_cursor=cursor.encode(results.last_evaluated_key, scope))

    def delete(
        self, owner: str, session_id: str, cascade: bool = False, deleted: Callable[[Task], None] | None = None
    ) -> None:
        """Delete the session in one conditional transaction that requires `task_count = 0`.

        With `cascade`, a session with a running task is refused before anything is
        changed, as deleting that task alone is (cancel it first). Otherwise the session
        is marked `deleting` (so it takes no new tasks), then its tasks are deleted, each
        in its own transaction with the counter and each refused while running: a task
        that starts running meanwhile stops the cascade with the same error, leaving the
        session `deleting`. Each task deleted is handed to `deleted` (what it left on disk is the
        caller's to remove). Raises `SessionNotFound`, `SessionHasRunningTasks`, or
        `SessionHasTasks` when tasks remain.
        """
        if cascade:
            self._refuse_running(owner, session_id, self._store.tasks.all_in_session(owner, session_id))
            self._mark_deleting(owner, session_id)
            for _ in range(_CASCADE_ROUNDS):
                # The session index is eventually consistent: repeat until the counter says empty.
                for task in self._store.tasks.all_in_session(owner, session_id):
                    try:
                        gone = self._store.tasks.delete(owner, task.task_id)
                    except TaskNotFound:
                        continue  # deleted meanwhile (another caller, or a stale index entry)
                    except TaskStateConflict as error:
                        raise SessionHasRunningTasks(session_id, [task.task_id]) from error
                    if deleted is not None:
                        deleted(gone)
                try:
                    return self._delete_empty(owner, session_id)
                except SessionHasTasks:
                    continue
        self._delete_empty(owner, session_id)

    @staticmethod
    def _refuse_running(owner: str, session_id: str, tasks: Iterator[Task]) -> None:
        running = [task.task_id for task in tasks if task.status is TaskStatus.RUNNING]
        if running:
            raise SessionHasRunningTasks(session_id, running)

    def orphans(self, cutoff: str) -> Iterator[Session]:
        """Sessions without tasks, untouched since before `cutoff`: read from the sparse idle index, shard by
        shard, never a scan — the cost follows the orphans, not the table. The index is eventually
        consistent; `delete_if_orphaned` decides on the item itself."""
        for shard in range(self._store.settings.active_shards):
            query = SessionModel.by_idle_shard.query(
                f"idle#{shard}", SessionModel.updated_at < cutoff, filter_condition=SessionModel.task_count == 0
            )
            for item in query:
                yield session_record(item)

    def delete_if_orphaned(self, session_id: str, cutoff: str) -> bool:
        """Delete the session only if it still has no tasks and is still older than `cutoff`.

        One conditional transaction: a task created meanwhile wins the race and the session stays.
        Returns whether it was deleted.
        """
        tx = self._store.transaction()
        tx.delete(
            "session",
            SessionModel(session_id),
            condition=SessionModel.session_id.exists()
            & (SessionModel.task_count == 0)
            & (SessionModel.updated_at < cutoff),
        )
        try:
            tx.commit()
        except Cancelled:
            return False
        return True

    def reindex(self, session_id: str) -> None:
        """Put the session in the idle index if it has no tasks, or take it out if it has some, where an
        item written before the index existed (or by hand) disagrees. Each write requires the counter as
        it decides, so a racing task creation or delete wins; `updated_at` stays, so an orphan keeps its age.
        """
        shard = idle_shard(session_id, self._store.settings.active_shards)
        fixes = (
            (
                (SessionModel.task_count == 0) & SessionModel.idle_shard.does_not_exist(),
                SessionModel.idle_shard.set(shard),
            ),
            ((SessionModel.task_count > 0) & SessionModel.idle_shard.exists(), SessionModel.idle_shard.remove()),
        )
        for condition, action in fixes:
            try:
                SessionModel(session_id).update(
                    actions=[action], condition=SessionModel.session_id.exists() & condition
                )
            except UpdateError as error:
                if response_code(error) != "ConditionalCheckFailedException":
                    raise

    def _delete_empty(self, owner: str, session_id: str) -> None:
        tx = self._store.transaction()
        tx.delete(
            "session",
            SessionModel(session_id),
            condition=SessionModel.session_id.exists() & (SessionModel.owner == owner) & (SessionModel.task_count == 0),
        )
        try:
            tx.commit()
        except Cancelled as cancelled:
            # Deletes return no old item: read once, only to say what failed.
            session = self.get(owner, session_id)
            raise SessionHasTasks(session_id, session.task_count) from cancelled

    def _mark_deleting(self, owner: str, session_id: str) -> None:
        try:
            SessionModel(session_id).update(
                actions=[
                    SessionModel.status.set(SessionStatus.DELETING.value),
                    SessionModel.updated_at.set(now_iso()),
                ],
                condition=SessionModel.session_id.exists() & (SessionModel.owner == owner),
            )
        except UpdateError as error:
            if response_code(error) == "ConditionalCheckFailedException":
                raise SessionNotFound(session_id) from error
            raise


def _as_json(servers: dict[str, McpServer]) -> dict[str, Any]:
    # What a caller left out stays out: the item holds what was asked for, as the task's `agent` does.
    return {name: server.model_dump(mode="json", exclude_defaults=True) for name, server in servers.items()}
