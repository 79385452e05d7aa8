"""Project paths: the working directory a session's Claude Code runs in, so accepted only in a safe form.

A path is accepted when it is absolute, has no `..` segment, no NUL or other
control character, no lone surrogate and is at most `MAX_PATH_CHARS` long; it is returned
normalised (no `.` segments, no repeated or trailing slashes). With a
configured root, it must also be that root or lie beneath it.
"""

from __future__ import annotations

import posixpath
import unicodedata

from claude_tasks.core.errors import DomainError

MAX_PATH_CHARS = 1024


class InvalidProjectPath(DomainError):
    """The project path is unsafe or outside the configured root."""

    field = "project_path"


def normalise(path: str) -> str:
    """`path` in normal form. Raises `InvalidProjectPath` when it breaks any rule in the module docstring."""
    if len(path) > MAX_PATH_CHARS:
        raise InvalidProjectPath(f"project_path is longer than {MAX_PATH_CHARS} characters")
    if any(unicodedata.category(char) == "Cc" for char in path):
        raise InvalidProjectPath("project_path must not contain NUL or other control characters")
    if any(unicodedata.category(char) == "Cs" for char in path):
        raise InvalidProjectPath("project_path must be valid Unicode (no lone surrogates)")
    if not path.startswith("/"):
        raise InvalidProjectPath("project_path must be absolute (start with /)")
    if ".." in path.split("/"):
        raise InvalidProjectPath("project_path must not contain '..' segments")
    # normpath keeps a leading "//" (POSIX leaves its meaning open): collapse it too.
    return "/" + posixpath.normpath(path).lstrip("/")


def confine(path: str, root: str | None) -> str:
    """`path` normalised, and — when `root` is set — required to be `root` or beneath it.

    Raises `InvalidProjectPath`.
    """
    normal = normalise(path)
    if root is None or not root.strip():
        return normal
    base = normalise(root)
    if normal != base and not normal.startswith(base.rstrip("/") + "/"):
        raise InvalidProjectPath(f"project_path must be inside {base}")
    return normal
