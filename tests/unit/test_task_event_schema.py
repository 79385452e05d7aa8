"""docs/task-event.schema.json: generated from the model the events function serialises, and it holds real events."""

from __future__ import annotations

import json

import jsonschema

from claude_tasks.core.events import EventStatus, TaskEvent, links
from claude_tasks_dev.checkout import repo_root
from claude_tasks_dev.event_schema import RELATIVE_PATH, render


def test_the_committed_schema_is_the_generated_one() -> None:
    # Regenerate with `python -m claude_tasks_dev.event_schema` when this fails
    assert (repo_root() / RELATIVE_PATH).read_text() == render()


def test_an_event_as_the_bus_receives_it_is_valid_against_the_schema() -> None:
    # Given an event's detail as the events function serialises it
    event = TaskEvent(
        event_id="0d8f1c4e-2d1b-5a63-9d55-6f0f7f0b6f11",
        task_id="t-1",
        session_id="s-1",
        owner="alice",
        status=EventStatus.SUCCEEDED,
        previous_status=EventStatus.RUNNING,
        version=5,
        occurred_at="2026-11-30T12:00:00.000000Z",
        links=links("t-1"),
    )
    detail = json.loads(event.model_dump_json())
    # Then it validates, and so does one with a field added later
    schema = json.loads((repo_root() / RELATIVE_PATH).read_text())
    jsonschema.validate(detail, schema)
    jsonschema.validate({**detail, "added_later": 1}, schema)
