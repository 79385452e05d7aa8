"""What this deployment offers its caller: who they are, the backends and models a task may name, the maxima.

The console builds its forms from this, so a choice it offers is one the API accepts
(`claude_tasks.core.offer.check_offered` refuses the rest with a 422).
"""

from __future__ import annotations

from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import BaseModel, Field

from claude_tasks.core import limits, paths
from claude_tasks.core.config import Settings, get_settings
from claude_tasks.core.offer import AGENT_BACKEND, KEYED_BACKENDS
from claude_tasks.core.records import PermissionMode, Workspace

from problems import documented
from routes.params import Owner

router = APIGatewayHttpRouter()  # type: ignore[no-untyped-call]  # Powertools leaves __init__ unannotated

# The offline model answers whatever model a task names; it names none of its own.
MODEL_FREE_BACKENDS = frozenset({"offline"})


class BackendOffer(BaseModel):
    name: str
    models: list[str] = Field(description="The model ids a task on this backend may name; empty: none to choose.")
    default_model: str | None = Field(description="The model used when a task names none; null: no choice.")


class Capabilities(BaseModel):
    principal: str = Field(description="The caller, as the authorizer named them: every read and write is theirs.")
    admin: bool = Field(description="Whether the caller may read the consistency report and the dead-letter queue.")
    backends: list[BackendOffer] = Field(description="The backends a task may name here, runnable now.")
    default_backend: str = Field(description="The backend a task that names none runs on.")
    limits: dict[str, int] = Field(description="The maxima the API accepts, by field (prompt in characters).")
    permission_modes: list[str] = Field(
        description="The Claude Code permission modes a claude-code task may ask for here."
    )
    workspaces: list[str] = Field(description="Where a claude-code task may work: the project or its own worktree.")


def capabilities_of(settings: Settings, owner: str) -> Capabilities:
    """What `owner` may ask of a deployment configured by `settings`: only what `check_offered` lets through."""
    runnable = sorted(
        name for name in settings.backends if name not in KEYED_BACKENDS or settings.anthropic_key_configured
    )
    offers = [
        BackendOffer(name=name, models=[], default_model=None)
        if name in MODEL_FREE_BACKENDS
        else BackendOffer(name=name, models=list(settings.models), default_model=settings.claude_model)
        for name in runnable
    ]
    modes = [
        mode.value
        for mode in PermissionMode
        if mode is not PermissionMode.BYPASS_PERMISSIONS or settings.allow_bypass_permissions
    ]
    return Capabilities(
        principal=owner,
        admin=owner in settings.admins,
        backends=offers,
        default_backend=settings.claude_backend,
        limits={
            "max_prompt_chars": settings.max_prompt_chars,
            "max_prompt_bytes": limits.MAX_PROMPT_BYTES,
            "max_tokens": limits.MAX_REPLY_TOKENS,
            "max_turns": 1000,  # TaskLimits.max_turns' bound
            "max_title_chars": limits.MAX_TITLE_CHARS,
            "max_name_chars": limits.MAX_NAME_CHARS,
            "max_system_bytes": limits.MAX_SYSTEM_BYTES,
            "max_project_path_chars": paths.MAX_PATH_CHARS,
            "max_tool_rules": limits.MAX_TOOL_RULES,
            "page_size": 100,  # Limit's bound on every list
        },
        permission_modes=modes if AGENT_BACKEND in runnable else [],
        workspaces=[w.value for w in Workspace] if AGENT_BACKEND in runnable else [],
    )


@router.get(
    "/capabilities",
    operation_id="getCapabilities",
    summary="What this deployment offers the caller: backends, models, limits, and whether they are an admin",
    tags=["meta"],
    responses=documented(200, "The caller's capabilities."),
)
def capabilities(owner: Owner) -> Capabilities:
    return capabilities_of(get_settings(), owner)
