"""The worker's part of the dead letters: keep the reason of a delivery's last failure.

Apart from the admin's listing and redrive (`app.dead_letters`): the worker's cold start
does not load their views.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger

from claude_tasks.app.delivery import Delivery
from claude_tasks.core.config import Settings

if TYPE_CHECKING:
    from claude_tasks.store import Store

logger = Logger(child=True)


def note_failure(store: Store, settings: Settings, delivery: Delivery, failure: str, reason: str) -> None:
    """Keep the reason of a delivery that failed on its last allowed receive (the one after which SQS moves it
    to the DLQ). Earlier failures are only logged: most are retried into a success. Never raises."""
    if delivery.receive_count < settings.max_receive_count:
        return
    try:
        store.dead_letters.note(delivery.message_id, reason, failure, delivery.receive_count)
    except Exception:  # noqa: BLE001 - the reason is in the log too; the record's own failure must not hide it
        logger.exception("could not keep the dead letter's reason", extra={"message_id": delivery.message_id})
