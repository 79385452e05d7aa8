"""An embedded AWS endpoint: moto's server app on 127.0.0.1, serving one request at a time.

moto is not thread-safe under concurrent transactions (HTTP 500s and drifting
counters were seen with its threaded server); a single-threaded werkzeug server
makes each request atomic, as DynamoDB makes each transaction, while clients'
threads still interleave freely between requests.
"""

from __future__ import annotations

import logging
import threading
import urllib.request
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any

from werkzeug.serving import BaseWSGIServer, make_server

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication

# One log line per request drowns everything else out; errors still show.
logging.getLogger("werkzeug").setLevel(logging.WARNING)


class EmbeddedAws:
    """moto server in a background thread. Use as a context manager, or `start()` / `stop()`."""

    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, middleware: Callable[[WSGIApplication], Any] | None = None
    ) -> None:
        """`middleware`, if given, wraps moto's WSGI app (the benchmarks count round trips with it)."""
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

        app: Any = DomainDispatcherApplication(create_backend_app)
        if middleware is not None:
            app = middleware(app)
        self._server: BaseWSGIServer = make_server(host, port, app, threaded=False)
        self._thread = threading.Thread(target=self._server.serve_forever, name="moto", daemon=True)

    @property
    def endpoint_url(self) -> str:
        return f"http://{self._server.host}:{self._server.server_port}"

    def start(self) -> EmbeddedAws:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def reset(self) -> None:
        """Forget every resource and item (moto's reset API)."""
        # Our own loopback endpoint, http only: S310's concern (file:, custom schemes) cannot arise.
        request = urllib.request.Request(f"{self.endpoint_url}/moto-api/reset", method="POST")  # noqa: S310
        with urllib.request.urlopen(request, timeout=10):  # noqa: S310
            pass

    def __enter__(self) -> EmbeddedAws:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()
