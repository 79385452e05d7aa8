"""Unit level: moto in-process (`mock_aws`), resources created from template.yaml."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode import decode
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


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    """template.yaml as written (cfn-lint's decoder keeps !Ref, !Sub and !If as data)."""
    decoded, problems = decode(str(Path(__file__).resolve().parents[2] / "template.yaml"))
    assert not problems, problems
    assert decoded is not None
    return dict(decoded)
