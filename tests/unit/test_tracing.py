"""Tracing through OpenTelemetry, not the retired X-Ray SDK: configured by the template, absent where it is off,
and the janitor's duties as spans.

What the spans hold (the Claude call, each transaction, never a prompt or a reply) is tested where
they are made: tests/integration/worker/test_tracing.py and tests/unit/api/test_tracing.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from claude_tasks.app.janitor import Janitor
from claude_tasks.app.queue import TaskQueue
from claude_tasks.core.config import Settings
from claude_tasks.store import Store
from tests.conftest import SessionFactory, TaskFactory
from tests.support.spans import attribute_texts, recorded_spans

ROOT = Path(__file__).resolve().parents[2]
ZIP_FUNCTIONS = ("ApiFunction", "WorkerFunction", "JanitorFunction", "TaskEventsFunction", "TaskRepliesFunction")
TRACING_MODULES = ("opentelemetry", "aws_xray_sdk")


def _loaded_after(code: str, folder: Path, **env: str) -> set[str]:
    """The top-level packages a fresh interpreter has loaded after running `code` in `folder`."""
    program = f"import json, sys; {code}; print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}})))"
    out = subprocess.run(  # noqa: S603 - our own interpreter and statement
        [sys.executable, "-c", program],
        cwd=folder,
        env={"PATH": "", "AWS_REGION": "us-east-1", "PYTHONPATH": ":".join(sys.path), **env},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return set(json.loads(out.strip().splitlines()[-1]))


@pytest.mark.parametrize("function", ["api", "worker", "janitor", "events", "replies"])
def test_a_handler_without_tracing_imports_no_tracing_library(function: str) -> None:
    # When a fresh interpreter imports the handler as deployed without tracing
    loaded = _loaded_after("import app", ROOT / "functions" / function, TRACING_ENABLED="false")
    # Then neither OpenTelemetry nor the X-Ray SDK was imported
    assert loaded & set(TRACING_MODULES) == set()
    assert "claude_tasks" in loaded


def test_a_span_with_tracing_off_imports_nothing_and_one_with_it_on_uses_opentelemetry() -> None:
    # When a block runs in a span with tracing off, Then OpenTelemetry stays unloaded
    code = (
        "from claude_tasks.core.tracing import Tracer\nwith Tracer({on}).span('x', {{'a': 1}}) as s: s.set({{'b': 2}})"
    )
    assert "opentelemetry" not in _loaded_after(code.format(on=False), ROOT)
    # And with tracing on, the span goes through OpenTelemetry's API
    assert "opentelemetry" in _loaded_after(code.format(on=True), ROOT)


def test_the_template_traces_only_as_its_parameters_say(template: dict[str, Any]) -> None:
    # Given the template's parameters, conditions and the functions' settings
    parameters, conditions = template["Parameters"], template["Conditions"]
    function = template["Globals"]["Function"]
    variables = function["Environment"]["Variables"]
    # Then Tracing is off or active, and the ADOT layer is optional
    assert parameters["Tracing"]["AllowedValues"] == ["off", "active"]
    assert parameters["AdotLayerArn"]["Default"] == ""
    assert conditions["UseAdotLayer"] == {
        "Fn::And": [{"Condition": "TracingActive"}, {"Fn::Not": [{"Fn::Equals": [{"Ref": "AdotLayerArn"}, ""]}]}]
    }
    # And Lambda's active tracing follows Tracing; our spans only where the ADOT layer's SDK records them
    assert function["Tracing"] == {"Fn::If": ["TracingActive", "Active", "PassThrough"]}
    assert variables["TRACING_ENABLED"] == {"Fn::If": ["UseAdotLayer", "true", "false"]}
    assert variables["OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"] == "false"
    assert not [name for name in variables if name.startswith("POWERTOOLS_TRACE")]


@pytest.mark.parametrize("logical_id", ZIP_FUNCTIONS)
def test_a_zip_function_takes_the_adot_layer_last_and_its_wrapper_only_with_it(
    template: dict[str, Any], logical_id: str
) -> None:
    properties = template["Resources"][logical_id]["Properties"]
    condition, with_adot, without = properties["Layers"]["Fn::If"]
    # Then with the ADOT layer it comes after ours (its OpenTelemetry files win), and without it nothing changes
    assert condition == "UseAdotLayer"
    assert with_adot == [*without, {"Ref": "AdotLayerArn"}]
    assert properties["Environment"]["Variables"]["AWS_LAMBDA_EXEC_WRAPPER"] == {
        "Fn::If": ["UseAdotLayer", "/opt/otel-instrument", {"Ref": "AWS::NoValue"}]
    }


def test_the_image_worker_has_no_wrapper_and_records_no_spans(template: dict[str, Any]) -> None:
    # An image takes no layer: /opt/otel-instrument is not there, and no SDK would record its spans
    variables = template["Resources"]["ClaudeCodeWorkerFunction"]["Properties"]["Environment"]["Variables"]
    assert "AWS_LAMBDA_EXEC_WRAPPER" not in variables
    assert variables["TRACING_ENABLED"] == "false"


def test_no_dependency_list_brings_the_x_ray_sdk() -> None:
    # Given every list of what is installed: pyproject, the dependency layer, the image's pins
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lists = [
        *project["dependencies"],
        *(r for extra in project["optional-dependencies"].values() for r in extra),
        *(ROOT / "layers" / "dependencies" / "requirements.txt").read_text().splitlines(),
        *(ROOT / "functions" / "claude_code_worker" / "requirements.txt").read_text().splitlines(),
    ]
    # Then none names aws-xray-sdk or Powertools' tracer extra
    assert [r for r in lists if "xray" in r.lower() or "[tracer]" in r.lower()] == []


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    yield from recorded_spans()


def test_a_traced_janitor_run_has_a_span_per_duty_and_no_prompt(
    settings: Settings, session_factory: SessionFactory, task_factory: TaskFactory, spans: InMemorySpanExporter
) -> None:
    # Given a task whose prompt must stay out of traces, and the janitor with tracing on
    task_factory(session_factory(), prompt="Rotate the credentials of account 31415926.")
    traced = settings.model_copy(update={"tracing_enabled": True})
    janitor = Janitor(Store(traced), TaskQueue(traced))
    # When it runs its frequent duties, then a whole full check
    janitor.run()
    janitor.run(start_full_check=True, budget_s=600)
    # Then each duty is a span with what it did, and nothing holds the prompt
    finished = [span for span in spans.get_finished_spans() if span.name.startswith("janitor.")]
    assert sorted({span.name for span in finished}) == [
        "janitor.delete_orphans",
        "janitor.full_check_step",
        "janitor.requeue_stuck",
    ]
    made = [(span.attributes or {})["claude_tasks.report.made"] for span in finished if span.name.endswith("step")]
    assert made == [False, True]
    assert not [t for t in attribute_texts(list(finished)) if "31415926" in t]
