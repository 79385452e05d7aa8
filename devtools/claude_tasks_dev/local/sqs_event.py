"""Lambda's SQS event source, the two halves a poller needs: the records it sends, the failures it reads back."""

from __future__ import annotations

import base64
import hashlib
import logging
from typing import Any

logger = logging.getLogger("claude_tasks_dev.local")


def failed_ids(reply: Any, every: set[str]) -> set[str]:
    """Lambda's reading of a `ReportBatchItemFailures` reply: the ids to retry.

    None or no `batchItemFailures` means all succeeded; a reply of another shape,
    or naming an id that is not in the batch, fails the whole batch.
    """
    if reply is None:
        return set()
    failures = reply.get("batchItemFailures") or [] if isinstance(reply, dict) else None
    if not isinstance(failures, list):
        logger.error("worker replied %r, not a batch response: the whole batch is retried", reply)
        return every
    ids = {f.get("itemIdentifier") if isinstance(f, dict) else None for f in failures}
    if not ids <= every:
        logger.error("worker reported item ids %r not in the batch: the whole batch is retried", failures)
        return every
    return {str(i) for i in ids}


def sqs_record(message: dict[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    """One record of the event Lambda sends for an SQS batch, from a `ReceiveMessage` entry."""
    body = message["Body"]
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": body,
        "attributes": dict(message.get("Attributes", {})),
        "messageAttributes": {
            name: _record_attribute(value) for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message.get("MD5OfBody") or hashlib.md5(body.encode(), usedforsecurity=False).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


def _record_attribute(value: dict[str, Any]) -> dict[str, Any]:
    """SQS's `StringValue`/`BinaryValue` shape, in the lower-camel-case shape Lambda's records use."""
    attribute: dict[str, Any] = {"dataType": value["DataType"], "stringListValues": [], "binaryListValues": []}
    if "StringValue" in value:
        attribute["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        attribute["binaryValue"] = base64.b64encode(value["BinaryValue"]).decode()
    return attribute
