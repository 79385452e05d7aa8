"""A task's limits — turns, tokens, budget — end its run as `exhausted`; a retry continues it."""

from __future__ import annotations

import pytest

from claude_tasks.core.records import Role, Task, TaskLimits, TaskStatus, Usage
from claude_tasks.store import Store
from tests.support.claude_double import ScriptedClaude
from tests.support.worker import Worker, failed_ids
from tests.unit.worker.conftest import MakeTask, Run


def _with_prompts(store: Store, make_task: MakeTask, count: int, limits: TaskLimits) -> Task:
    task = make_task("prompt 1", limits=limits)
    for n in range(2, count + 1):
        store.transitions.follow_up(task.owner, task.task_id, f"prompt {n}")
    return task


@pytest.mark.parametrize(
    ("limits", "usage", "cost", "turns", "reason"),
    [
        (TaskLimits(max_turns=2), Usage(input_tokens=1), 0.0, 2, "max_turns reached: 2 turn(s) of 2"),
        (TaskLimits(max_tokens=1000), Usage(input_tokens=400, output_tokens=200), 0.0, 2, "max_tokens reached"),
        (TaskLimits(max_budget_usd=0.05), Usage(input_tokens=1), 0.03, 2, "max_budget_usd reached"),
    ],
)
def test_a_limit_reached_with_prompts_left_exhausts_the_task(
    worker: Worker,
    store: Store,
    make_task: MakeTask,
    run: Run,
    limits: TaskLimits,
    usage: Usage,
    cost: float,
    turns: int,
    reason: str,
) -> None:
    # Given a task with three prompts and a limit its replies reach after two turns
    worker.use(ScriptedClaude(usage=usage, cost_usd=cost))
    task = _with_prompts(store, make_task, 3, limits)
    # When the worker runs it
    response = run(task)
    # Then the run stops after two turns: exhausted, saying which limit, the last prompt kept
    assert failed_ids(response) == set()
    after = store.tasks.load(task.task_id)
    assert (after.status, after.turns, after.pending_prompts) == (TaskStatus.EXHAUSTED, turns, ["prompt 3"])
    assert reason in (after.error or "") and "1 prompt(s) left" in (after.error or "")
    assert (after.lease_id, after.interaction_count) == (None, 2 * turns)


def test_a_retry_of_an_exhausted_task_continues_with_a_fresh_allowance(
    worker: Worker, store: Store, make_task: MakeTask, run: Run
) -> None:
    # Given a task exhausted by max_turns with a prompt left
    claude = ScriptedClaude()
    worker.use(claude)
    task = _with_prompts(store, make_task, 2, TaskLimits(max_turns=1))
    run(task)
    assert store.tasks.load(task.task_id).status is TaskStatus.EXHAUSTED
    # When the caller retries it (queued again, run counters reset) and the worker runs it
    store.transitions.retry(task.owner, task.task_id)
    run(task, receive_count=1)
    # Then the remaining prompt is answered, continuing the same conversation
    after = store.tasks.load(task.task_id)
    assert (after.status, after.turns, after.error) == (TaskStatus.SUCCEEDED, 2, None)
    assert [t.content for t in store.interactions.all(task.task_id) if t.role is Role.USER] == ["prompt 1", "prompt 2"]
    assert [turn.content for turn in claude.requests[1].conversation[:-1]][0] == "prompt 1"


def test_a_limit_reached_on_the_last_prompt_still_succeeds(
    worker: Worker, store: Store, make_task: MakeTask, run: Run
) -> None:
    # Given a task allowed one turn, with one prompt
    worker.use(ScriptedClaude())
    task = make_task(limits=TaskLimits(max_turns=1))
    # When the worker runs it
    run(task)
    # Then nothing was left undone: it succeeded
    assert store.tasks.load(task.task_id).status is TaskStatus.SUCCEEDED
