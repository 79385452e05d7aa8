"""What a handler's cold start imports and builds: only what its first request needs (`make bench` has the figures).

Each check runs in a fresh interpreter, as a Lambda container starts. They hold the savings in place:
a module-level model instance or a stray import would bring the cost back without failing anything else.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

FUNCTIONS = Path(__file__).resolve().parents[2] / "functions"
# Every zip function's handler (the Claude Code worker's image runs the worker's).
HANDLERS = ("api", "worker", "janitor", "events", "replies")
# Read at import by every handler (`get_settings()`); parametrising a generic model (`Page[TaskView]`)
# builds its origin. Every other model of ours builds its validator on first use (`defer_build`).
BUILT_AT_IMPORT = {"claude_tasks.core.config.Settings", "claude_tasks.core.records.Page"}
_PROBE = """
import gc, json, sys
import app
gc.unfreeze()  # the handler froze its import's objects, which hides them from gc.get_objects()
from pydantic import BaseModel
built = sorted(
    f"{c.__module__}.{c.__qualname__}" for c in gc.get_objects()
    if isinstance(c, type) and issubclass(c, BaseModel) and c.__dict__.get("__pydantic_complete__")
)
print(json.dumps({"modules": sorted(sys.modules), "built": built}))
"""


def _import(function: str) -> dict[str, list[str]]:
    out = subprocess.run(  # noqa: S603 - our own interpreter and probe
        [sys.executable, "-c", _PROBE],
        cwd=FUNCTIONS / function,
        env={"PATH": "", "AWS_REGION": "us-east-1", "PYTHONPATH": ":".join(sys.path)},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    found: dict[str, list[str]] = json.loads(out.strip().splitlines()[-1])
    return found


@pytest.mark.parametrize("function", HANDLERS)
def test_a_handler_builds_no_model_of_ours_at_import_but_its_settings(function: str) -> None:
    # When a fresh interpreter imports the handler
    built = {name for name in _import(function)["built"] if name.startswith("claude_tasks")}
    # Then only the settings (and a generic page's origin) have their validators built
    assert built <= BUILT_AT_IMPORT
    assert "claude_tasks.core.config.Settings" in built


@pytest.mark.parametrize("function", HANDLERS)
def test_a_handler_imports_no_library_its_first_request_does_not_need(function: str) -> None:
    # When a fresh interpreter imports the handler
    modules = set(_import(function)["modules"])
    # Then neither pydantic-settings, nor Powertools' parser models (its batch types load them when
    # pydantic was imported first), nor a tracing library or a Claude SDK was loaded
    unwanted = {"pydantic_settings", "aws_lambda_powertools.utilities.parser", "aws_xray_sdk", "opentelemetry"}
    assert modules & (unwanted | {"anthropic", "claude_agent_sdk"}) == set()


def test_the_janitor_does_not_load_asyncio() -> None:
    # The API's resolver and the worker's batch processor import asyncio themselves; nothing of ours does
    assert "asyncio" not in _import("janitor")["modules"]


def test_the_worker_does_not_load_claude_codes_turn() -> None:
    # A chat task's run needs none of it; a Claude Code task imports it with the Claude Code SDK
    agent_path = {"claude_tasks.app.agent_turn", "claude_tasks.claude.agent", "claude_tasks.claude.workspace"}
    assert agent_path & set(_import("worker")["modules"]) == set()


def test_the_task_events_function_loads_no_write_path() -> None:
    # It reads stream images (`store.records`) and never writes: no transaction, task write, tally or content store
    writes = {"transaction", "task_write", "tally", "content"}
    writes = {f"claude_tasks.store.{name}" for name in writes}
    assert writes & set(_import("events")["modules"]) == set()


@pytest.mark.parametrize("function", HANDLERS)
def test_a_handler_imports_with_the_collector_off_and_turns_it_back_on(function: str) -> None:
    # When a fresh interpreter imports the handler (its first lines turn the cyclic collector off)
    probe = "import gc, json, app; print(json.dumps([gc.isenabled(), gc.get_freeze_count()]))"
    out = subprocess.run(  # noqa: S603 - our own interpreter and probe
        [sys.executable, "-c", probe],
        cwd=FUNCTIONS / function,
        env={"PATH": "", "AWS_REGION": "us-east-1", "PYTHONPATH": ":".join(sys.path)},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    enabled, frozen = json.loads(out.strip().splitlines()[-1])
    # Then the collector is on again for the invocations, and leaves the import's objects out of its passes
    assert enabled is True
    assert frozen > 0
