"""Owners' usage totals and quotas: reading what `Tally` wrote, and the per-owner quota overrides.

The totals are only ever written by the transactions they count (store/tally.py);
this repository reads them, keeps each owner's quota overrides (a limit left unset
takes the deployment's default; 0 is no limit, as in the deployment's settings), and
explains a write refused by a quota's condition with the figures as they are now.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from claude_tasks.core import usage as periods
from claude_tasks.core.clock import iso, now
from claude_tasks.core.errors import QuotaExceeded
from claude_tasks.core.usage import DayUsage, OwnerQuota, OwnerUsage, Quota, QuotaOverride
from claude_tasks.store.faults import translate_faults
from claude_tasks.store.models import UsageModel
from claude_tasks.store.records import totals

if TYPE_CHECKING:
    from claude_tasks.store import Store

# A task's run is minutes long: how long a caller over the active-tasks quota is told to wait.
ACTIVE_RETRY_AFTER_S = 30
QUOTA_NAMES = ("owner", "minute", "month")  # the transaction actions that carry a quota's condition


@translate_faults
class UsageRepository:
    def __init__(self, store: Store) -> None:
        self._store = store

    def quota(self, owner: str) -> Quota:
        """The owner's quota: the deployment's defaults, with the owner's overrides (one read)."""
        item = self._get(owner, periods.QUOTA)
        return self._store.settings.quota.over(None if item is None else _override(item))

    def owner_quota(self, owner: str) -> OwnerQuota:
        """The owner's overrides (all unset when none are kept) and the quota they make (one read)."""
        item = self._get(owner, periods.QUOTA)
        override = QuotaOverride() if item is None else _override(item)
        return OwnerQuota(owner=owner, override=override, quota=self._store.settings.quota.over(override))

    def set_quota(self, owner: str, override: QuotaOverride) -> OwnerQuota:
        """Keep `override` as the owner's quota overrides, replacing any before (a limit left unset takes the
        default, 0 lifts it); returns them with the quota the owner now has."""
        item = UsageModel(owner, periods.QUOTA, updated_at=iso(now()))
        item.max_active_tasks = override.max_active_tasks
        item.max_tasks_per_minute = override.max_tasks_per_minute
        item.monthly_spend_usd = override.monthly_spend_usd
        item.save()
        return OwnerQuota(owner=owner, override=override, quota=self._store.settings.quota.over(override))

    def clear_quota(self, owner: str) -> OwnerQuota:
        """Drop the owner's overrides (none kept is no error): the deployment's defaults apply again."""
        UsageModel(owner, periods.QUOTA).delete()
        return OwnerQuota(owner=owner, override=QuotaOverride(), quota=self._store.settings.quota)

    def for_owner(self, owner: str, at: datetime | None = None) -> OwnerUsage:
        """The owner's totals: all time, this month, and each of the last 30 UTC days (zeros for days without a
        write). Two reads: the day items' range, and the total, month and quota items."""
        at = at or now()
        days = periods.last_days(at)
        written = {
            item.period: item
            for item in UsageModel.query(owner, UsageModel.period.between(days[0], days[-1]), consistent_read=True)
        }
        keys = [(owner, periods.TOTAL), (owner, periods.month(at).key), (owner, periods.QUOTA)]
        found = {item.period: item for item in UsageModel.batch_get(keys, consistent_read=True)}
        override = found.get(periods.QUOTA)
        return OwnerUsage(
            owner=owner,
            total=totals(found.get(periods.TOTAL)),
            month=totals(found.get(periods.month(at).key)),
            days=[DayUsage(day=key.removeprefix("day#"), **dict(totals(written.get(key)))) for key in days],
            quota=self._store.settings.quota.over(None if override is None else _override(override)),
        )

    def exceeded(self, owner: str, quota: Quota, failed: set[str], at: datetime) -> QuotaExceeded:
        """The error for a creation, retry or follow-up whose quota conditions (`failed` names them) refused
        it, with the figures read now (only to say so: the conditions decided)."""
        if "minute" in failed and quota.max_tasks_per_minute is not None:
            period = periods.minute(at)
            item = self._get(owner, period.key)
            current = int(item.created or 0) if item else quota.max_tasks_per_minute
            return QuotaExceeded(
                "max_tasks_per_minute", current, quota.max_tasks_per_minute, period.ends_iso, period.retry_after_s(at)
            )
        if "month" in failed and quota.monthly_spend_usd is not None:
            period = periods.month(at)
            item = self._get(owner, period.key)
            spent = round(float(item.cost_usd or 0), 6) if item else quota.monthly_spend_usd
            return QuotaExceeded(
                "monthly_spend_usd", spent, quota.monthly_spend_usd, period.ends_iso, period.retry_after_s(at)
            )
        item = self._get(owner, periods.TOTAL)
        active = int(item.active or 0) if item else 0
        allowed = quota.max_active_tasks if quota.max_active_tasks is not None else active
        return QuotaExceeded("max_active_tasks", active, allowed, None, ACTIVE_RETRY_AFTER_S)

    @staticmethod
    def _get(owner: str, period: str) -> UsageModel | None:
        try:
            return UsageModel.get(owner, period, consistent_read=True)
        except UsageModel.DoesNotExist:
            return None


def _override(item: UsageModel) -> QuotaOverride:
    # An attribute the item lacks is a limit the override leaves to the default; 0 lifts the limit.
    return QuotaOverride(
        max_active_tasks=item.max_active_tasks,
        max_tasks_per_minute=item.max_tasks_per_minute,
        monthly_spend_usd=item.monthly_spend_usd,
    )
