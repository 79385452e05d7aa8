"""`python -m claude_tasks_dev.local` (what `make dev` runs): the whole service on this machine until Ctrl-C.

Exit status: 0 after a clean stop (SIGINT or SIGTERM), 1 when the stack could
not start, 2 for bad arguments. Ctrl-C pressed again during the stop exits at
once (130) without saving.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
import time
from pathlib import Path
from types import FrameType

from claude_tasks_dev.checkout import local_user
from claude_tasks_dev.local.options import parse_options
from claude_tasks_dev.local.stack import LocalStack, StackError

# A second Ctrl-C within this many seconds of the first is the same keypress's echo, not a new one.
FORCE_AFTER_S = 1.0


def banner(stack: LocalStack, info: dict[str, object]) -> str:
    """What a developer needs on start: the stack file's content, the backend, the data, how to try it."""
    options = stack.options
    user = local_user(os.environ)  # the principal the CLI acts as by default
    script = Path(sys.executable).parent / "claude-tasks"  # the venv's console script, if installed
    cli = _short(script) if script.is_file() else "claude-tasks"
    backend = stack.backend
    restored = stack.restored
    data = (
        "not kept (--no-persist)"
        if not options.persist
        else f"restored {sum(restored.values())} items from {_short(options.state_file)}; saved there on Ctrl-C"
        if restored is not None
        else f"empty; saved to {_short(options.state_file)} on Ctrl-C"
    )
    return "\n".join(
        [
            f"Claude Task Server: local stack ({_short(options.stack_file)})",
            json.dumps(info, indent=2),
            f"Claude backend: {backend.name if backend else '?'} ({backend.reason if backend else ''})",
            f"Data: {data}",
            f"Console: {info['api_url']}/  (sign in as {user} to see what curl and the CLI make; "
            f"{info['admin_principal']} is the admin)",
            f"Try:  curl -s -H 'Authorization: Bearer {user}' {info['api_url']}/sessions",
            f"      {cli} sessions create /tmp/demo -q   then   {cli} run SESSION_ID 'Hello' --wait",
            f"      {cli} events tail -f   prints the task events the local bus receives",
            "Ctrl-C stops it.",
        ]
    )


def _short(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _stop_on_signals(stopping: threading.Event) -> None:
    """SIGINT (Ctrl-C) and SIGTERM set `stopping`; Ctrl-C pressed again later exits at once, unsaved."""
    first: list[float] = []

    def on_signal(signum: int, frame: FrameType | None) -> None:
        # One stop can arrive as several signals (the terminal signals make and us; make passes SIGTERM on):
        # only a Ctrl-C pressed again a moment later means "do not wait".
        if first and signum == signal.SIGINT and time.monotonic() - first[0] > FORCE_AFTER_S:
            os._exit(130)
        first[:] = first or [time.monotonic()]
        stopping.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)


def main(argv: list[str] | None = None) -> int:
    options = parse_options(argv)
    # Libraries stay at WARNING (botocore says "Found credentials" at INFO); the stack's own lines show.
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr)
    logging.getLogger("claude_tasks_dev.local").setLevel(logging.INFO)
    stopping = threading.Event()
    _stop_on_signals(stopping)
    stack = LocalStack(options)
    try:
        info = stack.start()
    except StackError as err:
        print(f"local stack: {err}", file=sys.stderr)
        return 1
    print(banner(stack, info), flush=True)
    while not stopping.wait(0.1):
        pass
    print("stopping (Ctrl-C again to quit without saving)…", file=sys.stderr, flush=True)
    stack.stop()
    print("stopped.", file=sys.stderr, flush=True)
    return 0


def exit_now(status: int) -> None:
    """Exit without the interpreter's teardown, once the stack has stopped and saved.

    Tearing down moto's in-memory tables object by object (and the collector's passes
    over them) took minutes with a large data set; everything worth keeping is
    already saved and every thread has stopped, so only the output is flushed.
    """
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


if __name__ == "__main__":
    exit_now(main())
