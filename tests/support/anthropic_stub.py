"""A local, scriptable Anthropic Messages API (`POST /v1/messages`) for tests that use the real SDK.

    with AnthropicStub() as stub:
        stub.script(HttpError(429, "rate_limit_error"), Reply(text="hi"))
        ...  # point the SDK at stub.url; stub.requests holds every body received

Each request takes the next scripted response; when the script is empty it gets
`stub.otherwise` (a default `Reply()`). Streams (`"stream": true`) are served as Server-Sent Events.
A `Held(reply)` is sent only once the test calls `stub.release()`; `stub.answered`
lists the requests (indexes into `stub.requests`) whose response was sent in full.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class ToolUse:
    """A `tool_use` block of a scripted reply: Claude Code runs the tool and sends its result next."""

    name: str
    input: dict[str, Any]
    id: str = ""


@dataclass(frozen=True)
class Reply:
    """A successful message; `delay_s` waits before answering. With `tool_uses`, the text (if any)
    comes first, then one block per tool use, and the stop reason is `tool_use`."""

    text: str = "Hello from the stub."
    tool_uses: tuple[ToolUse, ...] = ()
    input_tokens: int = 12
    output_tokens: int = 5
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0
    stop_reason: str = "end_turn"
    delay_s: float = 0.0

    def blocks(self, msg_id: str) -> list[dict[str, Any]]:
        """The message's content blocks; tool use ids are made unique per message when not scripted."""
        blocks: list[dict[str, Any]] = [{"type": "text", "text": self.text}] if self.text else []
        for n, use in enumerate(self.tool_uses):
            blocks.append(
                {"type": "tool_use", "id": use.id or f"toolu_{msg_id}_{n}", "name": use.name, "input": use.input}
            )
        return blocks

    @property
    def stop(self) -> str:
        return "tool_use" if self.tool_uses and self.stop_reason == "end_turn" else self.stop_reason


@dataclass(frozen=True)
class HttpError:
    """An HTTP error response with an Anthropic error body (`retry-after: 0` so SDK retries are quick)."""

    status: int
    error_type: str
    message: str = "scripted error"


@dataclass(frozen=True)
class MidStreamError:
    """A 200 stream that starts, then carries an `event: error` (what a mid-stream overload looks like)."""

    error_type: str = "overloaded_error"
    message: str = "Overloaded"


@dataclass(frozen=True)
class Hang:
    """Send nothing for `seconds` (so the client times out), then drop the connection."""

    seconds: float


@dataclass(frozen=True)
class Held:
    """`reply`, sent only after `stub.release()` (or when the stub stops): a reply whose timing the test decides."""

    reply: Reply = field(default_factory=Reply)


Scripted = Reply | HttpError | MidStreamError | Hang | Held


@dataclass(frozen=True)
class ReceivedRequest:
    path: str
    headers: dict[str, str]  # names lower-cased
    body: dict[str, Any]

    @property
    def api_key(self) -> str | None:
        """The key the client sent, whichever header carried it (SDK 2.x sends a Bearer token)."""
        bearer = self.headers.get("authorization", "")
        return self.headers.get("x-api-key") or (bearer.removeprefix("Bearer ") if bearer else None)

    @property
    def claude_session_id(self) -> str | None:
        """The session id Claude Code sends with every request it makes."""
        return self.headers.get("x-claude-code-session-id")


@dataclass
class AnthropicStub:
    """The server; use as a context manager or call `start()` / `stop()`."""

    requests: list[ReceivedRequest] = field(default_factory=list)
    # What a request gets when the script is empty (`Reply()` unless a test says otherwise).
    otherwise: Scripted = field(default_factory=Reply)
    answered: list[int] = field(default_factory=list)  # indexes in `requests`, in the order their answers were sent
    _script: deque[Scripted] = field(default_factory=deque)
    _stopping: threading.Event = field(default_factory=threading.Event)
    _released: threading.Event = field(default_factory=threading.Event)
    _server: ThreadingHTTPServer | None = None
    _ids: itertools.count[int] = field(default_factory=itertools.count)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        assert self._server is not None, "the stub is not started"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def script(self, *responses: Scripted) -> None:
        """Queue responses for the next requests, in order."""
        with self._lock:
            self._script.extend(responses)

    def release(self) -> None:
        """Send the `Held` replies: those waiting now and any scripted later."""
        self._released.set()

    def start(self) -> AnthropicStub:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        # A short poll interval keeps stop() from waiting half a second per test.
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes handlers that are hanging
        self._released.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> AnthropicStub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _next(self, request: ReceivedRequest) -> tuple[Scripted, str]:
        with self._lock:
            self.requests.append(request)
            scripted = self._script.popleft() if self._script else self.otherwise
            return scripted, f"req_stub_{next(self._ids)}"

    def _wait(self, scripted: Scripted) -> Reply | HttpError | MidStreamError | None:
        """Wait as `scripted` says; returns what to answer then, or None to hang up (a `Hang`)."""
        if isinstance(scripted, Hang):
            self._stopping.wait(scripted.seconds)
            return None
        if isinstance(scripted, Held):
            self._released.wait()
            return scripted.reply
        return scripted

    def _sent(self, request_id: str) -> None:
        with self._lock:
            self.answered.append(int(request_id.removeprefix("req_stub_")))


