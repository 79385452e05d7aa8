"""Where a Claude Code transcript's items sit in the Transcripts table, and how its entries become items.

One partition per owner and Claude session id (`<owner>#<claude_session_id>`). Inside it, one
*stream* per key the SDK names (its `project_key`, and a `subpath` for a subagent's transcript;
none for the main one), and each item's `position` says what the item is:

    h#<project>#<subpath>                  the stream's head: the next sequence number
    e#<project>#<subpath>#<seq>            an entry, in append order (seq zero-padded, so it sorts)
    u#<project>#<subpath>#<uuid>           the claim of an entry's uuid: a retried append skips it
    b#<project>#<subpath>#<sha256>#<part>  a part of an entry too large for one item

Each component is percent-escaped, so none holds a `#` and a position names one stream only.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, cast
from urllib.parse import quote, unquote

if TYPE_CHECKING:
    from claude_agent_sdk.types import SessionKey, SessionListSubkeysKey, SessionStoreEntry

# An entry's JSON up to this size stays in its own item, well under DynamoDB's 400 KB item limit
# (the keys count too); a larger one is split into parts of this size.
INLINE_LIMIT = 350_000
# TransactWriteItems takes at most 100 actions and 4 MB in all; one action is the stream's head.
TRANSACTION_ACTIONS = 100
TRANSACTION_BYTES = 3_500_000
_SAFE = "/:@=+,.~ "  # besides letters, digits and `_.-~`: kept readable; `#` and `%` are always escaped

Kind = Literal["h", "e", "u", "b"]


def _escape(value: str) -> str:
    return quote(value, safe=_SAFE)


@dataclass(frozen=True)
class Stream:
    """One transcript (main or a subagent's) of one owner's Claude session."""

    owner: str
    claude_session_id: str
    project_key: str
    subpath: str = ""

    @classmethod
    def of(cls, owner: str, key: SessionKey | SessionListSubkeysKey) -> Stream:
        # The SDK never sends an empty subpath: empty means the main transcript.
        return cls(owner, key["session_id"], key["project_key"], str(key.get("subpath") or ""))

    @property
    def partition(self) -> str:
        return partition(self.owner, self.claude_session_id)

    def _at(self, kind: Kind, *rest: str) -> str:
        return "#".join((kind, _escape(self.project_key), _escape(self.subpath), *rest))

    @property
    def head(self) -> str:
        return self._at("h")

    @property
    def entries(self) -> str:
        """The prefix of every entry's position."""
        return self._at("e", "")

    def entry(self, seq: int) -> str:
        return self._at("e", f"{seq:012d}")

    def claim(self, uuid: str) -> str:
        return self._at("u", _escape(uuid))

    def blob(self, sha: str) -> str:
        """The prefix of every part of the blob `sha`."""
        return self._at("b", sha, "")

    def blob_part(self, sha: str, part: int) -> str:
        return self._at("b", sha, f"{part:04d}")

    @property
    def heads(self) -> str:
        """The prefix of the heads of every stream in this stream's project (main and subagents)."""
        return f"h#{_escape(self.project_key)}#"


def partition(owner: str, claude_session_id: str) -> str:
    """The partition holding every stream of `owner`'s Claude session `claude_session_id`."""
    return f"{_escape(owner)}#{_escape(claude_session_id)}"


def stream_of(position: str) -> tuple[str, str, str]:
    """The (kind, project_key, subpath) a position belongs to."""
    kind, project, subpath = position.split("#")[:3]
    return kind, unquote(project), unquote(subpath)


@dataclass(frozen=True)
class Encoded:
    """One entry as stored: its uuid (None for entries without one, which are never deduplicated) and JSON."""

    uuid: str | None
    body: bytes

    @property
    def inline(self) -> bool:
        return len(self.body) <= INLINE_LIMIT

    @property
    def sha(self) -> str:
        return hashlib.sha256(self.body).hexdigest()

    def parts(self) -> list[bytes]:
        return [self.body[start : start + INLINE_LIMIT] for start in range(0, len(self.body), INLINE_LIMIT)]

    @property
    def actions(self) -> int:
        return 1 if self.uuid is None else 2  # the entry's put, and its uuid's claim

    @property
    def size(self) -> int:
        return len(self.body) if self.inline else 0  # a large entry's parts are written outside the transaction


def encode(entries: Sequence[SessionStoreEntry]) -> list[Encoded]:
    """The entries as items' bodies, in order; a uuid seen earlier in the same batch is dropped."""
    seen: set[str] = set()
    encoded = []
    for entry in entries:
        uuid = entry.get("uuid")
        uuid = uuid if isinstance(uuid, str) and uuid else None
        if uuid is not None:
            if uuid in seen:
                continue
            seen.add(uuid)
        body = json.dumps(entry, ensure_ascii=False, separators=(",", ":")).encode()
        encoded.append(Encoded(uuid, body))
    return encoded


def decode(body: bytes) -> SessionStoreEntry:
    return cast("SessionStoreEntry", json.loads(body))


def chunks(encoded: Sequence[Encoded]) -> Iterator[list[Encoded]]:
    """`encoded` in order, cut into groups that each fit one transaction beside the head's update."""
    chunk: list[Encoded] = []
    actions, size = 1, 0
    for entry in encoded:
        if chunk and (actions + entry.actions > TRANSACTION_ACTIONS or size + entry.size > TRANSACTION_BYTES):
            yield chunk
            chunk, actions, size = [], 1, 0
        chunk.append(entry)
        actions += entry.actions
        size += entry.size
    if chunk:
        yield chunk
