"""Owners' usage and quotas: the records `GET /usage` returns, and the periods the counters are kept in.

An owner's counters live in items keyed by period: `total` (forever), `day#YYYY-MM-DD`,
`month#YYYY-MM` (what the monthly spend limit reads) and `minute#YYYY-MM-DDTHH:MM` (what
the creation rate limit reads). A period's key and its end come from the same moment, so
a 429 can say when the limit resets.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pydantic import Field

from claude_tasks.core.clock import iso
from claude_tasks.core.records import Record, UsageTotals

DAYS_SHOWN = 30


class Quota(Record):
    """The limits that apply to an owner; None is "no limit". The deployment's defaults, or an owner's
    effective quota (the defaults with the owner's `QuotaOverride`)."""

    max_active_tasks: int | None = Field(None, ge=0, description="Tasks queued or running at once.")
    max_tasks_per_minute: int | None = Field(None, ge=0, description="Tasks created per minute (UTC).")
    monthly_spend_usd: float | None = Field(None, ge=0, description="Cost of the month's turns (UTC), in USD.")

    def over(self, override: QuotaOverride | None) -> Quota:
        """This quota with every limit `override` sets taken from it instead (an override's 0: no limit)."""
        if override is None:
            return self
        return self.model_copy(update=override.limits())


NO_LIMIT = 0  # in an override, as in the deployment's QUOTA_* settings


class QuotaOverride(Record):
    """An owner's overrides of the deployment's quota: a limit left unset (or null) takes the default, and
    0 is "no limit" — as 0 is in the deployment's settings — so an override can lift a default."""

    max_active_tasks: int | None = Field(
        None, ge=0, description="Tasks queued or running at once (0: no limit; unset: the default)."
    )
    max_tasks_per_minute: int | None = Field(
        None, ge=0, description="Tasks created per minute, UTC (0: no limit; unset: the default)."
    )
    monthly_spend_usd: float | None = Field(
        None, ge=0, description="Cost of the month's turns, UTC, in USD (0: no limit; unset: the default)."
    )

    def limits(self) -> dict[str, float | None]:
        """The limits this override sets, as `Quota` fields: None where it lifts the limit (0)."""
        values = self.model_dump(exclude_none=True)
        return {name: None if value == NO_LIMIT else value for name, value in values.items()}


class DayUsage(UsageTotals):
    day: str = Field(description="The UTC day, YYYY-MM-DD.")


class OwnerUsage(Record):
    """One owner's totals: since the first task, this month, and per day for the last `DAYS_SHOWN` days."""

    owner: str
    total: UsageTotals
    month: UsageTotals
    days: list[DayUsage]
    quota: Quota


class OwnerQuota(Record):
    """An owner's quota as an admin manages it: the overrides kept for them, and the quota that applies."""

    owner: str
    override: QuotaOverride = Field(description="The owner's overrides (all unset: the defaults apply).")
    quota: Quota = Field(description="The quota that applies: the deployment's defaults with the overrides.")


@dataclass(frozen=True)
class Period:
    """A counter's period: the key of its item, when it ends, and when its item may expire."""

    key: str
    ends_at: datetime
    expires_at: datetime | None

    def retry_after_s(self, moment: datetime) -> int:
        """Whole seconds from `moment` until the period ends (at least 1)."""
        return max(1, int((self.ends_at - moment).total_seconds() + 0.999))

    @property
    def ends_iso(self) -> str:
        return iso(self.ends_at)


TOTAL = "total"
QUOTA = "quota"


def day(moment: datetime) -> Period:
    start = moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    # Kept a year: `GET /usage` shows 30 days, and a year lets an operator look back further.
    return Period(f"day#{start:%Y-%m-%d}", start + timedelta(days=1), start + timedelta(days=366))


def month(moment: datetime) -> Period:
    start = moment.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    following = (start + timedelta(days=32)).replace(day=1)
    return Period(f"month#{start:%Y-%m}", following, start + timedelta(days=400))


def minute(moment: datetime) -> Period:
    start = moment.astimezone(UTC).replace(second=0, microsecond=0)
    # Read only during its own minute: an hour of grace, then DynamoDB's TTL removes it.
    return Period(f"minute#{start:%Y-%m-%dT%H:%M}", start + timedelta(minutes=1), start + timedelta(hours=1))


def last_days(moment: datetime, count: int = DAYS_SHOWN) -> list[str]:
    """The keys of the `count` UTC days ending with `moment`'s, oldest first."""
    return [day(moment - timedelta(days=back)).key for back in range(count - 1, -1, -1)]
