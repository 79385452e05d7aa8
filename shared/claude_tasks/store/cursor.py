"""Opaque pagination cursors: DynamoDB's `LastEvaluatedKey`, bound to the caller and the query.

Hand-written because no library encodes a DynamoDB key as a cursor. The
cursor carries an HMAC-SHA256 of (scope, key) under the configured
`cursor_secret`: a cursor from another caller or another query, or one that was
edited (even with a digest recomputed: only the service holds the key), fails to
decode and the caller gets a 400 — never another tenant's page and never a 500.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from typing import Any

from claude_tasks.core.config import get_settings
from claude_tasks.core.errors import InvalidCursor

RawKey = dict[str, dict[str, str]]
_INTEGER = re.compile(r"-?[0-9]{1,38}")  # DynamoDB numbers hold at most 38 significant digits
_MAX_KEY_BYTES = 2048  # DynamoDB's limit on a partition key value (a sort key's is 1024)


def _signature(scope: str, key: object) -> str:
    """HMAC-SHA256 of the scope and the key's canonical JSON, under the configured secret (128 bits kept)."""
    message = scope.encode() + b"\x00" + json.dumps(key, separators=(",", ":"), sort_keys=True).encode()
    secret = get_settings().cursor_secret.encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()[:32]


def encode(last_key: RawKey | None, scope: str) -> str | None:
    """The signed cursor for the page after `last_key` in `scope`, or None when there is no next page."""
    if not last_key:
        return None
    payload = json.dumps({"s": _signature(scope, last_key), "k": last_key}, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def decode(
    cursor: str | None,
    scope: str,
    key_names: frozenset[str],
    pinned: dict[str, str],
    numeric: frozenset[str] = frozenset(),
) -> RawKey | None:
    """The `ExclusiveStartKey` inside `cursor`, checked against `scope`.

    `key_names` are the attributes the key must have, no more; those in `numeric`
    must be DynamoDB numbers (integers here), every other one a non-empty string;
    `pinned` are attributes whose values must equal the query's (e.g. the owner).
    Raises `InvalidCursor` for anything else, so DynamoDB never sees a key it would refuse.
    """
    if cursor is None:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        payload: Any = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, binascii.Error, UnicodeError, RecursionError) as error:
        raise InvalidCursor() from error
    if not isinstance(payload, dict) or not isinstance(payload.get("s"), str):
        raise InvalidCursor()
    key: Any = payload.get("k")
    try:
        signed = hmac.compare_digest(payload["s"], _signature(scope, key))
    except (TypeError, ValueError, UnicodeError, RecursionError):  # a key JSON cannot canonicalise
        signed = False
    if not signed:
        raise InvalidCursor()
    if not isinstance(key, dict) or set(key) != key_names:
        raise InvalidCursor()
    if not all(_is_value(key[name], "N" if name in numeric else "S") for name in key_names):
        raise InvalidCursor()
    if any(key[name] != {"S": value} for name, value in pinned.items()):
        raise InvalidCursor()
    result: RawKey = key
    return result


def _is_value(value: Any, kind: str) -> bool:
    """`value` is `{kind: text}` as DynamoDB takes it for a key attribute of that type."""
    if not isinstance(value, dict) or set(value) != {kind} or not isinstance(value[kind], str):
        return False
    text: str = value[kind]
    if kind == "N":
        return _INTEGER.fullmatch(text) is not None
    try:
        return 0 < len(text.encode()) <= _MAX_KEY_BYTES  # a lone surrogate does not encode
    except UnicodeEncodeError:
        return False
