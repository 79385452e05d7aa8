"""A Claude call as one span: which backend and model, how long, what it cost in tokens — never what was said.

Attribute names follow OpenTelemetry's GenAI conventions (`gen_ai.*`), so a trace viewer shows them
as model calls. The prompt, the conversation and the reply stay out: a span is read by whoever reads
traces, not by the task's owner. The same figures go to the worker's metrics (`core.metrics`).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from claude_tasks.claude.base import ClaudeBackend, ClaudeError, ClaudeReply, ClaudeRequest, RetryableClaudeError
from claude_tasks.core import metrics
from claude_tasks.core.tracing import Tracer

if TYPE_CHECKING:
    from claude_tasks.claude.agent import AgentBackend, AgentRequest, AgentResult, Check, Record


def complete(tracer: Tracer, backend: ClaudeBackend, request: ClaudeRequest, task_id: str) -> ClaudeReply:
    """`backend.complete(request)` inside a span; raises what the backend raises."""
    with tracer.span(
        f"chat {request.model}",
        {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": backend.name,
            "gen_ai.request.model": request.model,
            "gen_ai.request.max_tokens": request.max_tokens,
            "claude_tasks.task_id": task_id,
            "claude_tasks.conversation.turns": len(request.conversation),
        },
    ) as span:
        try:
            reply = backend.complete(request)
        except ClaudeError as error:
            metrics.claude_failed(retryable=isinstance(error, RetryableClaudeError))
            raise
        metrics.claude_answered(reply.duration_ms, reply.usage, reply.cost_usd)
        span.set(
            {
                "gen_ai.response.model": reply.model,
                "gen_ai.response.finish_reasons": [reply.stop_reason] if reply.stop_reason else None,
                "gen_ai.usage.input_tokens": reply.usage.input_tokens,
                "gen_ai.usage.output_tokens": reply.usage.output_tokens,
                "gen_ai.usage.cache_read.input_tokens": reply.usage.cache_read_input_tokens,
                "gen_ai.usage.cache_creation.input_tokens": reply.usage.cache_creation_input_tokens,
            }
        )
        return reply


def run_agent(
    tracer: Tracer, backend: AgentBackend, request: AgentRequest, record: Record, check: Check, task_id: str
) -> AgentResult:
    """`backend.run(request, record, check)` inside a span (each step's write is a transaction span below it)."""
    with tracer.span(
        f"invoke_agent {backend.name}",
        {
            "gen_ai.operation.name": "invoke_agent",
            "gen_ai.provider.name": backend.name,
            "gen_ai.request.model": request.model,
            "claude_tasks.task_id": task_id,
            "claude_tasks.agent.resumed": request.resume is not None,
            "claude_tasks.agent.fork": request.fork,
        },
    ) as span:
        started = time.monotonic()
        result = backend.run(request, record, check)
        metrics.agent_ended(round((time.monotonic() - started) * 1000), result.total_cost_usd)
        span.set({"claude_tasks.agent.ending": result.ending.value})
        return result
