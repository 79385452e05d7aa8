"""Claude Code through the real worker handler: the real bundled CLI, driven by the local Messages API stub,
writing in a real project directory; moto server behind the store (transcripts included)."""

from __future__ import annotations

import json
import os
import threading
import time
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
from tests.support.git import git
from tests.support.worker import Worker, load_event, loaded_worker, retarget

pytest.importorskip("claude_agent_sdk", reason="Claude Code tests need the `claude-code` extra")

MakeTask = Callable[..., Task]
# A bound for conditions the tests wait on, far above what a busy machine needs: never the measure of a test.
PATIENCE_S = 90.0


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


@pytest.fixture
def git_project(project: Path) -> Path:
    """The project as a git repository with one commit (README.md)."""
    for args in (["init", "-q", "-b", "main"], ["add", "README.md"], ["commit", "-q", "-m", "A project"]):
        git(project, *args)
    return project


class AgentClock:
    """The clock Claude Code's watcher reads, which a test moves past every deadline (`pass_deadline`)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def monotonic(self) -> float:
        return time.monotonic() + self.offset

    def pass_deadline(self) -> None:
        """From now on the running agent's deadline has come (a day on: past any invocation's)."""
        self.offset = 86_400.0

    def reset(self) -> None:
        self.offset = 0.0


@pytest.fixture
def agent_clock(monkeypatch: pytest.MonkeyPatch) -> AgentClock:
    """The watcher's clock, moved by the test: a deadline reached when the test says, not after some seconds."""
    from claude_tasks.claude import claude_code

    clock = AgentClock()
    monkeypatch.setattr(claude_code, "time", clock)
    return clock


def wait_until(condition: Callable[[], object], what: str) -> None:
    """Poll `condition` until it holds; fail naming `what` after `PATIENCE_S`."""
    deadline = time.monotonic() + PATIENCE_S
    while not condition():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.02)


def in_background(call: Callable[[], Any]) -> tuple[threading.Thread, list[Any]]:
    """Start `call` in a thread; the list receives its result."""
    results: list[Any] = []
    thread = threading.Thread(target=lambda: results.append(call()), daemon=True)
    thread.start()
    return thread, results


def finished(thread: threading.Thread) -> bool:
    thread.join(timeout=PATIENCE_S)
    return not thread.is_alive()


def claude_processes() -> list[int]:
    """This process's children that run the bundled Claude Code CLI (a zombie has no command line)."""
    import claude_agent_sdk

    binary = str(Path(claude_agent_sdk.__file__).parent / "_bundled" / "claude").encode()
    running = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            # The command name (field 2) may hold spaces and parentheses: PPid is the 2nd field after its last ")".
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue  # it ended while we read
        if parent == os.getpid() and binary in command:
            running.append(int(entry.name))
    return running


def queued_runs(settings: Settings) -> list[dict[str, Any]]:
    """The bodies of the messages waiting on the task queue (received, and left to come back)."""
    sqs = boto3.client("sqs", region_name=settings.region, endpoint_url=settings.aws_endpoint_url)
    received = sqs.receive_message(QueueUrl=settings.task_queue_url, MaxNumberOfMessages=10, VisibilityTimeout=0)
    return [json.loads(message["Body"]) for message in received.get("Messages", [])]


def run_task(worker: Worker, task: Task) -> None:
    """One delivery of the task's run through the worker handler, acknowledged."""
    assert worker.invoke(retarget(load_event("task-run-batch"), [task])) == {"batchItemFailures": []}
