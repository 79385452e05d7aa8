"""Git as the tests drive it: a fixed identity, never the machine's configuration, output stripped."""

from __future__ import annotations

import subprocess
from pathlib import Path


def git(cwd: Path, *args: str) -> str:
    """Run git in `cwd`; returns its output (raises `CalledProcessError` if it fails)."""
    done = subprocess.run(  # noqa: S603 - a test's own git calls, no shell
        ["git", "-c", "user.name=Test", "-c", "user.email=test@example.com", "-C", str(cwd), *args],  # noqa: S607
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()
