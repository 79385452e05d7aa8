"""Janitor Lambda: on its schedules, clean up orphaned sessions, re-queue stuck tasks, run the full check."""

from __future__ import annotations

import gc

# Nothing the imports below make is garbage, yet the cyclic collector would walk those objects
# (botocore's, pydantic's, ours) again and again while they are made: it waits until the module
# is built, and then leaves them out of its passes for good (`gc.freeze`; README, cold start).
gc.disable()

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
# Left of the invocation's time after the full check's step: its progress is saved within it.
SAVE_MARGIN_S = 30.0


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    """One run: the frequent duties, or (`{"full_check": "start"}`, the slow schedule) a full check's start;
    then the next step of the full check under way. `violations` only when this run completed one."""
    remaining_s = context.get_remaining_time_in_millis() / 1000 - SAVE_MARGIN_S
    budget_s = max(1.0, min(settings.audit_budget_s, remaining_s))
    run = janitor.run(metrics, start_full_check=event.get("full_check") == "start", budget_s=budget_s)
    done = {
        "orphans_deleted": run.orphans_deleted,
        "tasks_requeued": run.tasks_requeued,
        "full_check_under_way": int(run.full_check_under_way),
    }
    if run.report is not None:
        done["violations"] = len(run.report.violations) + run.report.violations_not_listed
    return done


gc.freeze()  # the module is built (see `gc.disable()` above)
gc.enable()
