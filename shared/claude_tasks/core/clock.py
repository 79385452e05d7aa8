"""Time as the service records it: ISO-8601 UTC strings that sort as they compare."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def now() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """`moment` as a fixed-width ISO-8601 UTC string (microseconds, `Z`), so strings sort by time."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def now_iso() -> str:
    """The current time as `iso` writes it."""
    return iso(now())


def iso_in(seconds: float) -> str:
    """The time `seconds` from now, as `iso` writes it."""
    return iso(now() + timedelta(seconds=seconds))
