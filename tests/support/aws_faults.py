"""Faults at the AWS boundary: WSGI middleware in front of moto server that answers chosen requests with AWS errors.

    faults = AwsFaults()
    with EmbeddedAws(middleware=faults.wrap) as aws:
        faults.fail(WRITES, THROTTLING, skip=1)   # the second write request, and botocore's retries of it

Every client in the process (PynamoDB's, boto3's, the handlers') reaches moto over HTTP,
so a fault made here is seen by the real SDKs and by our code exactly as DynamoDB's or
SQS's own error would be: botocore parses it and retries it as it would in AWS.
A rule fails the `skip`-th matching request after it was armed, then every request with
the same body (botocore re-sends a retried request unchanged), so the error outlasts
the SDK's retries and our own code must deal with it. With `after`, moto serves the
request first (the write commits) and only the answer is the error.
"""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

DYNAMODB = "DynamoDB_20120810"
WRITES = frozenset(
    f"{DYNAMODB}.{op}" for op in ("PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem")
)
SEND_MESSAGE = frozenset({"AmazonSQS.SendMessage"})


@dataclass(frozen=True)
class AwsError:
    """An AWS JSON-protocol error answer: HTTP status, `__type` and message, and extra body fields."""

    status: int
    type: str
    message: str
    extra: dict[str, Any] = field(default_factory=dict)

    def body(self, request: dict[str, Any]) -> bytes:
        fields = dict(self.extra)
        if self.type.endswith("#TransactionCanceledException"):
            # One reason per action, as DynamoDB gives them: the first conflicted, the others were not evaluated.
            actions = len(request.get("TransactItems", [])) or 1
            fields["CancellationReasons"] = [{"Code": "TransactionConflict", "Message": "Transaction is ongoing"}] + [
                {"Code": "None"}
            ] * (actions - 1)
        return json.dumps({"__type": self.type, "message": self.message, **fields}).encode()


THROTTLING = AwsError(
    400, "com.amazonaws.dynamodb.v20120810#ThrottlingException", "Rate of requests exceeds the allowed throughput."
)
# A transaction cancelled because another one touched the same item (a single write gets the exception itself).
TRANSACTION_CONFLICT = AwsError(
    400,
    "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
    "Transaction cancelled, please refer cancellation reasons for specific reasons [TransactionConflict]",
)
ITEM_CONFLICT = AwsError(
    400,
    "com.amazonaws.dynamodb.v20120810#TransactionConflictException",
    "Transaction is ongoing for the item",
)
# SQS refusing the send for good (the role lost sqs:SendMessage, the queue's key was disabled): no SDK retry helps.
SEND_REFUSED = AwsError(400, "com.amazonaws.sqs#KmsAccessDenied", "The KMS key of the queue cannot be used.")


@dataclass
class _Rule:
    targets: frozenset[str]
    error: AwsError
    skip: int
    after: bool
    seen: int = 0
    failing: bytes | None = None  # the body of the request failed, whose retries fail too
    fired: int = 0  # requests answered with the error


class AwsFaults:
    """The middleware and its rules; thread-safe (tests arm it while the server's thread serves)."""

    def __init__(self) -> None:
        self._rules: list[_Rule] = []
        self._lock = threading.Lock()
        self.served: list[str] = []  # the targets of every request, in order (for counting writes)

    def fail(self, targets: frozenset[str], error: AwsError, skip: int = 0, after: bool = False) -> None:
        """Answer the `skip`-th next request to any of `targets` (and botocore's retries of it) with `error`."""
        with self._lock:
            self._rules.append(_Rule(targets, error, skip, after))

    def clear(self) -> int:
        """Disarm every rule; returns how many requests were answered with an error."""
        with self._lock:
            fired = sum(rule.fired for rule in self._rules)
            self._rules.clear()
            return fired

    def count(self, targets: frozenset[str]) -> int:
        with self._lock:
            return sum(1 for target in self.served if target in targets)

    def wrap(self, app: WSGIApp) -> WSGIApp:
        def faulty(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
            target = environ.get("HTTP_X_AMZ_TARGET", "")
            body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
            environ["wsgi.input"] = io.BytesIO(body)
            rule = self._match(target, body)
            if rule is None:
                return app(environ, start_response)
            if rule.after:
                served = b"".join(app(environ, lambda *_: None))
                del served  # the write committed; its answer is lost
            payload = rule.error.body(_json(body))
            start_response(
                f"{rule.error.status} Error",
                [("Content-Type", "application/x-amz-json-1.0"), ("Content-Length", str(len(payload)))],
            )
            return [payload]

        return faulty

    def _match(self, target: str, body: bytes) -> _Rule | None:
        with self._lock:
            self.served.append(target)
            for rule in self._rules:
                if target not in rule.targets:
                    continue
                if rule.failing is not None:
                    if body == rule.failing:  # botocore retrying the failed request
                        rule.fired += 1
                        return rule
                    continue
                if rule.seen == rule.skip:
                    rule.failing, rule.fired = body, rule.fired + 1
                    return rule
                rule.seen += 1
            return None


def _json(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body or b"{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
