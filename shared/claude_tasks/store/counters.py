"""A session's task counters as stored, as counted from its tasks, and the recount that writes the count.

The counters (`task_count` and tasks by status, store/tally.py) move only in the
transactions that move tasks, so they drift only by a fault or by an upgrade that
found tasks written before they existed. The session's tasks are only reachable
through the `by-session` index, which cannot be read consistently: the tasks it
lists are re-read consistently, 100 to a `BatchGetItem` (their status then is current), and a
count is only trusted while the session's `write_id` held still around it (every
transaction that moves a counter stamps it, store/transaction.py). The recount's
write is conditioned on that `write_id`, so a task change after the count makes it
fail and count again rather than write a stale figure. A task committed just before
the first read may not be in the index yet (it lags), and the `write_id` held still
would then bless a count one too low: so the index is only queried `INDEX_SETTLE_S`
after that read. Each count costs a consistent read per task (in one round trip per
100 tasks), so a session or owner with more than `COUNT_CAP` tasks is not counted
(`TooManyToCount`).

An owner's counters (tasks by status and `active`, the figure the active-tasks quota's
condition reads, on their usage `total` item) are recounted the same way: their tasks
are listed by the tasks' `by-owner` index, each re-read consistently, and the write
is conditioned on `total`'s `write_id` (stamped by every tally) and counters as counted.
An owner whose `total` item does not exist yet (a stack upgraded with tasks) gets it.

Turns, tokens and cost are not recounted: they are spend, kept after a task is deleted,
so the tasks that remain cannot say what they should be.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action

from claude_tasks.core import usage as periods
from claude_tasks.core.errors import ConcurrentUpdate, DomainError, SessionNotFound
from claude_tasks.core.lifecycle import ACTIVE
from claude_tasks.core.records import TaskStatus
from claude_tasks.store.faults import translate_faults
from claude_tasks.store.models import SessionModel, TaskModel, UsageModel
from claude_tasks.store.sessions import idle_shard
from claude_tasks.store.tally import COUNTED, count_attribute
from claude_tasks.store.transaction import Cancelled

if TYPE_CHECKING:
    from pynamodb.attributes import Attribute
    from pynamodb.indexes import GlobalSecondaryIndex

    from claude_tasks.store import Store

# Counts of one session tried before giving up as moving: a busy session settles between its tasks' turns.
ATTEMPTS = 5
# Wait between the consistent read of the counters' item and the index query that lists its tasks: the indexes
# (GSIs) are eventually consistent, and a task committed just before the read but not yet listed would be missed
# by a count that the unchanged `write_id` then accepts (counters written one too low, an owner let past
# max_active_tasks). DynamoDB propagates to a GSI typically well under a second. Tests on moto pass 0.
INDEX_SETTLE_S = 1.0
# Most tasks one session or owner is counted with: their consistent re-reads cost a read capacity unit each (for a
# task item under 4 KB; projecting attributes does not lower it), 20 BatchGetItem round trips at the cap, and one
# count bounds the read capacity a recount or a full-check step may spend on one subject: beyond it the recount
# refuses and the full check leaves the subject unchecked.
COUNT_CAP = 2_000
# Time after which the API's recount starts no other count and gives up as moving: a count started just before
# (the settle wait, the index query and up to `COUNT_CAP` re-reads) and its write still end before API Gateway's 29 s.
RECOUNT_BUDGET_S = 15.0
COUNTERS = ("task_count", *(count_attribute(status) for status in COUNTED))
# An owner's, on their usage `total` item: no `task_count`, but `active` (queued + running, store/tally.py).
OWNER_COUNTERS = (*(count_attribute(status) for status in COUNTED), "active")
# The item whose counters a count settles on: a session, or an owner's usage `total` (None before it exists).
_Item = TypeVar("_Item", SessionModel, UsageModel | None)


class TooManyToCount(DomainError):
    """More tasks than `COUNT_CAP` to count within one request or one step of the full check."""

    kind = "transient"  # 503, as the recount documents: nothing is written, the counters stay as they were

    def __init__(self, subject: str) -> None:
        super().__init__(
            f"{subject} has more than {COUNT_CAP} tasks: too many to recount within the API's time limit; "
            "nothing was changed"
        )


@dataclass(frozen=True)
class Drift:
    """One counter whose stored figure is not what the tasks add up to."""

    counter: str
    stored: int
    counted: int


def stored(session: SessionModel) -> dict[str, int]:
    """The session's counters as the item holds them (an absent one is 0)."""
    return {name: int(getattr(session, name) or 0) for name in COUNTERS}


