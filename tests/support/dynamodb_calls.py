"""The DynamoDB operations the store sends, by name, in order: for tests that count round trips or act between them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from claude_tasks.store import Store
from claude_tasks.store.models import ALL_MODELS


def record_operations(store: Store, hook: Callable[[str, dict[str, Any]], None] | None = None) -> list[str]:
    """The DynamoDB operations every client of the store sends from now on, by name; `hook(name, params)` is
    called just before each is built, so a test can make another write happen first."""
    sent: list[str] = []

    def record(model: Any, params: dict[str, Any], **_: Any) -> None:
        sent.append(model.name)
        if hook is not None:
            hook(model.name, params)

    clients = {
        id(c): c for c in [store.connection.client, *(m._get_connection().connection.client for m in ALL_MODELS)]
    }
    for client in clients.values():
        client.meta.events.register("before-parameter-build.dynamodb", record)
    return sent
