"""Claude Code tasks with `workspace: worktree` each work in their own git worktree, on their own branch, and
leave the project's checkout as it was."""

from __future__ import annotations

from pathlib import Path

from claude_tasks.core.records import AgentOptions, Task, TaskStatus, Workspace, Worktree
from claude_tasks.store import Store
from tests.integration.claude_code.conftest import MakeTask
from tests.support.anthropic_stub import AnthropicStub, Reply, ToolUse
from tests.support.git import git
from tests.support.worker import Worker, load_event, retarget


def _writes(content: str) -> tuple[Reply, Reply]:
    """Claude writing `out.txt` (a path relative to where Claude Code runs), then saying so."""
    write = ToolUse("Write", {"file_path": "out.txt", "content": content})
    return Reply(text="Writing.", tool_uses=(write,)), Reply(text="Written.")


def test_two_worktree_tasks_write_in_their_own_worktrees_on_their_own_branches(
    worker: Worker, store: Store, stub: AnthropicStub, make_task: MakeTask, git_project: Path
) -> None:
    # Given two tasks of one session, each to work in its own worktree of the project's repository
    tasks = [make_task(f"Write out.txt ({n})", agent=AgentOptions(workspace=Workspace.WORKTREE)) for n in (1, 2)]
    head = git(git_project, "rev-parse", "HEAD")
    # When Claude Code writes out.txt in each, one after the other
    for task, content in zip(tasks, ("first\n", "second\n"), strict=True):
        stub.script(*_writes(content))
        assert worker.invoke(retarget(load_event("task-run-batch"), [task])) == {"batchItemFailures": []}
    # Then each task succeeded in a worktree of its own, on its own branch from the project's HEAD
    done: list[Task] = [store.tasks.load(task.task_id) for task in tasks]
    for task, content in zip(done, ("first\n", "second\n"), strict=True):
        assert task.status is TaskStatus.SUCCEEDED
        path = git_project / ".claude-tasks" / "worktrees" / task.task_id
        assert task.worktree == Worktree(path=str(path), branch=f"claude-tasks/{task.task_id}")
        assert (path / "out.txt").read_text() == content
        assert git(path, "rev-parse", "--abbrev-ref", "HEAD").strip() == f"claude-tasks/{task.task_id}"
        assert git(path, "rev-parse", "HEAD") == head
    # And the project's own checkout is untouched: no out.txt, nothing changed, still on main
    assert not (git_project / "out.txt").exists()
    assert git(git_project, "status", "--porcelain") == ""
    assert git(git_project, "rev-parse", "--abbrev-ref", "HEAD").strip() == "main"