def tally(statuses: list[str]) -> dict[str, int]:
    """What the counters should be for tasks in `statuses`: `task_count` includes `deleting` ones, by status not."""
    figures = dict.fromkeys(COUNTERS, 0)
    figures["task_count"] = len(statuses)
    for status in statuses:
        if status != TaskStatus.DELETING.value:
            figures[count_attribute(TaskStatus(status))] += 1
    return figures


def indexed(session_id: str) -> dict[str, int]:
    """The counters as the session index shows its tasks (eventually consistent: cheap, for spotting a suspect)."""
    return tally([str(task.status) for task in TaskModel.by_session.query(session_id, attributes_to_get=["status"])])


def counted(session_id: str) -> dict[str, int]:
    """The counters as the session's tasks stand now: listed by the index, each re-read consistently.
    Raises `TooManyToCount` (before any re-read) when the index lists more than `COUNT_CAP`."""
    return tally(_statuses(TaskModel.by_session, "session_id", session_id, f"session {session_id}"))


def drifts(have: dict[str, int], should: dict[str, int]) -> list[Drift]:
    return [Drift(name, have[name], should[name]) for name in should if have[name] != should[name]]


def settled(
    session_id: str,
    *,
    attempts: int = ATTEMPTS,
    settle: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
    deadline: float | None = None,
) -> tuple[SessionModel, dict[str, int]] | None:
    """The session read consistently, and its tasks counted while its `write_id` held still; None while it moves
    (or when `deadline`, monotonic, passed before an attempt). The index is queried `settle` seconds (default
    `INDEX_SETTLE_S`) after the first read, so a task committed before that read is listed.

    Raises `SessionNotFound` when the session does not exist, `TooManyToCount` over `COUNT_CAP` tasks.
    """
    return _settled(
        lambda: _fresh(session_id),
        lambda session: (session.write_id, stored(session)),
        lambda: counted(session_id),
        attempts=attempts,
        settle=settle,
        sleep=sleep,
        deadline=deadline,
    )


def owner_stored(total: UsageModel | None) -> dict[str, int]:
    """The owner's counters as their `total` item holds them (an absent item or counter is 0)."""
    return {name: 0 if total is None else int(getattr(total, name) or 0) for name in OWNER_COUNTERS}


def owner_tally(statuses: list[str]) -> dict[str, int]:
    """What the owner's counters should be for tasks in `statuses`: `deleting` ones count nowhere."""
    figures = dict.fromkeys(OWNER_COUNTERS, 0)
    for status in statuses:
        if status != TaskStatus.DELETING.value:
            figures[count_attribute(TaskStatus(status))] += 1
            figures["active"] += TaskStatus(status) in ACTIVE
    return figures


def owner_indexed(owner: str) -> dict[str, int]:
    """The owner's counters as the owner index shows their tasks (eventually consistent: for spotting a suspect)."""
    return owner_tally([str(task.status) for task in TaskModel.by_owner.query(owner, attributes_to_get=["status"])])


def owner_counted(owner: str) -> dict[str, int]:
    """The owner's counters as their tasks stand now: listed by the owner index, each re-read consistently.
    Raises `TooManyToCount` (before any re-read) when the index lists more than `COUNT_CAP`."""
    return owner_tally(_statuses(TaskModel.by_owner, "owner", owner, f"owner {owner}"))


