"""The lifecycle table: the one the store writes by, and the one docs/task-lifecycle.md shows."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from claude_tasks.core import lifecycle
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
    # Given / When a write that retries a task
    write = TaskWrite("t", "s").moves(Event.RETRY, TaskStatus.QUEUED)
    # Then it requires exactly the states a retry starts from
    assert write.allowed_statuses == {TaskStatus.FAILED, TaskStatus.EXHAUSTED, TaskStatus.CANCELLED}
