"""Faults at the AWS boundary: WSGI middleware in front of moto server that answers chosen requests with AWS errors.

    faults = AwsFaults()
    with EmbeddedAws(middleware=faults.wrap) as aws:
        faults.fail(WRITES, THROTTLING, skip=1)   # the second write request, and botocore's retries of it

Every client in the process (PynamoDB's, boto3's, the handlers') reaches moto over HTTP,
so a fault made here is seen by the real SDKs and by our code exactly as DynamoDB's or
SQS's own error would be: botocore parses it and retries it as it would in AWS.
A rule fails the `skip`-th matching request after it was armed, then every send of the
same request, so the error outlasts the SDK's retries and our own code must deal with it:
botocore re-sends a retried request unchanged, and a transaction cancelled for a conflict
is sent again by `Transaction.commit` with a fresh ClientRequestToken (botocore's, when
the caller gave none), so "the same request" is the same body but for that token. With
`attempts`, only that many sends of it fail (a conflict the retry absorbs); with `requests`,
that many distinct requests fail (the next ones that match); `where` picks the requests a
rule looks at. With `after`, moto serves the request first (the write commits) and only
the answer is the error.
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
TRANSACT_WRITE = f"{DYNAMODB}.TransactWriteItems"
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


Request = dict[str, Any]  # a JSON-protocol request's body


def touches(table: str, key: Request) -> Callable[[Request], bool]:
    """A `where` for transactions with an action on the item `key` (DynamoDB's form) of `table`."""

    def where(request: Request) -> bool:
        actions = (action for item in request.get("TransactItems", []) for action in item.values())
        return any(action.get("TableName") == table and action.get("Key") == key for action in actions)

    return where


@dataclass
class _Rule:
    targets: frozenset[str]
    error: AwsError
    skip: int
    after: bool
    attempts: int | None  # sends of one request answered with the error (None: every one)
    requests: int | None  # distinct requests failed (None: every one that matches)
    where: Callable[[Request], bool] | None
    seen: int = 0
    failing: dict[str, int] = field(default_factory=dict)  # each request failed (its `_same`) → sends failed
    fired: int = 0  # sends answered with the error


class AwsFaults:
    """The middleware and its rules; thread-safe (tests arm it while the server's thread serves)."""

    def __init__(self) -> None:
        self._rules: list[_Rule] = []
        self._lock = threading.Lock()
        self.served: list[str] = []  # the targets of every request, in order (for counting writes)

    def fail(
        self,
        targets: frozenset[str],
        error: AwsError,
        skip: int = 0,
        after: bool = False,
        *,
        attempts: int | None = None,
        requests: int | None = 1,
        where: Callable[[Request], bool] | None = None,
    ) -> None:
        """Answer the `skip`-th next request to any of `targets` (`where` says so, if given) with `error`, and
        every send of it again, or its first `attempts`; then the next ones, until `requests` were failed
        (None: every one)."""
        with self._lock:
            self._rules.append(_Rule(targets, error, skip, after, attempts, requests, where))

    def clear(self) -> int:
        """Disarm every rule; returns how many sends were answered with an error."""
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
        request = _json(body)
        same = _same(request) if request else body.decode(errors="replace")
        with self._lock:
            self.served.append(target)
            for rule in self._rules:
                if target in rule.targets and _fires(rule, request, same):
                    rule.failing[same] = rule.failing.get(same, 0) + 1
                    rule.fired += 1
                    return rule
            return None


def _fires(rule: _Rule, request: Request, same: str) -> bool:
    """Whether `rule` answers this send with its error (counting the requests it looks at)."""
    if same in rule.failing:  # a request failed before, sent again
        return rule.attempts is None or rule.failing[same] < rule.attempts
    if rule.requests is not None and len(rule.failing) >= rule.requests:
        return False
    if rule.where is not None and not rule.where(request):
        return False
    if rule.seen < rule.skip:
        rule.seen += 1
        return False
    return True


def _same(request: Request) -> str:
    """What every send of one request has in common: its body but for the ClientRequestToken."""
    return json.dumps({name: value for name, value in request.items() if name != "ClientRequestToken"}, sort_keys=True)


def _json(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body or b"{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
