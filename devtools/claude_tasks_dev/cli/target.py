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
    # Where the token (locally: the principal) came from, for messages: --token, CLAUDE_TASKS_TOKEN, the default.
    principal_from: str = "given"
    # The stack file the local stack's address was read from.
    stack_file: Path | None = None

    def refused(self, status: int) -> str:
        """What to say when the API refused the token (401): whose it was, where it came from, what to do."""
        if self.stack is not None or urlparse(self.api_url).hostname in _LOOPBACK:
            return (
                f"HTTP {status}: {self.api_url} refused principal {self.token!r} ({self.principal_from}): locally the "
                "token is a principal's name, 1-128 letters, digits or ._@+:- (e.g. --token alice)"
            )
        shown = (
            f"{self.token[:10]}… ({len(self.token)} characters)" if self.token and len(self.token) > 16 else self.token
        )
        return (
            f"HTTP {status}: {self.api_url} refused the token {shown!r} ({self.principal_from}): it may have expired "
            "or be for another deployment; get a fresh one (docs/deploy.md) and pass it with --token or "
            "CLAUDE_TASKS_TOKEN"
        )

    def unreachable(self, reason: object) -> str:
        """What to say when nothing answers at `api_url`: for a refused connection to the local stack, that it
        is not running (a slow stack is only "cannot reach")."""
        if self.stack is None or not isinstance(reason, ConnectionRefusedError):
            return f"cannot reach {self.api_url}: {reason}"
        return (
            f"the local stack is not running: {self.api_url} refused the connection, the address "
            f"{self.stack_file or 'its stack file'} names — left behind by a stack that did not stop cleanly? "
            "Start it with `make dev` (or pass --api-url)"
        )


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
    source = "from --token" if token else "from CLAUDE_TASKS_TOKEN" if env.get("CLAUDE_TASKS_TOKEN") else None
    token = token or env.get("CLAUDE_TASKS_TOKEN")
    if source is None:
        source = "the default: your login name, $USER"
    if api_url:
        parsed = urlparse(api_url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise UsageError(f"--api-url must be an http(s) URL, not {api_url!r}")
        if not token and parsed.hostname not in _LOOPBACK:
            raise UsageError("a deployed API needs a token: pass --token or set CLAUDE_TASKS_TOKEN")
        return Target(api_url, token or local_user(env), principal_from=source)
    path = find_stack_file(stack_file, env)
    if path is None or not path.is_file():
        raise Unreachable(_no_stack(path, stack_file))
    try:
        stack = json.loads(path.read_text())
        url = str(stack["api_url"])
    except (OSError, ValueError, KeyError) as err:
        raise Unreachable(f"{path} is not a stack file ({err}): restart `make dev`") from err
    return Target(url, token or local_user(env), stack, principal_from=source, stack_file=path)


def _no_stack(path: Path | None, stack_file: str | None) -> str:
    start = "start one with `make dev`, or pass --api-url"
    if path is None:
        return f"no local stack is running (no {STACK_FILE} here, in a folder above, or in the checkout): {start}"
    given = "--stack-file" if stack_file else "CLAUDE_TASKS_STACK_FILE"
    return f"no local stack is running: there is no stack file at {path} (from {given}): {start}"
