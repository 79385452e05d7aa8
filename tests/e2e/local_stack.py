"""Start the local stack as `make dev` does (a subprocess on free ports) and wait on it, with timeouts."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from claude_tasks_dev.cli.client import ApiClient

START_TIMEOUT_S = 30
STOP_TIMEOUT_S = 20
# Fast local timings: short polls, immediate redelivery, a janitor that runs during the tests.
FAST = ["--poll-interval", "0.1", "--retry-delay", "0", "--janitor-interval", "2", "--full-check-interval", "2"]


def wait_until(check: Callable[[], Any], timeout_s: float, what: str, every_s: float = 0.1) -> Any:
    """Poll `check` until it returns something truthy; fail the test after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout_s}s waiting for {what}")
        time.sleep(every_s)


@dataclass
class RunningStack:
    process: subprocess.Popen[bytes]
    state_dir: Path
    log: Path
    info: dict[str, Any]

    @property
    def api_url(self) -> str:
        return str(self.info["api_url"])

    @property
    def stack_file(self) -> Path:
        return self.state_dir / "stack.json"

    def api(self, principal: str) -> ApiClient:
        return ApiClient(self.api_url, principal, timeout_s=10)

    def sqs(self) -> Any:
        return boto3.client("sqs", region_name=self.info["region"], endpoint_url=self.info["aws_endpoint_url"])

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM) -> int:
        """Signal the stack and wait for it; returns its exit status."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            return self.process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            pytest.fail(f"the stack did not stop within {STOP_TIMEOUT_S}s of signal {sig}:\n{self.output()[-3000:]}")


def start_stack(state_dir: Path, *options: str, env: dict[str, str] | None = None) -> RunningStack:
    """Start `python -m claude_tasks_dev.local` as `make dev` does, on free ports; wait until it wrote stack.json.

    The developer's Claude settings are left out (the offline model runs) unless `env` adds some.
    """
    state_dir.mkdir(parents=True, exist_ok=True)
    log = state_dir / f"stack-{uuid.uuid4().hex[:6]}.log"
    variables = {k: v for k, v in os.environ.items() if k not in ("ANTHROPIC_API_KEY", "CLAUDE_BACKEND")}
    variables.update(env or {}, PYTHONUNBUFFERED="1")
    command = [sys.executable, "-m", "claude_tasks_dev.local", "--api-port", "0", "--aws-port", "0"]
    # A file, not a pipe: nobody reads a pipe while the tests run, and a full one would block the stack.
    with log.open("wb") as sink:
        process = subprocess.Popen(  # noqa: S603 - this interpreter, our module, fixed arguments
            [*command, "--state-dir", str(state_dir), *options], stdout=sink, stderr=sink, env=variables
        )
    stack_file = state_dir / "stack.json"
    deadline = time.monotonic() + START_TIMEOUT_S
    while not stack_file.is_file():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"the local stack did not start:\n{log.read_text(errors='replace')[-3000:]}")
        time.sleep(0.05)
    return RunningStack(process, state_dir, log, json.loads(stack_file.read_text()))


def report_since(admin: ApiClient, moment: str) -> Callable[[], dict[str, Any] | None]:
    """A check for `wait_until`: the janitor's consistency report, once one that started after `moment`
    (an ISO time, as `now_iso` writes it) completed."""

    def check() -> dict[str, Any] | None:
        response = admin.send("GET", "/admin/consistency")
        if response.status == 404:
            return None
        assert response.status == 200, response.body
        report: dict[str, Any] = response.body
        return report if report["started_at"] > moment else None

    return check


def finished(api: ApiClient, task_id: str) -> Callable[[], dict[str, Any] | None]:
    """A check for `wait_until`: the task once it is in an end state."""

    def check() -> dict[str, Any] | None:
        task: dict[str, Any] = api.call("GET", f"/tasks/{task_id}")
        return task if task["status"] in ("succeeded", "failed", "cancelled", "exhausted") else None

    return check
