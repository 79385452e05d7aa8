"""Worker, integration level: the real handler on moto server over HTTP; Claude through the real
`anthropic` SDK against the local Messages API stub (or a double at the backend boundary)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest

from claude_tasks.core.config import Settings
from claude_tasks.core.records import NewTask, Session, Task
from claude_tasks.store import Store
from tests.conftest import SessionFactory
from tests.support.anthropic_stub import AnthropicStub
from tests.support.worker import Worker, loaded_worker

MakeTask = Callable[..., Task]


@pytest.fixture
def worker(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Worker]:
    """The real worker handler, freshly imported with the test's resources in its environment."""
    yield from loaded_worker(settings, monkeypatch)


@pytest.fixture
def stub() -> Iterator[AnthropicStub]:
    with AnthropicStub() as server:
        yield server


@pytest.fixture(autouse=True)
def anthropic_key(settings: Settings) -> None:
    """The Anthropic key secret holds a key (the stub accepts any): the placeholder `not-set` is never sent."""
    secrets = boto3.client("secretsmanager", region_name=settings.region, endpoint_url=settings.aws_endpoint_url)
    secrets.put_secret_value(SecretId=settings.anthropic_secret_id, SecretString="sk-ant-test-key")


@pytest.fixture
def anthropic(worker: Worker, stub: AnthropicStub) -> Store:
    """The handler's executor calling Claude with the anthropic backend at the stub; returns its store."""
    return worker.use(claude_backend="anthropic", anthropic_base_url=stub.url, claude_timeout_s=30.0)


@pytest.fixture
def session(session_factory: SessionFactory) -> Session:
    return session_factory(owner="alice")


@pytest.fixture
def make_task(store: Store, session: Session) -> MakeTask:
    """Queued tasks: `make_task("prompt", limits=TaskLimits(max_turns=1), session=other)`."""

    def make(prompt: str = "What is 2 + 2?", session: Session = session, **fields: Any) -> Task:
        return store.tasks.create(session.owner, session.session_id, NewTask(prompt=prompt, **fields))

    return make
