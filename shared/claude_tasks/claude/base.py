"""The one interface every Claude backend implements, and the errors it may raise.

The executor sees only these types: it hands a backend the whole conversation
(the Messages API and Bedrock are stateless, so it is resent on every turn) and
gets back one reply, or a `ClaudeError` that says whether trying again can help.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Literal, Protocol

from typing_extensions import TypeIs

from claude_tasks.core.records import Usage

if TYPE_CHECKING:
    from claude_tasks.claude.agent import AgentBackend


@dataclass(frozen=True)
class Turn:
    """One message of the conversation as Claude sees it."""

    role: Literal["user", "assistant"]
    content: str


@dataclass(frozen=True)
class ClaudeRequest:
    """What to send: the conversation so far, ending with the user turn to answer.

    `claude_session_id` is our UUID for Claude's conversation; backends that keep
    state (Claude Code) resume by it, stateless ones just hand it back. `deadline` is
    the `time.monotonic()` value by which the call must have returned, retries and all
    (a backend that calls out raises `RetryableClaudeError` then); None bounds only
    each attempt, by the client's own timeout.
    """

    conversation: Sequence[Turn]
    model: str
    system: str | None
    max_tokens: int
    claude_session_id: str
    deadline: float | None = None

    def __post_init__(self) -> None:
        # Every backend would reject these anyway, but later and with a vaguer message.
        if not self.conversation or self.conversation[-1].role != "user":
            raise ValueError("a ClaudeRequest's conversation must end with the user turn to answer")
        if self.max_tokens < 1:
            raise ValueError("max_tokens must be at least 1")


@dataclass(frozen=True)
class ClaudeReply:
    """Claude's answer to one request, with what it cost."""

    content: str
    usage: Usage
    stop_reason: str | None
    model: str
    duration_ms: int
    claude_session_id: str
    cost_usd: float


class ClaudeBackend(Protocol):
    """A way to reach Claude; `get_backend` picks one by `name`."""

    name: str

    def complete(self, request: ClaudeRequest) -> ClaudeReply:
        """Answer the request's last user turn.

        Raises `RetryableClaudeError` when the same request may succeed later and
        `FatalClaudeError` when it never will.
        """
        ...


class ClaudeError(Exception):
    """Claude could not answer; `reason` is a one-line explanation fit for `task.error`."""

    retryable: ClassVar[bool] = False

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class RetryableClaudeError(ClaudeError):
    """Transient: rate limits, overload, 5xx, timeouts, dropped connections, throttling."""

    retryable = True


class FatalClaudeError(ClaudeError):
    """Permanent for this request: invalid input, bad credentials, refusal, unknown model."""

    retryable = False


def is_agent(backend: ClaudeBackend | AgentBackend) -> TypeIs[AgentBackend]:
    """Whether `backend` works in steps (Claude Code) rather than answering with one reply.

    Here, not in `agent`: a chat task's run asks it without loading the agent's types (cold start).
    """
    return getattr(backend, "agentic", False) is True
