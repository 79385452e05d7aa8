"""Deleting a Claude Code task removes what it left: its transcript (the API) and its worktree (the worker)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from claude_tasks.app.messages import TaskCleanup
from claude_tasks.app.queue import TaskQueue
from claude_tasks.app.service import TaskService
from claude_tasks.claude.workspace import prepare
from claude_tasks.core.config import Settings
from claude_tasks.core.records import NewTask, TaskStatus, Workspace, Worktree
from claude_tasks.store import Store
from claude_tasks.store.models import ClaudeSessionClaim
from claude_tasks.store.runs import Lease, TurnRecord
from tests.conftest import SessionFactory
from tests.support.git import git
from tests.support.turns import record_turn
from tests.support.worker import Worker, load_event, loaded_worker, with_bodies

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", "/dev/null")
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    project = tmp_path / "repo"
    project.mkdir()
    git(project, "init", "-q")
    (project / "README.md").write_text("hello\n")
    git(project, "add", "README.md")
    git(project, "commit", "-q", "-m", "first")
    return project


@pytest.fixture
def worker(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Worker]:
    yield from loaded_worker(settings, monkeypatch)


def test_deleting_a_task_deletes_its_transcript_and_keeps_its_id_taken(
    store: Store, session_factory: SessionFactory
) -> None:
    # Given a task that ran (its Claude session id claimed) with a transcript in the store
    session = session_factory(owner="alice")
    task = store.tasks.create("alice", session.session_id, NewTask(prompt="hi"))
    done = record_turn(store, task, claim="6f1d5c1e-0000-4000-8000-000000000001")
    key = {"project_key": "p", "session_id": done.claude_session_id}
    store.transcripts.append("alice", key, [{"type": "user", "uuid": "u1"}])  # type: ignore[arg-type, list-item]
    assert store.transcripts.load("alice", key)  # type: ignore[arg-type]
    # When the task is deleted through the service
    TaskService(store, TaskQueue(store.settings)).delete_task("alice", task.task_id)
    # Then its transcript is gone, and its Claude session id stays taken (retired)
    assert store.transcripts.load("alice", key) is None  # type: ignore[arg-type]
    assert ClaudeSessionClaim.get(done.claude_session_id).retired_at is not None


def test_a_cascading_session_delete_asks_the_worker_to_remove_each_tasks_worktree(
    store: Store, session_factory: SessionFactory, settings: Settings
) -> None:
    # Given a session with a task that has a worktree, and one that has none
    session = session_factory(owner="alice", project_path="/work/repo")
    plain = store.tasks.create("alice", session.session_id, NewTask(prompt="hi"))
    task = store.tasks.create("alice", session.session_id, NewTask(prompt="hi"))
    lease = Lease.start(60)
    store.runs.lease(task.task_id, task.session_id, lease)
    worktree = Worktree(
        path=f"/work/repo/.claude-tasks/worktrees/{task.task_id}", branch=f"claude-tasks/{task.task_id}"
    )
    record = TurnRecord((), answered=False, worktree=worktree)
    store.runs.record(store.tasks.load(task.task_id), lease, record)
    store.runs.end(store.tasks.load(task.task_id), lease, TaskStatus.SUCCEEDED)
    sqs = boto3.client("sqs", region_name=settings.region, endpoint_url=settings.aws_endpoint_url)
    sqs.purge_queue(QueueUrl=settings.task_queue_url)
    # When the session is deleted with its tasks
    TaskService(store, TaskQueue(settings)).delete_session("alice", session.session_id, cascade=True)
    # Then one cleanup went to the queue, for the task with the worktree, naming the session's project
    received = sqs.receive_message(QueueUrl=settings.task_queue_url, MaxNumberOfMessages=10).get("Messages", [])
    bodies = [TaskCleanup.model_validate_json(m["Body"]) for m in received]
    assert [(b.task_id, b.project_path, b.worktree) for b in bodies] == [(task.task_id, "/work/repo", worktree)]
    assert plain.task_id not in {b.task_id for b in bodies}


def test_a_cleanup_message_removes_the_worktree_and_keeps_the_branch(worker: Worker, repo: Path) -> None:
    # Given a task's worktree with a commit on its branch
    task_id = "a1b2c3d4-0000-4000-8000-000000000002"
    cwd, worktree = prepare(repo, task_id, Workspace.WORKTREE, None)
    assert worktree is not None
    (cwd / "out.txt").write_text("work\n")
    git(cwd, "add", "out.txt")
    git(cwd, "commit", "-q", "-m", "the task's work")
    # When the worker receives the cleanup the API sends after deleting the task
    body = TaskCleanup(task_id=task_id, owner="alice", project_path=str(repo), worktree=worktree)
    response = worker.invoke(with_bodies(load_event("task-run-batch"), [body.model_dump_json()]))
    # Then the record is acknowledged, the worktree is gone, and its branch keeps the commit
    assert response == {"batchItemFailures": []}
    assert not Path(worktree.path).exists()
    assert git(repo, "log", "-1", "--format=%s", worktree.branch) == "the task's work"


def test_a_cleanup_naming_a_path_outside_the_worktrees_is_refused_and_removes_nothing(
    worker: Worker, repo: Path
) -> None:
    # Given a message naming the project itself as the worktree
    forged = Worktree(path=str(repo), branch="main")
    body = TaskCleanup(task_id="t", owner="alice", project_path=str(repo), worktree=forged)
    event = with_bodies(load_event("task-run-batch"), [body.model_dump_json()])
    # When the worker receives it
    response = worker.invoke(event)
    # Then it is rejected (to the DLQ with its reason) and the project is untouched
    assert response == {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]}
    assert (repo / "README.md").read_text() == "hello\n"


def test_a_cleanup_for_a_task_that_still_exists_is_refused_and_its_worktree_kept(
    worker: Worker, repo: Path, store: Store, session_factory: SessionFactory
) -> None:
    # Given a live task with a worktree, and a message (not from the API) asking to remove it
    session = session_factory(owner="alice", project_path=str(repo))
    task = store.tasks.create("alice", session.session_id, NewTask(prompt="hi"))
    cwd, worktree = prepare(repo, task.task_id, Workspace.WORKTREE, None)
    assert worktree is not None
    body = TaskCleanup(task_id=task.task_id, owner="alice", project_path=str(repo), worktree=worktree)
    event = with_bodies(load_event("task-run-batch"), [body.model_dump_json()])
    # When the worker receives it
    response = worker.invoke(event)
    # Then it is rejected, and the worktree is still there
    assert response == {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]}
    assert cwd.is_dir()
