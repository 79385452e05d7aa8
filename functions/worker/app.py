"""Worker Lambda: an SQS batch of task messages in, each run by the TaskExecutor, failed records reported out.

Records of a batch run concurrently; each either ends acknowledged or is listed in
`batchItemFailures` (SQS redelivers it, and after `maxReceiveCount` moves it to the DLQ).
A record that fails on its last receive leaves its reason, keyed by its message id, for the
API's `GET /admin/dead-letters` (SQS moves the message itself unchanged).
"""

from __future__ import annotations

import gc

# Nothing the imports below make is garbage, yet the cyclic collector would walk those objects
# (botocore's, pydantic's, ours) again and again while they are made: it waits until the module
# is built, and then leaves them out of its passes for good (`gc.freeze`; README, cold start).
gc.disable()

import contextvars
import math
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from claude_tasks.app.dead_letter_notes import note_failure
from claude_tasks.app.delivery import Delivery, RecordFailed
from claude_tasks.app.run import TaskExecutor
from claude_tasks.core import metrics as published
from claude_tasks.core.config import get_settings
from claude_tasks.store import Store

# The event source mapping's BatchSize: every record of a full batch gets a thread.
MAX_CONCURRENT_RECORDS = 10

logger = Logger()
metrics = Metrics()
settings = get_settings()
# No network here: clients are made on first use, and a Claude backend (and its SDK) on the first task that needs it.
executor = TaskExecutor(Store(settings), settings)


class ConcurrentBatchProcessor(BatchProcessor):
    """Powertools' BatchProcessor, its records run at the same time in a bounded thread pool.

    Powertools 3.37 offers `BatchProcessor` (one record after another) and
    `AsyncBatchProcessor` (overlaps awaitables only). Our record work — the Claude SDK,
    PynamoDB, boto3 — is blocking, so the async processor would still run it serially.
    Records are independent (one lease per task), so threads overlap ten slow Claude calls;
    success and failure bookkeeping stay Powertools' own `_process_record`.
    """

    def __init__(self, max_workers: int) -> None:
        # Not raising on an all-failed batch: the response lists every record, which SQS treats the same.
        super().__init__(EventType.SQS, raise_on_entire_batch_failure=False)
        self._max_workers = max_workers

    def process(self) -> list[tuple[Any, ...]]:
        if len(self.records) <= 1:
            return super().process()
        workers = min(self._max_workers, len(self.records))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="record") as pool:
            # Each record runs in a copy of this invocation's context (contextvars), as it would inline.
            contexts = [contextvars.copy_context() for _ in self.records]
            return list(pool.map(lambda ctx, record: ctx.run(self._process_record, record), contexts, self.records))


processor = ConcurrentBatchProcessor(MAX_CONCURRENT_RECORDS)


def _count(name: str) -> None:
    published.add(name)  # under the lock every addition of the batch's record threads takes


def record_handler(record: SQSRecord, lambda_context: LambdaContext | None = None) -> str:
    """Run one record. Returns the outcome (acknowledged); raises to have the record redelivered."""
    logger.thread_safe_append_keys(message_id=record.message_id)
    delivery = _delivery(record, lambda_context)
    span = executor.store.tracer.span(
        "task.message", {"messaging.system": "aws_sqs", "messaging.message.id": record.message_id}
    )
    try:
        with span:
            outcome = executor.handle(record.body, delivery)
        logger.info("record done", extra={"outcome": outcome.value})
        _count(f"Task{outcome.value.title().replace('_', '')}")
        return outcome.value
    except RecordFailed as failed:
        logger.warning("record not acknowledged", extra={"reason": failed.reason, "kind": type(failed).__name__})
        _count(f"Record{type(failed).__name__}")
        note_failure(executor.store, settings, delivery, type(failed).__name__, failed.reason)
        raise
    except Exception as error:
        logger.exception("record failed unexpectedly; SQS will redeliver it")
        _count("RecordError")
        note_failure(executor.store, settings, delivery, type(error).__name__, f"{type(error).__name__}: {error}")
        raise
    finally:
        logger.thread_safe_clear_keys()  # pool threads are reused by the next record


def _delivery(record: SQSRecord, context: LambdaContext | None) -> Delivery:
    ends_at = math.inf if context is None else time.monotonic() + context.get_remaining_time_in_millis() / 1000
    return Delivery(
        message_id=record.message_id,
        receive_count=int(record.attributes.approximate_receive_count),
        ends_at=ends_at,
        receipt_handle=record.receipt_handle,
    )


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    """Process the batch; the response names the records SQS must deliver again."""
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)


gc.freeze()  # the module is built (see `gc.disable()` above)
gc.enable()
