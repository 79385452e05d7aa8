"""Integration level: moto server over HTTP on 127.0.0.1, one request at a time (see local/aws.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from claude_tasks.core.config import Settings
from claude_tasks.store import Store
from claude_tasks_dev.local.aws import EmbeddedAws
from claude_tasks_dev.local.resources import provision


@pytest.fixture(scope="session")
def moto_server() -> Iterator[EmbeddedAws]:
    with EmbeddedAws() as aws:
        yield aws


@pytest.fixture
def settings(moto_server: EmbeddedAws) -> Settings:
    moto_server.reset()
    return provision(moto_server.endpoint_url)


@pytest.fixture
def store(settings: Settings) -> Store:
    return Store(settings)
