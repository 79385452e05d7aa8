"""What every new task goes through, whichever edge it came from (the API, or `task.create` on the queue).

The prompt within its limit, the backend, model and Claude Code options offered by this deployment,
and a claude-code task that names no MCP servers given its session's.
"""

from __future__ import annotations

from claude_tasks.core import limits
from claude_tasks.core.offer import AGENT_BACKEND, check_agent_options, check_offered, effective_backend
from claude_tasks.core.records import NewTask
from claude_tasks.store import Store


def admitted(store: Store, owner: str, session_id: str, new: NewTask) -> NewTask:
    """`new` as it will be created, its session's defaults applied.

    Raises `PromptTooLarge`, `NotOffered` (a backend, model or Claude Code option this deployment does
    not run), and `SessionNotFound` only when the defaults had to be read: the create's own
    transaction checks the session in any case.
    """
    settings = store.settings
    limits.check_prompt(new.prompt, settings.max_prompt_chars)
    check_offered(settings, new.backend, new.model)
    check_agent_options(settings, new.backend, new.agent)
    if new.agent.mcp_servers is not None or effective_backend(settings, new.backend) != AGENT_BACKEND:
        return new
    servers = store.sessions.get(owner, session_id).mcp_servers
    if servers is None:
        return new
    return new.model_copy(update={"agent": new.agent.model_copy(update={"mcp_servers": servers})})
