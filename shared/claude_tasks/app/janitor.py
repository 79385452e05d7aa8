"""The janitor's duties: clean up orphaned sessions, re-queue stuck tasks, publish the consistency report."""

from __future__ import annotations

import time
from dataclasses import dataclass

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from claude_tasks.app.queue import TaskQueue
from claude_tasks.core.clock import iso_in, now_iso
from claude_tasks.core.records import TaskStatus
from claude_tasks.store import Store
from claude_tasks.store.audit import ConsistencyReport, consistency_report

logger = Logger(child=True)


@dataclass(frozen=True)
class JanitorRun:
    """What one run did, for the log and the tests."""

    orphans_deleted: int
    tasks_requeued: int
    report: ConsistencyReport | None  # None when the report was not due this run (`report_interval_s`)


class Janitor:
    def __init__(self, store: Store, queue: TaskQueue) -> None:
        self._store = store
        self._queue = queue
        self._last_report: float | None = None  # monotonic time of this container's last report

    def run(self, metrics: Metrics | None = None) -> JanitorRun:
        """Do every duty once; each is safe to repeat and to run beside the API and worker.

        The consistency report is made when `report_interval_s` has passed since the last one (always, at 0).
        """
        tracer = self._store.tracer
        with tracer.span("janitor.delete_orphans") as span:
            orphans = self.delete_orphans()
            span.set({"claude_tasks.orphans_deleted": orphans})
        with tracer.span("janitor.requeue_stuck") as span:
            requeued = self.requeue_stuck()
            span.set({"claude_tasks.tasks_requeued": requeued})
        with tracer.span("janitor.consistency_report") as span:
            report = self.report_if_due()
            span.set({"claude_tasks.report.made": report is not None})
        result = JanitorRun(orphans, requeued, report)
        if metrics is not None:
            publish(result, metrics)
        violations = None if result.report is None else len(result.report.violations)
        logger.info(
            "janitor run",
            extra={
                "orphans_deleted": result.orphans_deleted,
                "tasks_requeued": result.tasks_requeued,
                "violations": violations,
            },
        )
        return result

    def report_if_due(self) -> ConsistencyReport | None:
        """The consistency report, scanned `audit_page_size` items a page; None when not due yet."""
        settings = self._store.settings
        now = time.monotonic()
        if self._last_report is not None and now - self._last_report < settings.report_interval_s:
            return None
        report = consistency_report(self._store, page_size=settings.audit_page_size or None)
        self._last_report = now
        return report

    def delete_orphans(self) -> int:
        """Delete sessions with no tasks older than the retention period; a racing task creation wins."""
        cutoff = iso_in(-self._store.settings.orphan_retention_hours * 3600)
        sessions = self._store.sessions
        return sum(1 for s in sessions.orphans(cutoff) if sessions.delete_if_orphaned(s.session_id, cutoff))

    def requeue_stuck(self) -> int:
        """Send `task.run` again for queued tasks nobody took and running tasks whose lease expired.

        A queued task with `attempts` was given back by a worker after a retryable error, and
        its own message reappears once the queue's visibility timeout (`lease_seconds`) ends:
        it is re-queued only when left untouched longer than that. A duplicate message is
        harmless (the worker's lease makes the second delivery a no-op), but each one is a
        receive of its own, so the janitor does not multiply them.
        """
        settings = self._store.settings
        queued_before = iso_in(-settings.requeue_after_s)
        released_before = iso_in(-settings.lease_seconds)
        stuck = [
            task
            for task in self._store.tasks.stuck(queued_before, now_iso())
            if task.status is not TaskStatus.QUEUED or task.attempts == 0 or task.updated_at < released_before
        ]
        return sum(1 for task in stuck if self._queue.send_run(task))


def publish(result: JanitorRun, metrics: Metrics) -> None:
    """What the run did, and the consistency report's figures when it made one, as CloudWatch metrics (EMF)."""
    figures = {"OrphansDeleted": result.orphans_deleted, "TasksRequeued": result.tasks_requeued}
    report = result.report
    if report is not None:
        figures |= {
            "TotalSessions": report.total_sessions,
            "OrphanedSessions": report.orphaned_sessions,
            "TotalTasks": report.total_tasks,
            "TasksWithValidSession": report.tasks_with_valid_session,
            "TotalInteractions": report.total_interactions,
            "SharedClaudeSessionIds": report.shared_claude_session_ids,
            "InvariantViolations": len(report.violations),
        }
    for name, value in figures.items():
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
