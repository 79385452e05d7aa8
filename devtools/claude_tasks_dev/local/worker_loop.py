"""Lambda's SQS event source mapping, locally: poll the task queue, invoke the worker with batches.

As in AWS (batch size 10, `ReportBatchItemFailures`): records the handler
reports failed stay in the queue and are delivered again; the rest are deleted.
A raised exception or an invalid reply fails the whole batch. The queue's
redrive policy moves a message to the DLQ after `maxReceiveCount` receives.

Polling is client-side (`WaitTimeSeconds=0` plus a short sleep): moto serves one
request at a time here, and its long poll would hold every other call for the wait.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING, Any

import boto3

from claude_tasks_dev.local.handlers import LambdaFunction
from claude_tasks_dev.local.sqs_event import failed_ids, sqs_record

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

logger = logging.getLogger("claude_tasks_dev.local")
BATCH_SIZE = 10


class WorkerLoop:
    """Feeds `function` from `queue_url` on a thread until `stop()`.

    A failed record becomes visible again after `retry_delay_s * 2**(receives-1)`
    seconds (at most 60) instead of the queue's 15-minute visibility timeout, so
    local redelivery — and the DLQ redrive — happen in seconds.
    """

    def __init__(
        self,
        function: LambdaFunction,
        queue_url: str,
        endpoint_url: str,
        region: str,
        poll_interval_s: float = 0.2,
        retry_delay_s: float = 1.0,
    ) -> None:
        self.function = function
        self.queue_url = queue_url
        self.region = region
        self.poll_interval_s = poll_interval_s
        self.retry_delay_s = retry_delay_s
        self._sqs: SQSClient = boto3.client("sqs", region_name=region, endpoint_url=endpoint_url)
        self._arn = self._sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        self._stopping = threading.Event()
        self._waiting: dict[str, float] = {}  # receipt handle -> when its backoff ends
        self._thread = threading.Thread(target=self._run, name="worker-loop", daemon=True)

    def start(self) -> WorkerLoop:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Finish the batch in flight, then stop; records waiting out a backoff are made visible now."""
        self._stopping.set()
        self._thread.join()
        now = time.monotonic()
        for receipt in [r for r, until in self._waiting.items() if until > now]:
            try:
                self._sqs.change_message_visibility(QueueUrl=self.queue_url, ReceiptHandle=receipt, VisibilityTimeout=0)
            except Exception:  # noqa: BLE001 - redelivered anyway once its backoff ends
                logger.debug("could not reset the visibility of a failed record", exc_info=True)

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                handled = self.poll_once()
            except Exception:
                logger.exception("worker loop: polling failed; trying again")
                handled = 0
            if not handled:
                self._stopping.wait(self.poll_interval_s)

    def poll_once(self) -> int:
        """Receive one batch and hand it to the worker; returns how many records it held."""
        messages = self._sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=BATCH_SIZE,
            WaitTimeSeconds=0,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if messages:
            self._deliver([dict(m) for m in messages])
        return len(messages)

    def _deliver(self, messages: list[dict[str, Any]]) -> None:
        records = [sqs_record(m, self._arn, self.region) for m in messages]
        started = time.monotonic()
        failed = self._invoke(records)
        done = [m for m in messages if m["MessageId"] not in failed]
        if done:
            entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)]
            self._sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=entries)  # type: ignore[arg-type]
        for message in messages:
            if message["MessageId"] in failed:
                self._back_off(message)
        logger.info(
            "worker batch of %d: %d done, %d to retry (%d ms)",
            len(messages),
            len(done),
            len(failed),
            (time.monotonic() - started) * 1000,
        )

    def _invoke(self, records: list[dict[str, Any]]) -> set[str]:
        """The message ids to redeliver: those reported failed, or all when the invocation failed."""
        every = {r["messageId"] for r in records}
        try:
            reply = self.function.invoke({"Records": records})
        except Exception:
            logger.exception("worker raised: the whole batch of %d is retried", len(records))
            return every
        return failed_ids(reply, every)

    def _back_off(self, message: dict[str, Any]) -> None:
        receives = int(message.get("Attributes", {}).get("ApproximateReceiveCount", "1"))
        delay = int(min(60.0, self.retry_delay_s * 2 ** (receives - 1)))
        self._sqs.change_message_visibility(
            QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=delay
        )
        self._waiting = {r: t for r, t in self._waiting.items() if t > time.monotonic()}
        self._waiting[message["ReceiptHandle"]] = time.monotonic() + delay
