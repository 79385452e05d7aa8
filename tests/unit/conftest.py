"""Unit level: moto in-process (`mock_aws`), resources created from template.yaml."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from moto import mock_aws

from claude_tasks.core.config import Settings
from claude_tasks.store import Store
from claude_tasks_dev.local.resources import provision


@pytest.fixture
def settings() -> Iterator[Settings]:
    with mock_aws():
        yield provision(None)


@pytest.fixture
def store(settings: Settings) -> Store:
    return Store(settings)
