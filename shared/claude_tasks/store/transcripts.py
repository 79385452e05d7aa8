"""Claude Code's session transcripts in DynamoDB, so any worker can resume a conversation another one ran.

`TranscriptRepository` keeps the items (laid out as store/transcript_layout.py says);
`TranscriptStore` is the claude-agent-sdk's `SessionStore` for one owner, the object a
run passes as `ClaudeAgentOptions(session_store=...)`. The SDK is not imported here: the
store is duck-typed, as the SDK expects, so a handler's cold start never pays for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from claude_tasks.core.clock import now_iso
from claude_tasks.core.errors import ConcurrentUpdate
from claude_tasks.store.faults import translate_faults
from claude_tasks.store.models import TranscriptItem
from claude_tasks.store.transaction import Cancelled, Transaction
from claude_tasks.store.transcript_layout import Encoded, Stream, chunks, decode, encode, partition, stream_of

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from claude_agent_sdk.types import SessionKey, SessionListSubkeysKey, SessionStoreEntry

    from claude_tasks.store import Store

# Rounds of read-the-head, write-the-batch: a round fails only when another writer committed in
# between. One task's run appends alone (its lease), and the SDK sends one process's batches in order.
_ATTEMPTS = 8
T = TypeVar("T")
# Deleted in this order, so an interrupted delete leaves no head or claim above missing entries
# (a repeated delete finishes it).
_DELETE_ORDER = ("e", "b", "u", "h")


@translate_faults
class TranscriptRepository:
    def __init__(self, store: Store) -> None:
        self._store = store

    def for_owner(self, owner: str) -> TranscriptStore:
        """The SDK's `SessionStore` over `owner`'s transcripts only."""
        return TranscriptStore(self, owner)

    def append(self, owner: str, key: SessionKey, entries: list[SessionStoreEntry]) -> None:
        """Append `entries` to the stream `key` of `owner`, after every entry appended before.

        An entry whose `uuid` the stream already holds is skipped, so a retried batch is stored
        once; entries without a uuid are always appended. Each group of entries is one
        transaction (its head's sequence number, conditioned on the value read, with the
        entries and their uuids' claims), so a batch is never half of a group.
        Raises `ConcurrentUpdate` when other writers kept moving the head.
        """
        stream = Stream.of(owner, key)
        for chunk in chunks(encode(entries)):
            self._commit(stream, chunk)

    def load(self, owner: str, key: SessionKey) -> list[SessionStoreEntry] | None:
        """The stream's entries in append order (strongly consistent); None if it has none."""
        stream = Stream.of(owner, key)
        items = TranscriptItem.query(
            stream.partition, TranscriptItem.position.startswith(stream.entries), consistent_read=True
        )
        entries = [decode(self._body(stream, item)) for item in items]
        return entries or None

    def list_subkeys(self, owner: str, key: SessionListSubkeysKey) -> list[str]:
        """The subpaths (subagents' transcripts) of the session `key`, not the main transcript."""
        stream = Stream.of(owner, key)
        heads = TranscriptItem.query(
            stream.partition,
            TranscriptItem.position.startswith(stream.heads),
            consistent_read=True,
            attributes_to_get=["position"],
        )
        return [subpath for _, _, subpath in (stream_of(head.position) for head in heads) if subpath]

    def delete_key(self, owner: str, key: SessionKey) -> None:
        """Delete the stream `key`; for a main transcript (no subpath), its subagents' streams too."""
        stream = Stream.of(owner, key)

        def selected(position: str) -> bool:
            _, project_key, subpath = stream_of(position)
            return project_key == stream.project_key and (not stream.subpath or subpath == stream.subpath)

        self._delete(stream.partition, selected)

    def delete(self, owner: str, claude_session_id: str) -> None:
        """Delete every item of `owner`'s Claude session `claude_session_id` (all projects, all subagents).

        Idempotent: deleting a transcript that is gone does nothing.
        """
        self._delete(partition(owner, claude_session_id), lambda _: True)

    def _commit(self, stream: Stream, chunk: list[Encoded]) -> None:
        for _ in range(_ATTEMPTS):
            # Reads only to build the request: the head's condition and the claims' decide.
            taken = self._claimed(stream, chunk)
            chunk = [entry for entry in chunk if entry.uuid not in taken]
            if not chunk:
                return
            self._put_parts(stream, [entry for entry in chunk if not entry.inline])
            tx = self._store.transaction()
            self._stage(tx, stream, chunk, self._next_seq(stream))
            try:
                tx.commit()
                return
            except Cancelled:
                continue  # another writer moved the head or claimed a uuid: read both again
        raise ConcurrentUpdate(f"transcript {stream.claude_session_id}: other appends kept moving its end")

    def _stage(self, tx: Transaction, stream: Stream, chunk: list[Encoded], next_seq: int) -> None:
        head = TranscriptItem(stream.partition, stream.head)
        unchanged = TranscriptItem.next_seq.does_not_exist() if next_seq == 0 else TranscriptItem.next_seq == next_seq
        tx.update(
            "head",
            head,
            [TranscriptItem.next_seq.set(next_seq + len(chunk)), TranscriptItem.updated_at.set(now_iso())],
            unchanged,
        )
        new = TranscriptItem.position.does_not_exist()
        for offset, entry in enumerate(chunk):
            if entry.uuid is not None:
                tx.put(f"claim {entry.uuid}", TranscriptItem(stream.partition, stream.claim(entry.uuid)), new)
            item = TranscriptItem(stream.partition, stream.entry(next_seq + offset))
            if entry.inline:
                item.body = entry.body
            else:
                item.blob, item.parts = entry.sha, len(entry.parts())
            tx.put(f"entry {offset}", item, new)

    def _next_seq(self, stream: Stream) -> int:
        try:
            head = TranscriptItem.get(stream.partition, stream.head, consistent_read=True)
        except TranscriptItem.DoesNotExist:
            return 0
        return int(head.next_seq or 0)

    def _claimed(self, stream: Stream, chunk: list[Encoded]) -> set[str]:
        by_position = {stream.claim(entry.uuid): entry.uuid for entry in chunk if entry.uuid is not None}
        if not by_position:
            return set()
        keys = [(stream.partition, position) for position in by_position]
        return {by_position[item.position] for item in TranscriptItem.batch_get(keys, consistent_read=True)}

    def _put_parts(self, stream: Stream, large: list[Encoded]) -> None:
        # Content-addressed, so writing a part again (a retry) writes the same bytes.
        with TranscriptItem.batch_write() as batch:
            for entry in large:
                for number, part in enumerate(entry.parts()):
                    batch.save(TranscriptItem(stream.partition, stream.blob_part(entry.sha, number), body=part))

    def _body(self, stream: Stream, item: TranscriptItem) -> bytes:
        if item.blob is None:
            return bytes(item.body or b"")
        parts = TranscriptItem.query(
            stream.partition, TranscriptItem.position.startswith(stream.blob(item.blob)), consistent_read=True
        )
        bodies = [bytes(part.body or b"") for part in parts]
        if len(bodies) != item.parts:
            raise RuntimeError(f"transcript entry {item.position}: {len(bodies)} of {item.parts} parts are stored")
        return b"".join(bodies)

    def _delete(self, transcript: str, selected: Callable[[str], bool]) -> None:
        keys = TranscriptItem.query(transcript, consistent_read=True, attributes_to_get=["transcript", "position"])
        doomed = [item for item in keys if selected(item.position)]
        for kind in _DELETE_ORDER:
            _delete_all(item for item in doomed if item.position.startswith(f"{kind}#"))


def _delete_all(items: Iterable[TranscriptItem]) -> None:
    with TranscriptItem.batch_write() as batch:
        for item in items:
            batch.delete(item)


class TranscriptStore:
    """The claude-agent-sdk `SessionStore` for one owner's transcripts: `append`, `load`, `delete` and
    `list_subkeys` (resume materialises subagents' transcripts too).

    `list_sessions` and `list_session_summaries` are left out, so the SDK treats them as absent:
    a run resumes its task's own Claude session by id, never "the latest one". Each call runs the
    repository's blocking DynamoDB calls on a thread, so the SDK's event loop keeps reading the CLI.
    """

    def __init__(self, repository: TranscriptRepository, owner: str) -> None:
        self._repository = repository
        self.owner = owner

    async def append(self, key: SessionKey, entries: list[SessionStoreEntry]) -> None:
        await _on_thread(self._repository.append, self.owner, key, entries)

    async def load(self, key: SessionKey) -> list[SessionStoreEntry] | None:
        return await _on_thread(self._repository.load, self.owner, key)

    async def delete(self, key: SessionKey) -> None:
        await _on_thread(self._repository.delete_key, self.owner, key)

    async def list_subkeys(self, key: SessionListSubkeysKey) -> list[str]:
        return await _on_thread(self._repository.list_subkeys, self.owner, key)


async def _on_thread(call: Callable[..., T], *args: Any) -> T:
    # Imported here: only a Claude Code run, inside the SDK's event loop (asyncio loaded), gets this
    # far; a handler that never runs one does not pay asyncio's import at its cold start.
    import asyncio

    return await asyncio.to_thread(call, *args)
