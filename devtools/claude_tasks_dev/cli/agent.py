"""Claude Code's per-task options from the command line, as the API's bodies take them.

`--tools Read,Edit,Bash(git diff:*)` is split on the commas outside parentheses, as
Claude Code splits its own `--allowedTools`; `--mcp-config` reads a file in Claude
Code's `.mcp.json` shape (`{"mcpServers": {...}}`) or a plain name-to-server object.
The API validates the rest and says what it refuses.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from claude_tasks_dev.cli.client import UsageError

PERMISSION_MODES = ("default", "acceptEdits", "plan", "dontAsk", "bypassPermissions")


def add_options(parser: argparse.ArgumentParser) -> None:
    """`run`'s options for a claude-code task, and the run limits any task may have."""
    group = parser.add_argument_group("Claude Code (--backend claude-code)")
    group.add_argument(
        "--tools",
        action="append",
        metavar="LIST",
        help="tools Claude Code may use without asking, comma-separated: Read,Edit,Bash(git diff:*)",
    )
    group.add_argument("--disallowed-tools", action="append", metavar="LIST", help="tools it may not use")
    group.add_argument("--permission-mode", choices=PERMISSION_MODES, help="default for claude-code: acceptEdits")
    group.add_argument("--worktree", action="store_true", help="work in a git worktree of the project of its own")
    mcp_config_option(group, "MCP servers it may use (default: the session's)")
    limits = parser.add_argument_group("run limits")
    limits.add_argument("--max-turns", type=int, metavar="N", help="stop a run after N turns")
    limits.add_argument("--max-budget-usd", type=float, metavar="X", help="stop a run once it has cost X USD")
    limits.add_argument(
        "--max-run-tokens", type=int, metavar="N", help="stop a run once it has used N tokens (limits.max_tokens)"
    )


def mcp_config_option(parser: argparse.ArgumentParser | argparse._ArgumentGroup, what: str) -> None:
    parser.add_argument(
        "--mcp-config", metavar="FILE", help=f'{what}: a JSON file, {{"mcpServers": {{...}}}} as in .mcp.json'
    )


def task_options(args: argparse.Namespace) -> dict[str, Any]:
    """The body fields `args` asks for; what was not given is left out."""
    limits = {"max_turns": args.max_turns, "max_tokens": args.max_run_tokens, "max_budget_usd": args.max_budget_usd}
    fields = {
        "allowed_tools": tool_list(args.tools),
        "disallowed_tools": tool_list(args.disallowed_tools),
        "permission_mode": args.permission_mode,
        "mcp_servers": read_mcp_config(args.mcp_config),
        "workspace": "worktree" if args.worktree else None,
        "limits": {k: v for k, v in limits.items() if v is not None} or None,
    }
    return {k: v for k, v in fields.items() if v is not None}


def tool_list(values: list[str] | None) -> list[str] | None:
    """`--tools` values (each comma-separated, the option repeatable) as one list; None when not given."""
    if values is None:
        return None
    tools: list[str] = []
    for value in values:
        depth, start = 0, 0
        for i, char in enumerate(value + ","):
            depth += {"(": 1, ")": -1}.get(char, 0)
            if char == "," and depth <= 0:
                tools.append(value[start:i].strip())
                start = i + 1
    return [tool for tool in tools if tool]


def read_mcp_config(path: str | None) -> dict[str, Any] | None:
    """The servers in the JSON file at `path`; None without one. Raises UsageError when it cannot be used."""
    if path is None:
        return None
    try:
        config = json.loads(Path(path).read_text())
    except OSError as err:
        raise UsageError(f"--mcp-config: cannot read {path}: {err.strerror}") from err
    except ValueError as err:
        raise UsageError(f"--mcp-config: {path} is not JSON: {err}") from err
    servers = config.get("mcpServers", config) if isinstance(config, dict) else None
    if not isinstance(servers, dict) or not all(isinstance(s, dict) for s in servers.values()):
        raise UsageError(f'--mcp-config: {path} must hold {{"mcpServers": {{"<name>": {{...}}}}}}')
    return servers
