"""The full check's test of one scanned item (or one task's run of turns), by point reads of what it names.

Each check reads what the item refers to (eventually consistent: cheap), and only a
suspect is re-read strongly (`audit_recheck`) before it becomes a violation. No check
needs what another segment saw, so a scan can stop after any item and go on elsewhere.
A confirmation that would start past the step's deadline raises `Deferred` instead: the
scan drops that item's partial figures and does it again in the next step.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from claude_tasks.core.records import TaskStatus
from claude_tasks.store import audit_recheck as recheck
from claude_tasks.store import counters
from claude_tasks.store.audit import Tally
from claude_tasks.store.models import ClaudeSessionClaim, InteractionModel, SessionModel, TaskModel, UsageModel

if TYPE_CHECKING:
    from claude_tasks.store import Store

logger = logging.getLogger(__name__)


class Deferred(Exception):  # noqa: N818 - a signal to the scan, not an error
    """The item's confirmation would start past the step's deadline: do the item again in the next step."""


def _in_time(deadline: float | None) -> None:
    if deadline is not None and time.monotonic() >= deadline:
        raise Deferred


def session(store: Store, tally: Tally, item: SessionModel, deadline: float | None = None) -> None:
    """Invariant 3: `task_count` equals the tasks that name the session (counted through the session index),
    and its tasks by status are the statuses of those tasks (`counter_drift`, store/counters.py)."""
    tally.total_sessions += 1
    counter = int(item.task_count)
    if counter > 0:
        tally.sessions_with_tasks += 1
    if (counter == 0) != (item.idle_shard is not None):
        store.sessions.reindex(item.session_id)  # written before the idle index existed: put it in
    indexed = counters.indexed(item.session_id)
    if indexed["task_count"] != counter:
        _in_time(deadline)
        now = recheck.session_tasks(item.session_id, counter, ())
        if now is not None and now[0] != now[1]:
            detail = f"task_count is {now[0]}, but {now[1]} task(s) reference it"
            tally.add("task_count_mismatch", item.session_id, detail)
    elif counters.drifts(counters.stored(item), indexed):
        _in_time(deadline)
        found = recheck.session_counters(item.session_id, counters.stored(item))
        if found is None:
            logger.warning("counters of session %s not checked: over %d tasks", item.session_id, counters.COUNT_CAP)
            tally.counters_not_checked += 1
        for drift in found or ():
            detail = f"{drift.counter} is {drift.stored}, but its tasks count {drift.counted}"
            figures = {"counter": drift.counter, "stored": drift.stored, "counted": drift.counted}
            tally.add("counter_drift", item.session_id, detail, **figures)


def task(tally: Tally, item: TaskModel, deadline: float | None = None) -> None:
    """Invariants 1 and 5, and 3's other half: its session exists; its Claude id is its own, claimed by it;
    a count of turns above 0 has turns behind it (turns that exist are checked by `turns`). The owner's
    first task also stands for its owner: their counters are checked with it (`owner`)."""
    tally.total_tasks += 1
    owner(tally, item, deadline)
    if _exists(SessionModel, item.session_id):
        tally.tasks_with_valid_session += 1
    else:
        tally.add("orphaned_task", item.task_id, recheck.orphaned_task(item.task_id))
    if item.claude_session_id:
        tally.tasks_with_claude_session_id += 1
        _claim(tally, item.task_id, item.claude_session_id)
    if item.status != TaskStatus.DELETING.value and int(item.interaction_count) > 0:
        if next(iter(InteractionModel.query(item.task_id, limit=1, attributes_to_get=["task_id"])), None) is None:
            _recount(tally, item.task_id)


def owner(tally: Tally, item: TaskModel, deadline: float | None = None) -> None:
    """The owner's counters (usage `total`: tasks by status, `active`) are what their tasks add up to
    (`counter_drift`, subject the owner). Checked once per owner, with the task the owner index lists first:
    no state to keep across steps, and each task costs one more read of one index entry. An owner with no
    task left is met by the scan of usage totals instead (`owner_without_tasks`)."""
    first = _first_task(item.owner)
    if first is None or first.task_id != item.task_id:
        return
    _owner_counters(tally, item.owner, counters.owner_total(item.owner), deadline)


def owner_without_tasks(tally: Tally, item: UsageModel, deadline: float | None = None) -> None:
    """An owner's usage `total` whose counters say they have tasks, when the owner index lists none: counters
    left over from deleted tasks by a fault (`counter_drift`, subject the owner). An owner with a task is
    checked with their first one (`owner`), so each owner is checked once."""
    if not any(counters.owner_stored(item).values()) or _first_task(item.owner) is not None:
        return
    _owner_counters(tally, item.owner, item, deadline)


def _first_task(owner: str) -> TaskModel | None:
    return next(iter(TaskModel.by_owner.query(owner, limit=1, attributes_to_get=["task_id"])), None)


def _owner_counters(tally: Tally, owner: str, total: UsageModel | None, deadline: float | None) -> None:
    """Report each of the owner's counters (as `total`, read by the scan, holds them) that their tasks do not
    add up to, once confirmed consistently."""
    scanned = counters.owner_stored(total)
    if not counters.drifts(scanned, counters.owner_indexed(owner)):
        return
    _in_time(deadline)
    found = recheck.owner_counters(owner, scanned)
    if found is None:
        logger.warning("counters of owner %s not checked: more than %d tasks", owner, counters.COUNT_CAP)
        tally.counters_not_checked += 1
    for drift in found or ():
        detail = f"{drift.counter} of owner {owner} is {drift.stored}, but their tasks count {drift.counted}"
        figures = {"counter": drift.counter, "stored": drift.stored, "counted": drift.counted}
        tally.add("counter_drift", owner, detail, **figures)


def turns(tally: Tally, task_id: str, run: Sequence[InteractionModel], deadline: float | None = None) -> None:
    """Invariants 2 and 4 for one task's turns as the scan returned them together: the task exists,
    each turn names the task's session, and the seqs are exactly 1..interaction_count. (`deadline` is
    not consulted: its confirmations are a few reads of one task's turns.)"""
    tally.total_interactions += len(run)
    try:
        owner = TaskModel.get(task_id)
    except TaskModel.DoesNotExist:
        for turn in run:
            seq = int(turn.seq)
            tally.add("orphaned_interaction", f"{task_id}#{seq}", recheck.orphaned_interaction(task_id, seq))
        return
    for turn in run:
        if turn.session_id != owner.session_id:
            seq = int(turn.seq)
            subject = f"{task_id}#{seq}"
            tally.add("interaction_session_mismatch", subject, recheck.interaction_session_mismatch(task_id, seq))
    if owner.status == TaskStatus.DELETING.value:
        return  # its interactions are being removed: counts are in flux by design
    seqs = sorted(int(turn.seq) for turn in run)
    if int(owner.interaction_count) != len(seqs) or seqs != list(range(1, len(seqs) + 1)):
        _recount(tally, task_id)


