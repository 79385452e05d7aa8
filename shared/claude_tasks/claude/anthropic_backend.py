"""Claude through the Anthropic Messages API: the official SDK, streaming, key from Secrets Manager.

Streaming keeps long replies inside the SDK's limits for a single request; the
Messages API is stateless, so the whole conversation is sent on every turn.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

import anthropic
from anthropic.types import AssistantMessageParam, Message, MessageParam, UserMessageParam

if TYPE_CHECKING:
    from anthropic._types import OpenTelemetryOptions

from claude_tasks.claude.api_key import ApiKeySource
from claude_tasks.claude.base import (
    ClaudeError,
    ClaudeReply,
    ClaudeRequest,
    FatalClaudeError,
    RetryableClaudeError,
    Turn,
)
from claude_tasks.claude.deadline import stopped, time_left, within
from claude_tasks.claude.pricing import cost_usd
from claude_tasks.core.config import Settings
from claude_tasks.core.records import Usage

# An error *event* inside a 200 stream reaches us after the SDK's retry loop has
# returned, so neither the SDK nor any library retries it. Nothing is recorded
# before the stream ends, so sending the same request again is safe.
_STREAM_ATTEMPTS = 3
_STREAM_BACKOFF_S = 0.5
_RETRYABLE_TYPES = frozenset({"overloaded_error", "api_error", "rate_limit_error", "timeout_error"})


class AnthropicBackend:
    """One SDK client per API key; a rotated key (seen within `SECRET_MAX_AGE_S`) gets a new client."""

    name = "anthropic"

    def __init__(self, settings: Settings, *, max_retries: int = 2) -> None:
        """Builds nothing yet: the first `complete` fetches the key and creates the clients."""
        self._settings = settings
        self._max_retries = max_retries
        self._lock = threading.Lock()
        self._key = ApiKeySource(settings, self.name)
        self._client: anthropic.Anthropic | None = None
        self._api_key: str | None = None

    def complete(self, request: ClaudeRequest) -> ClaudeReply:
        """Stream one reply to the request's conversation.

        Raises `RetryableClaudeError` for 429, 5xx/529 overload (after the SDK's own
        retries), mid-stream overload (after ours), timeouts and connection errors, and
        when `request.deadline` passes (the whole call, every retry and read included);
        `FatalClaudeError` for 4xx request/auth errors, an unusable secret, and refusals.
        """
        client = self._sdk_client()
        messages = [_message_param(turn) for turn in request.conversation]
        started = time.monotonic()
        try:
            if request.deadline is None:
                message = _stream(client, request, messages, threading.Event())
            else:
                message = within(self.name, request.deadline, lambda stop: _stream(client, request, messages, stop))
        except anthropic.APIError as err:
            raise _claude_error(err) from err
        if message.stop_reason == "refusal":
            raise FatalClaudeError("anthropic: Claude declined to answer (stop_reason refusal)")
        usage = Usage(
            input_tokens=message.usage.input_tokens,
            output_tokens=message.usage.output_tokens,
            cache_creation_input_tokens=message.usage.cache_creation_input_tokens or 0,
            cache_read_input_tokens=message.usage.cache_read_input_tokens or 0,
        )
        return ClaudeReply(
            content="".join(block.text for block in message.content if block.type == "text"),
            usage=usage,
            stop_reason=message.stop_reason,
            model=message.model,
            duration_ms=int((time.monotonic() - started) * 1000),
            claude_session_id=request.claude_session_id,
            cost_usd=cost_usd(message.model, usage),
        )

    def _sdk_client(self) -> anthropic.Anthropic:
        with self._lock:
            api_key = self._key.get()
            if self._client is None or api_key != self._api_key:
                self._client = anthropic.Anthropic(
                    api_key=api_key,
                    base_url=self._settings.anthropic_base_url,
                    timeout=self._settings.claude_timeout_s,
                    max_retries=self._max_retries,
                    open_telemetry=_open_telemetry(self._settings),
                )
                self._api_key = api_key
            return self._client


def _open_telemetry(settings: Settings) -> OpenTelemetryOptions:
    """The SDK's own span of each call (a child of ours, `claude_tasks.claude.traced`), metadata only.

    Given explicitly, the option makes the SDK read none of its `ANTHROPIC_OPEN_TELEMETRY*` variables, so no
    environment can turn on its content mode (prompts and replies in spans). Propagation is off: a trace
    context means nothing to the Messages API.
    """
    return {
        "traces": {"enabled": settings.tracing_enabled, "content_mode": "metadata_only"},
        "propagation": False,
    }


def _stream(
    client: anthropic.Anthropic, request: ClaudeRequest, messages: list[MessageParam], stop: threading.Event
) -> Message:
    """The streamed reply; a stream that broke off with a retryable error event is tried again.

    Ends early, with `DeadlinePassed`, once `stop` is set.
    """
    for attempt in range(1, _STREAM_ATTEMPTS + 1):
        try:
            return _stream_once(client, request, messages, stop)
        except anthropic.APIStatusError as err:
            if attempt == _STREAM_ATTEMPTS or not _is_mid_stream_retryable(err):
                raise
        if stop.wait(_STREAM_BACKOFF_S * attempt):
            break
    raise stopped("anthropic")


def _stream_once(
    client: anthropic.Anthropic, request: ClaudeRequest, messages: list[MessageParam], stop: threading.Event
) -> Message:
    system = request.system if request.system else anthropic.omit
    # Bounds each read (and each of the SDK's retries) by the time left; the deadline bounds the whole.
    timeout = anthropic.NOT_GIVEN if request.deadline is None else max(time_left(request.deadline), 0.001)
    with client.messages.stream(
        model=request.model, max_tokens=request.max_tokens, messages=messages, system=system, timeout=timeout
    ) as stream:
        for _event in stream:
            if stop.is_set():  # the deadline passed: leaving the block closes the stream
                raise stopped("anthropic")
        return stream.get_final_message()


def _message_param(turn: Turn) -> MessageParam:
    if turn.role == "user":
        return UserMessageParam(role="user", content=turn.content)
    return AssistantMessageParam(role="assistant", content=turn.content)


def _is_mid_stream_retryable(err: anthropic.APIStatusError) -> bool:
    # A status below 400 means the HTTP exchange succeeded and the error came as an SSE event.
    return err.status_code < 400 and err.type in _RETRYABLE_TYPES


def _claude_error(err: anthropic.APIError) -> ClaudeError:
    if isinstance(err, anthropic.APIConnectionError):  # includes APITimeoutError
        return RetryableClaudeError(f"anthropic: {type(err).__name__}: {err.message}")
    if not isinstance(err, anthropic.APIStatusError):
        return FatalClaudeError(f"anthropic: unexpected response: {err.message}")
    where = f"HTTP {err.status_code}" if err.status_code >= 400 else "stream error"
    reason = f"anthropic {where} {err.type or 'error'}: {err.api_message or err.message}"
    if err.request_id:
        reason += f" (request-id {err.request_id})"
    # 408 and 409 are the SDK's own transient cases (request and lock timeouts).
    if err.status_code in (408, 409, 429) or err.status_code >= 500 or err.type in _RETRYABLE_TYPES:
        return RetryableClaudeError(reason)
    return FatalClaudeError(reason)
