"""Task events from the tasks table's stream: which writes are events, what they say, and their stable ids.

The records are the stream's own (moto's, from the writes of the real repositories), read as the pipe
hands them over: nothing here builds a stream record by hand.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from claude_tasks.app.events import task_event, task_events
from claude_tasks.core.config import Settings
from claude_tasks.core.events import EventStatus, TaskEvent
from claude_tasks.core.records import NewTask, Session
from claude_tasks.store import Store
from claude_tasks.store.runs import Lease
from claude_tasks_dev.local.stream import StreamReader
from tests.conftest import SessionFactory

PROMPT = "The secret plan is in the prompt"


@pytest.fixture
def stream(settings: Settings) -> StreamReader:
    """The tasks table's stream from its first record (an in-process emulator: `advance` is never called)."""
    return StreamReader(None, settings.region, settings.tasks_table)


@pytest.fixture
def session(session_factory: SessionFactory) -> Session:
    return session_factory(owner="alice")


def _events(stream: StreamReader) -> list[TaskEvent]:
    return task_events(stream.read(limit=1000))


def test_each_status_change_is_one_event_with_the_status_before_it(
    store: Store, session: Session, stream: StreamReader
) -> None:
    # Given a task created, run, failed, retried and cancelled, with writes between that change no status
    task = store.tasks.create("alice", session.session_id, NewTask(prompt=PROMPT), idempotency_key="k-1")
    store.tasks.update("alice", task.task_id, {"title": "renamed"})
    lease = Lease.start(60)
    store.runs.lease(task.task_id, session.session_id, lease)
    store.runs.fail(store.tasks.load(task.task_id), lease, "Claude answered 500 three times")
    store.transitions.retry("alice", task.task_id)
    store.transitions.follow_up("alice", task.task_id, "and another thing")
    store.transitions.cancel("alice", task.task_id)
    # When the stream's records are mapped
    events = _events(stream)
    # Then there is one event per status change, in order, each naming the status it left
    assert [(e.status, e.previous_status) for e in events] == [
        (EventStatus.QUEUED, None),
        (EventStatus.RUNNING, EventStatus.QUEUED),
        (EventStatus.FAILED, EventStatus.RUNNING),
        (EventStatus.QUEUED, EventStatus.FAILED),
        (EventStatus.CANCELLED, EventStatus.QUEUED),
    ]
    assert [e.detail_type for e in events] == [
        "Task Queued", "Task Running", "Task Failed", "Task Queued", "Task Cancelled",
    ]  # fmt: skip
    failed = events[2]
    assert (failed.reason, failed.attempts, failed.idempotency_key) == ("Claude answered 500 three times", 0, "k-1")
    assert {(e.task_id, e.session_id, e.owner) for e in events} == {(task.task_id, session.session_id, "alice")}
    assert [e.version for e in events] == sorted({e.version for e in events})


def test_a_deletion_is_one_event_with_the_status_the_task_had(
    store: Store, session: Session, stream: StreamReader
) -> None:
    # Given a task cancelled, then deleted (marked `deleting`, then removed)
    task = store.tasks.create("alice", session.session_id, NewTask(prompt=PROMPT))
    store.transitions.cancel("alice", task.task_id)
    store.tasks.delete("alice", task.task_id)
    records = stream.read(limit=1000)
    # When the records are mapped
    events = task_events(records)
    # Then the deletion is announced once (at its mark: the removal after it is no event)
    assert [(e.detail_type, e.previous_status) for e in events][-1] == ("Task Deleted", EventStatus.CANCELLED)
    assert [e.status for e in events].count(EventStatus.DELETED) == 1
    removal = [r for r in records if r["eventName"] == "REMOVE"]
    assert len(removal) == 1 and task_event(removal[0]) is None


def test_an_event_never_carries_the_prompt_or_a_reply_but_says_where_to_read_them(
    store: Store, session: Session, stream: StreamReader
) -> None:
    # Given a task whose prompt and follow-up hold text only the API may show
    task = store.tasks.create("alice", session.session_id, NewTask(prompt=PROMPT, system="the system prompt"))
    store.transitions.cancel("alice", task.task_id)
    # When its events are serialised as the bus receives them
    details = [event.model_dump_json() for event in _events(stream)]
    # Then no text of the task is in them, and the API paths are
    assert details and not any(PROMPT in d or "the system prompt" in d for d in details)
    assert json.loads(details[0])["links"] == {
        "task": f"/tasks/{task.task_id}",
        "interactions": f"/tasks/{task.task_id}/interactions",
    }


def test_a_redelivered_record_makes_the_same_event(store: Store, session: Session, stream: StreamReader) -> None:
    # Given the records of a task's life
    task = store.tasks.create("alice", session.session_id, NewTask(prompt=PROMPT))
    store.transitions.cancel("alice", task.task_id)
    store.transitions.retry("alice", task.task_id)
    records = stream.read(limit=1000)
    # When the same records are delivered again (a retried batch), even with another stream record id
    again = [{**record, "eventID": "another-delivery"} for record in json.loads(json.dumps(records))]
    # Then every event is the same, its id included; and two changes never share an id
    assert task_events(again) == task_events(records)
    ids = [e.event_id for e in task_events(records)]
    assert len(ids) == 3 and len(set(ids)) == 3


def test_the_event_id_names_the_table_so_two_deployments_never_share_one(
    store: Store, session: Session, stream: StreamReader
) -> None:
    # Given one record, as it would come from another deployment's table of the same task id
    store.tasks.create("alice", session.session_id, NewTask(prompt=PROMPT))
    (record,) = stream.read(limit=1000)
    other: dict[str, Any] = {**record, "eventSourceARN": record["eventSourceARN"].replace("claude-tasks-", "other-")}
    # Then the two events differ only in their ids
    mine, theirs = task_event(record), task_event(other)
    assert mine is not None and theirs is not None
    assert mine.event_id != theirs.event_id
    assert mine.model_copy(update={"event_id": theirs.event_id}) == theirs


def test_a_task_recreated_with_the_same_key_has_new_event_ids(
    store: Store, session: Session, stream: StreamReader
) -> None:
    # Given a task created with an idempotency key, cancelled and deleted, then created again with the key
    first = store.tasks.create("alice", session.session_id, NewTask(prompt=PROMPT), idempotency_key="k-again")
    store.transitions.cancel("alice", first.task_id)
    store.tasks.delete("alice", first.task_id)
    second = store.tasks.create("alice", session.session_id, NewTask(prompt=PROMPT), idempotency_key="k-again")
    store.transitions.cancel("alice", second.task_id)
    records = stream.read(limit=1000)
    # When the records are mapped, and delivered again
    events = task_events(records)
    again = task_events(json.loads(json.dumps(records)))
    # Then the second task has the first one's id, statuses and versions, but none of its event ids
    assert second.task_id == first.task_id
    assert [e.detail_type for e in events] == [
        "Task Queued", "Task Cancelled", "Task Deleted", "Task Queued", "Task Cancelled",
    ]  # fmt: skip
    old, new = events[:2], events[3:]
    assert [(e.task_id, e.version) for e in new] == [(e.task_id, e.version) for e in old]
    ids = [e.event_id for e in events]
    assert len(set(ids)) == len(ids)
    # And a redelivery of the same records still gives the same ids
    assert [e.event_id for e in again] == ids
