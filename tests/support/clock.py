"""Pin the service's clock, so a test that counts within a UTC minute cannot see the minute roll over."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from claude_tasks.core import clock


def pin_mid_minute(monkeypatch: pytest.MonkeyPatch) -> datetime:
    """Stop `clock.now` at second 30 of the current minute (every `now()` of the service reads it) and return it."""
    moment = datetime.now(UTC).replace(second=30, microsecond=0)

    class Pinned(datetime):
        @classmethod
        def now(cls, tz: object = None) -> Pinned:
            return cls.fromtimestamp(moment.timestamp(), UTC)

    monkeypatch.setattr(clock, "datetime", Pinned)
    return moment
