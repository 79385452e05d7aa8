"""An overall deadline for one Claude call, however many retries and reads it makes inside.

An HTTP client's timeout bounds each read, and a stream is many reads; every retry
(the SDK's, botocore's, ours) starts the clock again. Only a wall-clock bound on the
whole call keeps it inside the worker Lambda's own timeout.
"""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from claude_tasks.claude.base import RetryableClaudeError

T = TypeVar("T")


class DeadlinePassed(RetryableClaudeError):
    """The call did not finish by its deadline: retryable, as the next invocation has a fresh one."""


def time_left(deadline: float) -> float:
    """Seconds until `deadline` (a `time.monotonic()` value); negative once it has passed."""
    return deadline - time.monotonic()


def timed_out(backend: str, budget_s: float) -> DeadlinePassed:
    if budget_s <= 0:
        return DeadlinePassed(f"{backend}: timed out: the call's deadline passed before it could start")
    return DeadlinePassed(f"{backend}: timed out after {round(budget_s, 1):g} s (the call's overall deadline)")


def stopped(backend: str) -> DeadlinePassed:
    """What the abandoned work raises once `stop` is set (nobody reads it: `within` has raised already)."""
    return DeadlinePassed(f"{backend}: stopped at the call's deadline")


def within(backend: str, deadline: float, call: Callable[[threading.Event], T]) -> T:
    """`call(stop)`'s result, or `DeadlinePassed` as soon as `deadline` passes, whatever `call` is blocked on.

    `call` runs on a daemon thread and should return early once `stop` is set; a read
    blocked inside it ends by its own timeout, after this function has already raised.
    Exceptions from `call` are raised here unchanged.
    """
    budget = time_left(deadline)
    if budget <= 0:
        raise timed_out(backend, 0)
    stop = threading.Event()
    done = threading.Event()
    results: list[T] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            results.append(call(stop))
        except BaseException as error:  # noqa: BLE001 - handed to the waiting thread, which raises it
            errors.append(error)
        finally:
            done.set()

    # In the caller's context (contextvars): the SDK's span is a child of the call's, as it would be inline.
    context = contextvars.copy_context()
    threading.Thread(target=context.run, args=(run,), name=f"claude-{backend}", daemon=True).start()
    if not done.wait(budget):
        stop.set()
        raise timed_out(backend, budget)
    if errors:
        raise errors[0]
    return results[0]
