"""The interface of an agentic backend (Claude Code): one prompt in, many steps out, recorded as they come.

A chat backend answers a prompt with one reply (`ClaudeBackend.complete`). An agent works:
it writes text, uses tools, reads their results, and only then answers. Its run hands each
step to `record` as it happens (so a crash loses at most the step in flight, and a reader
sees the task work) and calls `check` between steps and every few seconds, so a cancelled
task or a lost lease stops the agent within seconds. Its session lives in Claude Code's
transcript (the `SessionStore`), so the conversation is resumed by id, never resent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar, Protocol

from claude_tasks.claude.base import FatalClaudeError
from claude_tasks.core.records import AgentOptions, NewInteraction

# How long an agent may take to stop once its deadline comes: an interrupt and its grace (5 s), then the
# SDK's own close (stdin closed, SIGTERM, SIGKILL: ~20 s at worst). The executor sets deadlines this early.
STOP_GRACE_S = 25.0


@dataclass(frozen=True)
class AgentRequest:
    """One run of the agent on one prompt.

    The run ends under `claude_session_id`, our id: a new conversation starts under it; with
    `resume` the run continues that conversation (our id again for a follow-up; a fork resumes
    its source's with `fork` set, and continues under its own new id). `deadline` is a
    `time.monotonic()` value: the run stops by then (within `STOP_GRACE_S`), to be continued by a
    later one.
    """

    prompt: str
    cwd: str
    owner: str
    claude_session_id: str
    model: str
    deadline: float
    system: str | None = None
    resume: str | None = None
    fork: bool = False
    # Where the resumed conversation ran, when that is not `cwd` (a fork in its own worktree or another
    # session's project): Claude Code files transcripts by directory, so the backend brings it over.
    resume_cwd: str | None = None
    # A factory, not an instance: building one at import would build the model's validator there.
    options: AgentOptions = field(default_factory=AgentOptions)
    max_turns: int | None = None
    max_budget_usd: float | None = None
    # The claude-agent-sdk `SessionStore` holding the owner's transcripts (`store.transcripts.for_owner`).
    session_store: Any = None


class Ending(StrEnum):
    """How an agent run ended without an error."""

    COMPLETED = "completed"  # answered the prompt
    EXHAUSTED = "exhausted"  # a limit (max_turns, max_budget_usd) stopped it; `reason` says which
    STOPPED = "stopped"  # it reached its deadline: a later run continues the conversation


@dataclass(frozen=True)
class AgentResult:
    """The end of a run. Its final steps (the outcome, the run's cost) were handed to `record` first."""

    ending: Ending
    reason: str | None
    total_cost_usd: float | None


class ConversationNotFound(FatalClaudeError):
    """A resume found no conversation under the id (its transcript is gone): rebuild it under a new id."""


# Records the steps (raises to stop the run: the lease is gone, the store refused).
Record = Callable[[list[NewInteraction]], None]
# Raises to stop the run (the task was cancelled or deleted, the lease lost).
Check = Callable[[], None]


class AgentBackend(Protocol):
    """A backend that works on a prompt in steps; `get_backend` returns one for `claude-code`."""

    name: str
    agentic: ClassVar[bool]

    def run(self, request: AgentRequest, record: Record, check: Check) -> AgentResult:
        """Run the agent on `request.prompt`, recording each step through `record`.

        Raises `ConversationNotFound` when `request.resume` names no conversation,
        `RetryableClaudeError`/`FatalClaudeError` like any backend, and whatever `record` or
        `check` raised (after stopping the agent).
        """
        ...
