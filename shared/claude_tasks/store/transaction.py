"""One conditional `TransactWriteItems`, with its actions named so a cancellation explains itself.

PynamoDB sends a transaction's actions grouped by kind — condition checks,
deletes, puts, updates (`pynamodb/connection/base.py`, `transact_write_items`) —
not in the order they were added. DynamoDB's cancellation reasons follow the
sent order. This is the one place that knows that: callers name each action
and get back, by name, which conditions failed and the item as it was.

It is also the one place that recognises its own committed write. A timeout can
hide a commit, and the SDK's retry of it then fails its own conditions (moto
ignores the request token; a Lambda retry carries a new one). Every item a
transaction puts or updates on a model with a `write_id` attribute is stamped
with the transaction's own id, so a failed condition whose item carries that id
means this very transaction committed: the commit succeeded.

A transaction cancelled only because another one was writing one of its items
(`TransactionConflict`) is sent again, a few times, before the caller hears of it
(`_send`): the owner's `total` usage item is in nearly every write of an owner, so
concurrent runs of one owner conflict, and a turn's record lost to that would be
a paid Claude reply thrown away.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pynamodb.connection import Connection
from pynamodb.exceptions import TransactWriteError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from claude_tasks.core.errors import ItemTooLarge, TransientStoreError
from claude_tasks.core.tracing import Span, Tracer
from claude_tasks.store import faults
from claude_tasks.store.ids import new_id

_KIND_ORDER = ("check", "delete", "put", "update")
# DynamoDB's words for an item over 400 KB ("Item size has exceeded…", "Item size to update has exceeded…").
_ITEM_TOO_LARGE = re.compile(r"item size .*exceeded the maximum allowed size", re.IGNORECASE)
_RETRYABLE_CODES = frozenset({"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"})
COMMIT_ATTEMPTS = 3  # sends of one transaction cancelled only by conflicts before `TransientStoreError`
_CONFLICT_WAIT_S = (0.02, 0.08)  # the first wait's range; each further wait doubles it
M = TypeVar("M", bound=Model)
WRITE_ID = "write_id"  # the attribute that names the transaction which last wrote an item


class Cancelled(Exception):
    """The transaction's conditions failed. `failed` maps each failing action's name to the item as it was
    (None where the item did not exist, or where DynamoDB returns no item, as for deletes)."""

    def __init__(self, failed: dict[str, dict[str, Any] | None]) -> None:
        super().__init__(f"conditions failed: {sorted(failed)}")
        self.failed = failed

    def item(self, name: str, model: type[M]) -> M | None:
        """The item behind a failed action as it was, decoded by PynamoDB as a `model`; None if none came back."""
        raw = self.failed.get(name)
        return None if raw is None else model.from_raw_data(raw)


class IdempotentReplay(Exception):
    """DynamoDB saw this ClientRequestToken with different parameters: an earlier attempt committed."""


@dataclass
class Transaction:
    """Collects named actions, then commits them as one `TransactWriteItems` (one round trip)."""

    connection: Connection
    client_request_token: str | None = None
    tracer: Tracer = field(default_factory=Tracer)
    write_id: str = field(default_factory=new_id)
    _actions: dict[str, list[tuple[str, Callable[[TransactWrite], None]]]] = field(
        default_factory=lambda: {kind: [] for kind in _KIND_ORDER}
    )
    _tables: set[str] = field(default_factory=set)

    def put(self, name: str, item: Model, condition: Condition | None = None) -> None:
        if hasattr(type(item), WRITE_ID):
            setattr(item, WRITE_ID, self.write_id)
        self._tables.add(item.Meta.table_name)
        self._actions["put"].append((name, lambda tx: tx.save(item, condition, return_values="ALL_OLD")))

    def update(
        self,
        name: str,
        item: Model,
        actions: list[Action],
        condition: Condition | None,
        *,
        check_version: bool = True,
    ) -> None:
        """Add an update. Every update names a condition: an unconditioned UpdateItem on a missing key
        creates the item — None is only for counters made on first use and never deleted (store/tally.py).
        With `check_version=False` a versioned item's version is still incremented,
        but the write does not require it unchanged (its own conditions guard it)."""
        stamp = getattr(type(item), WRITE_ID, None)
        self._tables.add(item.Meta.table_name)
        if stamp is not None:
            actions = [*actions, stamp.set(self.write_id)]
        self._actions["update"].append(
            (
                name,
                # A copy per send: PynamoDB appends the version's increment to the list it is given.
                lambda tx: tx.update(
                    item, list(actions), condition, return_values="ALL_OLD", add_version_condition=check_version
                ),
            )
        )

    def check(self, name: str, model: type[Model], hash_key: str, range_key: str | None, condition: Condition) -> None:
        """Add a condition check on an item the transaction does not write (absent items check as empty)."""
        self._actions["check"].append(
            (name, lambda tx: tx.condition_check(model, hash_key, range_key=range_key, condition=condition))
        )

    def delete(self, name: str, item: Model, condition: Condition, *, check_version: bool = False) -> None:
        """Add a delete, guarded by `condition` (and by the item's version only if asked)."""
        self._tables.add(item.Meta.table_name)
        self._actions["delete"].append(
            (name, lambda tx: tx.delete(item, condition, add_version_condition=check_version))
        )

    def commit(self) -> None:
        """Commit every action or none.

        A retry (the SDK's, ours after a conflict, or a later call with the same
        `write_id`) that fails only because this transaction already committed
        returns normally. A transaction cancelled only by conflicts with other
        transactions is sent up to `COMMIT_ATTEMPTS` times.
        Raises `Cancelled` when a condition failed, `IdempotentReplay` when the
        request token was already used, `TransientStoreError` for timeouts,
        connection errors, conflicts that outlasted the attempts and throttling
        (the write may have committed).
        """
        ordered = [pair for kind in _KIND_ORDER for pair in self._actions[kind]]
        names = [name for name, _ in ordered]
        # The span names the actions and tables, never an item's content (conditions and values hold prompts).
        with self.tracer.span(
            "DynamoDB.TransactWriteItems",
            {
                "db.system.name": "aws.dynamodb",
                "db.operation.name": "TransactWriteItems",
                "aws.dynamodb.table_names": sorted(self._tables),
                "claude_tasks.transaction.actions": names,
            },
        ) as span:
            try:
                self._send(ordered, span)
            except TransactWriteError as error:
                explained = _explain(error, names)
                if isinstance(explained, Cancelled):
                    span.set({"claude_tasks.transaction.failed_conditions": sorted(explained.failed)})
                    if self._committed(explained):
                        span.set({"claude_tasks.transaction.replayed": True})
                        return
                raise explained from error

    def _send(self, ordered: list[tuple[str, Callable[[TransactWrite], None]]], span: Span) -> None:
        """Send the actions as one TransactWriteItems; send them again, after a short jittered wait, while
        DynamoDB cancels them only for conflicts with other transactions (at most `COMMIT_ATTEMPTS` sends).

        Neither botocore nor PynamoDB retries a TransactionCanceledException, whatever its reasons. A
        cancelled transaction wrote nothing, so sending the same actions again is safe: the same `write_id`
        (and the same request token, when the caller gave one), so a send whose answer was lost is still
        recognised by `_committed`. A token is not reused across sends otherwise: botocore makes a fresh one
        per call when none is given. AWS documents the token as valid for ten minutes after the first
        request that used it and does not say whether a cancelled request's token is spent; if it is, a
        resend with it gets the same cancellation, and the caller hears of the conflict as before.
        """
        for attempt in range(1, COMMIT_ATTEMPTS + 1):
            try:
                with TransactWrite(connection=self.connection, client_request_token=self.client_request_token) as tx:
                    for _, add in ordered:
                        add(tx)
                return
            except TransactWriteError as error:
                if attempt == COMMIT_ATTEMPTS or not _only_conflicts(error):
                    raise
                span.set({"claude_tasks.transaction.conflicts": attempt})
                low, high = _CONFLICT_WAIT_S
                # Jitter, so the transactions that conflicted do not meet again; not a secret.
                time.sleep(random.uniform(low, high) * 2 ** (attempt - 1))  # noqa: S311

    def _committed(self, cancelled: Cancelled) -> bool:
        # Transactions are atomic: one item stamped with our id means every action of ours committed.
        return any(raw is not None and raw.get(WRITE_ID) == {"S": self.write_id} for raw in cancelled.failed.values())


def _only_conflicts(error: TransactWriteError) -> bool:
    """Whether DynamoDB cancelled the transaction only for conflicts: no condition failed, nothing else went wrong."""
    reasons = error.cancellation_reasons
    if faults.response_code(error) != "TransactionCanceledException" or not reasons:
        return False
    codes = {None if reason is None else reason.code for reason in reasons}
    return "TransactionConflict" in codes and codes <= {None, "None", "TransactionConflict"}


def _explain(error: TransactWriteError, names: list[str]) -> Exception:
    if faults.is_transient(error):
        return faults.transient(error)
    code = faults.response_code(error)
    if code == "IdempotentParameterMismatchException":
        return IdempotentReplay(str(error))
    reasons = error.cancellation_reasons
    messages = [faults.response_message(error), *(r.message or "" for r in reasons if r is not None)]
    if code in ("ValidationException", "TransactionCanceledException") and any(
        _ITEM_TOO_LARGE.search(message) for message in messages
    ):
        return ItemTooLarge("the write would make an item larger than DynamoDB's 400 KB limit: send less text")
    if code != "TransactionCanceledException" or not reasons:
        return error
    if any(r is not None and r.code in _RETRYABLE_CODES for r in reasons):
        return TransientStoreError("the write conflicted with another transaction; try again")
    failed = {
        name: reason.raw_item
        for name, reason in zip(names, reasons, strict=False)
        if reason is not None and reason.code == "ConditionalCheckFailed"
    }
    return Cancelled(failed) if failed else error
