"""What this deployment can run: the backends it offers, whether it has an Anthropic key, the models allowed,
and the Claude Code options a task may ask for.

A task that asks for anything else would be accepted and then fail in the
worker (or, for `anthropic` without a key, retry for a minute and fail); the API
and the worker's `task.create` refuse it up front, saying what is offered.
Strict request values shared by the HTTP bodies and queue messages live here too.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any

from pydantic import AfterValidator, ConfigDict, Field
from pydantic_core import PydanticCustomError

from claude_tasks.core.config import Settings
from claude_tasks.core.errors import DomainError
from claude_tasks.core.limits import (
    MAX_MCP_SERVER_NAME_CHARS,
    MAX_MCP_SERVERS,
    MAX_MCP_SERVERS_CHARS,
    MAX_TOOL_RULE_CHARS,
    MAX_TOOL_RULES,
)
from claude_tasks.core.records import AgentOptions, McpServer, PermissionMode, TaskLimits

# The backend that runs Claude Code, the only one the options of `AgentOptions` mean anything to.
AGENT_BACKEND = "claude-code"
# The backends that send the deployment's Anthropic API key.
KEYED_BACKENDS = frozenset({"anthropic", AGENT_BACKEND})

# A tool (`Read`, `mcp__github__get_issue`, `mcp__github__*`), optionally with a rule (`Bash(git diff:*)`).
# The CLI splits its tool lists on commas and spaces outside parentheses: a rule's own parentheses are
# the only ones it may have.
_TOOL_RULE = re.compile(r"[A-Za-z][A-Za-z0-9_*-]*(\([^()\x00-\x1f\x7f]+\))?")
_MCP_SERVER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")


class NotOffered(DomainError):
    """The task names a backend, model or option this deployment does not run (422, naming the field)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class StrictLimits(TaskLimits):
    """`limits` as a caller sends it: numbers must be JSON numbers (`true` or `"5"` is refused, not coerced)."""

    model_config = ConfigDict(strict=True)


class StrictMcpServer(McpServer):
    """An MCP server as a caller sends it: strict types, and a remote server's `url` is http(s)."""

    model_config = ConfigDict(strict=True)

    url: str | None = Field(None, min_length=1, max_length=2048, pattern=r"^https?://")


def _tool_rule(value: str) -> str:
    if len(value) > MAX_TOOL_RULE_CHARS or not _TOOL_RULE.fullmatch(value):
        raise PydanticCustomError(
            "tool_rule",
            "must be a tool name such as `Read` or `mcp__github__get_issue`, or a permission rule such as "
            "`Bash(git diff:*)` (at most {limit} characters; inside the parentheses no parentheses or control "
            "characters)",
            {"limit": MAX_TOOL_RULE_CHARS},
        )
    return value


def _server_name(value: str) -> str:
    if len(value) > MAX_MCP_SERVER_NAME_CHARS or not _MCP_SERVER_NAME.fullmatch(value):
        raise PydanticCustomError(
            "mcp_server_name",
            "an MCP server's name is 1 to {limit} letters, digits, `_` or `-`, starting with a letter or digit "
            "(Claude Code names its tools `mcp__<name>__<tool>`)",
            {"limit": MAX_MCP_SERVER_NAME_CHARS},
        )
    return value


def _small_config(value: dict[str, StrictMcpServer]) -> dict[str, StrictMcpServer]:
    # The servers live inside the task (and session) item: bound them well below DynamoDB's 400 KB.
    if len(json.dumps({name: s.model_dump(mode="json") for name, s in value.items()})) > MAX_MCP_SERVERS_CHARS:
        raise ValueError(f"mcp_servers must serialise to at most {MAX_MCP_SERVERS_CHARS} characters of JSON")
    return value


def _names_as_property_names(schema: dict[str, Any]) -> None:
    # pydantic documents a key pattern as `patternProperties`, which would let any other name through.
    for pattern, server in schema.pop("patternProperties", {}).items():
        schema["additionalProperties"] = server
        schema["propertyNames"] = {**schema.get("propertyNames", {}), "pattern": pattern}


