"""Opaque pagination cursors: DynamoDB's `LastEvaluatedKey`, bound to the caller and the query.

Hand-written because no library encodes a DynamoDB key as a cursor. The
cursor carries a digest of (owner, query); a cursor from another caller or
another query, or one that was edited, fails to decode and the caller gets a
400 — never another tenant's page and never a 500.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from typing import Any

from claude_tasks.errors import InvalidCursor

RawKey = dict[str, dict[str, str]]


def _scope_digest(scope: str) -> str:
    return hashlib.sha256(scope.encode()).hexdigest()[:24]


def encode(last_key: RawKey | None, scope: str) -> str | None:
    """The cursor for the page after `last_key` in `scope`, or None when there is no next page."""
    if not last_key:
        return None
    payload = json.dumps({"s": _scope_digest(scope), "k": last_key}, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def decode(cursor: str | None, scope: str, key_names: frozenset[str], pinned: dict[str, str]) -> RawKey | None:
    """The `ExclusiveStartKey` inside `cursor`, checked against `scope`.

    `key_names` are the attributes the key must have, no more; `pinned` are
    attributes whose values must equal the query's (e.g. the owner).
    Raises `InvalidCursor` for anything else.
    """
    if cursor is None:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        payload: Any = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, binascii.Error, UnicodeError) as error:
        raise InvalidCursor() from error
    if not isinstance(payload, dict) or payload.get("s") != _scope_digest(scope):
        raise InvalidCursor()
    key: Any = payload.get("k")
    if not _is_key(key) or set(key) != key_names:
        raise InvalidCursor()
    if any(key[name] != {"S": value} for name, value in pinned.items()):
        raise InvalidCursor()
    result: RawKey = key
    return result


def _is_key(key: Any) -> bool:
    return isinstance(key, dict) and all(
        isinstance(value, dict)
        and len(value) == 1
        and next(iter(value)) in ("S", "N")
        and isinstance(next(iter(value.values())), str)
        for value in key.values()
    )
