"""What one write does to the counters: usage totals, tasks by status, and the quotas' figures.

A `Tally` is staged in the same transaction as the task write it counts, so a
counter is never off by a write that committed without it (or the reverse). It
touches the task's session item and the owner's usage items: `total` always,
`day#…` and `month#…` for a turn's tokens and cost, `minute#…` for a creation.
On a creation under a quota, or a retry or follow-up that queues a finished task
again, the owner's items carry the quota's conditions — the condition, not a read
before, is what enforces the limit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from pynamodb.attributes import Attribute
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action

from claude_tasks.core import usage as periods
from claude_tasks.core.lifecycle import ACTIVE
from claude_tasks.core.records import TaskStatus, Usage
from claude_tasks.core.usage import Quota
from claude_tasks.store.models import COUNTED as COUNTED  # re-exported: the counters' readers name them here
from claude_tasks.store.models import SessionModel, Totals, UsageModel
from claude_tasks.store.models import count_attribute as count_attribute

if TYPE_CHECKING:  # the task events function reads counts (`store.records`) and never writes
    from claude_tasks.store.transaction import Transaction


@dataclass
class Tally:
    """The counter changes of one write on `owner`'s task in `session_id`.

    `moved` from → to (None from: a new task); `spent` a turn's usage and cost priced by `prices`;
    `quota` the limits a creation, retry or follow-up that queues a task must stay within (checked in the
    same transaction; set it only on such a write).
    """

    owner: str
    session_id: str
    at: datetime
    moved: list[tuple[TaskStatus | None, TaskStatus]] = field(default_factory=list)
    usage: Usage | None = None
    cost_usd: float = 0.0
    turns: int = 0
    prices: str | None = None
    quota: Quota | None = None

    def move(self, source: TaskStatus | None, target: TaskStatus) -> None:
        if source != target:
            self.moved.append((source, target))

    def spend(self, usage: Usage, cost_usd: float, turns: int, prices: str) -> None:
        self.usage, self.cost_usd, self.turns, self.prices = usage, cost_usd, turns, prices

    def session_actions(self) -> list[Action]:
        """What the write adds to the session item (for a caller that already updates the session)."""
        return _counts(SessionModel, self.moved) + _spent(SessionModel, self)

    def stage(self, tx: Transaction, *, session: bool = True) -> None:
        """Add the counters' updates to `tx`: the session's (unless the caller updates it) and the owner's."""
        if session and (self.moved or self.usage is not None):
            tx.update(
                "session",
                SessionModel(self.session_id),
                self.session_actions(),
                SessionModel.session_id.exists() & (SessionModel.owner == self.owner),
            )
        self._stage_owner(tx)

    def _stage_owner(self, tx: Transaction) -> None:
        total = _counts(UsageModel, self.moved) + _spent(UsageModel, self) + self._active()
        if total:
            tx.update("owner", UsageModel(self.owner, periods.TOTAL), total, self._active_condition())
        if self.usage is not None:
            for name, period in (("day", periods.day(self.at)), ("month", periods.month(self.at))):
                actions = [*_spent(UsageModel, self), *_expiry(period)]
                tx.update(name, UsageModel(self.owner, period.key), actions, None)
        if self.quota is not None:
            self._stage_quota(tx, self.quota)

    def _active(self) -> list[Action]:
        delta = sum((target in ACTIVE) - (source in ACTIVE) for source, target in self.moved)
        return [UsageModel.active.add(delta)] if delta else []

    def _created(self) -> bool:
        return any(source is None for source, _ in self.moved)

    def _admits(self) -> bool:
        """The write makes a task the quota counts: any creation (a fork too, created finished and queued once
        its conversation is copied), or a finished task queued again (a retry, a follow-up)."""
        return self._created() or any(source not in ACTIVE and target in ACTIVE for source, target in self.moved)

    def _active_condition(self) -> Condition | None:
        limit = None if self.quota is None else self.quota.max_active_tasks
        if limit is None or not self._admits():
            return None
        condition: Condition = UsageModel.active.does_not_exist() | (UsageModel.active < limit)
        return condition

    def _stage_quota(self, tx: Transaction, quota: Quota) -> None:
        # The creation rate counts creations only; a re-queued task is held to the active tasks and the spend.
        if quota.max_tasks_per_minute is not None and self._created():
            period = periods.minute(self.at)
            allowed = UsageModel.created.does_not_exist() | (UsageModel.created < quota.max_tasks_per_minute)
            actions = [UsageModel.created.add(1), *_expiry(period)]
            tx.update("minute", UsageModel(self.owner, period.key), actions, allowed)
        if quota.monthly_spend_usd is not None and self._admits():
            key = periods.month(self.at).key
            under = UsageModel.cost_usd.does_not_exist() | (UsageModel.cost_usd < quota.monthly_spend_usd)
            tx.check("month", UsageModel, self.owner, key, under)


def _attr(model: type[Totals], name: str) -> Attribute[float]:
    attribute: Attribute[float] = getattr(model, name)
    return attribute


def _counts(model: type[Totals], moved: list[tuple[TaskStatus | None, TaskStatus]]) -> list[Action]:
    delta: dict[str, int] = {}
    for source, target in moved:
        for status, step in ((source, -1), (target, 1)):
            if status in COUNTED:
                name = count_attribute(status)
                delta[name] = delta.get(name, 0) + step
    return [_attr(model, name).add(step) for name, step in sorted(delta.items()) if step]


def _spent(model: type[Totals], tally: Tally) -> list[Action]:
    if tally.usage is None:
        return []
    figures = {
        "input_tokens": tally.usage.input_tokens,
        "output_tokens": tally.usage.output_tokens,
        "cache_creation_input_tokens": tally.usage.cache_creation_input_tokens,
        "cache_read_input_tokens": tally.usage.cache_read_input_tokens,
        "cost_usd": tally.cost_usd,
        "turns": tally.turns,
    }
    actions: list[Action] = [_attr(model, name).add(value) for name, value in figures.items()]
    if tally.prices is not None:
        actions.append(model.prices.add({tally.prices}))
    return actions


def _expiry(period: periods.Period) -> list[Action]:
    assert period.expires_at is not None  # noqa: S101  # every counted period expires
    return [UsageModel.expires_at.set(period.expires_at)]
