"""Claude on Amazon Bedrock through the `bedrock-runtime` Converse API.

Credentials are the Lambda role's; `request.model` must be a Bedrock model id or
inference profile (e.g. `us.anthropic.claude-sonnet-4-5-20250929-v1:0`).
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError

from claude_tasks.claude.base import (
    ClaudeError,
    ClaudeReply,
    ClaudeRequest,
    FatalClaudeError,
    RetryableClaudeError,
)
from claude_tasks.claude.deadline import within
from claude_tasks.claude.pricing import cost_usd
from claude_tasks.core.clients import make_client
from claude_tasks.core.config import Settings
from claude_tasks.core.records import Usage

if TYPE_CHECKING:
    from mypy_boto3_bedrock_runtime import BedrockRuntimeClient
    from mypy_boto3_bedrock_runtime.type_defs import ConverseResponseTypeDef, MessageTypeDef

_RETRYABLE_CODES = frozenset(
    {
        "ThrottlingException",
        "ServiceUnavailableException",
        "ModelTimeoutException",
        "InternalServerException",
        "ModelNotReadyException",
    }
)
# Bedrock's equivalents of the Messages API's "refusal": the request will be refused again.
_REFUSALS = frozenset({"content_filtered", "guardrail_intervened"})


class BedrockBackend:
    """Calls Converse once per request; botocore's standard retry mode absorbs a brief throttle."""

    name = "bedrock"

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._client: BedrockRuntimeClient | None = None
        self._lock = threading.Lock()

    @property
    def client(self) -> BedrockRuntimeClient:
        """The `bedrock-runtime` client, built on first use (no AWS call at construction)."""
        with self._lock:
            if self._client is None:
                self._client = make_client("bedrock-runtime", self._settings, config=client_config(self._settings))
            return self._client

    def complete(self, request: ClaudeRequest) -> ClaudeReply:
        """Send the conversation to Converse and return its text reply.

        Raises `RetryableClaudeError` for throttling, unavailability, timeouts, connection
        errors and when `request.deadline` passes; `FatalClaudeError` for validation, access
        and other client errors, and when the reply was filtered or blocked by a guardrail.
        """
        messages: list[MessageTypeDef] = [
            {"role": turn.role, "content": [{"text": turn.content}]} for turn in request.conversation
        ]
        started = time.monotonic()
        # Omitted rather than empty: Converse documents no meaning for an empty system list.
        system: dict[str, Any] = {"system": [{"text": request.system}]} if request.system else {}
        client = self.client

        def converse(_stop: threading.Event | None = None) -> ConverseResponseTypeDef:
            return client.converse(
                modelId=request.model, messages=messages, inferenceConfig={"maxTokens": request.max_tokens}, **system
            )

        try:
            response = converse() if request.deadline is None else within(self.name, request.deadline, converse)
        except (ClientError, BotoCoreError) as err:
            raise _claude_error(err) from err
        return _reply(request, response, duration_ms=int((time.monotonic() - started) * 1000))


def client_config(settings: Settings) -> Config:
    """The client's bounds: `claude_timeout_s` per read (a Converse reply is one read) and one retry.

    The retry rides out a brief throttle; the request's deadline, enforced around the
    call, keeps the attempts together inside the worker's invocation.
    """
    return Config(
        connect_timeout=min(5.0, settings.claude_timeout_s),
        read_timeout=settings.claude_timeout_s,
        retries={"mode": "standard", "total_max_attempts": 2},
    )


def _reply(request: ClaudeRequest, response: ConverseResponseTypeDef, *, duration_ms: int) -> ClaudeReply:
    stop_reason = response["stopReason"]
    if stop_reason in _REFUSALS:
        raise FatalClaudeError(f"bedrock: the reply was blocked ({stop_reason})")
    blocks = response["output"].get("message", {}).get("content", [])
    raw = response["usage"]
    usage = Usage(
        input_tokens=raw["inputTokens"],
        output_tokens=raw["outputTokens"],
        cache_creation_input_tokens=raw.get("cacheWriteInputTokens", 0),
        cache_read_input_tokens=raw.get("cacheReadInputTokens", 0),
    )
    return ClaudeReply(
        content="".join(block.get("text", "") for block in blocks),
        usage=usage,
        stop_reason=stop_reason,
        model=request.model,
        duration_ms=duration_ms,
        claude_session_id=request.claude_session_id,
        cost_usd=cost_usd(request.model, usage),
    )


def _claude_error(err: ClientError | BotoCoreError) -> ClaudeError:
    if isinstance(err, BotoConnectionError | HTTPClientError):
        return RetryableClaudeError(f"bedrock: connection failed or timed out: {err}")
    if isinstance(err, BotoCoreError):
        # No credentials, bad parameters, …: configuration that a retry will not fix.
        return FatalClaudeError(f"bedrock: {err}")
    code = err.response.get("Error", {}).get("Code", "Unknown")
    status = err.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    message = err.response.get("Error", {}).get("Message", "")
    reason = f"bedrock {code}: {message}"
    if code in _RETRYABLE_CODES or status >= 500:
        return RetryableClaudeError(reason)
    return FatalClaudeError(reason)
