"""The Lambda functions of `template.yaml`, loaded from the checkout and invoked as Lambda would.

Each function's `CodeUri` folder is its Lambda root (`/var/task`): it goes on
`sys.path`, and its handler module — every function names it `app` — is loaded
under a unique module name so the three `app`s never clash.
"""

from __future__ import annotations

import contextvars
import gc
import importlib.util
import logging
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from claude_tasks_dev.checkout import repo_root

ACCOUNT_ID = "123456789012"
Handler = Callable[[Any, Any], Any]
# The invocation the current thread works for. Threads a handler starts inherit it when given
# a copy of the context (the worker's record threads are).
_invocation: contextvars.ContextVar[FakeContext | None] = contextvars.ContextVar("invocation", default=None)


@dataclass
class FakeContext:
    """The attributes and method of Lambda's context object that handlers and Powertools read."""

    function_name: str
    memory_limit_in_mb: int
    invoked_function_arn: str
    timeout_s: float
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = "local"
    identity: Any = None
    client_context: Any = None
    _started: float = field(default_factory=time.monotonic)

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._started + self.timeout_s - time.monotonic()) * 1000))


@dataclass
class LambdaFunction:
    """One function with one warm container: invocations run one at a time, as in a container.

    Handlers may keep per-invocation state on module objects (Powertools'
    resolver does), so concurrent calls into the same module are not safe.
    """

    name: str
    handler: Handler
    timeout_s: float
    memory_mb: int
    region: str = "us-east-1"
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def invoke(self, event: Any) -> Any:
        """Call the handler with `event` and a fresh context; its exceptions propagate."""
        arn = f"arn:aws:lambda:{self.region}:{ACCOUNT_ID}:function:{self.name}"
        with self._lock:
            context = FakeContext(
                self.name, self.memory_mb, arn, self.timeout_s, log_group_name=f"/aws/lambda/{self.name}"
            )
            token = _invocation.set(context)
            try:
                return self.handler(event, context)
            finally:
                _invocation.reset(token)

    def drain(self) -> None:
        """Wait for the invocation in flight, if any, to finish."""
        with self._lock:
            pass


def label_log_records() -> None:
    """Stamp each log record with the Lambda context of the invocation that wrote it.

    In AWS each function has a process of its own; here three share one, and
    Powertools' Logger keeps the keys `inject_lambda_context` appends on one
    formatter per service, so the last invocation's name labelled every line. A
    record's own attributes win over those keys in Powertools' formatter.
    """
    previous = logging.getLogRecordFactory()
    if getattr(previous, "labels_invocations", False):
        return

    def make(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        context = _invocation.get()
        if context is not None:
            record.function_name = context.function_name
            record.function_arn = context.invoked_function_arn
            record.function_memory_size = context.memory_limit_in_mb
            record.function_request_id = context.aws_request_id
        return record

    make.labels_invocations = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(make)


def load_function(template: dict[str, Any], logical_id: str, region: str, root: Path | None = None) -> LambdaFunction:
    """Load the template's function `logical_id`: its code folder, handler, timeout and memory.

    Raises ImportError when the handler cannot be imported or a helper module of
    its folder would clash with an already loaded one of the same name.
    """
    label_log_records()
    resource = template["Resources"][logical_id]["Properties"]
    defaults = template.get("Globals", {}).get("Function", {})
    folder = (root or repo_root()) / str(resource["CodeUri"])
    module_name, _, attribute = str(resource.get("Handler", defaults.get("Handler"))).rpartition(".")
    module = load_module(folder, module_name, f"claude_tasks_local_{logical_id.lower()}_{module_name}")
    return LambdaFunction(
        name=logical_id,
        handler=getattr(module, attribute),
        timeout_s=float(resource.get("Timeout", defaults.get("Timeout", 3))),
        memory_mb=int(resource.get("MemorySize", defaults.get("MemorySize", 128))),
        region=region,
    )


def load_module(folder: Path, module_name: str, unique_name: str) -> ModuleType:
    """Import `folder/<module_name>.py` as `unique_name` (once), with `folder` on `sys.path` as Lambda's root."""
    if unique_name in sys.modules:
        return sys.modules[unique_name]
    _refuse_clashes(folder, module_name)
    # It stays on the path: a handler may import its helpers lazily, as it can in Lambda.
    sys.path.insert(0, str(folder))
    spec = importlib.util.spec_from_file_location(unique_name, folder / f"{module_name}.py")
    if spec is None or spec.loader is None:
        raise ImportError(f"no handler module {module_name}.py in {folder}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[unique_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[unique_name]
        raise
    finally:
        # A handler imports with the cyclic collector off and freezes what it made (its app.py says why:
        # a Lambda process lives for that one handler). This process loads handlers again and again and
        # keeps running: nothing stays frozen here, and a failed import leaves the collector on.
        gc.unfreeze()
        gc.enable()
    return module


def _refuse_clashes(folder: Path, handler_module: str) -> None:
    """Two functions' helper modules of the same name would silently share one import."""
    for entry in folder.iterdir():
        name = entry.stem if entry.suffix == ".py" else entry.name if (entry / "__init__.py").is_file() else None
        if name is None or name == handler_module or name not in sys.modules:
            continue
        loaded = getattr(sys.modules[name], "__file__", None) or ""
        if not Path(loaded).resolve().is_relative_to(folder.resolve()):
            raise ImportError(
                f"{entry} clashes with the already loaded module {name!r} ({loaded}); "
                "give the function's helper modules names of their own"
            )
