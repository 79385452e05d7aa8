"""Claude backends behind one interface, each imported only when selected.

`import anthropic` alone costs ~0.7 s, and the API Lambda never calls Claude, so
this package imports no backend module until `get_backend` asks for it.
"""

from __future__ import annotations

import importlib
import threading

from claude_tasks.claude.base import (
    ClaudeBackend,
    ClaudeError,
    ClaudeReply,
    ClaudeRequest,
    FatalClaudeError,
    RetryableClaudeError,
    Turn,
)
from claude_tasks.core.config import Settings

__all__ = [
    "BACKEND_NAMES",
    "ClaudeBackend",
    "ClaudeError",
    "ClaudeReply",
    "ClaudeRequest",
    "FatalClaudeError",
    "RetryableClaudeError",
    "Turn",
    "clear_backends",
    "get_backend",
]

# name -> (module, class); the module is imported on first selection only.
_REGISTRY: dict[str, tuple[str, str]] = {
    "anthropic": ("claude_tasks.claude.anthropic_backend", "AnthropicBackend"),
    "bedrock": ("claude_tasks.claude.bedrock_backend", "BedrockBackend"),
    "claude-code": ("claude_tasks.claude.claude_code", "ClaudeCodeBackend"),
    "offline": ("claude_tasks.claude.offline", "OfflineBackend"),
}
BACKEND_NAMES = frozenset(_REGISTRY)

_instances: dict[str, ClaudeBackend] = {}
# A worker runs a batch's records in threads: without the lock two could each build a client.
_lock = threading.Lock()


def get_backend(name: str, settings: Settings) -> ClaudeBackend:
    """The process-wide backend called `name` (case-insensitive), built with `settings` on first use.

    Later calls return the same instance whatever settings they pass. Raises
    `FatalClaudeError` for a name not in `BACKEND_NAMES`: a task naming an
    unknown backend can never run.
    """
    key = name.strip().lower()
    if key not in _REGISTRY:
        raise FatalClaudeError(f"unknown Claude backend {name!r}; expected one of {sorted(BACKEND_NAMES)}")
    with _lock:
        backend = _instances.get(key)
        if backend is None:
            module_name, class_name = _REGISTRY[key]
            try:
                backend_class = getattr(importlib.import_module(module_name), class_name)
            except ImportError as missing:
                # An optional extra not installed where this runs: no retry can change that.
                raise FatalClaudeError(f"backend {key!r} cannot run here: {missing}") from missing
            backend = _instances[key] = backend_class(settings)
    return backend


def clear_backends() -> None:
    """Forget every cached backend (tests, or after the settings change)."""
    with _lock:
        _instances.clear()
