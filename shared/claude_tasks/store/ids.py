"""Identifiers: random UUIDs, or ones derived from an idempotency key so a retry names the same item."""

from __future__ import annotations

import hashlib
import uuid

_NAMESPACE = uuid.UUID("6f1c2a52-5e0b-4d3c-9b8e-1f7d2c4a9e30")


def new_id() -> str:
    return str(uuid.uuid4())


def id_for(owner: str, kind: str, idempotency_key: str | None) -> str:
    """A fresh id, or — with an idempotency key — the same id every time for this owner, kind and key."""
    if idempotency_key is None:
        return new_id()
    return str(uuid.uuid5(_NAMESPACE, f"{kind}\x00{owner}\x00{idempotency_key}"))


def request_token(owner: str, kind: str, idempotency_key: str | None) -> str | None:
    """A deterministic `ClientRequestToken` (max 36 chars): botocore's own does not survive a Lambda retry."""
    if idempotency_key is None:
        return None
    return hashlib.sha256(f"{kind}\x00{owner}\x00{idempotency_key}".encode()).hexdigest()[:36]
