"""The local HTTP front: API Gateway's routing, JWT authorizer and Lambda proxy, in front of the api handler.

Connections are served on threads; the handler itself runs one invocation at a
time (one warm container), exactly as `LambdaFunction` guarantees.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from http import HTTPStatus
from typing import Any

from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Request, Response

from claude_tasks_dev.local.apigw import HttpRequest, build_event, new_request_id, principal_from
from claude_tasks_dev.local.apigw_reply import HttpResponse, gateway_error, read_reply
from claude_tasks_dev.local.console import ConsoleFiles
from claude_tasks_dev.local.handlers import LambdaFunction
from claude_tasks_dev.local.routes import Route, match_route

logger = logging.getLogger("claude_tasks_dev.local")
# API Gateway's payload quota for HTTP APIs.
MAX_BODY_BYTES = 10 * 1024 * 1024


class Gateway:
    """Serves `routes` on `host:port` by invoking `function`, and `console`'s files on the paths no route
    matches; `start()` / `stop()` run it on a thread."""

    def __init__(
        self,
        routes: list[Route],
        function: LambdaFunction,
        host: str = "127.0.0.1",
        port: int = 0,
        console: ConsoleFiles | None = None,
    ) -> None:
        self.routes = routes
        self.function = function
        self.console = console
        self._server: BaseWSGIServer = make_server(host, port, self._wsgi, threaded=True)
        # A short poll: `stop()` waits up to one poll interval for the serving loop to notice.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, name="gateway", daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://{self._server.host}:{self._server.server_port}"

    def start(self) -> Gateway:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop accepting requests, then let the invocation in flight finish."""
        self._server.shutdown()
        self._server.server_close()
        self.function.drain()

    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        started = time.monotonic()
        if (request.content_length or 0) > MAX_BODY_BYTES:
            reply = gateway_error(413, "Request Entity Too Large", new_request_id())  # before reading it all
        else:
            reply = self.handle(_http_request(request))
        logger.info(
            "api  %s %s -> %d (%d ms)",
            request.method,
            request.full_path.rstrip("?"),
            reply.status,
            (time.monotonic() - started) * 1000,
        )
        response = Response(reply.body, status=f"{reply.status} {_phrase(reply.status)}")
        response.headers.clear()
        for name, value in reply.headers:
            response.headers.add(name, value)
        return response(environ, start_response)

    def handle(self, request: HttpRequest) -> HttpResponse:
        """Route, authorize and invoke, answering as API Gateway does where it answers itself."""
        request_id = new_request_id()
        match = match_route(self.routes, request.method, request.path)
        if match is None:
            static = self.console.reply(request.method, request.path) if self.console else None
            return static or gateway_error(404, "Not Found", request_id)
        principal = None
        if match.route.authorized:
            principal = principal_from(_header(request, "authorization"))
            if principal is None:
                challenge = 'Bearer scope="" error="invalid_token" error_description="expected Bearer <name>"'
                return gateway_error(401, "Unauthorized", request_id, www_authenticate=challenge)
        if len(request.body) > MAX_BODY_BYTES:
            return gateway_error(413, "Request Entity Too Large", request_id)
        try:
            return read_reply(self.function.invoke(build_event(request, match, principal, request_id)), request_id)
        except Exception:
            logger.exception("api  %s failed: API Gateway answers 500", match.route.route_key)
            return gateway_error(500, "Internal Server Error", request_id)


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def _header(request: HttpRequest, name: str) -> str | None:
    return next((value for key, value in request.headers if key.lower() == name), None)


def _http_request(request: Request) -> HttpRequest:
    raw_uri = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI") or request.path
    return HttpRequest(
        method=request.method,
        path=request.path,
        raw_path=raw_uri.split("?", 1)[0],
        raw_query=request.query_string.decode("latin-1"),
        headers=list(request.headers.items()),
        body=request.get_data(),
        source_ip=request.remote_addr or "127.0.0.1",
        host=request.host,
    )
