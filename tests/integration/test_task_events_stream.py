"""The local stack's reading of the tasks table's stream, on moto's server: every record once, none kept.

moto copies a table, its stream included, in every transaction that writes to it, and keeps every stream
record; the reader trims what it has taken, so a long-running stack's writes do not slow down or grow.
"""

from __future__ import annotations

from moto.dynamodb.models import dynamodb_backends
from moto.dynamodb.models.table import StreamShard

from claude_tasks.app.events import task_events
from claude_tasks.core.config import Settings
from claude_tasks.core.errors import TaskStateConflict
from claude_tasks.core.events import EventStatus
from claude_tasks.core.records import NewTask
from claude_tasks.store import Store
from claude_tasks_dev.local.aws import EmbeddedAws
from claude_tasks_dev.local.stream import StreamReader
from tests.conftest import SessionFactory


def _shard(settings: Settings) -> StreamShard:
    """moto's one shard of the tasks table's stream."""
    return dynamodb_backends["123456789012"][settings.region].get_table(settings.tasks_table).stream_shard


def _kept(settings: Settings) -> int:
    """How many stream records moto holds for the tasks table."""
    return len(_shard(settings).items)


def test_each_record_is_read_once_and_then_forgotten_by_the_emulator(
    settings: Settings, store: Store, session_factory: SessionFactory
) -> None:
    # Given a reader, and writes before and after a transaction that fails (moto rolls the table back)
    reader = StreamReader(settings.aws_endpoint_url, settings.region, settings.tasks_table)
    session = session_factory(owner="alice")
    first = store.tasks.create("alice", session.session_id, NewTask(prompt="one"))
    store.transitions.cancel("alice", first.task_id)
    taken = reader.read()
    reader.advance(taken)
    try:
        store.transitions.cancel("alice", first.task_id)  # already cancelled: its transaction is refused
    except TaskStateConflict:
        pass
    second = store.tasks.create("alice", session.session_id, NewTask(prompt="two"))
    # When the reader reads on
    later = reader.read()
    reader.advance(later)
    # Then each change came exactly once, in order, and the emulator keeps no record it has handed over
    events = task_events(taken + later)
    assert [(e.task_id, e.status) for e in events] == [
        (first.task_id, EventStatus.QUEUED),
        (first.task_id, EventStatus.CANCELLED),
        (second.task_id, EventStatus.QUEUED),
    ]
    assert _kept(settings) == 0
    # And the sequence numbers kept growing across the trim
    numbers = [int(r["dynamodb"]["SequenceNumber"]) for r in taken + later]
    assert numbers == sorted(set(numbers))
    assert reader.read() == []


def test_a_test_that_reads_no_stream_can_drop_it_whole(
    settings: Settings, store: Store, session_factory: SessionFactory, moto_server: EmbeddedAws
) -> None:
    # Given writes that left stream records nobody read
    session = session_factory(owner="alice")
    first = store.tasks.create("alice", session.session_id, NewTask(prompt="one"))
    store.transitions.cancel("alice", first.task_id)
    dropped = _kept(settings)
    assert dropped >= 2
    first_number = _shard(settings).starting_sequence_number
    # When the test drops the stream
    moto_server.forget_stream(settings.tasks_table)
    # Then moto keeps none of it, and a reader sees the next write, numbered after the dropped ones
    assert _kept(settings) == 0
    reader = StreamReader(settings.aws_endpoint_url, settings.region, settings.tasks_table)
    second = store.tasks.create("alice", session.session_id, NewTask(prompt="two"))
    records = reader.read()
    assert [e.task_id for e in task_events(records)] == [second.task_id]
    assert int(records[0]["dynamodb"]["SequenceNumber"]) == first_number + dropped
