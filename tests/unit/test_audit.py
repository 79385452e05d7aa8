"""The audit finds every kind of violation in tables corrupted around the repository, across pages."""

from __future__ import annotations

from claude_tasks.core.clock import now_iso
from claude_tasks.store import Store
from claude_tasks.store.audit import consistency_report
from claude_tasks.store.models import ClaudeSessionClaim, InteractionModel, SessionModel, TaskModel
from tests.support.turns import record_turn


def _raw_task(task_id: str, session_id: str, **fields: object) -> None:
    TaskModel(
        task_id, session_id=session_id, owner="alice", prompt="p", created_at=now_iso(), updated_at=now_iso(), **fields
    ).save()


def _raw_turn(task_id: str, seq: int, session_id: str) -> None:
    InteractionModel(
        task_id, seq, session_id=session_id, owner="alice", role="user", content="x", created_at=now_iso()
    ).save()


def test_a_clean_store_reports_the_seed_figures(store: Store, session_factory, task_factory) -> None:
    # Given two sessions, one with two tasks, one of them with a recorded turn that claimed a Claude id
    busy, _idle = session_factory(), session_factory()
    first, _second = task_factory(busy), task_factory(busy)
    record_turn(store, first, claim="c-1")
    # When the audit runs with pages of one item
    report = consistency_report(store, page_size=1)
    # Then the seed report's figures are exact and there is no violation
    assert report.model_dump(exclude={"started_at", "completed_at"}) == {
        "total_sessions": 2,
        "sessions_with_tasks": 1,
        "orphaned_sessions": 1,
        "total_tasks": 2,
        "tasks_with_valid_session": 2,
        "total_interactions": 2,
        "tasks_with_claude_session_id": 1,
        "shared_claude_session_ids": 0,
        "violations": [],
        "violations_not_listed": 0,
        "counters_not_checked": 0,
    }


def test_the_audit_finds_each_kind_of_violation(store: Store, session_factory, task_factory) -> None:
    # Given a consistent store, then items written around the repository
    session = session_factory()
    other = session_factory()
    good = task_factory(session)
    _raw_task("orphan-task", "no-such-session")  # invariant 1
    _raw_turn("no-such-task", 1, session.session_id)  # invariant 2: orphaned interaction
    _raw_turn(good.task_id, 1, other.session_id)  # invariant 2: wrong session; and count mismatch (3)
    _raw_turn(good.task_id, 3, session.session_id)  # a seq gap
    SessionModel(other.session_id).update(actions=[SessionModel.task_count.set(7)])  # invariant 3
    _raw_task("twin-a", session.session_id, claude_session_id="shared")  # invariant 5, and unclaimed
    _raw_task("twin-b", session.session_id, claude_session_id="shared")
    ClaudeSessionClaim("shared", task_id="twin-a", session_id=session.session_id, owner="alice", claimed_at="t").save()
    # When the audit runs, two items a page
    report = consistency_report(store, page_size=2)
    # Then it names every violation
    found = {(v.kind, v.subject) for v in report.violations}
    assert found == {
        ("orphaned_task", "orphan-task"),
        ("orphaned_interaction", "no-such-task#1"),
        ("interaction_session_mismatch", f"{good.task_id}#1"),
        ("interaction_count_mismatch", good.task_id),
        ("interaction_seq_gap", good.task_id),
        ("task_count_mismatch", other.session_id),
        ("task_count_mismatch", session.session_id),
        ("shared_claude_session_id", "shared"),
        ("unclaimed_claude_session_id", "twin-b"),
        # The three tasks written around the repository are in no counter of their owner's either.
        ("counter_drift", "alice"),
    }
    assert (report.total_tasks, report.tasks_with_valid_session, report.shared_claude_session_ids) == (4, 3, 1)


def test_writes_made_between_the_audits_scans_are_not_violations(store: Store, session_factory, task_factory) -> None:
    # Given a session with a task that has one recorded turn
    session = session_factory()
    busy = task_factory(session)
    record_turn(store, busy)
    fired: set[str] = set()

    def traffic(params: dict[str, object], **_: object) -> None:
        """Ordinary writes through the store, made just before the audit's first page of a table."""
        table = str(params["TableName"])
        if table in fired:
            return
        fired.add(table)
        if table == TaskModel.Meta.table_name:  # after the sessions scan: new tasks, a new session
            task_factory(session)
            task_factory()
        elif table == InteractionModel.Meta.table_name:  # after the tasks scan: a turn, and a new task with one
            store.transitions.follow_up("alice", busy.task_id, "And then?")
            record_turn(store, busy)
            record_turn(store, task_factory(session))

    for model in (TaskModel, InteractionModel):
        model._get_connection().connection.client.meta.events.register("before-parameter-build.dynamodb.Scan", traffic)
    # When the audit runs while those writes land between its scans
    report = consistency_report(store, page_size=1)
    # Then the writes did happen during its scans, and it reports no violation
    assert fired == {TaskModel.Meta.table_name, InteractionModel.Meta.table_name}
    assert report.violations == []
    # And the store is indeed consistent at rest
    assert consistency_report(store).violations == []
