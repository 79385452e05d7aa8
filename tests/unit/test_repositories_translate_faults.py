"""Every repository's public method turns a timeout or throttling into `TransientStoreError` (503), none forgets."""

from __future__ import annotations

import inspect

from claude_tasks.store import Store


def test_every_public_repository_method_translates_store_faults(store: Store) -> None:
    # Given every repository the store holds (each is made on first use: `getattr` makes them all)
    attributes = {name: getattr(store, name) for name in dir(store) if not name.startswith("_")}
    repositories = {
        name: repo for name, repo in attributes.items() if type(repo).__module__.startswith("claude_tasks.store.")
    }
    assert {
        "sessions",
        "tasks",
        "interactions",
        "claims",
        "transitions",
        "forks",
        "runs",
        "content",
        "transcripts",
    } <= set(repositories)
    # Then each public method is wrapped by `translate_faults` (functools.wraps leaves `__wrapped__`)
    bare = [
        f"{name}.{method}"
        for name, repo in repositories.items()
        for method, member in inspect.getmembers(type(repo), inspect.isfunction)
        if not method.startswith("_") and not hasattr(member, "__wrapped__")
    ]
    assert bare == []