def owner_settled(
    owner: str,
    *,
    attempts: int = ATTEMPTS,
    settle: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
    deadline: float | None = None,
) -> tuple[UsageModel | None, dict[str, int]] | None:
    """The owner's `total` read consistently (None: not written yet), and their tasks counted while its
    `write_id` and counters held still; None while they move. As `settled`: the index is queried `settle`
    seconds after the first read, `deadline` stops the attempts, `TooManyToCount` over `COUNT_CAP` tasks."""
    return _settled(
        lambda: _total(owner),
        lambda total: (_write_id(total), owner_stored(total)),
        lambda: owner_counted(owner),
        attempts=attempts,
        settle=settle,
        sleep=sleep,
        deadline=deadline,
    )


def _settled(
    read: Callable[[], _Item],
    held: Callable[[_Item], object],
    count: Callable[[], dict[str, int]],
    *,
    attempts: int,
    settle: float | None,
    sleep: Callable[[float], None],
    deadline: float | None,
) -> tuple[_Item, dict[str, int]] | None:
    """`read` (the counters' item, consistently), wait for the index, `count`, and `read` again: the count and the
    second read when what `held` picks of the item (its `write_id` and counters) did not change; None while it
    moves."""
    for _ in range(attempts):
        if deadline is not None and time.monotonic() >= deadline:
            return None
        before = read()
        sleep(INDEX_SETTLE_S if settle is None else settle)
        figures = count()
        after = read()
        if held(before) == held(after):
            return after, figures
    return None


@translate_faults
class CounterRepository:
    def __init__(self, store: Store) -> None:
        self._store = store

    def recount_session(self, session_id: str) -> list[Drift]:
        """Set the session's task counters to what its tasks add up to; returns what was corrected.

        One conditional write: it requires the session's `write_id` (and counters) as they were
        when counted, so a task moved meanwhile fails it and the count is taken again. Raises
        `SessionNotFound`, `ConcurrentUpdate` when the session never held still long enough (within
        `RECOUNT_BUDGET_S`), `TooManyToCount` over `COUNT_CAP` tasks.
        """
        return _recount(
            lambda deadline: settled(session_id, deadline=deadline), stored, self._write, f"session {session_id}"
        )

    def recount_owner(self, owner: str) -> list[Drift]:
        """Set the owner's tasks by status and `active` (their usage `total`) to what their tasks add up to;
        returns what was corrected. As `recount_session`: one write conditioned on `total` unchanged since
        the count (it creates `total` if the owner has none yet). Raises `ConcurrentUpdate` when the owner's
        tasks never held still long enough (within `RECOUNT_BUDGET_S`), `TooManyToCount` over `COUNT_CAP`
        tasks; an owner with no tasks and no `total` has nothing to correct."""

        def write(total: UsageModel | None, figures: dict[str, int]) -> None:
            attributes = UsageModel.get_attributes()
            actions: list[Action] = [attributes[name].set(value) for name, value in figures.items()]
            tx = self._store.transaction()
            tx.update("total", UsageModel(owner, periods.TOTAL), actions, _total_unchanged(total))
            tx.commit()

        return _recount(lambda deadline: owner_settled(owner, deadline=deadline), owner_stored, write, f"owner {owner}")

    def _write(self, session: SessionModel, figures: dict[str, int]) -> None:
        attributes = SessionModel.get_attributes()
        actions: list[Action] = [attributes[name].set(value) for name, value in figures.items()]
        if figures["task_count"] == 0:  # the idle index holds exactly the sessions with no task
            shard = idle_shard(session.session_id, self._store.settings.active_shards)
            actions.append(SessionModel.idle_shard.set(shard))
        else:
            actions.append(SessionModel.idle_shard.remove())
        tx = self._store.transaction()
        tx.update("session", SessionModel(session.session_id), actions, _unchanged(session))
        tx.commit()


