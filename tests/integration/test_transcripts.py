"""Claude Code's transcripts over HTTP (moto server): the SDK's harness, a resume from another store, racing appends."""

from __future__ import annotations

import asyncio
import threading
import uuid
from typing import Any

from claude_agent_sdk.testing import run_session_store_conformance

from claude_tasks.store import Store

KEY: Any = {"project_key": "-work-project", "session_id": "5d1b3a8e-0f2c-4e7a-9c61-7b2e8d4f1a33"}


def test_the_sdk_conformance_harness_passes_over_http(store: Store) -> None:
    # Given a fresh owner for each contract (the harness wants each store empty)
    def fresh() -> Any:
        return store.transcripts.for_owner(f"owner-{uuid.uuid4()}")

    # When the SDK's own harness runs against the store on moto server, Then every contract holds
    asyncio.run(run_session_store_conformance(fresh))


def test_a_second_worker_loads_what_the_first_appended(store: Store, settings: Any) -> None:
    # Given a transcript appended through one process's store
    entries = [{"type": "user", "uuid": "u1", "message": {"role": "user", "content": "hi"}}]
    asyncio.run(store.transcripts.for_owner("alice").append(KEY, entries))

    # When another worker, with a store of its own, loads it
    other = Store(settings).transcripts.for_owner("alice")

    # Then it reads the same entries
    assert asyncio.run(other.load(KEY)) == entries


def test_racing_appenders_lose_nothing_and_keep_each_ones_order(store: Store) -> None:
    # Given two writers appending to one transcript at once, five batches each: a writer's round fails
    # only when the other committed in between, so neither can fail more often than it has attempts
    writers, batches = 2, 5
    start = threading.Barrier(writers)
    errors: list[BaseException] = []

    def write(w: int) -> None:
        start.wait()
        try:
            for b in range(batches):
                batch = [{"type": "x", "uuid": f"{w}-{b}-{i}", "writer": w, "n": b * 2 + i} for i in range(2)]
                store.transcripts.append("alice", KEY, batch)
        except BaseException as error:  # reported by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Then no append failed, every entry is stored once, and each writer's are in the order it appended them
    assert errors == []
    loaded = store.transcripts.load("alice", KEY) or []
    expected = sorted(f"{w}-{b}-{i}" for w in range(writers) for b in range(batches) for i in range(2))
    assert sorted(e["uuid"] for e in loaded) == expected
    for w in range(writers):
        assert [e["n"] for e in loaded if e["writer"] == w] == list(range(batches * 2))
