"""What both development tools know about a checkout and its local stack (neither imports the other)."""

from __future__ import annotations

import getpass
from collections.abc import Mapping
from pathlib import Path

# Where a running local stack describes itself, relative to the folder it runs in.
STACK_FILE = Path(".local") / "stack.json"

# moto's fake identity: the local stack and anything reading its resources directly use it.
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",  # noqa: S105 - not a secret: moto's fake identity
    "AWS_SESSION_TOKEN": "local",  # noqa: S105
}


def repo_root() -> Path:
    """The checkout's root: the folder holding `template.yaml`, above this package.

    Raises FileNotFoundError for an installed package (no checkout around it).
    """
    for folder in Path(__file__).resolve().parents:
        if (folder / "template.yaml").is_file():
            return folder
    raise FileNotFoundError("template.yaml not found above the claude_tasks_dev package")


def local_user(env: Mapping[str, str]) -> str:
    """The principal a local run acts as by default: the login name, else `developer`."""
    try:
        return env.get("USER") or getpass.getuser() or "developer"
    except (OSError, KeyError):
        return "developer"