def _recount(
    settle: Callable[[float], tuple[_Item, dict[str, int]] | None],
    stored_in: Callable[[_Item], dict[str, int]],
    write: Callable[[_Item, dict[str, int]], None],
    subject: str,
) -> list[Drift]:
    """Count (`settle`) and, when the counters `stored_in` the item are off, `write` the count (a write
    conditioned on the item as counted); count again when the write is refused, within `RECOUNT_BUDGET_S` and
    `ATTEMPTS`."""
    deadline = time.monotonic() + RECOUNT_BUDGET_S
    for _ in range(ATTEMPTS):
        seen = settle(deadline)
        if seen is None:
            break
        item, figures = seen
        corrected = drifts(stored_in(item), figures)
        if not corrected:
            return []
        try:
            write(item, figures)
        except Cancelled:
            continue
        return corrected
    raise ConcurrentUpdate(f"the tasks of {subject} kept changing while counted; try again")


def _unchanged(session: SessionModel) -> Condition:
    """The session exists, no transaction wrote it since `session` was read, and its counters are as read."""
    condition: Condition = SessionModel.session_id.exists()
    if session.write_id is None:
        condition &= SessionModel.write_id.does_not_exist()
    else:
        condition &= SessionModel.write_id == session.write_id
    return _and_counters_are(condition, SessionModel.get_attributes(), stored(session))


def _and_counters_are(
    condition: Condition, attributes: Mapping[str, Attribute[Any]], figures: dict[str, int]
) -> Condition:
    """`condition`, and each counter holds its figure (an absent counter reads 0: for 0, either is accepted)."""
    for name, value in figures.items():
        held = attributes[name] == value
        condition &= (held | attributes[name].does_not_exist()) if value == 0 else held
    return condition


def _capped(listed: Iterable[TaskModel], subject: str) -> list[str]:
    """The task ids listed, or `TooManyToCount` as soon as there are more than `COUNT_CAP`."""
    ids: list[str] = []
    for task in listed:
        if len(ids) >= COUNT_CAP:
            raise TooManyToCount(subject)
        ids.append(task.task_id)
    return ids


def _statuses(index: GlobalSecondaryIndex[TaskModel], attribute: str, key: str, subject: str) -> list[str]:
    """The statuses of the tasks `index` lists under `key`, re-read consistently, of those whose `attribute` is
    still `key`. Raises `TooManyToCount` (before any re-read) when the index lists more than `COUNT_CAP`."""
    listed = _capped(index.query(key, attributes_to_get=["task_id"]), subject)
    return [str(task.status) for task in _reread(listed, attribute) if getattr(task, attribute) == key]


def _reread(task_ids: list[str], attribute: str) -> Iterator[TaskModel]:
    """The listed tasks as they stand now, with their `attribute` and status: consistent reads, 100 keys a
    `BatchGetItem` (PynamoDB sends again the keys a page left unprocessed). A task deleted since the index
    listed it is simply not returned."""
    return TaskModel.batch_get(task_ids, consistent_read=True, attributes_to_get=["task_id", attribute, "status"])


def _fresh(session_id: str) -> SessionModel:
    try:
        return SessionModel.get(session_id, consistent_read=True)
    except SessionModel.DoesNotExist:
        raise SessionNotFound(session_id) from None


def _total_unchanged(total: UsageModel | None) -> Condition:
    """No transaction wrote the owner's `total` since `total` was read (None: it did not exist), and its
    counters are as read."""
    stamp = _write_id(total)
    condition: Condition = UsageModel.write_id.does_not_exist() if stamp is None else UsageModel.write_id == stamp
    return _and_counters_are(condition, UsageModel.get_attributes(), owner_stored(total))


def owner_total(owner: str, *, consistent: bool = False) -> UsageModel | None:
    """The owner's usage `total` (None: never written), eventually consistent unless asked."""
    try:
        return UsageModel.get(owner, periods.TOTAL, consistent_read=consistent)
    except UsageModel.DoesNotExist:
        return None


def _total(owner: str) -> UsageModel | None:
    return owner_total(owner, consistent=True)


def _write_id(total: UsageModel | None) -> str | None:
    return None if total is None else total.write_id
