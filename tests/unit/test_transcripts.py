"""Claude Code's transcripts in DynamoDB (in-process moto): the SDK's contract, retries, size, owners, deletion."""

from __future__ import annotations

import asyncio
import hashlib
import subprocess
import sys
import uuid
from typing import Any

from claude_agent_sdk.testing import run_session_store_conformance

from claude_tasks.store import Store
from claude_tasks.store.models import TranscriptItem
from claude_tasks.store.transcript_layout import (
    INLINE_LIMIT,
    TRANSACTION_ACTIONS,
    TRANSACTION_BYTES,
    chunks,
    encode,
    partition,
)

CLAUDE_SESSION = "0b9f6c1e-6a47-4a1c-9a53-2f8d4c1e7a10"
MAIN: Any = {"project_key": "-work-project", "session_id": CLAUDE_SESSION}
SUBAGENT: Any = {**MAIN, "subpath": "subagents/agent-1"}


def entry(n: int, *, uuid_: str | None = None, text: str = "") -> dict[str, Any]:
    line: dict[str, Any] = {"type": "user", "n": n, "message": {"role": "user", "content": text or f"turn {n}"}}
    if uuid_ is not None:
        line["uuid"] = uuid_
    return line


def big_text(size: int) -> str:
    """`size` characters that do not repeat in any short period, so no layer could shrink them by accident."""
    blocks = (hashlib.sha256(str(i).encode()).hexdigest() for i in range(size // 64 + 1))
    return "".join(blocks)[:size]


def stored(owner: str, claude_session_id: str = CLAUDE_SESSION) -> list[TranscriptItem]:
    return list(TranscriptItem.query(partition(owner, claude_session_id), consistent_read=True))


def test_the_sdk_conformance_harness_passes(store: Store) -> None:
    # Given a fresh owner for each contract (the harness wants each store empty)
    def fresh() -> Any:
        return store.transcripts.for_owner(f"owner-{uuid.uuid4()}")

    # When the SDK's own harness runs, Then every contract holds (it raises on the first that fails)
    asyncio.run(run_session_store_conformance(fresh))


def test_a_retried_append_stores_each_entry_once(store: Store) -> None:
    # Given a batch that was appended, and a later batch whose first half did commit before a failure
    first = [entry(1, uuid_="u1"), entry(2, uuid_="u2"), entry(3)]
    store.transcripts.append("alice", MAIN, first)
    second = [entry(4, uuid_="u4"), entry(5, uuid_="u5")]
    store.transcripts.append("alice", MAIN, second[:1])

    # When both batches are sent again whole (the SDK retries a failed batch)
    store.transcripts.append("alice", MAIN, [entry(1, uuid_="u1"), entry(2, uuid_="u2")])
    store.transcripts.append("alice", MAIN, second)

    # Then each entry with a uuid is stored once, in the order first appended
    assert store.transcripts.load("alice", MAIN) == [*first, *second]
    assert sum(1 for item in stored("alice") if item.position.startswith("e#")) == 5


def test_a_uuid_repeated_inside_one_batch_is_stored_once(store: Store) -> None:
    # When one batch carries the same uuid twice, Then the first is kept
    store.transcripts.append("alice", MAIN, [entry(1, uuid_="same"), entry(2, uuid_="same"), entry(3)])

    assert store.transcripts.load("alice", MAIN) == [entry(1, uuid_="same"), entry(3)]


def test_an_entry_larger_than_a_dynamodb_item_round_trips(store: Store) -> None:
    # Given an entry of about 1 MB (a tool's output) between two small ones
    large = entry(2, uuid_="big", text=big_text(1_000_000))
    batch = [entry(1, uuid_="a"), large, entry(3, uuid_="c")]

    # When it is appended, twice (a retry), and loaded
    store.transcripts.append("alice", MAIN, batch)
    store.transcripts.append("alice", MAIN, batch)

    # Then it comes back equal, in its place, once; and no stored item reaches the 400 KB limit
    assert store.transcripts.load("alice", MAIN) == batch
    assert max(len(item.body or b"") for item in stored("alice")) <= INLINE_LIMIT
    assert sum(1 for item in stored("alice") if item.position.startswith("b#")) == 3


def test_a_batch_larger_than_one_transaction_keeps_its_order(store: Store) -> None:
    # Given more entries than one transaction can take, by count and by size
    many = [entry(n, uuid_=f"u{n}") for n in range(120)]
    heavy = [entry(1000 + n, uuid_=f"h{n}", text=big_text(300_000)) for n in range(14)]

    # When each is appended as one batch
    store.transcripts.append("alice", MAIN, many)
    store.transcripts.append("alice", MAIN, heavy)

    # Then every entry is there once, in order
    assert store.transcripts.load("alice", MAIN) == [*many, *heavy]


def test_batches_are_cut_below_the_transaction_limits() -> None:
    # Given a batch mixing entries with and without uuids, small and close to the item limit
    entries = [
        entry(n, uuid_=f"u{n}" if n % 3 else None, text=big_text(200_000 if n % 7 == 0 else 10)) for n in range(300)
    ]

    # When it is cut into transactions
    groups = list(chunks(encode(entries)))

    # Then each group fits beside the head's update, and together they are the batch in order
    for group in groups:
        assert 1 + sum(e.actions for e in group) <= TRANSACTION_ACTIONS
        assert sum(e.size for e in group) <= TRANSACTION_BYTES
    assert [e for group in groups for e in group] == encode(entries)


def test_two_owners_with_the_same_claude_session_id_never_see_each_others_entries(store: Store) -> None:
    # Given alice's and bob's transcripts under the same Claude session id and project
    store.transcripts.append("alice", MAIN, [entry(1, uuid_="shared-uuid")])
    store.transcripts.append("alice", SUBAGENT, [entry(2, uuid_="a-sub")])
    store.transcripts.append("bob", MAIN, [entry(9, uuid_="shared-uuid")])

    # Then each loads only their own (the same uuid is no duplicate across owners)
    assert store.transcripts.load("alice", MAIN) == [entry(1, uuid_="shared-uuid")]
    assert store.transcripts.load("bob", MAIN) == [entry(9, uuid_="shared-uuid")]
    assert store.transcripts.list_subkeys("bob", MAIN) == []
    assert store.transcripts.load("bob", SUBAGENT) is None

    # When bob's transcript is deleted, Then alice's is untouched
    store.transcripts.delete("bob", CLAUDE_SESSION)
    assert store.transcripts.load("alice", MAIN) == [entry(1, uuid_="shared-uuid")]
    assert store.transcripts.list_subkeys("alice", MAIN) == ["subagents/agent-1"]


def test_an_owner_with_separators_in_the_name_cannot_reach_another_partition(store: Store) -> None:
    # Given owners and session ids whose joined text would collide without escaping
    store.transcripts.append("a#b", {"project_key": "p", "session_id": "c"}, [entry(1)])
    store.transcripts.append("a", {"project_key": "p", "session_id": "b#c"}, [entry(2)])

    # Then each reads its own
    assert store.transcripts.load("a#b", {"project_key": "p", "session_id": "c"}) == [entry(1)]
    assert store.transcripts.load("a", {"project_key": "p", "session_id": "b#c"}) == [entry(2)]


def test_deleting_a_transcript_removes_every_item(store: Store) -> None:
    # Given a transcript with a subagent, a large entry, another project's copy, and another session
    store.transcripts.append("alice", MAIN, [entry(1, uuid_="a"), entry(2, uuid_="b", text=big_text(500_000))])
    store.transcripts.append("alice", SUBAGENT, [entry(3, uuid_="c")])
    store.transcripts.append("alice", {**MAIN, "project_key": "-elsewhere"}, [entry(4)])
    other = {**MAIN, "session_id": "another-claude-session"}
    store.transcripts.append("alice", other, [entry(5)])

    # When the task's deletion deletes its Claude session's transcript
    store.transcripts.delete("alice", CLAUDE_SESSION)

    # Then nothing of it is left (entries, parts, claims, heads), and the other session is kept
    assert stored("alice") == []
    assert store.transcripts.load("alice", MAIN) is None
    assert store.transcripts.load("alice", other) == [entry(5)]
    # And a new transcript under the same id starts afresh, its uuids not taken
    store.transcripts.append("alice", MAIN, [entry(1, uuid_="a")])
    assert store.transcripts.load("alice", MAIN) == [entry(1, uuid_="a")]


def test_deleting_twice_is_harmless(store: Store) -> None:
    store.transcripts.append("alice", MAIN, [entry(1)])
    store.transcripts.delete("alice", CLAUDE_SESSION)
    store.transcripts.delete("alice", CLAUDE_SESSION)
    assert store.transcripts.load("alice", MAIN) is None


def test_the_store_does_not_import_the_sdk() -> None:
    # When a handler's imports load the store, Then claude-agent-sdk (and its CLI) stay out of the cold start
    code = "import sys, claude_tasks.store; sys.exit('claude_agent_sdk' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0  # noqa: S603
