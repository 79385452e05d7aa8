"""Claude on Amazon Bedrock through the `bedrock-runtime` Converse API.

Credentials are the Lambda role's; `request.model` must be a Bedrock model id or
inference profile (e.g. `us.anthropic.claude-sonnet-4-5-20250929-v1:0`).
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

import boto3
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
from claude_tasks.claude.pricing import cost_usd
from claude_tasks.config import Settings
from claude_tasks.domain import Usage

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
    """Calls Converse once per request; botocore's standard retry mode absorbs brief throttling."""

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
                config = Config(
                    connect_timeout=5,
                    # Claude's own timeout, so a stuck call ends before the worker Lambda does.
                    read_timeout=self._settings.claude_timeout_s,
                    retries={"mode": "standard", "max_attempts": 3},
                )
                self._client = boto3.client(
                    "bedrock-runtime",
                    region_name=self._settings.region,
                    endpoint_url=self._settings.aws_endpoint_url,
                    config=config,
                )
            return self._client

    def complete(self, request: ClaudeRequest) -> ClaudeReply:
        """Send the conversation to Converse and return its text reply.

        Raises `RetryableClaudeError` for throttling, unavailability, timeouts and
        connection errors; `FatalClaudeError` for validation, access and other
        client errors, and when the reply was filtered or blocked by a guardrail.
        """
        messages: list[MessageTypeDef] = [
            {"role": turn.role, "content": [{"text": turn.content}]} for turn in request.conversation
        ]
        started = time.monotonic()
        # Omitted rather than empty: Converse documents no meaning for an empty system list.
        system: dict[str, Any] = {"system": [{"text": request.system}]} if request.system else {}
        try:
            response = self.client.converse(
                modelId=request.model,
                messages=messages,
                inferenceConfig={"maxTokens": request.max_tokens},
                **system,
            )
        except (ClientError, BotoCoreError) as err:
            raise _claude_error(err) from err
        return _reply(request, response, duration_ms=int((time.monotonic() - started) * 1000))


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
