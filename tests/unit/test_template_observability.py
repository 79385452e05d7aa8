"""The template's dashboard and alarms watch metrics our code really publishes, under the names it uses.

The template is read as written (cfn-lint's decoder); the published names come from the code itself:
the janitor's `publish` is called with a recording stand-in for Powertools Metrics, and the worker's
and the API's names are derived from the code that makes them.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from claude_tasks.app.delivery import Outcome, RecordFailed
from claude_tasks.app.janitor import JanitorRun, publish
from claude_tasks.store.audit import ConsistencyReport

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
WORKER_APP = ROOT / "functions" / "worker" / "app.py"
SERVICE = ROOT / "shared" / "claude_tasks" / "app" / "service.py"
CORE_METRICS = ROOT / "shared" / "claude_tasks" / "core" / "metrics.py"
EVENTS_APP = ROOT / "functions" / "events" / "app.py"
NEW_ALARMS = {
    # logical id: (namespace, metric, statistic, threshold)
    "InvariantViolationsAlarm": ("ClaudeTaskServer", "InvariantViolations", "Maximum", 0),
    "SharedClaudeSessionIdsAlarm": ("ClaudeTaskServer", "SharedClaudeSessionIds", "Maximum", 0),
    "TaskQueueOldestMessageAlarm": ("AWS/SQS", "ApproximateAgeOfOldestMessage", "Maximum", 900),
}
PLACEHOLDER = re.compile(r"\$\{([^}!]+)\}")


class RecordingMetrics:
    """Stands in for Powertools Metrics: keeps the names `add_metric` was given."""

    def __init__(self) -> None:
        self.names: set[str] = set()

    def add_metric(self, name: str, unit: Any, value: float) -> None:
        self.names.add(name)


@pytest.fixture(scope="module")
def janitor_metrics() -> set[str]:
    report = ConsistencyReport(
        total_sessions=0,
        sessions_with_tasks=0,
        orphaned_sessions=0,
        total_tasks=0,
        tasks_with_valid_session=0,
        total_interactions=0,
        tasks_with_claude_session_id=0,
        shared_claude_session_ids=0,
        violations=[],
    )
    recorder = RecordingMetrics()
    publish(JanitorRun(orphans_deleted=0, tasks_requeued=0, report=report), recorder)  # type: ignore[arg-type]
    return recorder.names


@pytest.fixture(scope="module")
def worker_metrics() -> set[str]:
    # The worker names a metric after each acknowledged outcome and each kind of refusal; importing
    # its app would build a TaskExecutor, so the test holds the formulas to the source instead.
    source = WORKER_APP.read_text()
    assert "_count(f\"Task{outcome.value.title().replace('_', '')}\")" in source
    assert '_count(f"Record{type(failed).__name__}")' in source
    assert '_count("RecordError")' in source
    outcomes = {f"Task{outcome.value.title().replace('_', '')}" for outcome in Outcome}
    refusals = {f"Record{kind.__name__}" for kind in RecordFailed.__subclasses__()}
    return outcomes | refusals | {"RecordError"}


@pytest.fixture(scope="module")
def claude_metrics() -> set[str]:
    # Every Claude call's figures, named where `core.metrics` adds them.
    names = set(re.findall(r'add\("(\w+)"', CORE_METRICS.read_text()))
    assert {"ClaudeLatency", "ClaudeInputTokens", "ClaudeOutputTokens", "ClaudeCostUsd"} <= names
    return names


@pytest.fixture(scope="module")
def published(janitor_metrics: set[str], worker_metrics: set[str], claude_metrics: set[str]) -> set[str]:
    api = set(re.findall(r'add_metric\(name="(\w+)"', SERVICE.read_text()))
    assert api == {"EnqueueFailed"}
    events = set(re.findall(r'add_metric\(name="(\w+)"', EVENTS_APP.read_text()))
    assert events == {"TaskEventsPublished"}
    return janitor_metrics | worker_metrics | claude_metrics | api | events


def _properties(template: dict[str, Any], logical_id: str) -> dict[str, Any]:
    return dict(template["Resources"][logical_id]["Properties"])


def _resolve(node: Any, claude_code: bool) -> Any:
    """The value of Fn::Join / Fn::If / Fn::Sub with EnableClaudeCode set, each `${...}` a dummy name."""
    if isinstance(node, str):
        return node
    if isinstance(node, list):
        return [_resolve(item, claude_code) for item in node]
    (function, args), *_ = node.items()
    if function == "Fn::Join":
        return args[0].join(_resolve(part, claude_code) for part in args[1])
    if function == "Fn::If":
        assert args[0] == "EnableClaudeCode", args[0]
        return _resolve(args[1] if claude_code else args[2], claude_code)
    if function == "Fn::Sub":
        return PLACEHOLDER.sub(lambda m: "dummy-" + m.group(1).replace(".", "-").replace("::", "-"), args)
    raise AssertionError(f"unexpected {function} in the dashboard body")


def _dashboard(template: dict[str, Any], claude_code: bool) -> dict[str, Any]:
    body = _resolve(_properties(template, "Dashboard")["DashboardBody"], claude_code)
    parsed = json.loads(body)
    assert isinstance(parsed, dict)
    return parsed


def _metric_rows(dashboard: dict[str, Any]) -> list[list[Any]]:
    return [row for widget in dashboard["widgets"] for row in widget["properties"]["metrics"]]


def _our_rows(template: dict[str, Any], dashboard: dict[str, Any]) -> list[list[Any]]:
    namespace = template["Globals"]["Function"]["Environment"]["Variables"]["POWERTOOLS_METRICS_NAMESPACE"]
    return [row for row in _metric_rows(dashboard) if row[0] == namespace]


@pytest.mark.parametrize("logical_id", sorted(NEW_ALARMS))
def test_new_alarm_watches_its_metric_and_notifies_the_topic(template: dict[str, Any], logical_id: str) -> None:
    # Given the alarm as the template defines it
    alarm = _properties(template, logical_id)
    namespace, metric, statistic, threshold = NEW_ALARMS[logical_id]

    # When its threshold is resolved (a parameter's default where it is one)
    value = alarm["Threshold"]
    if isinstance(value, dict):
        value = template["Parameters"][value["Ref"]]["Default"]

    # Then it fires above the threshold on that metric, and tells the alarm topic both ways
    assert (alarm["Namespace"], alarm["MetricName"], alarm["Statistic"]) == (namespace, metric, statistic)
    assert int(value) == threshold
    assert alarm["ComparisonOperator"] == "GreaterThanThreshold"
    assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}]
    assert alarm["OKActions"] == [{"Ref": "AlarmTopic"}]
    assert alarm["TreatMissingData"] == "notBreaching"


def test_every_alarm_notifies_the_alarm_topic(template: dict[str, Any]) -> None:
    # Given every alarm in the template
    alarms = {k: r for k, r in template["Resources"].items() if r["Type"] == "AWS::CloudWatch::Alarm"}

    # Then the new ones are among them, and each one pages through the one topic
    assert set(NEW_ALARMS) <= set(alarms)
    for logical_id, alarm in alarms.items():
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": "AlarmTopic"}], logical_id


def test_alarms_on_our_metrics_use_the_names_namespace_and_dimension_we_publish(
    template: dict[str, Any], published: set[str]
) -> None:
    # Given the namespace and service name the functions' Powertools Metrics publish under
    env = template["Globals"]["Function"]["Environment"]["Variables"]
    ours = [
        _properties(template, k)
        for k, r in template["Resources"].items()
        if r["Type"] == "AWS::CloudWatch::Alarm" and r["Properties"]["Namespace"] == env["POWERTOOLS_METRICS_NAMESPACE"]
    ]

    # Then each alarm on them names a published metric with the `service` dimension Powertools adds
    assert {alarm["MetricName"] for alarm in ours} == {"InvariantViolations", "SharedClaudeSessionIds"}
    for alarm in ours:
        assert alarm["MetricName"] in published
        assert alarm["Dimensions"] == [{"Name": "service", "Value": env["POWERTOOLS_SERVICE_NAME"]}]


@pytest.mark.parametrize("claude_code", [False, True], ids=["without-claude-code", "with-claude-code"])
def test_dashboard_body_is_json_and_shows_only_published_metrics(
    template: dict[str, Any], published: set[str], claude_code: bool
) -> None:
    # Given the dashboard body with its placeholders filled in
    dashboard = _dashboard(template, claude_code)
    service = template["Globals"]["Function"]["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"]

    # When its rows on our namespace are read
    rows = _our_rows(template, dashboard)

    # Then each names a metric our code publishes, under the service dimension
    assert rows
    for row in rows:
        assert row[1] in published, row
        assert row[2:4] == ["service", service], row


def test_dashboard_shows_every_report_figure_task_outcome_and_claude_figure(
    template: dict[str, Any], janitor_metrics: set[str], worker_metrics: set[str], claude_metrics: set[str]
) -> None:
    # Given the metric names the dashboard shows on our namespace
    shown = {row[1] for row in _our_rows(template, _dashboard(template, claude_code=False))}

    # Then nothing the janitor or the workers publish is left off it: outcomes, Claude's latency, tokens, cost
    assert janitor_metrics <= shown
    assert worker_metrics <= shown
    assert claude_metrics <= shown
    assert "TaskEventsPublished" in shown


def test_dashboard_shows_queues_api_and_functions(template: dict[str, Any]) -> None:
    # Given the AWS metrics of the dashboard, with and without Claude Code
    def aws_rows(claude_code: bool) -> set[tuple[str, str, str]]:
        rows = _metric_rows(_dashboard(template, claude_code))
        return {(row[0], row[1], row[3]) for row in rows if row[0].startswith("AWS/")}

    without, with_claude_code = aws_rows(False), aws_rows(True)

    # Then the task queue's depth and age, the DLQ, the API and every zip function are always there
    assert ("AWS/SQS", "ApproximateAgeOfOldestMessage", "dummy-TaskQueue-QueueName") in without
    assert ("AWS/SQS", "ApproximateNumberOfMessagesVisible", "dummy-TaskQueue-QueueName") in without
    assert ("AWS/SQS", "ApproximateNumberOfMessagesVisible", "dummy-TaskDLQ-QueueName") in without
    for dlq in ("TaskEventsDLQ", "TaskRepliesDLQ"):
        assert ("AWS/SQS", "ApproximateNumberOfMessagesVisible", f"dummy-{dlq}-QueueName") in without
    assert {("AWS/ApiGateway", name, "dummy-HttpApi") for name in ("4xx", "5xx", "Latency")} <= without
    for function in ("ApiFunction", "WorkerFunction", "JanitorFunction", "TaskEventsFunction", "TaskRepliesFunction"):
        assert {("AWS/Lambda", name, f"dummy-{function}") for name in ("Errors", "Throttles")} <= without
    # And the Claude Code queue, its DLQ and its worker only where they exist
    claude_code_only = with_claude_code - without
    assert ("AWS/SQS", "ApproximateAgeOfOldestMessage", "dummy-ClaudeCodeQueue-QueueName") in claude_code_only
    assert ("AWS/SQS", "ApproximateNumberOfMessagesVisible", "dummy-ClaudeCodeDLQ-QueueName") in claude_code_only
    assert ("AWS/Lambda", "Throttles", "dummy-ClaudeCodeWorkerFunction") in claude_code_only
    assert not any("ClaudeCode" in row[2] for row in without)
