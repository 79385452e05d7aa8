"""What this deployment can run: the backends it offers, whether it has an Anthropic key, the models allowed.

A task that asks for anything else would be accepted and then fail in the
worker (or, for `anthropic` without a key, retry for a minute and fail); the API
and the worker's `task.create` refuse it up front, saying what is offered.
Strict request values shared by the HTTP bodies and queue messages live here too.
"""

from __future__ import annotations

from pydantic import ConfigDict

from claude_tasks.core.config import Settings
from claude_tasks.core.errors import DomainError
from claude_tasks.core.records import TaskLimits


class NotOffered(DomainError):
    """The task names a backend or model this deployment does not run (422, naming the field)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class StrictLimits(TaskLimits):
    """`limits` as a caller sends it: numbers must be JSON numbers (`true` or `"5"` is refused, not coerced)."""

    model_config = ConfigDict(strict=True)


def check_offered(settings: Settings, backend: str | None, model: str | None) -> None:
    """Pass when the task can run here: its backend (or the default) is enabled, `anthropic` has a key
    configured, and a model it names is in the allow-list. Raises `NotOffered` saying what is offered."""
    name = (backend or settings.claude_backend).strip().lower()
    offered = ", ".join(sorted(settings.backends))
    if name not in settings.backends:
        raise NotOffered("backend", f"backend {name!r} is not offered by this deployment; choose one of: {offered}")
    if name == "anthropic" and not settings.anthropic_key_configured:
        others = ", ".join(sorted(settings.backends - {"anthropic"})) or "none"
        raise NotOffered(
            "backend",
            "backend 'anthropic' needs an Anthropic API key and this deployment has none: locally, start "
            "`make dev` with ANTHROPIC_API_KEY set; in AWS, put the key in the AnthropicApiKeySecret and deploy "
            f"with AnthropicKeyConfigured=true. Backends that run now: {others}",
        )
    if model is not None and model not in settings.models:
        raise NotOffered(
            "model", f"model {model!r} is not offered by this deployment; choose one of: {', '.join(settings.models)}"
        )