ToolRule = Annotated[
    str,
    AfterValidator(_tool_rule),
    Field(json_schema_extra={"pattern": f"^{_TOOL_RULE.pattern}$", "maxLength": MAX_TOOL_RULE_CHARS}),
]
ToolRules = Annotated[list[ToolRule], Field(max_length=MAX_TOOL_RULES)]
McpServerName = Annotated[
    str,
    AfterValidator(_server_name),
    Field(json_schema_extra={"pattern": f"^{_MCP_SERVER_NAME.pattern}$", "maxLength": MAX_MCP_SERVER_NAME_CHARS}),
]
McpServers = Annotated[
    dict[McpServerName, StrictMcpServer],
    Field(max_length=MAX_MCP_SERVERS, json_schema_extra=_names_as_property_names),
    AfterValidator(_small_config),
]


def effective_backend(settings: Settings, backend: str | None) -> str:
    """The backend a task runs on: its own, else the deployment's default."""
    return (backend or settings.claude_backend).strip().lower()


def check_offered(settings: Settings, backend: str | None, model: str | None) -> None:
    """Pass when the task can run here: its backend (or the default) is enabled, one that sends the Anthropic
    API key has one configured, and a model it names is in the allow-list. Raises `NotOffered` saying what
    is offered."""
    name = effective_backend(settings, backend)
    offered = ", ".join(sorted(settings.backends))
    if name not in settings.backends:
        raise NotOffered("backend", f"backend {name!r} is not offered by this deployment; choose one of: {offered}")
    if name in KEYED_BACKENDS and not settings.anthropic_key_configured:
        others = ", ".join(sorted(settings.backends - KEYED_BACKENDS)) or "none"
        raise NotOffered(
            "backend",
            f"backend {name!r} needs an Anthropic API key and this deployment has none: locally, start "
            "`make dev` with ANTHROPIC_API_KEY set; in AWS, put the key in the AnthropicApiKeySecret and deploy "
            f"with AnthropicKeyConfigured=true. Backends that run now: {others}",
        )
    if model is not None and model not in settings.models:
        raise NotOffered(
            "model", f"model {model!r} is not offered by this deployment; choose one of: {', '.join(settings.models)}"
        )


def check_agent_options(settings: Settings, backend: str | None, agent: AgentOptions) -> None:
    """Pass when the task's Claude Code options can apply: it sets none, or it runs on `claude-code`; and it
    asks for `bypassPermissions` only where the deployment allows it. Raises `NotOffered` naming the field."""
    sent = list(agent.model_dump(exclude_defaults=True))
    name = effective_backend(settings, backend)
    if sent and name != AGENT_BACKEND:
        how = (
            f'send "backend": "{AGENT_BACKEND}"'
            if AGENT_BACKEND in settings.backends
            else f"this deployment does not offer {AGENT_BACKEND}"
        )
        raise NotOffered(
            sent[0],
            f"{', '.join(sent)} only apply to the {AGENT_BACKEND} backend, and this task would run on {name!r}: "
            f"{how}, or leave them out",
        )
    if agent.permission_mode is PermissionMode.BYPASS_PERMISSIONS and not settings.allow_bypass_permissions:
        raise NotOffered(
            "permission_mode",
            "permission_mode 'bypassPermissions' lets Claude Code run every tool without asking, and this "
            "deployment does not allow it: choose acceptEdits (the default), default, plan or dontAsk, or have an "
            "operator set ALLOW_BYPASS_PERMISSIONS=true in the functions' environment (template.yaml's Globals; "
            "locally, in the shell that runs `make dev`)",
        )


def check_session_defaults(settings: Settings, mcp_servers: dict[str, McpServer] | None) -> None:
    """Pass when a session's task defaults can apply: it has none, or the deployment offers `claude-code`,
    the only backend they mean anything to. Raises `NotOffered` naming the field."""
    if mcp_servers is not None and AGENT_BACKEND not in settings.backends:
        raise NotOffered(
            "mcp_servers",
            f"mcp_servers are defaults for {AGENT_BACKEND} tasks, and this deployment does not offer "
            f"{AGENT_BACKEND} (it offers {', '.join(sorted(settings.backends))}): leave them out",
        )
