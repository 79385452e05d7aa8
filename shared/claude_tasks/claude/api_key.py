"""The Anthropic API key, read from Secrets Manager and cached: shared by the backends that send it.

Its own module so that Claude Code, which hands the key to the CLI, need not import the
`anthropic` SDK (~0.7 s) to read it.
"""

from __future__ import annotations

import json
import threading

from aws_lambda_powertools.utilities.parameters import SecretsProvider
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError
from botocore.exceptions import ClientError

from claude_tasks.claude.base import FatalClaudeError, RetryableClaudeError
from claude_tasks.core.clients import make_client
from claude_tasks.core.config import Settings

SECRET_MAX_AGE_S = 300
# What the local stack (and an operator following its lead) stores when there is no key.
PLACEHOLDER_KEY = "not-set"  # noqa: S105 - a marker, not a secret
# Secrets Manager answers that no retry can change.
_FATAL_SECRET_CODES = frozenset({"ResourceNotFoundException", "AccessDeniedException", "DecryptionFailure"})


class ApiKeySource:
    """The key named by `settings.anthropic_secret_id`; `backend` names who asks, in error messages."""

    def __init__(self, settings: Settings, backend: str) -> None:
        self._settings = settings
        self._backend = backend
        self._lock = threading.Lock()
        self._secrets: SecretsProvider | None = None

    def get(self) -> str:
        """The current key. Cached by Powertools for `SECRET_MAX_AGE_S`: one Secrets Manager call per
        container per 5 min, and a rotated key is seen within that time.

        Raises `FatalClaudeError` for a missing, unreadable or placeholder secret and
        `RetryableClaudeError` when Secrets Manager could not answer.
        """
        with self._lock:
            if self._secrets is None:
                self._secrets = SecretsProvider(boto3_client=make_client("secretsmanager", self._settings))
            secrets = self._secrets
        secret_id = self._settings.anthropic_secret_id
        try:
            value = secrets.get(secret_id, max_age=SECRET_MAX_AGE_S)
        except GetParameterError as err:
            cause = err.__context__
            code = cause.response.get("Error", {}).get("Code") if isinstance(cause, ClientError) else None
            error = FatalClaudeError if code in _FATAL_SECRET_CODES else RetryableClaudeError
            raise error(f"{self._backend}: cannot read the API key secret {secret_id!r}: {err}") from err
        return self._key_from(value, secret_id)

    def _key_from(self, value: object, secret_id: str) -> str:
        """The key from a secret holding either the raw key or JSON `{"api_key": "..."}`."""
        text = (value.decode() if isinstance(value, bytes) else str(value or "")).strip()
        if text.startswith("{"):
            try:
                text = str(json.loads(text).get("api_key") or "").strip()
            except (ValueError, AttributeError):
                text = ""
        if not text:
            raise FatalClaudeError(
                f"{self._backend}: secret {secret_id!r} holds no API key (raw key or {{'api_key': ...}})"
            )
        if text == PLACEHOLDER_KEY:
            # Never sent to Anthropic: it is the value a deployment without a key holds, not a key.
            raise FatalClaudeError(
                f"{self._backend}: no API key is configured (secret {secret_id!r} holds the placeholder "
                f"{PLACEHOLDER_KEY!r}): put the key with "
                f"`aws secretsmanager put-secret-value --secret-id {secret_id} --secret-string sk-ant-...`"
            )
        return text
