"""One owner's runs at once. Every write of a run moves the owner's `total` usage item, so DynamoDB cancels
concurrent ones with `TransactionConflict`; `Transaction.commit` sends such a write again instead of giving
the task back and paying Claude twice. moto never conflicts, so the fault middleware makes the conflicts
(`tests/support/aws_faults.py`), on the first send of each transaction on that item."""

from __future__ import annotations

import pytest

from claude_tasks.core import usage as periods
from claude_tasks.core.config import Settings
from claude_tasks.core.records import Role, TaskStatus, Usage
from claude_tasks.store import Store
from claude_tasks.store.audit import consistency_report
from claude_tasks_dev.local.aws import EmbeddedAws
from tests.integration.worker.conftest import MakeTask
from tests.support.anthropic_stub import AnthropicStub, Reply
from tests.support.aws_faults import TRANSACT_WRITE, TRANSACTION_CONFLICT, AwsFaults, touches
from tests.support.tables import tasks_by_status
from tests.support.worker import Worker, failed_ids, load_event, run_body, with_bodies

OWNER = "alice"  # the worker conftest's session owner
RUNS = 10  # the worker's MAX_CONCURRENT_RECORDS: one batch, every record run at once


@pytest.fixture(scope="module")
def moto_server(faulty_aws: EmbeddedAws) -> EmbeddedAws:
    return faulty_aws


def test_one_owners_runs_at_once_record_every_turn_once_through_conflicts(
    worker: Worker,
    anthropic: Store,
    stub: AnthropicStub,
    make_task: MakeTask,
    faults: AwsFaults,
    settings: Settings,
) -> None:
    # Given ten queued tasks of one owner, and Claude slow enough for their runs to overlap
    stub.otherwise = Reply(text="Counted once.", delay_s=0.2)
    tasks = [make_task(f"Task {n}") for n in range(RUNS)]
    # And DynamoDB cancelling the first send of every transaction on the owner's total for a conflict
    total_item = touches(settings.usage_table, {"owner": {"S": OWNER}, "period": {"S": periods.TOTAL}})
    faults.fail(frozenset({TRANSACT_WRITE}), TRANSACTION_CONFLICT, attempts=1, requests=None, where=total_item)
    # When one invocation gets the ten records and runs them at the same time
    response = worker.invoke(with_bodies(load_event("task-run-batch"), [run_body(task) for task in tasks]))
    conflicts = faults.clear()
    print(f"\nconflicts injected and absorbed: {conflicts}")
    # Then every record is acknowledged, and Claude was asked once per task
    assert failed_ids(response) == set()
    assert len(stub.requests) == RUNS
    # And each task succeeded with its turn recorded exactly once
    done = [anthropic.tasks.load(task.task_id) for task in tasks]
    for task in done:
        assert task.status is TaskStatus.SUCCEEDED, task
        turns = [(turn.role, turn.content) for turn in anthropic.interactions.all(task.task_id)]
        assert turns == [(Role.USER, task.prompt), (Role.ASSISTANT, "Counted once.")]
    # And each run's lease and turn met a conflict on the owner's total, and went through it
    assert conflicts >= 2 * RUNS
    # And the owner's totals are the sum of the tasks' own
    total = anthropic.usage.for_owner(OWNER).total
    assert total.tasks == tasks_by_status(OWNER) == {**total.tasks, "succeeded": RUNS}
    assert total.turns == sum(task.turns for task in done) == RUNS
    assert total.usage == _sum(task.usage for task in done) != Usage()
    assert total.cost_usd == pytest.approx(sum(task.cost_usd for task in done))
    report = consistency_report(anthropic)
    assert report.violations == [], report.violations


def _sum(usages: object) -> Usage:
    figures = list(usages)  # type: ignore[call-overload]
    return Usage(
        input_tokens=sum(u.input_tokens for u in figures),
        output_tokens=sum(u.output_tokens for u in figures),
        cache_creation_input_tokens=sum(u.cache_creation_input_tokens for u in figures),
        cache_read_input_tokens=sum(u.cache_read_input_tokens for u in figures),
    )
