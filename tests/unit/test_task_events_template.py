"""The template's task events: the pipe's filters against the lifecycle, the reply rule, the replies' permissions."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from claude_tasks.core.events import TERMINAL, EventStatus
from claude_tasks.core.lifecycle import LIFECYCLE
from claude_tasks.core.records import TaskStatus
from claude_tasks_dev.local.task_events import pipe_filters, reply_rule


def _record(event_name: str, old: TaskStatus | None, new: TaskStatus | None) -> dict[str, Any]:
    change: dict[str, Any] = {}
    if old is not None:
        change["OldImage"] = {"status": {"S": old.value}}
    if new is not None:
        change["NewImage"] = {"status": {"S": new.value}}
    return {"eventName": event_name, "dynamodb": change}


def _passes(template: dict[str, Any], record: dict[str, Any]) -> bool:
    return any(pattern.matches_event(record) for pattern in pipe_filters(template))


def _changes() -> set[tuple[TaskStatus, TaskStatus]]:
    """Every (from, to) of the lifecycle table where the status changes."""
    return {
        (source, target)
        for transition in LIFECYCLE
        for source, target in itertools.product(transition.sources, transition.targets)
        if source != target
    }


def test_the_pipe_passes_every_status_change_of_the_lifecycle(template: dict[str, Any]) -> None:
    # Given every status change the lifecycle allows, and every creation and removal
    changes = [_record("MODIFY", old, new) for old, new in sorted(_changes())]
    ends = [_record("INSERT", None, status) for status in TaskStatus] + [
        _record("REMOVE", status, None) for status in TaskStatus
    ]
    # Then the pipe's filters let each of them through to the events function
    assert [r for r in changes + ends if not _passes(template, r)] == []


def test_the_pipe_drops_writes_that_keep_the_status(template: dict[str, Any]) -> None:
    # Given updates that leave the status as it was (a turn recorded, a title edited, a lease taken over)
    same = [_record("MODIFY", status, status) for status in TaskStatus]
    # Then none reaches the function
    assert [r for r in same if _passes(template, r)] == []


@pytest.mark.parametrize("status", list(EventStatus))
def test_the_reply_rule_takes_exactly_the_terminal_events_that_name_a_queue(
    template: dict[str, Any], status: EventStatus
) -> None:
    # Given an event of the service with a reply_to queue, and the same without one
    source = template["Globals"]["Function"]["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"]
    detail_type = f"Task {status.value.capitalize()}"
    event = {"source": source, "detail-type": detail_type}
    named = {**event, "detail": {"reply_to": "https://sqs.x/1/q", "status": status}}
    unnamed = {**event, "detail": {"reply_to": None, "status": status}}
    # Then the reply rule matches only a terminal one that names a queue
    rule = reply_rule(template)
    assert (rule.matches_event(named), rule.matches_event(unnamed)) == (status in TERMINAL, False)


def test_the_replies_function_may_send_only_under_the_reply_prefix(template: dict[str, Any]) -> None:
    # Given the replies function's role
    role = template["Resources"]["TaskRepliesFunctionRole"]["Properties"]
    (policy,) = role["Policies"]
    statements = [s for item in policy["PolicyDocument"]["Statement"] for s in _branches(item)]
    # Then every SQS grant is SendMessage, on the queues under ReplyQueuePrefix or its own DLQ
    sqs = [s for s in statements if any(str(a).startswith("sqs:") for a in _list(s["Action"]))]
    assert {a for s in sqs for a in _list(s["Action"])} == {"sqs:SendMessage"}
    assert [s["Resource"] for s in sqs] == [
        {"Fn::Sub": "arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:${ReplyQueuePrefix}*"},
        {"Fn::GetAtt": ["TaskRepliesDLQ", "Arn"]},
    ]
    # And the prefix can never be empty (the grant would be every queue of the account)
    assert template["Parameters"]["ReplyQueuePrefix"]["AllowedPattern"] == "^[A-Za-z0-9_-]{1,60}$"


def test_the_tasks_table_streams_both_images_to_the_pipe(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    assert resources["TasksTable"]["Properties"]["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}
    pipe = resources["TaskEventsPipe"]["Properties"]
    assert pipe["Source"] == {"Fn::GetAtt": ["TasksTable", "StreamArn"]}
    assert pipe["Target"] == {"Fn::GetAtt": ["TaskEventsFunction", "Arn"]}


def _list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


def _branches(statement: Any) -> list[dict[str, Any]]:
    """A statement, or the statements of each branch of its Fn::If (AWS::NoValue dropped)."""
    if "Fn::If" not in statement:
        return [statement]
    _, *branches = statement["Fn::If"]
    return [s for branch in branches if branch != {"Ref": "AWS::NoValue"} for s in _branches(branch)]
