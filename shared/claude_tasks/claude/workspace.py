"""Where a Claude Code task works: the session's project directory, or its own git worktree of it.

A `workspace: worktree` task gets `<project>/.claude-tasks/worktrees/<task_id>` on
branch `claude-tasks/<task_id>`, made from HEAD on its first run and reused by its
follow-ups, so tasks of one session never clobber each other's files. The project's
tracked files are never changed: `.claude-tasks/` is ignored through the repository's
own `info/exclude`. Removing a worktree keeps its branch, so the task's commits stay.

Git runs without a shell, with a timeout, without prompts, hooks or transports: these
calls are bookkeeping and must neither wait on a person nor reach the network.
"""

from __future__ import annotations

import fcntl
import os
import re
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from claude_tasks.claude.base import FatalClaudeError
from claude_tasks.core.paths import InvalidProjectPath, confine
from claude_tasks.core.records import Workspace, Worktree

if TYPE_CHECKING:
    from claude_tasks.core.config import Settings

WORKTREES_DIR = Path(".claude-tasks", "worktrees")
BRANCH_PREFIX = "claude-tasks/"
_EXCLUDE_PATTERN = ".claude-tasks/"
_TASK_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}")
_QUERY_TIMEOUT_S = 15.0
_CHECKOUT_TIMEOUT_S = 120.0  # a checkout writes every tracked file
_ADD_ATTEMPTS = 4
_RETRY_PAUSE_S = 0.1
# Variables that would point git at another repository than the one `-C` names.
_REDIRECTING = ("GIT_DIR", "GIT_WORK_TREE", "GIT_COMMON_DIR", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY", "GIT_NAMESPACE")
_SAFE_CONFIG = ("-c", "core.hooksPath=/dev/null", "-c", "protocol.allow=never", "-c", "submodule.recurse=false")


class WorkspaceError(FatalClaudeError):
    """The task's working directory cannot be made or removed; `reason` says why and what to do."""


@dataclass(frozen=True)
class _Repository:
    """The git repository a project directory belongs to."""

    common_dir: Path
    prefix: str  # the project's path inside the repository, "" at its top, else ending in "/"
    head: str


def project_dir(project_path: str, settings: Settings, owner: str) -> Path:
    """The real directory of `owner`'s session's `project_path`, symlinks resolved.

    With `settings.projects_mount` set (the Claude Code worker in AWS), the project is
    `<mount>/<owner>/<project_path>`, made on first use, and must stay inside the owner's
    directory once symlinks are followed: no owner reaches another's files, whatever path
    they send. Otherwise it is the path itself; with `settings.project_root` set it must lie
    under that root, also once symlinks are followed. Raises `WorkspaceError` when the path
    is unsafe, escapes, does not exist or is not a directory.
    """
    if settings.projects_mount:
        return _mounted(project_path, Path(settings.projects_mount), owner)
    root = settings.project_root
    try:
        normal = confine(project_path, root)
    except InvalidProjectPath as error:
        raise WorkspaceError(f"the session's project path is refused: {error}") from error
    real = Path(normal).resolve()
    if root is not None and root.strip():
        real_root = Path(confine(root, None)).resolve()
        if not real.is_relative_to(real_root):
            raise WorkspaceError(
                f"the session's project directory {normal} resolves to {real}, outside PROJECT_ROOT {real_root}: "
                "open the session for a directory inside the root"
            )
    if not real.exists():
        raise WorkspaceError(
            f"the session's project directory {normal} does not exist: "
            "create it or open a session for an existing directory"
        )
    if not real.is_dir():
        raise WorkspaceError(f"the session's project path {normal} is not a directory: open the session for one")
    return real


def _mounted(project_path: str, mount: Path, owner: str) -> Path:
    if owner in ("", ".", "..") or not mount.is_dir():
        raise WorkspaceError(f"no project storage for owner {owner!r} at {mount}: is the file system mounted?")
    home = (mount / quote(owner, safe="")).resolve()
    try:
        relative = confine(project_path, None).lstrip("/")
    except InvalidProjectPath as error:
        raise WorkspaceError(f"the session's project path is refused: {error}") from error
    real = (home / relative).resolve()
    if not real.is_relative_to(home):
        raise WorkspaceError(f"the session's project path {project_path} leads outside the owner's projects")
    real.mkdir(parents=True, exist_ok=True)
    return real


def prepare(
    project: Path, task_id: str, workspace: Workspace, existing: Worktree | None
) -> tuple[Path, Worktree | None]:
    """The directory a task's run works in, and the worktree it is in (None in the project itself).

    For `Workspace.WORKTREE` it reuses `existing` while that is still a worktree of the
    project's repository; otherwise it checks out branch `claude-tasks/<task_id>` (made
    from HEAD unless it exists) at `<project>/.claude-tasks/worktrees/<task_id>`. Safe
    when tasks of one repository prepare at once. Raises `WorkspaceError` when the
    project is not a git repository with a commit, or git cannot make the worktree.
    """
    if workspace is Workspace.PROJECT:
        return project, None
    if not _TASK_ID.fullmatch(task_id):
        raise WorkspaceError(f"task id {task_id!r} cannot name a git branch: a worktree needs a plain id")
    repository = _repository(project)
    reusable = _own_path(project, existing.path) if existing is not None else None
    if existing is not None and reusable is not None and _is_worktree(reusable, repository):
        return _run_dir(reusable, repository), existing
    path = project / WORKTREES_DIR / task_id
    branch = BRANCH_PREFIX + task_id
    _exclude(repository)
    _add(project, repository, path, branch)
    return _run_dir(path, repository), Worktree(path=str(path), branch=branch)


def remove(project: Path, worktree: Worktree) -> None:
    """Remove the task's worktree directory, uncommitted changes and all; its branch and commits stay.

    Nothing to do when the project or the worktree is gone already. Raises `WorkspaceError`
    for a path that is not directly in `<project>/.claude-tasks/worktrees/` (the record
    was tampered with), or when git cannot remove an existing worktree.
    """
    path = _own_path(project, worktree.path)
    if path is None:
        raise WorkspaceError(
            f"refusing to remove {worktree.path!r}: a task's worktree lies directly in {project / WORKTREES_DIR}"
        )
    if not project.is_dir():
        return
    if path.exists():
        removed = _git(project, "worktree", "remove", "--force", str(path), timeout=_CHECKOUT_TIMEOUT_S)
        if removed.returncode != 0 and path.exists():
            raise WorkspaceError(f"git could not remove the worktree {path}: {_said(removed)}")
    # Clears the registration of a worktree whose directory was deleted by hand; failing
    # here (the project is no repository any more) leaves nothing behind worth reporting.
    _git(project, "worktree", "prune", timeout=_QUERY_TIMEOUT_S)


def _repository(project: Path) -> _Repository:
    found = _git(
        project, "rev-parse", "--show-toplevel", "--show-prefix", "--git-common-dir", "--verify", "-q", "HEAD^{commit}"
    )
    lines = found.stdout.splitlines()
    if found.returncode != 0 or len(lines) != 4:
        detail = f" (git: {_said(found)})" if found.stderr.strip() else ""
        raise WorkspaceError(f"workspace 'worktree' needs a git repository with a commit; {project} is not one{detail}")
    return _Repository(common_dir=(project / lines[2]).resolve(), prefix=lines[1], head=lines[3])


def _own_path(project: Path, path: str) -> Path | None:
    """`path` when it lies directly in the project's worktrees directory, and is no symlink; else None."""
    normal = Path(os.path.normpath(path))
    if not normal.is_absolute() or normal.parent != project / WORKTREES_DIR or normal.is_symlink():
        return None
    return normal


def _is_worktree(path: Path, repository: _Repository) -> bool:
    """Whether `path` is the top of a working tree of `repository` (one whose directory still exists)."""
    if not path.is_dir():
        return False
    found = _git(path, "rev-parse", "--show-toplevel", "--git-common-dir")
    lines = found.stdout.splitlines()
    return (
        found.returncode == 0
        and len(lines) == 2
        and Path(lines[0]).resolve() == path.resolve()
        and (path / lines[1]).resolve() == repository.common_dir
    )


def _run_dir(worktree: Path, repository: _Repository) -> Path:
    # A project below the repository's top works in the same subdirectory of its worktree,
    # which the checkout lacks when nothing in it is tracked.
    run_dir = worktree / repository.prefix
    run_dir.mkdir(parents=True, exist_ok=True)
    return run_dir


def _exclude(repository: _Repository) -> None:
    """Ignore `.claude-tasks/` in every worktree of the repository, through `info/exclude`, once."""
    exclude = repository.common_dir / "info" / "exclude"
    exclude.parent.mkdir(parents=True, exist_ok=True)
    with exclude.open("a+", encoding="utf-8") as file:
        # Held across read and append, so two tasks preparing at once add the line once.
        fcntl.flock(file, fcntl.LOCK_EX)
        file.seek(0)
        text = file.read()
        if _EXCLUDE_PATTERN not in text.splitlines():
            separator = "\n" if text and not text.endswith("\n") else ""
            file.write(f"{separator}# Claude Task Server: task worktrees\n{_EXCLUDE_PATTERN}\n")


def _add(project: Path, repository: _Repository, path: Path, branch: str) -> None:
    """Check `branch` out at `path`, making it from HEAD unless it exists.

    Retried: adds running at once in one repository can read each other's half-made
    worktrees and fail, and a run of the same task may be making this very one.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    failure = ""
    for attempt in range(_ADD_ATTEMPTS):
        if attempt:
            time.sleep(_RETRY_PAUSE_S * attempt)
            if _is_worktree(path, repository):
                return
            if not path.exists():
                # A registration whose directory was lost holds both the path and the branch.
                _git(project, "worktree", "prune", timeout=_QUERY_TIMEOUT_S)
        has_branch = _git(project, "rev-parse", "--verify", "-q", f"refs/heads/{branch}").returncode == 0
        source = [str(path), branch] if has_branch else ["-b", branch, str(path), repository.head]
        added = _git(project, "worktree", "add", "--quiet", *source, timeout=_CHECKOUT_TIMEOUT_S)
        if added.returncode == 0:
            return
        failure = _said(added)
    raise WorkspaceError(f"git could not make the worktree {path} on branch {branch}: {failure}")


def _git(cwd: Path, *args: str, timeout: float = _QUERY_TIMEOUT_S) -> subprocess.CompletedProcess[str]:
    """Run git in `cwd`; its exit status is the caller's to judge. Raises `WorkspaceError` if it cannot run or hangs."""
    env = {name: value for name, value in os.environ.items() if name not in _REDIRECTING}
    env |= {"GIT_TERMINAL_PROMPT": "0", "GIT_LFS_SKIP_SMUDGE": "1"}
    command = ["git", *_SAFE_CONFIG, "-C", str(cwd), *args]
    try:
        return subprocess.run(  # noqa: S603 - a fixed program and an argument list, no shell
            command, capture_output=True, text=True, timeout=timeout, env=env, stdin=subprocess.DEVNULL, check=False
        )
    except FileNotFoundError as error:
        raise WorkspaceError("git is not installed where the worker runs: workspace 'worktree' needs it") from error
    except subprocess.TimeoutExpired as error:
        raise WorkspaceError(f"git {args[0]} did not finish within {timeout:g} s in {cwd}") from error


def _said(result: subprocess.CompletedProcess[str]) -> str:
    """Git's complaint, on one line: its first `fatal:` or `error:` line, else its first line."""
    lines = [line.strip() for line in result.stderr.splitlines() if line.strip()]
    complaints = [line for line in lines if line.startswith(("fatal:", "error:"))]
    return (complaints or lines or [f"exit status {result.returncode}"])[0]
