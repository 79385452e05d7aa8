"""Random operation sequences against the repository; every invariant, and the audit, checked after each step."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, consumes, invariant, rule
from moto import mock_aws

from claude_tasks.core.errors import ClaudeSessionTaken, DomainError, ImmutableField, NotFound, SessionHasTasks
from claude_tasks.core.records import NewInteraction, NewTask, Role, Session, Task
from claude_tasks.store import Store
from claude_tasks.store.audit import consistency_report
from claude_tasks.store.models import ClaudeSessionClaim, SessionModel, TaskModel
from claude_tasks_dev.local.resources import provision

OWNERS = st.sampled_from(["alice", "bob"])
CLAUDE_IDS = [str(uuid.UUID(int=n)) for n in range(1, 5)]


class RepositoryMachine(RuleBasedStateMachine):
    sessions = Bundle("sessions")
    tasks = Bundle("tasks")

    def __init__(self) -> None:
        super().__init__()
        self.aws = mock_aws()
        self.aws.start()
        self.store = Store(provision(None))
        self.live_sessions: dict[str, Session] = {}
        self.live_tasks: dict[str, Task] = {}
        self.claimed: dict[str, str] = {}  # claude id -> task id, never forgotten

    def teardown(self) -> None:
        self.aws.stop()

    @rule(target=sessions, owner=OWNERS)
    def create_session(self, owner: str) -> Session:
        session = self.store.sessions.create(owner, "/work/p")
        self.live_sessions[session.session_id] = session
        return session

    @rule(session=sessions, cascade=st.booleans())
    def delete_session(self, session: Session, cascade: bool) -> None:
        alive = session.session_id in self.live_sessions
        mine = [t for t in self.live_tasks.values() if t.session_id == session.session_id]
        try:
            self.store.sessions.delete(session.owner, session.session_id, cascade=cascade)
        except NotFound:
            assert not alive
            return
        except SessionHasTasks:
            assert alive and mine and not cascade
            return
        assert alive and (cascade or not mine)
        del self.live_sessions[session.session_id]
        for task in mine:
            del self.live_tasks[task.task_id]

    @rule(target=tasks, session=sessions, owner=OWNERS)
    def create_task(self, session: Session, owner: str) -> Task | None:
        try:
            task = self.store.tasks.create(owner, session.session_id, NewTask(prompt="p"))
        except NotFound:
            assert session.session_id not in self.live_sessions or owner != session.owner
            return None
        assert session.session_id in self.live_sessions and owner == session.owner
        assert task.session_id == session.session_id
        self.live_tasks[task.task_id] = task
        return task

    @rule(task=consumes(tasks))
    def delete_task(self, task: Task | None) -> None:
        if task is None:
            return
        try:
            self.store.tasks.delete(task.owner, task.task_id)
        except NotFound:
            assert task.task_id not in self.live_tasks
            return
        del self.live_tasks[task.task_id]

    @rule(task=tasks, other=sessions)
    def append(self, task: Task | None, other: Session) -> None:
        if task is None or task.task_id not in self.live_tasks:
            return
        current = self.store.tasks.get(task.owner, task.task_id)
        turn = NewInteraction(role=Role.ASSISTANT, content="x")
        try:
            self.store.interactions.append(current, other.session_id, turn)
        except DomainError:
            assert other.session_id != task.session_id
            return
        assert other.session_id == task.session_id

    @rule(task=tasks, claude_id=st.sampled_from(CLAUDE_IDS))
    def claim(self, task: Task | None, claude_id: str) -> None:
        if task is None or task.task_id not in self.live_tasks:
            return
        current = self.store.tasks.get(task.owner, task.task_id)
        try:
            self.store.claims.claim(current, claude_id)
        except ClaudeSessionTaken:
            assert self.claimed.get(claude_id, task.task_id) != task.task_id or (
                current.claude_session_id not in (None, claude_id)
            )
            return
        assert self.claimed.setdefault(claude_id, task.task_id) == task.task_id

    @rule(task=tasks, field=st.sampled_from(["title", "metadata", "session_id", "owner"]))
    def update(self, task: Task | None, field: str) -> None:
        if task is None or task.task_id not in self.live_tasks:
            return
        value = {"k": 1} if field == "metadata" else "new"
        try:
            self.store.tasks.update(task.owner, task.task_id, {field: value})
        except ImmutableField:
            assert field in ("session_id", "owner")

    @invariant()
    def stored_state_matches_the_model(self) -> None:
        assert {s.session_id for s in SessionModel.scan()} == set(self.live_sessions)
        stored = {t.task_id: t for t in TaskModel.scan()}
        assert set(stored) == set(self.live_tasks)
        for task_id, task in self.live_tasks.items():
            assert stored[task_id].session_id == task.session_id
        claims = {c.claude_session_id: c.task_id for c in ClaudeSessionClaim.scan()}
        assert claims == self.claimed

    @invariant()
    def audit_finds_no_violation(self) -> None:
        report = consistency_report(page_size=3)
        assert report.violations == []
        assert report.total_sessions == len(self.live_sessions)
        assert report.total_tasks == report.tasks_with_valid_session == len(self.live_tasks)


RepositoryMachine.TestCase.settings = settings(
    max_examples=25, stateful_step_count=20, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
TestRepositoryInvariants = pytest.mark.timeout(600)(RepositoryMachine.TestCase)
