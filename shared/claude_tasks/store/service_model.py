"""One botocore loader for every PynamoDB connection: DynamoDB's service model is read from disk once.

PynamoDB gives each connection (one per model, plus the transactions') a botocore session of its own,
and each new session reads and parses DynamoDB's service model JSON again when it makes its client:
about 75 ms a connection, paid on a function's first request for each table it touches, against about
10 ms with the model already loaded. botocore lets a session take a shared `data_loader` component,
which caches what it has loaded; PynamoDB has no setting for its session, so its module's
`get_session` is wrapped to register that loader. A `Loader` is what a botocore session already shares
between its clients and threads; it only reads its files.
"""

from __future__ import annotations

import functools
from typing import Any

import pynamodb.connection.base as pynamodb_connection
from botocore.loaders import Loader, create_loader


@functools.cache
def _loader(data_path: str | None) -> Loader:
    """The shared loader for botocore's search path `data_path` (None: its default, as a new session has it)."""
    return create_loader(data_path)


def share_one_loader() -> None:
    """Make every botocore session PynamoDB creates from now on use the shared loader; idempotent."""
    module: Any = pynamodb_connection  # `get_session` is imported there, not exported
    original = module.get_session
    if getattr(original, "shares_loader", False):
        return

    def get_session(env_vars: Any = None) -> Any:
        session = original(env_vars)
        session.register_component("data_loader", _loader(session.get_config_variable("data_path")))
        return session

    get_session.shares_loader = True  # type: ignore[attr-defined]
    module.get_session = get_session
