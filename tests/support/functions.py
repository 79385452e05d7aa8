"""The three functions in one test process, on moto server over HTTP: the API, the worker, the janitor.

`Functions` loads each handler as Lambda would, under one configuration, and drives it:
the API with events from `events/api/`, the janitor with `events/schedule/janitor.json`,
and the worker the way Lambda's SQS poller does (receive, invoke, delete what it acknowledged).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest

from claude_tasks.core.config import Settings
from tests.support.handlers import clear_api_caches, load_handler
from tests.support.http_api import HttpResult, http_event, invoke
from tests.support.worker import LambdaContextStub, Worker, deliver_once, loaded_worker

SCHEDULE = Path(__file__).resolve().parents[2] / "events" / "schedule" / "janitor.json"


@dataclass
class Functions:
    worker: Worker
    api_module: ModuleType

    @property
    def settings(self) -> Settings:
        return self.worker.settings

    def api(self, name: str, **changes: Any) -> HttpResult:
        """Call the API handler with `events/api/<name>.json`, changed as `http_event` says."""
        return invoke(self.api_module.lambda_handler, http_event(name, **changes))

    def janitor(self) -> dict[str, Any]:
        """One scheduled run of the janitor handler, loaded now (under the settings in the environment)."""
        module = load_handler("janitor")
        result: dict[str, Any] = module.lambda_handler(json.loads(SCHEDULE.read_text()), LambdaContextStub())
        return result

    def sqs(self) -> Any:
        return boto3.client("sqs", region_name=self.settings.region, endpoint_url=self.settings.aws_endpoint_url)

    def drain(self, rounds: int = 20) -> None:
        """Lambda's SQS poller in miniature, until the task queue is empty: a failed record comes back at once,
        and after `maxReceiveCount` receives moto's redrive moves it to the DLQ."""
        sqs, url = self.sqs(), self.settings.task_queue_url
        for _ in range(rounds):
            if not deliver_once(self.worker, sqs, url):
                return
        raise AssertionError("the task queue never drained")

    def dead_letters(self) -> list[str]:
        """The bodies in the DLQ (received with no visibility timeout: they stay for the next look)."""
        sqs = self.sqs()
        messages = sqs.receive_message(QueueUrl=self.settings.dlq_url, MaxNumberOfMessages=10, VisibilityTimeout=0)
        return sorted(m["Body"] for m in messages.get("Messages", []))


def loaded_functions(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Functions]:
    """The three handlers under `settings` (a fixture's body: yields once). The API's service is cached in its
    `routes.params` module, which every load of the API shares: it is cleared before and after."""
    for worker in loaded_worker(settings, monkeypatch):
        api_module = load_handler("api")
        clear_api_caches()
        yield Functions(worker, api_module)
        clear_api_caches()
