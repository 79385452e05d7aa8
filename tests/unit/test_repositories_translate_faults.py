"""Every repository's public method turns a timeout or throttling into `TransientStoreError` (503), none forgets."""

from __future__ import annotations

import inspect

from claude_tasks.store import Store


def test_every_public_repository_method_translates_store_faults(store: Store) -> None:
    # Given every repository the store holds
    repositories = {
        name: repo for name, repo in vars(store).items() if type(repo).__module__.startswith("claude_tasks.store.")
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
