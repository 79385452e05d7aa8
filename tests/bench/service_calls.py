"""The real API and worker handlers in one process against moto server, with every AWS request they send recorded.

`Recorder` hangs a botocore hook on each client the service uses (PynamoDB's per-model
connections, the store's transaction connection, SQS and S3): `before-send` counts each
round trip (a retry is another), `before-parameter-build` keeps each call's parameters, so a
benchmark can send the same calls again with raw boto3 (`Recorder.replay`).
"""

from __future__ import annotations

import copy
import importlib
import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from botocore import xform_name
from botocore.exceptions import ClientError

from claude_tasks.claude import clear_backends
from claude_tasks.core.config import Settings, get_settings
from claude_tasks.store.models import (
    ClaudeSessionClaim,
    InteractionModel,
    SessionModel,
    TaskModel,
    TranscriptItem,
    UsageModel,
)
from tests.support.handlers import clear_api_caches, load_handler
from tests.support.http_api import HttpResult, http_event, invoke
from tests.support.worker import LambdaContextStub, environment, failed_ids, load_event, with_bodies

MODELS = (SessionModel, TaskModel, InteractionModel, ClaudeSessionClaim, TranscriptItem, UsageModel)
Call = tuple[str, str, dict[str, Any]]  # (service, operation, parameters)


@dataclass
class Recorder:
    """Round trips and calls of the hooked clients, in order; `window()` reads those of one stretch."""

    trips: list[tuple[str, str]] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    _hooked: set[int] = field(default_factory=set)

    def hook(self, client: Any) -> None:
        if id(client) in self._hooked:
            return
        self._hooked.add(id(client))
        service = client.meta.service_model.service_name
        client.meta.events.register("before-send", lambda event_name, **_: self._trip(service, event_name))
        client.meta.events.register(
            "before-parameter-build", lambda params, model, **_: self._call(service, params, model)
        )

    def _trip(self, service: str, event_name: str) -> None:
        self.trips.append((service, event_name.rsplit(".", 1)[-1]))

    def _call(self, service: str, params: dict[str, Any], model: Any) -> None:
        self.calls.append((service, model.name, copy.deepcopy(params)))

    @contextmanager
    def window(self) -> Iterator[tuple[list[tuple[str, str]], list[Call]]]:
        trips, calls = len(self.trips), len(self.calls)
        seen: tuple[list[tuple[str, str]], list[Call]] = ([], [])
        yield seen
        seen[0].extend(self.trips[trips:])
        seen[1].extend(self.calls[calls:])


def replay(clients: dict[str, Any], calls: list[Call], rename: dict[str, str]) -> list[str]:
    """Send `calls` again through raw boto3 `clients`, names in `rename` swapped; returns the error codes of
    those refused (a refusal is an answer too: the handler's own refused calls are sent again as they were)."""
    refused = []
    for service, operation, params in calls:
        try:
            getattr(clients[service], xform_name(operation))(**_renamed(params, rename))
        except ClientError as error:
            refused.append(f"{operation}: {error.response['Error']['Code']}")
    return refused


def _renamed(value: Any, rename: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {rename.get(k, k): _renamed(v, rename) for k, v in value.items()}
    if isinstance(value, list):
        return [_renamed(v, rename) for v in value]
    return rename.get(value, value) if isinstance(value, str) else value


def _accepted(result: HttpResult) -> Any:
    assert result.status < 300, (result.status, result.body)
    return result.json() if result.body else None


# One round of the API's main operations on one task: (name, step); a step reads and adds to the round's state.
Step = Callable[["Handlers", dict[str, Any]], None]
ROUND: list[tuple[str, Step]] = [
    ("create session", lambda h, s: s.update(session=h.send("create_session", body={"project_path": "/work/b"}))),
    ("create task", lambda h, s: s.update(task=h.send("create_task", path={"session_id": s["session"]["session_id"]}))),
    ("get task", lambda h, s: h.send("get_task", path={"task_id": s["task"]["task_id"]})),
    ("task run (worker, offline model)", lambda h, s: h.run(s["task"])),
    ("list interactions", lambda h, s: h.send("list_interactions", path={"task_id": s["task"]["task_id"]})),
    ("follow-up (ended task)", lambda h, s: h.send("send_message", path={"task_id": s["task"]["task_id"]})),
    ("cancel (queued task)", lambda h, s: h.send("cancel_task", path={"task_id": s["task"]["task_id"]})),
    ("delete task (3 turns)", lambda h, s: h.send("delete_task", path={"task_id": s["task"]["task_id"]})),
]


@dataclass
class Handlers:
    api: ModuleType
    worker: ModuleType
    recorder: Recorder

    def send(self, name: str, owner: str = "bench", **changes: Any) -> Any:
        """Invoke the API handler with `events/api/<name>.json`, changed as `http_event` allows; the body of a 2xx.

        An Idempotency-Key of the sample is replaced by a fresh one: each round creates anew, never replays."""
        event = http_event(name, owner=owner, **changes)
        if "idempotency-key" in event["headers"]:
            event["headers"]["idempotency-key"] = str(uuid.uuid4())
        return _accepted(invoke(self.api.lambda_handler, event))

    def run(self, task: dict[str, Any]) -> None:
        """One task run by the worker handler: a one-record SQS event."""
        body = {"type": "task.run", "task_id": task["task_id"], "session_id": task["session_id"]}
        response = self.worker.lambda_handler(with_bodies(load_event("task-run-batch"), [body]), LambdaContextStub())
        assert failed_ids(response) == set(), response


@contextmanager
def handlers(settings: Settings) -> Iterator[Handlers]:
    """Both handlers imported under `settings` (quiet: no logs, no EMF), every client hooked; env restored after."""
    saved = dict(os.environ)
    os.environ.update(POWERTOOLS_METRICS_DISABLED="true", POWERTOOLS_LOG_LEVEL="WARNING")
    for name, value in environment(settings).items():
        os.environ.pop(name, None) if value is None else os.environ.__setitem__(name, value)
    get_settings.cache_clear()
    clear_backends()
    try:
        api, worker = load_handler("api"), load_handler("worker")
        clear_api_caches()  # an earlier section's service would still talk to its own (stopped) moto server
        service = importlib.import_module("routes.params").task_service()
        recorder = Recorder()
        stores = (service._store, worker.executor.store)
        queues = (service._queue, worker.executor._queue)
        clients: list[Callable[[], Any]] = [lambda m=m: m._get_connection().connection.client for m in MODELS]
        clients += [lambda s=s: s.connection.client for s in stores] + [lambda s=s: s.content._s3 for s in stores]
        clients += [lambda q=q: q._sqs for q in queues]
        for client in clients:
            recorder.hook(client())
        yield Handlers(api, worker, recorder)
    finally:
        os.environ.clear()
        os.environ.update(saved)
        get_settings.cache_clear()
        clear_backends()
        clear_api_caches()
