"""An embedded AWS endpoint: moto's server app on 127.0.0.1, serving one request at a time.

moto is not thread-safe under concurrent transactions (HTTP 500s and drifting
counters were seen with its threaded server); a single-threaded werkzeug server
makes each request atomic, as DynamoDB makes each transaction, while clients'
threads still interleave freely between requests.
"""

from __future__ import annotations

import base64
import functools
import logging
import threading
import urllib.parse
import urllib.request
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any

from werkzeug.serving import BaseWSGIServer, make_server

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication

# One log line per request drowns everything else out; errors still show.
logging.getLogger("werkzeug").setLevel(logging.WARNING)


def _as_boto(value: Any) -> Any:
    """moto's wire JSON (binary values base64 text) as boto3 gives it (binary values bytes)."""
    if isinstance(value, dict):
        if set(value) == {"B"} and isinstance(value["B"], str):
            return {"B": base64.b64decode(value["B"])}
        if set(value) == {"BS"}:
            return {"BS": [base64.b64decode(v) if isinstance(v, str) else v for v in value["BS"]]}
        return {key: _as_boto(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_as_boto(item) for item in value]
    return value


def stop_tracking_model_instances() -> None:
    """Keep moto from holding on to every model object it ever creates; idempotent, process-wide.

    moto's `BaseModel.__new__` appends each instance to its class's `instances_tracked`
    list, emptied only by a moto reset; it feeds the `/moto-api/data.json` dashboard.
    DynamoDB's `Scan` and `Query` answer with deep copies of every item they read, and
    an `Item` is such a model: every item a read returned stayed in memory for good.
    Under load that was most of the local stack's growth (~40 KB per API operation,
    1 GB after 19,000), and the janitor's full scans added a copy of the tables each
    run. Nothing here reads those lists (the dashboard is not used; S3's reset uses
    them only to close keys that the garbage collector closes anyway), so new objects
    are no longer recorded. Objects a table or queue holds stay alive through it.
    """
    from moto.core.common_models import BaseModel

    if getattr(BaseModel.__new__, "untracked", False):
        return

    def untracked_new(cls: type[Any], *args: Any, **kwargs: Any) -> Any:
        return object.__new__(cls)

    untracked_new.untracked = True  # type: ignore[attr-defined]
    BaseModel.__new__ = staticmethod(untracked_new)  # type: ignore[method-assign]
    for cls in _subclasses(BaseModel):
        cls.instances_tracked = []  # type: ignore[attr-defined]


def cache_event_input_paths() -> None:
    """Parse each of EventBridge's input paths once, not once per event per rule target; idempotent, process-wide.

    moto's `PutEvents` renders every matched target's input through `jsonpath_ng.ext.parse`, even a
    target without an input transformer (its default map has 8 paths), and that parser rebuilds its
    grammar on each call: about 1 ms a path, 16 ms an event with the stack's two rules (the tap's and
    the replies'), 150 ms a `PutEvents` of the events function's batch of 10 on a busy machine, all of
    it on the emulator's one thread, ahead of every other request. In the bench's 200 tasks that was
    10 s of the emulator's 90 busy seconds; cached, 0.3 s. A parsed path is an expression that `find`
    only reads, so the same one serves every event.
    """
    import jsonpath_ng.ext

    parse = jsonpath_ng.ext.parse  # type: ignore[attr-defined]
    if hasattr(parse, "cache_info"):
        return
    jsonpath_ng.ext.parse = functools.lru_cache(maxsize=256)(parse)  # type: ignore[attr-defined]


def _subclasses(cls: type) -> list[type]:
    direct: list[type] = cls.__subclasses__()
    return [c for sub in direct for c in (sub, *_subclasses(sub))]


TRIM_STREAM_PATH = "/_local/trim-stream"


def trim_stream(table_name: str, through: int | None) -> int:
    """Forget a table's stream records up to sequence number `through` (read already), or all; returns how many.

    moto keeps every stream record for good, and deep-copies the table, stream included, in every
    transaction that writes to it: an untrimmed stream made each write slower and the process larger.
    Sequence numbers stay as they were (the shard's start moves up with the records dropped). The
    shard iterators handed out so far are dropped too: a reader asks for one per read, after its last record.
    """
    from moto.dynamodb.models import dynamodb_backends
    from moto.dynamodbstreams.models import dynamodbstreams_backends

    dropped = 0
    for regions in dynamodb_backends.values():
        for backend in regions.values():
            table = backend.tables.get(table_name)
            shard = None if table is None else table.stream_shard
            if shard is None:
                continue
            taken = len(shard.items) if through is None else through - shard.starting_sequence_number + 1
            count = max(0, min(len(shard.items), taken))
            del shard.items[:count]
            shard.starting_sequence_number += count
            dropped += count
    for streams_regions in dynamodbstreams_backends.values():
        for streams in streams_regions.values():
            streams.shard_iterators.clear()
    return dropped


def request_trim(endpoint_url: str, table_name: str, through: str | None) -> None:
    """Ask the emulator at `endpoint_url` to run `trim_stream` on its own thread, between two requests."""
    query = urllib.parse.urlencode({"table": table_name} | ({} if through is None else {"through": through}))
    # Our own loopback endpoint, http only: S310's concern (file:, custom schemes) cannot arise.
    request = urllib.request.Request(f"{endpoint_url}{TRIM_STREAM_PATH}?{query}", method="POST")  # noqa: S310
    with urllib.request.urlopen(request, timeout=10):  # noqa: S310
        pass


def _with_stream_trim(app: Any) -> Any:
    """moto's app, plus `POST /_local/trim-stream?table=…[&through=…]`: run by the server's one thread, the
    trim never overlaps a request (a transaction copying the table, a read of the stream)."""
    from urllib.parse import parse_qs

    def serve(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if environ.get("PATH_INFO") != TRIM_STREAM_PATH:
            return app(environ, start_response)
        query = parse_qs(environ.get("QUERY_STRING", ""))
        through = query.get("through")
        dropped = trim_stream(query["table"][0], None if through is None else int(through[0]))
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [str(dropped).encode()]

    return serve


class EmbeddedAws:
    """moto server in a background thread. Use as a context manager, or `start()` / `stop()`."""

    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, middleware: Callable[[WSGIApplication], Any] | None = None
    ) -> None:
        """`middleware`, if given, wraps moto's WSGI app (the benchmarks count round trips with it)."""
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

        stop_tracking_model_instances()
        cache_event_input_paths()
        app: Any = _with_stream_trim(DomainDispatcherApplication(create_backend_app))
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

    def forget_stream(self, table_name: str) -> None:
        """Drop every record of a table's stream: for a test that writes much and reads no stream.

        moto copies a table's whole stream in each transaction on it, so each write is slower than the last.
        """
        request_trim(self.endpoint_url, table_name, through=None)

    def release_in_flight(self) -> int:
        """Make every message that is received but not deleted (in flight) visible again; returns how many.

        SQS offers no call that lists in-flight messages, so a snapshot taken through
        the API would miss them; moto runs in this process, so its queues are read directly.
        """
        from moto.sqs.models import sqs_backends

        released = 0
        for regions in sqs_backends.values():
            for backend in regions.values():
                for queue in backend.queues.values():
                    for message in [m for m in queue._messages if not m.visible]:
                        message.change_visibility(-1)  # visible_at in the past: receivable now
                        queue.pending_messages.discard(message)
                        released += 1
        return released

    def table_items(self, region: str, table_name: str) -> list[dict[str, Any]]:
        """Every item of a table, in the shape boto3's `Scan` returns, read from moto in this process.

        A `Scan` through the endpoint costs moto time in proportion to the whole table on
        every page (it sorts and deep-copies items): over 10 s for 10,000 items, too slow
        for a Ctrl-C. Reading its backend directly is a plain walk over the items.
        """
        from moto.dynamodb.models import dynamodb_backends

        for regions in dynamodb_backends.values():
            backend = regions[region]
            if table_name in backend.tables:
                table = backend.get_table(table_name)
                return [_as_boto(item.to_json()["Attributes"]) for item in table.all_items()]
        raise KeyError(f"no table {table_name} in {region}")

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
