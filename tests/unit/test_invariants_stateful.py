"""Random operation sequences against the repository — turns and claims written as the worker writes them
(lease, record, hand back) — with every invariant, the janitor's sparse indexes, and the audit, checked after
each step."""

from __future__ import annotations

import uuid
from collections import Counter

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, consumes, initialize, invariant, precondition, rule
from moto import mock_aws

from claude_tasks.core.errors import (
    ClaudeSessionTaken,
    ImmutableField,
    InteractionSessionMismatch,
    NotFound,
    SessionHasTasks,
    SessionNotFound,
    TaskStateConflict,
)
from claude_tasks.core.records import NewTask, Session, Task, TaskStatus
from claude_tasks.store import Store, counters
from claude_tasks.store.audit import consistency_report
from claude_tasks.store.counters import Drift
from claude_tasks.store.models import ClaudeSessionClaim, SessionModel, TaskModel, UsageModel
from claude_tasks.store.records import totals
from claude_tasks.store.runs import Lease, LeaseRefused
from claude_tasks.store.tally import COUNTED
from claude_tasks_dev.local.resources import provision
from tests.support.turns import turn

OWNERS = st.sampled_from(["alice", "bob"])
CLAUDE_IDS = [str(uuid.UUID(int=n)) for n in range(1, 5)]


