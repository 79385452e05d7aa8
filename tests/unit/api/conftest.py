"""API level: the real `lambda_handler` of functions/api, called with events from events/api/, against moto.

The handler builds its service lazily from `get_settings()`, so `configure`
writes the provisioned resources (and any override) into the environment as
Lambda would, and clears the cached settings and service.
"""

from __future__ import annotations

import importlib
import json
from collections import Counter
from collections.abc import Callable, Iterator
from functools import cache
from types import ModuleType
from typing import Any

import boto3
import pytest

from claude_tasks.core.config import Settings, get_settings
from claude_tasks.core.records import NewInteraction, Role, Session, Task, TaskStatus
from claude_tasks.store import Store, TaskWrite
from claude_tasks.store.models import TaskModel
from tests.conftest import SessionFactory, TaskFactory
from tests.support.handlers import load_handler
from tests.support.http_api import HttpResult, http_event, invoke

Call = Callable[..., HttpResult]
# Filled by test_fuzz.py, reported at the end of the run: the cases the fuzzer sent, by (operation, status).
FUZZ_CASES: Counter[tuple[str, int]] = Counter()


@cache
def api_module() -> ModuleType:
    """functions/api/app.py, imported once as Lambda would (its folder on sys.path)."""
    return load_handler("api")


@pytest.fixture(scope="session")
def api() -> ModuleType:
    return api_module()


@pytest.fixture
def configure(
    api: ModuleType, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., Settings]]:
    """`configure(max_prompt_chars=10, ...)`: the handler's environment = provisioned settings + overrides."""
    params = importlib.import_module("routes.params")
    caches = (params.task_service, params.dead_letter_queues)

    def apply(**overrides: Any) -> Settings:
        values = {**settings.model_dump(), **overrides}
        for name, field in Settings.model_fields.items():
            variable = str(field.validation_alias)
            if values[name] is None:
                monkeypatch.delenv(variable, raising=False)
            else:
                monkeypatch.setenv(variable, str(values[name]))
        get_settings.cache_clear()
        for cached in caches:
            cached.cache_clear()
        return get_settings()

    apply()
    yield apply
    get_settings.cache_clear()
    for cached in caches:
        cached.cache_clear()


@pytest.fixture
def call(api: ModuleType, configure: Callable[..., Settings]) -> Call:
    """`call("get_task", owner="alice", path={...}, body=..., query=..., headers=...)` through `lambda_handler`."""

    def send(name: str, **changes: Any) -> HttpResult:
        return invoke(api.lambda_handler, http_event(name, **changes))

    return send


@pytest.fixture
def session(session_factory: SessionFactory) -> Session:
    """An active session of alice's."""
    return session_factory(owner="alice")


@pytest.fixture
def task(task_factory: TaskFactory, session: Session) -> Task:
    """A queued task in alice's session."""
    return task_factory(session, prompt="Say hello")


@pytest.fixture
def put_in_state(store: Store) -> Callable[..., Task]:
    """Move a task to `status` directly in the table (what a worker would have done), then read it back."""

    def move(task: Task, status: TaskStatus, pending: list[str] | None = None) -> Task:
        write = TaskWrite(task.task_id, task.session_id)
        write.actions.append(TaskModel.status.set(status.value))
        if status == TaskStatus.FAILED:
            write.actions.append(TaskModel.error.set("Claude said no"))
        if pending is not None:
            write.actions.append(TaskModel.pending_prompts.set(pending))
        if status == TaskStatus.RUNNING:
            write.actions += [TaskModel.lease_id.set("lease-1"), TaskModel.lease_expires_at.set("2999-01-01")]
        elif status != TaskStatus.QUEUED:
            write.actions.append(TaskModel.active_shard.remove())
        store.tasks.commit(write)
        return store.tasks.load(task.task_id)

    return move


@pytest.fixture
def add_turns(store: Store) -> Callable[[Task, int], Task]:
    """Append `n` alternating user/assistant interactions to a task (the way the worker does, in transactions
    of at most 50 turns); returns the task as stored after."""

    def add(task: Task, n: int) -> Task:
        for start in range(0, n, 50):
            current = store.tasks.load(task.task_id)
            turns = [
                NewInteraction(role=Role.USER if i % 2 == 0 else Role.ASSISTANT, content=f"turn {i + 1}")
                for i in range(start, min(n, start + 50))
            ]
            tx = store.transaction()
            write = TaskWrite(current.task_id, current.session_id)
            store.interactions.stage(tx, write, current, turns, current.interaction_count)
            write.stage(tx)
            tx.commit()
        return store.tasks.load(task.task_id)

    return add


@pytest.fixture
def sent(settings: Settings) -> Callable[[], list[dict[str, Any]]]:
    """The messages sent to the task queue since the last look (each is received and deleted)."""

    def receive() -> list[dict[str, Any]]:
        sqs = boto3.client("sqs", region_name=settings.region)
        bodies: list[dict[str, Any]] = []
        while True:
            batch = sqs.receive_message(QueueUrl=settings.task_queue_url, MaxNumberOfMessages=10, VisibilityTimeout=0)
            messages = batch.get("Messages", [])
            if not messages:
                return bodies
            for message in messages:
                bodies.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=settings.task_queue_url, ReceiptHandle=message["ReceiptHandle"])

    return receive


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # app.py silences this warning at import, but pytest restores the filters after each test.
    for item in items:
        if "/unit/api/" in str(item.fspath):
            item.add_marker(pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning"))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not FUZZ_CASES:
        return
    operations = sorted({label for label, _ in FUZZ_CASES})
    terminalreporter.write_line(f"schemathesis: {sum(FUZZ_CASES.values())} cases over {len(operations)} operations")
    for label in operations:
        statuses = {status: n for (name, status), n in sorted(FUZZ_CASES.items()) if name == label}
        terminalreporter.write_line(f"  {label}: {statuses}")
