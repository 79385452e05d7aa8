"""Claude Code through the real worker handler: the real bundled CLI, driven by the local Messages API stub,
writing in a real project directory; moto server behind the store (transcripts included)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from claude_tasks.core.config import Settings
from claude_tasks.core.records import AgentOptions, NewTask, Session, Task
from claude_tasks.store import Store
from tests.conftest import SessionFactory
from tests.support.anthropic_stub import AnthropicStub
from tests.support.worker import Worker, loaded_worker

pytest.importorskip("claude_agent_sdk", reason="Claude Code tests need the `claude-code` extra")

MakeTask = Callable[..., Task]


@pytest.fixture
def stub() -> Iterator[AnthropicStub]:
    with AnthropicStub() as server:
        yield server


@pytest.fixture
def worker(settings: Settings, stub: AnthropicStub, monkeypatch: pytest.MonkeyPatch) -> Iterator[Worker]:
    """The real worker handler, its Claude Code pointed at the stub."""
    secrets = boto3.client("secretsmanager", region_name=settings.region, endpoint_url=settings.aws_endpoint_url)
    secrets.put_secret_value(SecretId=settings.anthropic_secret_id, SecretString="sk-ant-test-key")
    configured = settings.model_copy(
        update={"claude_backend": "claude-code", "anthropic_base_url": stub.url, "claude_timeout_s": 60.0}
    )
    yield from loaded_worker(configured, monkeypatch)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    directory = tmp_path / "project"
    directory.mkdir()
    (directory / "README.md").write_text("# A project\n")
    return directory


@pytest.fixture
def session(session_factory: SessionFactory, project: Path) -> Session:
    return session_factory(owner="alice", project_path=str(project))


@pytest.fixture
def make_task(store: Store, session: Session) -> MakeTask:
    """Queued Claude Code tasks: `make_task("prompt", agent=AgentOptions(...), session=other)`."""

    def make(prompt: str = "Write hello.txt", session: Session = session, **fields: Any) -> Task:
        fields.setdefault("agent", AgentOptions())
        new = NewTask(prompt=prompt, backend="claude-code", **fields)
        return store.tasks.create(session.owner, session.session_id, new)

    return make
