"""The worker's entry point: cheap to import, logs correlated per record, bounds each call, hands long runs on."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest

from claude_tasks.app.run import CALL_MARGIN_S
from claude_tasks.core.records import TaskStatus
from claude_tasks.store import Store
from tests.support.claude_double import ScriptedClaude
from tests.support.worker import Worker, failed_ids
from tests.unit.worker.conftest import MakeTask, Run

WORKER = Path(__file__).resolve().parents[3] / "functions" / "worker"


def test_importing_the_handler_imports_no_claude_sdk() -> None:
    # Given a fresh interpreter configured for the anthropic backend
    code = "import json, sys, app; print(json.dumps(sorted(sys.modules)))"
    env = {"PATH": "", "AWS_REGION": "us-east-1", "CLAUDE_BACKEND": "anthropic", "POWERTOOLS_TRACE_DISABLED": "1"}
    # When it imports the worker's handler module
    out = subprocess.run(  # noqa: S603 - our own interpreter and statement
        [sys.executable, "-c", code], cwd=WORKER, env=env, capture_output=True, text=True, check=True
    ).stdout
    # Then neither the anthropic SDK nor any backend module was imported (the first task selects one)
    loaded = set(json.loads(out.strip().splitlines()[-1]))
    backends = {"anthropic", "boto3", "claude_tasks.claude.anthropic_backend", "claude_tasks.claude.bedrock_backend"}
    assert loaded & backends == set()
    assert "claude_tasks.app.run" in loaded


def test_log_lines_carry_the_message_and_task_ids(
    worker: Worker, run: Run, claude: ScriptedClaude, make_task: MakeTask, caplog: pytest.LogCaptureFixture
) -> None:
    # Given a queued task, and the handler's log lines captured as Powertools formats them
    caplog.handler.setFormatter(worker.module.logger.registered_formatter)
    task = make_task()
    # When the worker runs its record
    run(task)
    # Then the record's log line names its SQS message and its task
    lines = [json.loads(line) for line in caplog.text.splitlines() if line.startswith("{")]
    (done,) = [line for line in lines if line.get("message") == "record done"]
    assert done["task_id"] == task.task_id and done["message_id"] and done["outcome"] == "succeeded"


def test_a_run_short_of_time_hands_its_remaining_prompts_to_a_new_message(
    worker: Worker, store: Store, make_task: MakeTask, run: Run
) -> None:
    # Given a task with three prompts, and an invocation with less time left than a Claude call may take
    worker.use(ScriptedClaude())
    task = make_task("prompt 1")
    store.transitions.follow_up(task.owner, task.task_id, "prompt 2")
    store.transitions.follow_up(task.owner, task.task_id, "prompt 3")
    # When the worker runs it
    response = run(task, remaining_s=worker.settings.claude_timeout_s - 1)
    # Then it answered the first prompt, then queued the task again (no attempt counted) with a task.run sent
    assert failed_ids(response) == set()
    after = store.tasks.load(task.task_id)
    assert (after.status, after.turns, after.attempts) == (TaskStatus.QUEUED, 1, 0)
    assert after.pending_prompts == ["prompt 2", "prompt 3"]
    sqs = boto3.client("sqs", region_name=worker.settings.region)
    (message,) = sqs.receive_message(QueueUrl=worker.settings.task_queue_url)["Messages"]
    assert json.loads(message["Body"]) == {"type": "task.run", "task_id": task.task_id, "session_id": task.session_id}


@pytest.mark.parametrize(("remaining_s", "budget_s"), [(150.0, 120.0), (60.0, 60.0 - CALL_MARGIN_S)])
def test_each_claude_call_is_due_before_the_invocation_ends(
    worker: Worker, store: Store, make_task: MakeTask, run: Run, remaining_s: float, budget_s: float
) -> None:
    # Given a 120 s Claude timeout
    claude = ScriptedClaude()
    worker.use(claude, claude_timeout_s=120.0)
    task = make_task()
    # When the worker runs the task with `remaining_s` of its invocation left
    started = time.monotonic()
    run(task, remaining_s=remaining_s)
    finished = time.monotonic()
    # Then the call was due after Claude's timeout, or earlier, to leave time for the write
    # (bounded by when the run started and ended, not by a tolerance a loaded machine can exceed)
    (request,) = claude.requests
    assert request.deadline is not None
    assert started + budget_s <= request.deadline <= finished + budget_s


def test_an_orphaned_run_logger_never_fails_a_record(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the run's child logger made under a service name no parent logger has (imported before the env)
    from aws_lambda_powertools import Logger

    from claude_tasks.app import run as run_module

    monkeypatch.setattr(run_module, "logger", Logger(service="no-parent-for-this-child", child=True))
    # When the run tags its log lines with the task id; Then nothing is raised (the lines just lack the key)
    run_module.correlate("task-1")
