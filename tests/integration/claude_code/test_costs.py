"""What a Claude Code task costs: each run's turns carry what Claude Code reported for that run; the task sums them."""

from __future__ import annotations

from claude_tasks.core.records import Role
from claude_tasks.store import Store
from tests.integration.claude_code.conftest import MakeTask
from tests.support.anthropic_stub import AnthropicStub, Reply
from tests.support.worker import Worker, load_event, retarget


def test_a_follow_up_run_costs_as_much_as_a_first_run_of_the_same_size_and_the_task_sums_both(
    worker: Worker, store: Store, stub: AnthropicStub, make_task: MakeTask
) -> None:
    # Given a task whose first run Claude Code answered (the stub bills every answer the same tokens)
    stub.script(
        Reply(text="One.", input_tokens=1000, output_tokens=100),
        Reply(text="Two.", input_tokens=1000, output_tokens=100),
    )
    task = make_task("Count to one.")
    event = retarget(load_event("task-run-batch"), [task])
    assert worker.invoke(event) == {"batchItemFailures": []}
    first_run = store.tasks.load(task.task_id).cost_usd
    assert first_run > 0
    # When a follow-up runs: a resumed conversation, one more answer of the same size
    store.transitions.follow_up(task.owner, task.task_id, "And to two?")
    assert worker.invoke(event) == {"batchItemFailures": []}
    # Then the follow-up's turns cost what the first run's did
    turns = store.interactions.all(task.task_id)
    second = turns[[t.role for t in turns].index(Role.USER, 1) :]
    assert sum(t.cost_usd for t in second) == first_run
    # And the task's cost is the sum of its turns: both runs, each counted once
    done = store.tasks.load(task.task_id)
    assert done.cost_usd == sum(t.cost_usd for t in turns) == 2 * first_run