def _message(body: dict[str, Any], reply: Reply, msg_id: str) -> dict[str, Any]:
    return {
        "id": f"msg_{msg_id}",
        "type": "message",
        "role": "assistant",
        "model": body.get("model", "claude-sonnet-4-6"),
        "content": reply.blocks(msg_id),
        "stop_reason": reply.stop,
        "stop_sequence": None,
        "usage": {
            "input_tokens": reply.input_tokens,
            "output_tokens": reply.output_tokens,
            "cache_creation_input_tokens": reply.cache_creation_input_tokens,
            "cache_read_input_tokens": reply.cache_read_input_tokens,
        },
    }


def _events(message: dict[str, Any], reply: Reply | MidStreamError) -> list[tuple[str, dict[str, Any]]]:
    start = {**message, "content": [], "stop_reason": None, "usage": {**message["usage"], "output_tokens": 1}}
    events: list[tuple[str, dict[str, Any]]] = [("message_start", {"type": "message_start", "message": start})]
    blocks = message["content"] if isinstance(reply, Reply) else [{"type": "text", "text": "partial answer "}]
    for index, block in enumerate(blocks):
        events += _block_events(index, block)
        if index == 0:
            events.append(("ping", {"type": "ping"}))
        if isinstance(reply, MidStreamError):
            error = {"type": reply.error_type, "message": reply.message}
            return [*events[:-1], ("error", {"type": "error", "error": error})]
    stop: dict[str, Any] = {"stop_reason": message["stop_reason"], "stop_sequence": None}
    usage = {"output_tokens": message["usage"]["output_tokens"]}
    return [
        *events,
        ("message_delta", {"type": "message_delta", "delta": stop, "usage": usage}),
        ("message_stop", {"type": "message_stop"}),
    ]


def _block_events(index: int, block: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """One content block as a stream: its start, deltas (text word by word, tool input as JSON), its stop."""
    if block["type"] == "text":
        opening = {"type": "text", "text": ""}
        words = block["text"].split(" ")
        deltas = [{"type": "text_delta", "text": w if i == 0 else f" {w}"} for i, w in enumerate(words)]
    else:
        opening = {**block, "input": {}}
        deltas = [{"type": "input_json_delta", "partial_json": json.dumps(block["input"])}]
    return [
        ("content_block_start", {"type": "content_block_start", "index": index, "content_block": opening}),
        *(("content_block_delta", {"type": "content_block_delta", "index": index, "delta": d}) for d in deltas),
        ("content_block_stop", {"type": "content_block_stop", "index": index}),
    ]


def _handler(stub: AnthropicStub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # quiet: keep test output clean
            pass

        def do_POST(self) -> None:  # http.server dispatches by this name
            raw = self.rfile.read(int(self.headers.get("content-length", 0)))
            body = json.loads(raw or b"{}")
            scripted, request_id = stub._next(
                ReceivedRequest(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
            )
            answer = stub._wait(scripted)
            if answer is None:  # hung up
                self.close_connection = True
                return
            if self.path.split("?")[0] != "/v1/messages":
                answer = HttpError(404, "not_found_error", f"no route {self.path}")
            if isinstance(answer, HttpError):
                error = {"type": "error", "error": {"type": answer.error_type, "message": answer.message}}
                self._send(answer.status, "application/json", json.dumps(error).encode(), request_id)
                return
            if isinstance(answer, Reply) and answer.delay_s:
                stub._stopping.wait(answer.delay_s)
            reply = answer if isinstance(answer, Reply) else Reply()
            message = _message(body, reply, request_id)
            if not body.get("stream"):
                assert isinstance(answer, Reply), "MidStreamError needs stream=true"
                self._send(200, "application/json", json.dumps(message).encode(), request_id)
                return
            sse = "".join(f"event: {name}\ndata: {json.dumps(data)}\n\n" for name, data in _events(message, answer))
            self._send(200, "text/event-stream", sse.encode(), request_id)

        def _send(self, status: int, content_type: str, payload: bytes, request_id: str) -> None:
            self.send_response(status)
            self.send_header("content-type", content_type)
            self.send_header("content-length", str(len(payload)))
            self.send_header("request-id", request_id)
            if status == 429 or status >= 500:
                # retry-after alone is ignored when 0; the -ms variant makes the SDK retry at once.
                self.send_header("retry-after", "0")
                self.send_header("retry-after-ms", "1")
            _finish(self, payload, stub, request_id)

    return Handler


def _finish(handler: BaseHTTPRequestHandler, payload: bytes, stub: AnthropicStub, request_id: str) -> None:
    """End the headers and send `payload`; the request counts as answered once it is sent."""
    try:
        handler.end_headers()
        handler.wfile.write(payload)
    except ConnectionError:  # the client gave up waiting (a delayed or held reply): nobody to answer
        handler.close_connection = True
        return
    stub._sent(request_id)
