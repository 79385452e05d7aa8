"""The operations the HTTP API offers, combining the store's conditional writes with the task queue.

Every call takes the owner explicitly and reads or writes only the owner's
items; another owner's session or task is `SessionNotFound`/`TaskNotFound`, as
if absent. A task is committed before its `task.run` is sent; a send that still fails
after botocore's retries is answered `QueueUnavailable` (503), saying the task
was saved and how to queue it, so a task answered 2xx is always on its way.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit

from claude_tasks.app.new_tasks import admitted
from claude_tasks.app.queue import TaskQueue
from claude_tasks.core import limits, paths
from claude_tasks.core.errors import Forbidden, QueueUnavailable, ReportNotReady, SessionNotFound
from claude_tasks.core.offer import (
    check_session_defaults,
)
from claude_tasks.core.records import Interaction, McpServer, NewTask, Page, Session, Task, TaskStatus
from claude_tasks.core.usage import OwnerQuota, OwnerUsage, QuotaOverride
from claude_tasks.store import Store
from claude_tasks.store.audit import ConsistencyReport, CounterFix, Recount

metrics = Metrics()


class TaskService:
    def __init__(self, store: Store, queue: TaskQueue) -> None:
        self._store = store
        self._queue = queue
        self._settings = store.settings

    def open_session(
        self,
        owner: str,
        project_path: str,
        name: str | None,
        metadata: dict[str, Any],
        idempotency_key: str | None,
        request_fingerprint: str | None = None,
        mcp_servers: dict[str, McpServer] | None = None,
    ) -> Session:
        """Open a session; the project path must pass `paths.confine` under the configured root.
        `mcp_servers` are the defaults of its claude-code tasks.

        The same owner and idempotency key return the first session, if it came from the same
        `request_fingerprint`. Raises `InvalidProjectPath`, `NotOffered` (MCP servers where claude-code is
        not offered), `IdempotencyKeyReused`.
        """
        path = paths.confine(project_path, self._settings.project_root)
        check_session_defaults(self._settings, mcp_servers)
        return self._store.sessions.create(
            owner, path, name, metadata, idempotency_key, request_fingerprint, mcp_servers=mcp_servers
        )

    def session(self, owner: str, session_id: str) -> Session:
        return self._store.sessions.get(owner, session_id)

    def sessions(self, owner: str, limit: int, cursor: str | None) -> Page[Session]:
        """The owner's sessions, newest first. Raises `InvalidCursor` for a cursor not made for this query."""
        return self._store.sessions.list_for_owner(owner, limit, cursor)

    def delete_session(self, owner: str, session_id: str, cascade: bool) -> None:
        """Raises `SessionNotFound`, or `SessionHasTasks` unless `cascade` deletes them first (and asks the
        worker to remove their worktrees)."""
        if not cascade:
            self._store.sessions.delete(owner, session_id)
            return
        project_path = self._store.sessions.get(owner, session_id).project_path

        def clean_up(task: Task) -> None:
            self._queue.send_cleanup(task, project_path)

        self._store.sessions.delete(owner, session_id, cascade=True, deleted=clean_up)

    def create_task(
        self,
        owner: str,
        session_id: str,
        new: NewTask,
        idempotency_key: str | None,
        request_fingerprint: str | None = None,
    ) -> Task:
        """Commit a queued task in the owner's active session, then enqueue it.

        A replayed idempotency key returns the first task and, while it is still
        queued, sends its run again (the worker's lease makes a duplicate harmless;
        a lost first send is recovered). A claude-code task that names no `mcp_servers` takes its session's.
        Raises `PromptTooLarge`, `NotOffered` (a backend, model or Claude Code option this deployment does
        not run), `SessionNotFound`, `SessionNotActive`, `IdempotencyKeyReused` (the key first came with
        another `request_fingerprint`).
        """
        new = admitted(self._store, owner, session_id, new)
        task = self._store.tasks.create(
            owner, session_id, new, idempotency_key, request_fingerprint=request_fingerprint
        )
        if task.status == TaskStatus.QUEUED:
            self._enqueue(task)
        return task

    def task(self, owner: str, task_id: str) -> Task:
        return self._store.tasks.get(owner, task_id)

    def tasks(
        self, owner: str, session_id: str, status: TaskStatus | None, limit: int, cursor: str | None
    ) -> Page[Task]:
        """The session's tasks, oldest first. Raises `SessionNotFound`, `InvalidCursor`."""
        return self._store.tasks.list_for_session(owner, session_id, status, limit, cursor)

    def my_tasks(self, owner: str, status: TaskStatus | None, limit: int, cursor: str | None) -> Page[Task]:
        """The owner's tasks across all their sessions, newest first. Raises `InvalidCursor`."""
        return self._store.tasks.list_for_owner(owner, status, limit, cursor)

    def update_task(self, owner: str, task_id: str, changes: dict[str, Any]) -> Task:
        """Change title and/or metadata. Raises `ImmutableField`, `TaskNotFound`, `ConcurrentUpdate`."""
        return self._store.tasks.update(owner, task_id, changes)

    def delete_task(self, owner: str, task_id: str) -> None:
        """Delete the task, its interactions and transcript, and (through the worker, which reaches the project's
        files) its worktree. Raises `TaskNotFound`, `TaskStateConflict` while it runs."""
        task = self._store.tasks.delete(owner, task_id)
        if task.worktree is None:
            return
        try:
            project_path = self._store.sessions.get(owner, task.session_id).project_path
        except SessionNotFound:
            return  # deleted meanwhile (its last task was this one): the worktree stays, its branch with it
        self._queue.send_cleanup(task, project_path)

    def follow_up(self, owner: str, task_id: str, prompt: str) -> Task:
        """Queue `prompt` in the task's conversation; a finished task is queued and enqueued again.

        Raises `PromptTooLarge`, `TaskNotFound`, `ConcurrentUpdate`, `QuotaExceeded` (a finished task queued
        again over the owner's active tasks or monthly spend).
        """
        self._check_prompt(prompt)
        task, requeued = self._store.transitions.follow_up(owner, task_id, prompt)
        if requeued:
            self._enqueue(task)
        return task

    def cancel(self, owner: str, task_id: str) -> Task:
        """Raises `TaskNotFound`, or `TaskStateConflict` unless the task is queued or running."""
        return self._store.transitions.cancel(owner, task_id)

    def retry(self, owner: str, task_id: str) -> Task:
        """Queue a failed, exhausted or cancelled task again and enqueue it.

        Raises `TaskNotFound`, `TaskStateConflict`, `QuotaExceeded` (over the owner's active tasks or monthly spend).
        """
        task = self._store.transitions.retry(owner, task_id)
        self._enqueue(task)
        return task

    def fork(
        self,
        owner: str,
        task_id: str,
        prompt: str | None,
        session_id: str | None,
        idempotency_key: str | None,
        request_fingerprint: str | None = None,
    ) -> Task:
        """A new task continuing the source's conversation (see `TransitionRepository.fork`), enqueued when it
        ends up queued — also when a replay of the idempotency key finishes a fork an earlier attempt left
        part-way. Raises `PromptTooLarge`, `TaskNotFound`, `SessionNotFound`, `SessionNotActive`,
        `IdempotencyKeyReused`, `QuotaExceeded`."""
        if prompt is not None:
            self._check_prompt(prompt)
        fork, runnable = self._store.forks.fork(
            owner, task_id, prompt, session_id, idempotency_key, request_fingerprint
        )
        if runnable:
            self._enqueue(fork)
        return fork

    def interactions(
        self, owner: str, task_id: str, after_seq: int, limit: int, cursor: str | None
    ) -> Page[Interaction]:
        """The task's turns after `after_seq`, in order. Raises `TaskNotFound`, `InvalidCursor`."""
        task = self._store.tasks.get(owner, task_id)
        return self._store.interactions.list_for_task(task, after_seq, limit, cursor)

    def usage(self, owner: str, of: str | None = None) -> OwnerUsage:
        """The totals of `of` (default: the caller): all time, this month, the last 30 days, and the quota.
        Raises `Forbidden` when a caller who is not an admin asks for another owner's."""
        if of is not None and of != owner and owner not in self._settings.admins:
            raise Forbidden("only administrators may read another owner's usage")
        return self._store.usage.for_owner(of or owner)

    def quota(self, owner: str, of: str) -> OwnerQuota:
        """`of`'s quota overrides and the quota they make. Raises `Forbidden` unless `owner` is an admin."""
        self._require_admin(owner, "read an owner's quota overrides")
        return self._store.usage.owner_quota(of)

    def set_quota(self, owner: str, of: str, override: QuotaOverride) -> OwnerQuota:
        """Replace `of`'s quota overrides with `override` (unset: the default; 0: no limit). Raises `Forbidden`
        unless `owner` is an admin."""
        self._require_admin(owner, "set an owner's quota")
        return self._store.usage.set_quota(of, override)

    def clear_quota(self, owner: str, of: str) -> None:
        """Drop `of`'s quota overrides: the deployment's defaults apply. Raises `Forbidden` unless `owner` is
        an admin."""
        self._require_admin(owner, "clear an owner's quota")
        self._store.usage.clear_quota(of)

    def consistency(self, owner: str) -> ConsistencyReport:
        """The janitor's last completed consistency report (one read, never a scan).

        Raises `Forbidden` unless `owner` is a configured admin, `ReportNotReady` before the
        first full check completed.
        """
        if owner not in self._settings.admins:
            raise Forbidden("the consistency report is for administrators only")
        report = self._store.audit.last_report()
        if report is None:
            raise ReportNotReady()
        return report

    def recount(self, owner: str, session_id: str) -> Recount:
        """Set the session's task counters to what its tasks add up to (store/counters.py): the repair of a
        `counter_drift`, and of counters that began at 0 on an upgrade. Raises `Forbidden` unless `owner` is
        an admin, `SessionNotFound` (any owner's session), `ConcurrentUpdate` while its tasks keep moving."""
        if owner not in self._settings.admins:
            raise Forbidden("recounting is for administrators only")
        fixes = self._store.counters.recount_session(session_id)
        return Recount(session_id=session_id, corrected=[CounterFix(**vars(fix)) for fix in fixes])

    def recount_owner(self, admin: str, owner: str) -> Recount:
        """Set `owner`'s tasks by status and `active` (the active-tasks quota's figure) to what their tasks add
        up to: after a `counter_drift`, or an upgrade that found tasks. Raises `Forbidden` unless `admin` is an
        admin, `ConcurrentUpdate` while the owner's tasks keep moving."""
        if admin not in self._settings.admins:
            raise Forbidden("recounting is for administrators only")
        fixes = self._store.counters.recount_owner(owner)
        return Recount(owner=owner, corrected=[CounterFix(**vars(fix)) for fix in fixes])

    def _require_admin(self, owner: str, to: str) -> None:
        if owner not in self._settings.admins:
            raise Forbidden(f"only administrators may {to}")

    def _check_prompt(self, prompt: str) -> None:
        limits.check_prompt(prompt, self._settings.max_prompt_chars)

    def _enqueue(self, task: Task) -> None:
        """Send the task's run. Raises `QueueUnavailable` when the send failed after botocore's retries."""
        if not self._queue.send_run(task):
            metrics.add_metric(name="EnqueueFailed", unit=MetricUnit.Count, value=1)
            # Not a silent success: the caller learns the run is not on its way, and how to put it there.
            raise QueueUnavailable(
                f"task {task.task_id} was saved and is queued, but its run could not be sent: send the same "
                "request again with the same Idempotency-Key to send it (without a key, a create or fork sent "
                "again makes another task), or leave it: a queued task nobody runs is re-queued within "
                f"{self._settings.requeue_after_s} s"
            )
