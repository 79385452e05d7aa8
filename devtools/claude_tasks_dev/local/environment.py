"""The functions' environment for a local run: the template's own variables, the local resources, a Claude backend.

Handlers read their configuration through `claude_tasks.core.config.get_settings()`
(cached on first use), so the stack sets `os.environ` before loading them.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any

from claude_tasks.core.config import Settings
from claude_tasks_dev.checkout import FAKE_CREDENTIALS

LOCAL_ADMIN = "admin"


# The settings that name a local resource: always the stack's, whatever the developer's shell says.
RESOURCE_FIELDS = (
    "aws_endpoint_url",
    "region",
    "sessions_table",
    "tasks_table",
    "interactions_table",
    "claude_sessions_table",
    "transcripts_table",
    "usage_table",
    "audit_table",
    "task_queue_url",
    "dlq_url",
    "content_bucket",
    "anthropic_secret_id",
    "event_bus_name",
)


class BackendUnavailable(Exception):
    """The configured Claude backend cannot run in the local stack; the message says why."""


@dataclass(frozen=True)
class BackendChoice:
    """Which Claude the local worker calls, why, and the API key to store in the local secret (if any)."""

    name: str
    reason: str
    api_key: str | None = None


def claude_code_installed() -> bool:
    """Whether `claude-agent-sdk` (the `claude-code` extra, with its CLI) can be imported here."""
    return importlib.util.find_spec("claude_agent_sdk") is not None


def choose_backend(env: Mapping[str, str]) -> BackendChoice:
    """`CLAUDE_BACKEND` if set; else `anthropic` when `ANTHROPIC_API_KEY` is set; else `offline`.

    Raises BackendUnavailable for `anthropic` or `claude-code` without a key, `claude-code` without its
    SDK, and for `bedrock`: its client is sent to `AWS_ENDPOINT_URL`, which locally is moto, not Bedrock.
    """
    key = env.get("ANTHROPIC_API_KEY") or None
    requested = env.get("CLAUDE_BACKEND", "").strip().lower()
    if requested == "bedrock":
        raise BackendUnavailable(
            "CLAUDE_BACKEND=bedrock cannot run locally yet: the Bedrock client uses AWS_ENDPOINT_URL, "
            "which here is the embedded moto endpoint. Use ANTHROPIC_API_KEY or the offline model."
        )
    if requested == "anthropic" or (not requested and key):
        if not key:
            raise BackendUnavailable("CLAUDE_BACKEND=anthropic needs ANTHROPIC_API_KEY in the environment")
        return BackendChoice("anthropic", "ANTHROPIC_API_KEY is set: real Claude, billed to that key", key)
    if requested == "claude-code":
        return _claude_code(key)
    if requested not in ("", "offline"):
        raise BackendUnavailable(
            f"unknown CLAUDE_BACKEND {requested!r}: use anthropic, bedrock, claude-code or offline"
        )
    return BackendChoice("offline", "no ANTHROPIC_API_KEY: canned replies that say they are offline, cost nothing")


def _claude_code(key: str | None) -> BackendChoice:
    if not claude_code_installed():
        raise BackendUnavailable(
            "CLAUDE_BACKEND=claude-code needs claude-agent-sdk: install the extra with "
            "`.venv/bin/pip install -e '.[claude-code]'` (make dev's venv has it)"
        )
    if not key:
        raise BackendUnavailable("CLAUDE_BACKEND=claude-code needs ANTHROPIC_API_KEY in the environment")
    return BackendChoice("claude-code", "the Claude Code CLI in each session's project, billed to that key", key)


def offered_backends(backend: BackendChoice) -> str:
    """What this stack can run: never bedrock (its client would reach moto), anthropic only with a key, and
    claude-code where its SDK is installed (without a key, the API refuses its tasks saying so)."""
    names = [
        "offline",
        *(["anthropic"] if backend.api_key else []),
        *(["claude-code"] if claude_code_installed() else []),
    ]
    return ",".join(sorted(names))


def function_environment(template: dict[str, Any], settings: Settings, backend: BackendChoice) -> dict[str, str]:
    """What Lambda would set from the template's `Globals` variables, pointed at the local resources.

    A literal or a parameter's default is taken as is; a reference to a resource
    becomes the local name of it from `settings`.
    """
    variables = template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    parameters = template.get("Parameters", {})
    env: dict[str, str] = {}
    for name, value in variables.items():
        if isinstance(value, dict) and "Ref" in value:
            if value["Ref"] in parameters:
                env[name] = str(parameters[value["Ref"]].get("Default", ""))
        elif not isinstance(value, dict):
            env[name] = str(value)
    env.update(_settings_environment(settings))
    env["CLAUDE_BACKEND"] = backend.name
    env["AWS_DEFAULT_REGION"] = settings.region
    env["ENABLED_BACKENDS"] = offered_backends(backend)
    env["ANTHROPIC_KEY_CONFIGURED"] = "true" if backend.api_key else "false"
    return env


def _settings_environment(settings: Settings) -> dict[str, str]:
    """The resource names and endpoint of `settings`, under the variable names `Settings` reads."""
    env = {}
    for name in RESOURCE_FIELDS:
        value = getattr(settings, name)
        if value is not None:
            env[_alias(name)] = str(value)
    return env


def _alias(field: str) -> str:
    return str(Settings.model_fields[field].validation_alias)


def use_fake_credentials(env: MutableMapping[str, str]) -> None:
    """Replace any AWS identity with moto's fake one, so a local run can never write to a real account."""
    env.pop("AWS_PROFILE", None)
    env.update(FAKE_CREDENTIALS)


def apply_environment(env: MutableMapping[str, str], function_env: Mapping[str, str]) -> None:
    """Set the functions' variables in `env`; the developer's own settings win for tuning knobs.

    The resources, endpoint and backend are always the stack's. The admin
    principal `admin` is added to any the developer named.
    """
    owned = {_alias(name) for name in RESOURCE_FIELDS} | {
        "CLAUDE_BACKEND",
        "AWS_DEFAULT_REGION",
        "ENABLED_BACKENDS",
        "ANTHROPIC_KEY_CONFIGURED",
    }
    for name, value in function_env.items():
        if name in owned or name not in env:
            env[name] = value
    admins = {p.strip() for p in env.get("ADMIN_PRINCIPALS", "").split(",") if p.strip()}
    env["ADMIN_PRINCIPALS"] = ",".join(sorted(admins | {LOCAL_ADMIN}))
    # The janitor's EMF metrics would flood the terminal.
    env.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    # moto serves one request at a time and each scan page costs it time in proportion to the whole
    # table: small pages let other calls in between, and the full check (started every
    # --full-check-interval) takes half a second a run, one segment at a time, so the emulator is
    # never held for seconds.
    env.setdefault("AUDIT_PAGE_SIZE", "100")
    env.setdefault("AUDIT_BUDGET_S", "0.5")
    env.setdefault("AUDIT_SEGMENTS", "1")
