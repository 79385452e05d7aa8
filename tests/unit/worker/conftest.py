"""Worker, unit level: the real handler on in-process moto, Claude replaced by a double at the backend boundary.

moto in-process is not safe under concurrent transactions, so these tests send
one-record batches; whole concurrent batches are tested in tests/integration/worker.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from claude_tasks.core.config import Settings
from claude_tasks.core.records import NewTask, Session, Task
from claude_tasks.store import Store
from tests.conftest import SessionFactory
from tests.support.claude_double import ScriptedClaude
from tests.support.worker import Worker, load_event, loaded_worker, retarget, with_bodies

MakeTask = Callable[..., Task]
Run = Callable[..., dict[str, Any]]


@pytest.fixture
def worker(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Worker]:
    """The real worker handler, freshly imported with the test's resources in its environment."""
    yield from loaded_worker(settings, monkeypatch)


@pytest.fixture
def claude(worker: Worker) -> ScriptedClaude:
    """The handler's Claude: answers like the offline model unless a test scripts it."""
    double = ScriptedClaude()
    worker.use(double)
    return double


@pytest.fixture
def session(session_factory: SessionFactory) -> Session:
    return session_factory(owner="alice")


@pytest.fixture
def make_task(store: Store, session: Session) -> MakeTask:
    """Queued tasks: `make_task("prompt", limits=TaskLimits(max_turns=1))`."""

    def make(prompt: str = "What is 2 + 2?", **fields: Any) -> Task:
        return store.tasks.create(session.owner, session.session_id, NewTask(prompt=prompt, **fields))

    return make


@pytest.fixture
def run(worker: Worker) -> Run:
    """Deliver one task.run record for `task` (or one record with `body`) to the handler; returns its response."""

    def deliver(task: Task | None = None, body: Any = None, receive_count: int = 1, remaining_s: float = 150.0) -> Any:
        event = load_event("task-run-batch")
        event = retarget(event, [task]) if task is not None else with_bodies(event, [body])
        for record in event["Records"]:
            record["attributes"]["ApproximateReceiveCount"] = str(receive_count)
        return worker.invoke(event, remaining_s=remaining_s)

    return deliver