def _recount(tally: Tally, task_id: str) -> None:
    now = recheck.task_turns(task_id)  # suspect: recount its turns consistently
    if now is None:
        return
    count, seqs = now
    if count != len(seqs):
        detail = f"interaction_count is {count}, but {len(seqs)} interaction(s) exist"
        tally.add("interaction_count_mismatch", task_id, detail)
    if seqs != list(range(1, len(seqs) + 1)):
        tally.add("interaction_seq_gap", task_id, f"seq values are not 1..{len(seqs)}")


def _claim(tally: Tally, task_id: str, claude_id: str) -> None:
    """The claim names the task; when it names another that holds the id too, the id is shared."""
    try:
        claim = ClaudeSessionClaim.get(claude_id)
    except ClaudeSessionClaim.DoesNotExist:
        claim = None
    if claim is not None and claim.task_id == task_id:
        return
    tally.add("unclaimed_claude_session_id", task_id, recheck.unclaimed_claude_id(task_id))
    if claim is not None and len(holders := recheck.claude_id_holders(claude_id, [claim.task_id, task_id])) > 1:
        tally.add("shared_claude_session_id", claude_id, f"held by tasks {', '.join(holders)}")


def _exists(model: type[SessionModel], key: str) -> bool:
    try:
        model.get(key, attributes_to_get=["session_id"])
    except model.DoesNotExist:
        return False
    return True
