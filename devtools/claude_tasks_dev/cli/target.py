"""Which service the CLI talks to, and as whom.

The local stack by default (its `.local/stack.json`, looked for in the current
folder and its parents, then in the checkout); a deployed API with `--api-url`
(or `CLAUDE_TASKS_API_URL`) and a token (`--token` or `CLAUDE_TASKS_TOKEN`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from claude_tasks_dev.checkout import STACK_FILE, local_user, repo_root
from claude_tasks_dev.cli.client import Unreachable, UsageError

_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


@dataclass(frozen=True)
class Target:
    api_url: str
    token: str | None
    # The local stack's stack.json; None for a deployed API.
    stack: dict[str, Any] | None = None


def find_stack_file(explicit: str | None, env: Mapping[str, str], cwd: Path | None = None) -> Path | None:
    if explicit or env.get("CLAUDE_TASKS_STACK_FILE"):
        return Path(explicit or env["CLAUDE_TASKS_STACK_FILE"])
    here = (cwd or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / STACK_FILE).is_file():
            return folder / STACK_FILE
    try:
        candidate = repo_root() / STACK_FILE
    except FileNotFoundError:
        return None  # an installed package, not a checkout
    return candidate if candidate.is_file() else None


def resolve(api_url: str | None, token: str | None, stack_file: str | None, env: Mapping[str, str]) -> Target:
    """The target from the flags, then the environment, then the local stack.

    Raises UsageError for a URL that is not http(s) or a remote API without a
    token, and Unreachable when no local stack is running.
    """
    api_url = api_url or env.get("CLAUDE_TASKS_API_URL")
    token = token or env.get("CLAUDE_TASKS_TOKEN")
    if api_url:
        parsed = urlparse(api_url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise UsageError(f"--api-url must be an http(s) URL, not {api_url!r}")
        if not token and parsed.hostname not in _LOOPBACK:
            raise UsageError("a deployed API needs a token: pass --token or set CLAUDE_TASKS_TOKEN")
        return Target(api_url, token or local_user(env))
    path = find_stack_file(stack_file, env)
    if path is None or not path.is_file():
        raise Unreachable(
            "no local stack is running (no .local/stack.json): start one with `make dev`, or pass --api-url"
        )
    try:
        stack = json.loads(path.read_text())
        url = str(stack["api_url"])
    except (OSError, ValueError, KeyError) as err:
        raise Unreachable(f"{path} is not a stack file ({err}): restart `make dev`") from err
    return Target(url, token or local_user(env), stack)
