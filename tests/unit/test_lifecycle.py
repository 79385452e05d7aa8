"""The lifecycle table: the one the store writes by, and the one docs/task-lifecycle.md shows."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from claude_tasks.core import lifecycle
from claude_tasks.core.errors import TaskStateConflict
from claude_tasks.core.lifecycle import Event
from claude_tasks.core.records import TaskStatus
from claude_tasks.store.task_write import TaskWrite

DOC = Path(__file__).resolve().parents[2] / "docs" / "task-lifecycle.md"


def test_the_documented_table_is_the_code_s_table() -> None:
    # Given the generated block of the lifecycle document
    block = re.search(r"<!-- lifecycle:begin -->\n(.*?)\n<!-- lifecycle:end -->", DOC.read_text(), re.S)
    assert block is not None, "docs/task-lifecycle.md lost its lifecycle block"
    # Then it is exactly the table the store writes by (regenerate: python -m claude_tasks.core.lifecycle)
    assert block.group(1) == lifecycle.markdown()


def test_every_state_is_reached_and_every_event_has_one_row() -> None:
    # Given / Then every state but the internal `deleting` is a target of some move, and no event repeats
    reached = {status for row in lifecycle.LIFECYCLE for status in row.targets}
    assert reached == set(TaskStatus)
    assert len({row.event for row in lifecycle.LIFECYCLE}) == len(lifecycle.LIFECYCLE) == len(Event)


def test_a_write_cannot_make_a_move_the_table_does_not_list() -> None:
    # Given a task write
    write = TaskWrite("t", "s")
    # When it asks to cancel into `succeeded`; Then that is refused before anything is written
    with pytest.raises(ValueError, match="no 'cancel' into 'succeeded'"):
        write.moves(Event.CANCEL, TaskStatus.SUCCEEDED)


def test_a_move_requires_the_table_s_source_states() -> None:
    # Given / When a write under an event, without a status change
    write = TaskWrite("t", "s").moves(Event.FOLLOW_UP)
    # Then it requires exactly the states the event applies to
    assert write.allowed_statuses == {TaskStatus.QUEUED, TaskStatus.RUNNING}


def test_a_status_change_is_counted_from_the_one_status_it_leaves() -> None:
    # Given a retry of a task read as failed
    write = TaskWrite("t", "s", owner="o", allowed_statuses=frozenset({TaskStatus.FAILED}))
    # When it moves the task to queued, Then it requires that status, and counts the move from it
    write.moves(Event.RETRY, TaskStatus.QUEUED)
    assert write.allowed_statuses == {TaskStatus.FAILED}
    assert write.tally is not None and write.tally.moved == [(TaskStatus.FAILED, TaskStatus.QUEUED)]
    # And a change that could come from several states cannot be counted: refused before any write
    with pytest.raises(ValueError, match="counted"):
        TaskWrite("t", "s", owner="o").moves(Event.RETRY, TaskStatus.QUEUED)
    # And one read in a state the event does not apply to is a conflict
    with pytest.raises(TaskStateConflict):
        TaskWrite("t", "s", owner="o", allowed_statuses=frozenset({TaskStatus.RUNNING})).moves(
            Event.RETRY, TaskStatus.QUEUED
        )