@pytest.fixture(autouse=True)
def indexes_without_lag(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto's indexes are written with their table: the recount's wait for DynamoDB's index lag would only
    slow each of the machine's many steps by a second."""
    monkeypatch.setattr(counters, "INDEX_SETTLE_S", 0.0)


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
        self.pending: dict[str, int] = {}  # task id -> prompts waiting for a run
        self.interactions: dict[str, int] = {}  # task id -> interactions recorded
        self.cancelled: set[str] = set()  # task ids cancelled (and not asked again since)
        self.turns: Counter[str] = Counter()  # owner -> turns recorded, deleted tasks' included

    def teardown(self) -> None:
        self.aws.stop()

    @initialize(target=sessions)
    def open_a_session_with_a_task(self) -> Session:
        # Every example starts with a session and a task in it, so runs happen from the first steps.
        session = self.create_session("alice")
        self.create_task(session, "alice")
        return session

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
        self.pending[task.task_id] = 1
        self.interactions[task.task_id] = 0
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
        self.cancelled.discard(task.task_id)

    @precondition(lambda self: bool(self.live_tasks))
    @rule(
        data=st.data(),
        ask_first=st.booleans(),
        elsewhere=st.one_of(st.none(), sessions),
        claude_id=st.sampled_from([None, *CLAUDE_IDS]),
    )
    def run_turn(self, data: st.DataObject, ask_first: bool, elsewhere: Session | None, claude_id: str | None) -> None:
        """A run on a live task as the worker makes it (lease for the session its message names, record a turn,
        hand back), after a follow-up from the client if `ask_first`. The message names the task's session, or
        `elsewhere`."""
        task = self.live_tasks[data.draw(st.sampled_from(sorted(self.live_tasks)))]
        named = elsewhere or self.live_sessions[task.session_id]
        if ask_first:
            self.store.transitions.follow_up(task.owner, task.task_id, "and then?")
            self.pending[task.task_id] += 1
            self.cancelled.discard(task.task_id)  # a follow-up queues a finished task again
        lease = Lease.start(60)
        try:
            self.store.runs.lease(task.task_id, named.session_id, lease)
        except InteractionSessionMismatch:
            assert named.session_id != task.session_id
            return
        except LeaseRefused:
            assert named.session_id == task.session_id
            assert self.pending[task.task_id] == 0 or task.task_id in self.cancelled
            return
        assert named.session_id == task.session_id and self.pending[task.task_id] > 0
        current = self.store.tasks.load(task.task_id)
        record = turn(current, claim=claude_id)
        may_claim = claude_id is None or (
            self.claimed.get(claude_id, task.task_id) == task.task_id and current.claude_session_id in (None, claude_id)
        )
        try:
            self.store.runs.record(current, lease, record)
        except ClaudeSessionTaken:
            assert not may_claim
            self.store.runs.release(current, lease, count_attempt=False)
            return
        assert may_claim
        if claude_id is not None:
            self.claimed[claude_id] = task.task_id
        self.pending[task.task_id] -= 1
        self.interactions[task.task_id] += 2
        self.turns[task.owner] += 1
        if record.status is TaskStatus.RUNNING:  # prompts remain: hand the task back, as a worker out of time does
            self.store.runs.release(current, lease, count_attempt=False)

    @precondition(lambda self: bool(self.live_tasks))
    @rule(data=st.data(), retry=st.booleans())
    def cancel(self, data: st.DataObject, retry: bool) -> None:
        """Cancel a live task (refused unless it is queued), then maybe retry it (queued again)."""
        task = self.live_tasks[data.draw(st.sampled_from(sorted(self.live_tasks)))]
        try:
            self.store.transitions.cancel(task.owner, task.task_id)
        except TaskStateConflict:
            assert task.task_id in self.cancelled or self.pending[task.task_id] == 0
            return
        assert task.task_id not in self.cancelled and self.pending[task.task_id] > 0
        if retry:
            self.store.transitions.retry(task.owner, task.task_id)
        else:
            self.cancelled.add(task.task_id)

    @rule(task=tasks, field=st.sampled_from(["title", "metadata", "session_id", "owner"]))
    def update(self, task: Task | None, field: str) -> None:
        if task is None or task.task_id not in self.live_tasks:
            return
        value = {"k": 1} if field == "metadata" else "new"
        try:
            self.store.tasks.update(task.owner, task.task_id, {field: value})
        except ImmutableField:
            assert field in ("session_id", "owner")

    @rule(session=sessions, lost=st.integers(min_value=0, max_value=3))
    def recount(self, session: Session, lost: int) -> None:
        """The admin's recount (a counter `lost` off first, written around the repository): it corrects just
        that, and the invariants (counters, idle index, audit) hold after its write."""
        if session.session_id not in self.live_sessions:
            with pytest.raises(SessionNotFound):
                self.store.counters.recount_session(session.session_id)
            return
        right = int(SessionModel.get(session.session_id, consistent_read=True).tasks_queued or 0)
        if lost:
            SessionModel(session.session_id).update(actions=[SessionModel.tasks_queued.set(right + lost)])
        fixed = self.store.counters.recount_session(session.session_id)
        assert fixed == ([Drift("tasks_queued", right + lost, right)] if lost else [])

    @rule(owner=OWNERS, lost=st.integers(min_value=-3, max_value=3))
    def recount_owner(self, owner: str, lost: int) -> None:
        """The admin's recount of an owner (`active` `lost` off first, written around the repository, as an
        upgrade leaves it negative): it corrects just that, and the invariants hold after its write."""
        total = next(iter(UsageModel.query(owner, UsageModel.period == "total", consistent_read=True)), None)
        right = 0 if total is None else int(total.active or 0)
        if lost:
            UsageModel(owner, "total").update(actions=[UsageModel.active.set(right + lost)])
        fixed = self.store.counters.recount_owner(owner)
        assert fixed == ([Drift("active", right + lost, right)] if lost else [])

    @invariant()
    def stored_state_matches_the_model(self) -> None:
        assert {s.session_id for s in SessionModel.scan()} == set(self.live_sessions)
        stored = {t.task_id: t for t in TaskModel.scan()}
        assert set(stored) == set(self.live_tasks)
        for task_id, task in self.live_tasks.items():
            assert stored[task_id].session_id == task.session_id
            assert len(stored[task_id].pending_prompts or []) == self.pending[task_id]
            assert stored[task_id].interaction_count == self.interactions[task_id]
            expected = {TaskStatus.CANCELLED.value} if task_id in self.cancelled else {"queued", "succeeded"}
            assert stored[task_id].status in expected
        claims = {c.claude_session_id: c.task_id for c in ClaudeSessionClaim.scan()}
        assert claims == self.claimed

    @invariant()
    def counters_equal_what_a_scan_finds(self) -> None:
        """Tasks by status per session and per owner, the owner's active count (the quota's figure) and the
        turns and tokens they spent: kept by the writes, equal to what the tables hold."""
        tasks = [t for t in TaskModel.scan() if t.status != TaskStatus.DELETING.value]
        for session in SessionModel.scan():
            found = Counter(t.status for t in tasks if t.session_id == session.session_id)
            assert totals(session).tasks == {s.value: found[s.value] for s in COUNTED}
        for owner in ("alice", "bob"):
            found = Counter(t.status for t in tasks if t.owner == owner)
            mine = self.store.usage.for_owner(owner)
            assert mine.total.tasks == {s.value: found[s.value] for s in COUNTED}
            total = next(iter(UsageModel.query(owner, UsageModel.period == "total")), None)
            active = 0 if total is None else int(total.active or 0)
            assert active == found["queued"] + found["running"]
            assert mine.total.turns == self.turns[owner] == sum(d.turns for d in mine.days)
            assert mine.total.usage.input_tokens == 10 * self.turns[owner]  # `turn()` spends 10 input tokens

    @invariant()
    def sparse_indexes_hold_exactly_what_a_scan_says(self) -> None:
        """The janitor's indexes: idle sessions are those with no tasks, active tasks those queued or running."""
        shards = range(self.store.settings.active_shards)
        idle = {s.session_id for n in shards for s in SessionModel.by_idle_shard.query(f"idle#{n}")}
        assert idle == {s.session_id for s in SessionModel.scan() if s.task_count == 0}
        active = {t.task_id for n in shards for t in TaskModel.by_active_shard.query(f"active#{n}")}
        live = (TaskStatus.QUEUED.value, TaskStatus.RUNNING.value)
        assert active == {t.task_id for t in TaskModel.scan() if t.status in live}

    @invariant()
    def audit_finds_no_violation(self) -> None:
        report = consistency_report(self.store, page_size=3)
        assert report.violations == []
        assert report.total_sessions == len(self.live_sessions)
        assert report.total_tasks == report.tasks_with_valid_session == len(self.live_tasks)


RepositoryMachine.TestCase.settings = settings(
    max_examples=25, stateful_step_count=20, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
TestRepositoryInvariants = pytest.mark.timeout(600)(RepositoryMachine.TestCase)
