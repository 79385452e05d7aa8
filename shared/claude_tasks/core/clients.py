"""boto3 clients for the service's own AWS calls, made on first use."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from claude_tasks.core.config import Settings

if TYPE_CHECKING:
    from botocore.config import Config

# boto3's default session is not thread-safe while it makes clients, and the
# worker's record threads may make their first client at the same moment.
_client_lock = threading.Lock()


def make_client(service: str, settings: Settings, config: Config | None = None) -> Any:
    """A new client for `service` in the configured region (and local endpoint, if any), with `config` if given."""
    import boto3  # deferred: only the paths that call AWS directly pay for the import

    session: Any = boto3  # the module-level default session, typed per service by the stubs
    with _client_lock:
        return session.client(
            service, region_name=settings.region, endpoint_url=settings.aws_endpoint_url, config=config
        )
