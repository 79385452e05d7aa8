"""The janitor's duties: clean up orphaned sessions, re-queue stuck tasks, run the full consistency check.

The frequent duties read the sparse indexes (idle sessions, active tasks), never a
scan: their cost follows the orphans and stuck tasks, not the tables. The full
check scans everything, so it runs on a slow schedule and in steps: the run that
starts it and every run after it spend at most `audit_budget_s` on it, saving its
progress, until it completes and its report is stored and published.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from claude_tasks.app.queue import TaskQueue
from claude_tasks.core.clock import iso_in, now_iso
from claude_tasks.core.records import TaskStatus
from claude_tasks.store import Store
from claude_tasks.store.audit import ConsistencyReport

logger = Logger(child=True)


@dataclass(frozen=True)
class JanitorRun:
    """What one run did, for the log and the tests."""

    orphans_deleted: int
    tasks_requeued: int
    report: ConsistencyReport | None  # set by the run that completed a full check
    full_check_under_way: bool = False  # a full check is left for the next runs


class Janitor:
    def __init__(self, store: Store, queue: TaskQueue) -> None:
        self._store = store
        self._queue = queue

    def run(
        self, metrics: Metrics | None = None, start_full_check: bool = False, budget_s: float | None = None
    ) -> JanitorRun:
        """One scheduled run; every duty is safe to repeat and to run beside the API, the worker and another janitor.

        Without `start_full_check`: the frequent duties, then the next step of a full check
        under way. With it (the slow schedule): start a full check unless one is under
        way, and take its first step. A step lasts `budget_s` at most (default `audit_budget_s`).
        """
        tracer = self._store.tracer
        if start_full_check:
            started = self._store.audit.start()
            logger.info("full check", extra={"started": started})
            orphans = requeued = 0
        else:
            with tracer.span("janitor.delete_orphans") as span:
                orphans = self.delete_orphans()
                span.set({"claude_tasks.orphans_deleted": orphans})
            with tracer.span("janitor.requeue_stuck") as span:
                requeued = self.requeue_stuck()
                span.set({"claude_tasks.tasks_requeued": requeued})
        with tracer.span("janitor.full_check_step") as span:
            report, under_way = self.full_check_step(budget_s)
            span.set({"claude_tasks.report.made": report is not None, "claude_tasks.full_check.under_way": under_way})
        result = JanitorRun(orphans, requeued, report, under_way)
        if metrics is not None:
            publish(result, metrics)
        logger.info(
            "janitor run",
            extra={
                "orphans_deleted": orphans,
                "tasks_requeued": requeued,
                "full_check_under_way": under_way,
                "violations": None if report is None else len(report.violations) + report.violations_not_listed,
                "counters_not_checked": None if report is None else report.counters_not_checked,
            },
        )
        return result

    def full_check_step(self, budget_s: float | None = None) -> tuple[ConsistencyReport | None, bool]:
        """Go on with the full check under way for `budget_s`; returns (its report if it completed, under way after)."""
        settings = self._store.settings
        loaded = self._store.audit.under_way()
        if loaded is None:
            return None, False
        record, progress = loaded
        deadline = time.monotonic() + (settings.audit_budget_s if budget_s is None else budget_s)
        progress.advance(self._store, deadline, page_size=settings.audit_page_size or None)
        if not progress.complete:
            if not self._store.audit.save(record, progress):
                logger.warning("full check: another janitor saved its progress first; this step's work is dropped")
            return None, True
        return self._store.audit.complete(record, progress), False

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
    """What the run did, and the report's figures when it completed a full check, as CloudWatch metrics (EMF)."""
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
            "InvariantViolations": len(report.violations) + report.violations_not_listed,
            # Subjects the check could not count (over the cap): a report of 0 violations is not all clear then.
            "CountersNotChecked": report.counters_not_checked,
        }
    for name, value in figures.items():
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
