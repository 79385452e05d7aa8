"""Janitor Lambda: on its schedule, clean up orphaned sessions, re-queue stuck tasks, publish the report."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.utilities.typing import LambdaContext

from claude_tasks.app.janitor import Janitor
from claude_tasks.app.queue import TaskQueue
from claude_tasks.core.config import get_settings
from claude_tasks.store import Store

logger = Logger()
metrics = Metrics()
settings = get_settings()
janitor = Janitor(Store(settings), TaskQueue(settings))


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    """Run every duty once; returns what was done (`violations` only when the report was made)."""
    run = janitor.run(metrics)
    done = {"orphans_deleted": run.orphans_deleted, "tasks_requeued": run.tasks_requeued}
    if run.report is not None:
        done["violations"] = len(run.report.violations)
    return done
