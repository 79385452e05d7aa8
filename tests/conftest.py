"""Fixtures every level shares: a fake AWS identity, and factories that build sessions and tasks."""

from __future__ import annotations

import os

# Before any AWS client exists: no real credentials, region or tracing anywhere in the tests.
os.environ.update(
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",  # noqa: S105 - moto's fake identity
    AWS_SESSION_TOKEN="testing",  # noqa: S105
    AWS_DEFAULT_REGION="us-east-1",
    AWS_REGION="us-east-1",
    POWERTOOLS_TRACE_DISABLED="1",
    POWERTOOLS_SERVICE_NAME="claude-task-server",
    POWERTOOLS_METRICS_NAMESPACE="ClaudeTaskServer",
    POWERTOOLS_DEV="false",
)
os.environ.pop("AWS_PROFILE", None)
os.environ.pop("AWS_ENDPOINT_URL", None)

from collections.abc import Callable, Iterator  # noqa: E402

import pytest  # noqa: E402

from claude_tasks.core.records import NewTask, Session, Task  # noqa: E402
from claude_tasks.store import Store  # noqa: E402

SessionFactory = Callable[..., Session]
TaskFactory = Callable[..., Task]


@pytest.fixture
def session_factory(store: Store) -> SessionFactory:
    """Opens sessions: `session_factory(owner="alice", project_path="/work/p")`."""

    def make(owner: str = "alice", project_path: str = "/work/project", **kwargs: object) -> Session:
        return store.sessions.create(owner, project_path, **kwargs)  # type: ignore[arg-type]

    return make


@pytest.fixture
def task_factory(store: Store, session_factory: SessionFactory) -> TaskFactory:
    """Creates tasks: `task_factory(session, prompt="hi")`; a new session when none is given."""

    def make(session: Session | None = None, prompt: str = "Say hello", **kwargs: object) -> Task:
        session = session or session_factory()
        return store.tasks.create(session.owner, session.session_id, NewTask(prompt=prompt), **kwargs)  # type: ignore[arg-type]

    return make


def pytest_report_header() -> str:
    # Here, not in tests/browser/conftest.py: pytest asks only the conftest files it loads at start-up.
    from tests.browser.requirements import report_header

    return report_header()


def pytest_collection_modifyitems(items: Iterator[pytest.Item]) -> None:
    for item in items:
        path = str(item.fspath)
        if "/integration/" in path:
            item.add_marker(pytest.mark.integration)
        elif "/e2e/" in path:
            item.add_marker(pytest.mark.e2e)
        elif "/browser/" in path:
            item.add_marker(pytest.mark.browser)
