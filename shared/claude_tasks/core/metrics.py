"""The worker's CloudWatch metrics (EMF through Powertools), added from any of a batch's record threads.

Powertools' `Metrics` instances all share one metric set (class attributes, whatever their namespace),
a plain dict that `add_metric` reads, changes and writes back, and the worker runs a batch's records on
several threads: every addition on a record thread must go through `add`, under its one lock, so two
records finishing at once cannot lose a value (a direct `Metrics().add_metric` there would race). The
handler's `@metrics.log_metrics` flushes them all at the end of the invocation.

A Claude call is published as latency, tokens by kind and cost: what the dashboard charts next to
the task outcomes (never the prompt or the reply, which a metric could not hold anyway).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit

if TYPE_CHECKING:
    from claude_tasks.core.records import Usage

_metrics = Metrics()
_lock = threading.Lock()


def add(name: str, value: float = 1, unit: MetricUnit = MetricUnit.Count) -> None:
    """Add `value` to metric `name` of this invocation."""
    with _lock:
        _metrics.add_metric(name=name, unit=unit, value=value)


def claude_answered(duration_ms: int, usage: Usage, cost_usd: float) -> None:
    """One answered Claude call: how long it took, the tokens it used by kind, and its cost."""
    add("ClaudeCalls")
    add("ClaudeLatency", duration_ms, MetricUnit.Milliseconds)
    add("ClaudeInputTokens", usage.input_tokens)
    add("ClaudeOutputTokens", usage.output_tokens)
    add("ClaudeCacheReadTokens", usage.cache_read_input_tokens)
    add("ClaudeCacheCreationTokens", usage.cache_creation_input_tokens)
    add("ClaudeCostUsd", cost_usd, MetricUnit.NoUnit)


def claude_failed(retryable: bool) -> None:
    """One Claude call that raised: `retryable` (429, 529, 5xx, timeout: the task is tried again) or not."""
    if retryable:
        add("ClaudeCallsRetryable")
    else:
        add("ClaudeCallsFatal")


def agent_ended(duration_ms: int, cost_usd: float | None) -> None:
    """One Claude Code run: its steps' tokens are in the task's totals; the run reports its time and cost.

    A run lasts minutes where a call lasts seconds: its duration is a metric of its own, so
    `ClaudeLatency`'s percentiles stay those of single calls."""
    add("ClaudeCodeRuns")
    add("ClaudeCodeRunDuration", duration_ms, MetricUnit.Milliseconds)
    if cost_usd is not None:
        add("ClaudeCostUsd", cost_usd, MetricUnit.NoUnit)
