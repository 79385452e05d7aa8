"""Which store failures are transient, and the one place that turns them into `TransientStoreError`.

DynamoDB can be slow (a read timeout, a dropped connection) or busy (throttling,
a conflicting transaction). PynamoDB wraps botocore's error as the `cause` of
its own (`PutError`, `TransactWriteError`, …) and, when that cause is a
connection error, its `cause_response_code` raises `AttributeError` (the
cause's `response` is None). So nothing here reads that property: `response_code`
is the safe form. `translate_faults` decorates a repository class so each
public method raises `TransientStoreError` for such faults, whatever call inside failed.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotocoreConnectionError
from pynamodb.exceptions import PynamoDBException

from claude_tasks.core.errors import TransientStoreError

# DynamoDB's error codes that say "the same call may succeed later".
TRANSIENT_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "SlowDown",  # S3, for content kept outside the item
        "InternalError",
        "TransactionInProgressException",
        "TransactionConflictException",
    }
)
# Timeouts and connection trouble: ReadTimeoutError and ConnectionClosedError are HTTPClientErrors;
# ConnectTimeoutError and EndpointConnectionError are botocore ConnectionErrors.
_NETWORK_ERRORS = (HTTPClientError, BotocoreConnectionError)

_C = TypeVar("_C", bound=type)


def response_code(error: BaseException) -> str | None:
    """DynamoDB's error code behind `error` (a PynamoDB or botocore error), or None when it never answered."""
    cause = error.cause if isinstance(error, PynamoDBException) else error
    if isinstance(cause, ClientError):
        code = cause.response.get("Error", {}).get("Code")
        return str(code) if code is not None else None
    return None


def response_message(error: BaseException) -> str:
    """DynamoDB's error message behind `error`, or "" when it never answered."""
    cause = error.cause if isinstance(error, PynamoDBException) else error
    if isinstance(cause, ClientError):
        return str(cause.response.get("Error", {}).get("Message") or "")
    return ""


def is_transient(error: BaseException) -> bool:
    """Whether `error` is DynamoDB being slow, unreachable or busy, so the same call may succeed later."""
    cause = error.cause if isinstance(error, PynamoDBException) else error
    return isinstance(cause, _NETWORK_ERRORS) or response_code(error) in TRANSIENT_CODES


def transient(error: BaseException) -> TransientStoreError:
    """The domain error for a transient fault; a write may or may not have been committed."""
    if isinstance(error.cause if isinstance(error, PynamoDBException) else error, _NETWORK_ERRORS):
        return TransientStoreError(
            "the database did not answer in time; try again (with the same Idempotency-Key, "
            "if the request had one, so a write that did commit is not made twice)"
        )
    return TransientStoreError(f"the database is busy ({response_code(error)}); try again")


def _wrap(method: Callable[..., Any]) -> Callable[..., Any]:
    if inspect.isgeneratorfunction(method):

        @functools.wraps(method)
        def generator(*args: Any, **kwargs: Any) -> Iterator[Any]:
            try:
                yield from method(*args, **kwargs)
            except (PynamoDBException, ClientError, HTTPClientError, BotocoreConnectionError) as error:
                if is_transient(error):
                    raise transient(error) from error
                raise

        return generator

    @functools.wraps(method)
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except (PynamoDBException, ClientError, HTTPClientError, BotocoreConnectionError) as error:
            if is_transient(error):
                raise transient(error) from error
            raise

    return call


def translate_faults(cls: _C) -> _C:
    """Class decorator: every public method (generators too) raises `TransientStoreError` for a
    timeout, a connection error or throttling, instead of PynamoDB's or botocore's error."""
    for name, member in list(vars(cls).items()):
        if not name.startswith("_") and inspect.isfunction(member):
            setattr(cls, name, _wrap(member))
    return cls
