"""The soak: a seeded random run of API operations against the local stack while its worker and janitor run.

At the end, at rest: no answer was a 5xx, the consistency report finds no violation,
and every task is in an end state or its message is in the DLQ. The counts by operation
and status are printed in every run (not only with `-s`): the figures the issue asks for.
"""

from __future__ import annotations

import json
import random
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from claude_tasks.core.clock import now_iso
from claude_tasks_dev.cli.client import ApiClient
from tests.e2e.local_stack import FAST, RunningStack, report_since, start_stack, wait_until
from tests.e2e.soak import OWNERS, Soak, summary

SEED = 20261130
# Sized for well under two minutes on a busy 2-core machine: about 20 s of operations here, plus the rest.
COUNT = 300
REST_S = 90
END_STATES = {"succeeded", "failed", "cancelled", "exhausted"}


@pytest.fixture(scope="module")
def soak_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    """A stack of its own: the DLQ and the consistency report then hold the soak's doing only.

    The janitor re-queues a task nobody picked up after 10 s instead of 5 minutes, as its duty in AWS
    does after `REQUEUE_AFTER_S`: rest must come from the service's own recovery, within the test's wait.
    """
    running = start_stack(tmp_path_factory.mktemp("soak"), "--no-persist", *FAST, env={"REQUEUE_AFTER_S": "10"})
    yield running
    status = running.stop()
    assert status == 0, running.output()[-3000:]


def _pages(client: ApiClient, path: str) -> Iterator[dict[str, Any]]:
    cursor = None
    while True:
        page = client.call("GET", path, query={"limit": 100, "cursor": cursor})
        yield from page["items"]
        cursor = page.get("next_cursor")
        if not cursor:
            return


def _tasks(stack: RunningStack) -> dict[str, dict[str, Any]]:
    """Every task of the soak's owners, as the API lists them now."""
    found = {}
    for owner in OWNERS:
        client = stack.api(owner)
        for session in list(_pages(client, "/sessions")):
            for task in _pages(client, f"/sessions/{session['session_id']}/tasks"):
                found[task["task_id"]] = task
    return found


def _queue_empty(stack: RunningStack) -> bool:
    names = [
        "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed",
    ]
    url = stack.info["queues"]["task_queue_url"]
    figures = stack.sqs().get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
    return all(int(figures.get(name, 0)) == 0 for name in names)


def _rest(stack: RunningStack) -> dict[str, dict[str, Any]]:
    """Wait until the queue is empty and every task ended (or `REST_S` passed); returns the tasks then."""
    deadline = time.monotonic() + REST_S
    while True:
        tasks = _tasks(stack)
        ended = all(task["status"] in END_STATES for task in tasks.values())
        if (ended and _queue_empty(stack)) or time.monotonic() > deadline:
            return tasks
        time.sleep(0.5)


def _dead_letters(stack: RunningStack) -> list[dict[str, Any]]:
    """Every message in the DLQ (each received once and left hidden: the soak's stack ends after this)."""
    sqs, url = stack.sqs(), stack.info["queues"]["dlq_url"]
    bodies: list[dict[str, Any]] = []
    while True:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=300).get("Messages", [])
        if not messages:
            return bodies
        for message in messages:
            try:
                bodies.append(json.loads(message["Body"]))
            except ValueError:
                bodies.append({"unparsed": message["Body"]})


def test_a_soak_of_random_operations_ends_at_rest_with_no_5xx_and_no_violation(
    soak_stack: RunningStack, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a seeded sequence of operations by three principals, with bad inputs and pipeline messages among them
    soak = Soak(soak_stack, random.Random(SEED))
    started = time.monotonic()
    # When they are sent one after another while the worker and janitor run
    while soak.count < COUNT:
        soak.step()
    sent_s = time.monotonic() - started
    # And the stack has come to rest
    tasks = _rest(soak_stack)
    # (the janitor's full check, started after rest, sees the data as it is at rest)
    report = wait_until(report_since(soak_stack.api("admin"), now_iso()), REST_S, "a full check started at rest")
    listed = soak_stack.api("admin").call("GET", "/admin/dead-letters", query={"limit": 100})["items"]
    dead = _dead_letters(soak_stack)
    # (the figures, in every run: operations and answers, where the tasks ended, what the DLQ holds)
    ends = Counter(task["status"] for task in tasks.values())
    with capsys.disabled():
        lines = summary(soak.outcomes)
        lines[0] += f" (seed {SEED}) sent in {sent_s:.1f} s, at rest after {time.monotonic() - started:.1f} s"
        lines.append(f"  tasks at rest: {dict(sorted(ends.items()))}; dead letters: {len(dead)}")
        lines.append(
            f"  consistency: {report['total_tasks']} tasks, {report['total_interactions']} interactions, "
            f"{len(report['violations'])} violations"
        )
        print("\n" + "\n".join(lines))
    # Then no answer was a 5xx (and every bad input a 4xx)
    assert soak.server_errors == []
    # And the invariants hold at rest
    assert report["violations"] == [], report["violations"]
    assert report["shared_claude_session_ids"] == 0
    # And every task ended, or its message is in the DLQ
    dead_runs = {body.get("task_id") for body in dead if body.get("type") == "task.run"}
    unfinished = {tid: task["status"] for tid, task in tasks.items() if task["status"] not in END_STATES}
    assert {tid: status for tid, status in unfinished.items() if tid not in dead_runs} == {}
    # And every dead letter says why, as the worker recorded it (none is a timeout or a crash: no log to look in)
    assert len(listed) == len(dead)
    assert [letter for letter in listed if not letter["reason"] or "worker's log" in letter["reason"]] == []
    # And every task the soak made and never deleted is still there
    gone = {
        tid
        for tid, (_, session_id) in soak.tasks.items()
        if tid in soak.deleted_tasks or session_id in soak.deleted_sessions
    }
    assert set(soak.tasks) - gone <= set(tasks)
    # And a pipeline's message for a session that never existed is in the DLQ, not lost
    dead_keys = {body.get("idempotency_key") for body in dead if body.get("type") == "task.create"}
    never = {key for key, (_, session_id) in soak.posted.items() if session_id not in soak.ever_sessions}
    assert never <= dead_keys
