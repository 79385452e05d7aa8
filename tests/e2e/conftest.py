"""End-to-end level: the local stack as `make dev` starts it (a subprocess), driven over real HTTP.

The stack runs with the offline Claude backend and fast local timings, on free
ports, with its stack.json in a temp dir. Each test acts as a principal of its
own, so tests sharing the stack never see each other's data.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from claude_tasks_dev.cli.client import ApiClient
from tests.e2e.local_stack import FAST, RunningStack, start_stack


# Package scope: one stack for tests/e2e, stopped when they are done (not at the end of the whole run).
@pytest.fixture(scope="package")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    """One stack for the e2e tests; each test works as its own principal, so they never see each other."""
    running = start_stack(tmp_path_factory.mktemp("stack"), "--no-persist", *FAST)
    yield running
    status = running.stop()
    assert status == 0, running.output()[-3000:]


@pytest.fixture
def principal() -> str:
    return f"user-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def api(stack: RunningStack, principal: str) -> ApiClient:
    return stack.api(principal)


@pytest.fixture
def session(api: ApiClient) -> dict[str, Any]:
    created: dict[str, Any] = api.call("POST", "/sessions", {"project_path": "/work/e2e", "name": "e2e"})
    return created
