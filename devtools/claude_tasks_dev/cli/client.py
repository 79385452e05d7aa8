"""A small client for the HTTP API (stdlib `urllib`): JSON in and out, errors as exceptions with exit codes."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

# The exit codes scripts can rely on (docs/local-stack.md lists them).
EXIT_OK, EXIT_API, EXIT_USAGE, EXIT_UNREACHABLE, EXIT_OUTCOME, EXIT_TIMEOUT = 0, 1, 2, 3, 4, 5
EXIT_INTERRUPTED = 130  # Ctrl-C, as a shell reports SIGINT


class CliError(Exception):
    """Ends the command with `exit_code`; the message is printed to stderr."""

    exit_code = EXIT_API


class UsageError(CliError):
    exit_code = EXIT_USAGE


class Unreachable(CliError):
    exit_code = EXIT_UNREACHABLE


class ApiError(CliError):
    """The API answered with an error status; `problem` is its JSON body (RFC 9457 or API Gateway's)."""

    def __init__(self, status: int, problem: dict[str, Any]) -> None:
        detail = problem.get("detail") or problem.get("message") or problem.get("title") or "no details"
        super().__init__(f"HTTP {status}: {detail}")
        self.status = status
        self.problem = problem
        self.detail = str(detail)

    def saying(self, detail: str) -> ApiError:
        """The same error with another `detail`: what to do in the CLI's words rather than HTTP's."""
        return ApiError(self.status, {**self.problem, "detail": detail})


@dataclass
class Response:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None


class ApiClient:
    """Calls `api_url` as principal `token` (sent as `Authorization: Bearer <token>`)."""

    def __init__(
        self,
        api_url: str,
        token: str | None,
        timeout_s: float = 30.0,
        unreachable: Callable[[object], str] | None = None,
    ) -> None:
        """`unreachable` words the error when nothing answers, given why (an OSError or a message)."""
        self.api_url = api_url.rstrip("/")
        self.token = token
        self.timeout_s = timeout_s
        self._unreachable = unreachable or (lambda reason: f"cannot reach {self.api_url}: {reason}")

    def send(
        self,
        method: str,
        path: str,
        body: Any = None,
        query: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        """One request, whatever its status. Raises Unreachable when there is no answer at all."""
        url = self.api_url + path
        params = {k: v for k, v in (query or {}).items() if v is not None}
        if params:
            url += "?" + urlencode(params)
        # Only http(s) URLs get here: `api_url` is checked where it is chosen (target.py).
        request = urllib.request.Request(  # noqa: S310
            url, method=method, headers={"accept": "application/json", **(headers or {})}
        )
        if self.token:
            request.add_header("authorization", f"Bearer {self.token}")
        data = None if body is None else json.dumps(body).encode()
        if data is not None:
            request.add_header("content-type", "application/json")
        try:
            with urllib.request.urlopen(request, data, timeout=self.timeout_s) as reply:  # noqa: S310
                return _response(reply.status, dict(reply.headers), reply.read())
        except urllib.error.HTTPError as err:
            return _response(err.code, dict(err.headers), err.read())
        except (urllib.error.URLError, TimeoutError, ConnectionError) as err:
            reason = getattr(err, "reason", err)
            raise Unreachable(self._unreachable(reason)) from err

    def call(self, method: str, path: str, body: Any = None, **options: Any) -> Any:
        """The JSON body of a successful answer; raises ApiError for any status >= 400."""
        response = self.send(method, path, body, **options)
        if response.status >= 400:
            problem = response.body if isinstance(response.body, dict) else {"detail": str(response.body)}
            raise ApiError(response.status, problem)
        return response.body


def segment(value: str) -> str:
    """An id as one path segment: nothing a caller types can change the route."""
    return quote(value, safe="")


def _response(status: int, headers: dict[str, str], raw: bytes) -> Response:
    text = raw.decode("utf-8", errors="replace")
    try:
        body: Any = json.loads(text) if text else None
    except ValueError:
        body = text
    return Response(status, {k.lower(): v for k, v in headers.items()}, body)
