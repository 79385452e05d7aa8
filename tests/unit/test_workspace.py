"""Where a Claude Code task works: the project, or its own git worktree, with real git in a temporary directory."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from claude_tasks.claude.workspace import WorkspaceError, prepare, project_dir, remove
from claude_tasks.core.config import Settings
from claude_tasks.core.records import Workspace, Worktree
from tests.support.git import git

TASK = "0b7e6a52-1c1e-4d5c-9f3a-2f6d3c1e9a10"
OWNER = "alice"

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


@pytest.fixture(autouse=True)
def _no_personal_git_config(monkeypatch: pytest.MonkeyPatch) -> None:
    # The machine's git configuration (hooks, default branch, signing) must not shape these tests.
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", "/dev/null")
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")


@pytest.fixture
def make_repo(tmp_path: Path) -> Callable[..., Path]:
    def make(name: str = "project", *, commit: bool = True) -> Path:
        repo = tmp_path / name
        repo.mkdir()
        git(repo, "init", "-q", "-b", "main")
        if commit:
            (repo / "README.md").write_text("hello\n")
            (repo / "src").mkdir()
            (repo / "src" / "app.py").write_text("print('hi')\n")
            git(repo, "add", ".")
            git(repo, "commit", "-q", "-m", "first")
        return repo

    return make


@pytest.fixture
def repo(make_repo: Callable[..., Path]) -> Path:
    return make_repo()


def test_a_project_task_works_in_the_project(tmp_path: Path) -> None:
    # Given / When a task in the project workspace
    run_dir, worktree = prepare(tmp_path, TASK, Workspace.PROJECT, None)
    # Then it works in the project itself, with no worktree
    assert (run_dir, worktree) == (tmp_path, None)


def test_project_dir_is_the_real_directory_under_the_root(tmp_path: Path) -> None:
    # Given a project under the configured root, named through a symlink that stays inside
    (tmp_path / "root" / "app").mkdir(parents=True)
    (tmp_path / "root" / "link").symlink_to(tmp_path / "root" / "app")
    settings = Settings(project_root=str(tmp_path / "root"))
    # When / Then its real directory is returned
    assert project_dir(str(tmp_path / "root" / "link"), settings, OWNER) == (tmp_path / "root" / "app").resolve()


def test_a_missing_project_directory_is_refused_with_the_reason(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceError, match="project directory .*/gone does not exist: create it"):
        project_dir(str(tmp_path / "gone"), Settings(project_root=None), OWNER)


def test_a_file_is_not_a_project_directory(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(WorkspaceError, match="is not a directory"):
        project_dir(str(tmp_path / "file"), Settings(project_root=None), OWNER)


def test_a_project_outside_the_root_is_refused(tmp_path: Path) -> None:
    (tmp_path / "root").mkdir()
    settings = Settings(project_root=str(tmp_path / "root"))
    with pytest.raises(WorkspaceError, match="project path is refused: project_path must be inside"):
        project_dir(str(tmp_path), settings, OWNER)


def test_a_symlink_escaping_the_root_is_refused(tmp_path: Path) -> None:
    # Given a directory inside the root that is a symlink to one outside it
    (tmp_path / "root").mkdir()
    (tmp_path / "outside").mkdir()
    (tmp_path / "root" / "escape").symlink_to(tmp_path / "outside")
    settings = Settings(project_root=str(tmp_path / "root"))
    # When / Then it is refused, naming where it leads
    with pytest.raises(WorkspaceError, match="resolves to .*/outside, outside PROJECT_ROOT"):
        project_dir(str(tmp_path / "root" / "escape"), settings, OWNER)


def test_a_worktree_task_gets_its_own_branch_with_head_s_files(repo: Path) -> None:
    # When a worktree task prepares
    run_dir, worktree = prepare(repo, TASK, Workspace.WORKTREE, None)
    # Then it works in its own worktree, on its own branch, with HEAD's files
    assert worktree == Worktree(path=str(repo / ".claude-tasks" / "worktrees" / TASK), branch=f"claude-tasks/{TASK}")
    assert run_dir == Path(worktree.path)
    assert git(run_dir, "branch", "--show-current") == f"claude-tasks/{TASK}"
    assert (run_dir / "src" / "app.py").read_text() == "print('hi')\n"
    assert git(run_dir, "rev-parse", "HEAD") == git(repo, "rev-parse", "HEAD")


def test_the_project_stays_clean_and_is_excluded_once(repo: Path) -> None:
    # When two tasks prepare worktrees
    prepare(repo, TASK, Workspace.WORKTREE, None)
    prepare(repo, "second", Workspace.WORKTREE, None)
    # Then the project shows no change, and the exclusion was written once
    assert git(repo, "status", "--porcelain", "--ignored=no") == ""
    assert (repo / ".git" / "info" / "exclude").read_text().splitlines().count(".claude-tasks/") == 1


def test_a_follow_up_reuses_the_worktree(repo: Path) -> None:
    # Given a task's worktree with uncommitted work in it
    first_dir, worktree = prepare(repo, TASK, Workspace.WORKTREE, None)
    (first_dir / "notes.txt").write_text("in progress\n")
    # When its follow-up prepares with the recorded worktree
    run_dir, again = prepare(repo, TASK, Workspace.WORKTREE, worktree)
    # Then it continues there
    assert (run_dir, again) == (first_dir, worktree)
    assert (run_dir / "notes.txt").read_text() == "in progress\n"


def test_a_commit_in_the_worktree_survives_its_removal(repo: Path) -> None:
    # Given a commit made in a task's worktree
    run_dir, worktree = prepare(repo, TASK, Workspace.WORKTREE, None)
    assert worktree is not None
    (run_dir / "feature.py").write_text("x = 1\n")
    git(run_dir, "add", "feature.py")
    git(run_dir, "commit", "-q", "-m", "feature")
    # When the worktree is removed, twice
    remove(repo, worktree)
    remove(repo, worktree)
    # Then the directory is gone, and the commit is on the task's branch
    assert not run_dir.exists()
    assert git(repo, "show", f"claude-tasks/{TASK}:feature.py") == "x = 1"
    assert str(run_dir) not in git(repo, "worktree", "list")


def test_removing_from_a_gone_project_is_fine(tmp_path: Path) -> None:
    project = tmp_path / "gone"
    remove(project, Worktree(path=str(project / ".claude-tasks" / "worktrees" / TASK), branch=f"claude-tasks/{TASK}"))


def test_a_lost_worktree_directory_reattaches_the_branch(repo: Path) -> None:
    # Given a task's worktree with a commit, whose directory was then deleted by hand
    run_dir, worktree = prepare(repo, TASK, Workspace.WORKTREE, None)
    (run_dir / "kept.txt").write_text("kept\n")
    git(run_dir, "add", "kept.txt")
    git(run_dir, "commit", "-q", "-m", "kept")
    shutil.rmtree(run_dir)
    # When its follow-up prepares
    again_dir, again = prepare(repo, TASK, Workspace.WORKTREE, worktree)
    # Then the branch is checked out again, its commit and all
    assert again == worktree
    assert (again_dir / "kept.txt").read_text() == "kept\n"


def test_a_project_below_the_repository_top_works_in_the_same_subdirectory(repo: Path) -> None:
    # When a task of a session opened on a subdirectory prepares
    run_dir, worktree = prepare(repo / "src", TASK, Workspace.WORKTREE, None)
    # Then its worktree is in that subdirectory, and it works in the matching place
    assert worktree is not None
    assert worktree.path == str(repo / "src" / ".claude-tasks" / "worktrees" / TASK)
    assert run_dir == Path(worktree.path) / "src"
    assert (run_dir / "app.py").exists()
    assert git(repo, "status", "--porcelain") == ""


def test_a_directory_that_is_no_repository_is_refused(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceError, match="needs a git repository with a commit; .* is not one"):
        prepare(tmp_path, TASK, Workspace.WORKTREE, None)


def test_a_repository_without_a_commit_is_refused(make_repo: Callable[..., Path]) -> None:
    empty = make_repo("empty", commit=False)
    with pytest.raises(WorkspaceError, match=f"needs a git repository with a commit; {empty} is not one"):
        prepare(empty, TASK, Workspace.WORKTREE, None)


def test_tasks_preparing_at_once_each_get_their_own_worktree(repo: Path) -> None:
    # When eight tasks of one repository prepare at the same time
    tasks = [f"task-{n}" for n in range(8)]
    with ThreadPoolExecutor(len(tasks)) as pool:
        prepared = list(pool.map(lambda task: prepare(repo, task, Workspace.WORKTREE, None), tasks))
    # Then each has its own directory on its own branch
    for task, (run_dir, worktree) in zip(tasks, prepared, strict=True):
        assert worktree == Worktree(path=str(run_dir), branch=f"claude-tasks/{task}")
        assert git(run_dir, "branch", "--show-current") == f"claude-tasks/{task}"
    assert len({run_dir for run_dir, _ in prepared}) == len(tasks)
    assert (repo / ".git" / "info" / "exclude").read_text().splitlines().count(".claude-tasks/") == 1


OUTSIDE = [
    "/etc",
    "{repo}",
    "{repo}/.claude-tasks/worktrees",
    "{repo}/.claude-tasks/worktrees/../../src",
    "{repo}/.claude-tasks/worktrees/a/b",
    ".claude-tasks/worktrees/relative",
]


@pytest.mark.parametrize("path", OUTSIDE)
def test_remove_refuses_a_path_outside_the_worktrees_directory(repo: Path, path: str) -> None:
    # Given a tampered record; When / Then removing it is refused and nothing is touched
    with pytest.raises(WorkspaceError, match="refusing to remove"):
        remove(repo, Worktree(path=path.format(repo=repo), branch="main"))
    assert (repo / "src" / "app.py").exists()


def test_a_tampered_record_is_not_reused(repo: Path) -> None:
    # Given a recorded worktree that names the project itself
    tampered = Worktree(path=str(repo), branch="main")
    # When the task prepares; Then it gets its own worktree instead
    run_dir, worktree = prepare(repo, TASK, Workspace.WORKTREE, tampered)
    assert run_dir == repo / ".claude-tasks" / "worktrees" / TASK
    assert worktree is not None and worktree.branch == f"claude-tasks/{TASK}"


def test_a_task_id_that_cannot_name_a_branch_is_refused(repo: Path) -> None:
    with pytest.raises(WorkspaceError, match="cannot name a git branch"):
        prepare(repo, "../escape", Workspace.WORKTREE, None)


def test_under_a_projects_mount_each_owner_has_a_directory_of_their_own(tmp_path: Path) -> None:
    # Given the Claude Code worker's project storage, and two owners naming the same path
    mount = tmp_path / "mnt"
    mount.mkdir()
    settings = Settings(projects_mount=str(mount))
    # When each asks for it
    alice, bob = project_dir("/work/app", settings, "alice"), project_dir("/work/app", settings, "bob")
    # Then each gets (and has made) a directory under their own name
    assert alice == (mount / "alice" / "work" / "app").resolve() and alice.is_dir()
    assert bob == (mount / "bob" / "work" / "app").resolve() and bob.is_dir()


@pytest.mark.parametrize("owner", ["../bob", "a/b", ".."])
def test_under_a_projects_mount_no_owner_name_or_path_reaches_another_owners_files(tmp_path: Path, owner: str) -> None:
    mount = tmp_path / "mnt"
    (mount / "bob" / "secret").mkdir(parents=True)
    settings = Settings(projects_mount=str(mount))
    # An owner name with separators is escaped to one directory; `..` is refused
    if owner == "..":
        with pytest.raises(WorkspaceError):
            project_dir("/x", settings, owner)
        return
    got = project_dir("/secret", settings, owner)
    assert got.parent.parent == mount.resolve() and (mount / "bob" / "secret") != got
    # A symlink inside the owner's directory pointing at another's is refused
    (mount / "eve").mkdir()
    (mount / "eve" / "door").symlink_to(mount / "bob")
    with pytest.raises(WorkspaceError, match="outside the owner's projects"):
        project_dir("/door/secret", settings, "eve")
