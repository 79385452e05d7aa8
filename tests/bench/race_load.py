"""Issue 8's racing workload on the local stack: responses by status, and the consistency audit during and after.

A measurement, not a test (it prints figures, asserts nothing). Run:
`.venv/bin/python -m tests.bench.race_load [--operations 1500] [--threads 8] [--janitor-interval 5]`.

It starts `python -m claude_tasks_dev.local` on loopback (offline Claude model, nothing
persisted), opens a few sessions for three principals, then sends `--operations` API
requests from `--threads` threads, all aimed at the same few sessions and tasks: create
tasks (without and with an Idempotency-Key; replays of a key with the same body, and
with another body, where 422 is expected), follow-ups alone and fired together with a
PATCH, PATCH alone, cancel, retry, five forks of one task at once, delete a task, delete
a session with cascade right after creating a task in it (409 expected when the worker has
leased it), and the list routes. (A key's task id derives from the key, so a key whose task
was deleted creates a new task, even with another body: that 202 is by design.) Meanwhile
the admin reads `GET /admin/consistency` (the janitor's last full check, one starting
every `--janitor-interval` s) about once a second. Then it waits (bounded) until no task it
was answered 202 for is queued or running, waits for a full check started at rest, and
sends SIGINT to the stack.
"""

from __future__ import annotations

import argparse
import json
import random
import signal
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from claude_tasks.core.clock import now_iso
from tests.e2e.local_stack import RunningStack, start_stack

PRINCIPALS = ("race-0", "race-1", "race-2")
ENDED = frozenset({"succeeded", "failed", "cancelled", "exhausted"})
Status = int | str  # an HTTP status, or "timeout" / "no-connection" when no answer came


def call(api_url: str, method: str, path: str, principal: str, body: Any = None, key: str | None = None) -> Any:
    """(status, parsed body or None); a request that got no answer has a string status."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(api_url + path, data=data, method=method)  # noqa: S310 - our loopback stack
    request.add_header("Authorization", f"Bearer {principal}")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if key is not None:
        request.add_header("Idempotency-Key", key)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as err:
        return err.code, None
    except TimeoutError:
        return "timeout", None
    except OSError:
        return "no-connection", None


@dataclass
class Slot:
    """One of the few sessions every thread aims at, with the tasks and idempotency keys seen in it."""

    principal: str
    session_id: str
    tasks: list[str] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)


class World:
    """The shared targets, and what the API answered: responses by (operation, status), tasks told of."""

    def __init__(self, api_url: str) -> None:
        self.api_url = api_url
        self.lock = threading.Lock()
        self.slots: list[Slot] = []
        self.responses: Counter[tuple[str, Status]] = Counter()
        self.accepted: dict[str, tuple[str, str]] = {}  # task id -> (principal, session id), from any 202
        self.deleted: set[str] = set()  # task ids and session ids whose DELETE was answered 204 (or not at all)

    def request(self, operation: str, method: str, path: str, principal: str, body: Any = None, key: Any = None) -> Any:
        status, answer = call(self.api_url, method, path, principal, body, key)
        with self.lock:
            self.responses[(operation, status)] += 1
            if status == 202 and answer:
                self.accepted[answer["task_id"]] = (principal, answer["session_id"])
                # A key's task id is derived from the key: once that task is deleted, the key makes it anew.
                self.deleted.discard(answer["task_id"])
                for slot in self.slots:
                    if slot.session_id == answer["session_id"] and answer["task_id"] not in slot.tasks:
                        slot.tasks = [*slot.tasks[-7:], answer["task_id"]]
        return status, answer

    def open_session(self, principal: str) -> Slot:
        answer = None
        while answer is None:  # a 503 under load is answered again, not fatal to the run
            _, answer = self.request("create session", "POST", "/sessions", principal, {"project_path": "/work/race"})
        slot = Slot(principal, answer["session_id"])
        with self.lock:
            self.slots.append(slot)
        return slot

    def delete_task(self, operation: str, principal: str, task_id: str) -> None:
        status, _ = self.request(operation, "DELETE", f"/tasks/{task_id}", principal)
        if status == 204 or isinstance(status, str):
            with self.lock:
                self.deleted.add(task_id)

    def pick(self, rng: random.Random) -> tuple[Slot, str | None]:
        with self.lock:
            slot = rng.choice(self.slots)
            return slot, rng.choice(slot.tasks) if slot.tasks else None

    def was_deleted(self, task_id: str) -> bool:
        return task_id in self.deleted or self.accepted[task_id][1] in self.deleted


def burst(calls: list[Callable[[], object]]) -> int:
    """Run `calls` on their own threads, released together, so they race; returns how many ran."""
    barrier = threading.Barrier(len(calls))
    threads = [threading.Thread(target=lambda c=c: (barrier.wait(), c())) for c in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return len(calls)


Operation = Callable[["World", random.Random], int]  # returns how many requests it sent


def create_task(world: World, rng: random.Random) -> int:
    slot, _ = world.pick(rng)
    world.request("create task", "POST", f"/sessions/{slot.session_id}/tasks", slot.principal, {"prompt": "race"})
    return 1


def create_task_keyed(world: World, rng: random.Random) -> int:
    slot, _ = world.pick(rng)
    path = f"/sessions/{slot.session_id}/tasks"
    if slot.keys and rng.random() < 0.3:  # a key already answered 202, sent with another body: 422
        key = rng.choice(slot.keys)
        world.request("create task, key reused, other body", "POST", path, slot.principal, {"prompt": key + "!"}, key)
        return 1
    key = f"{slot.session_id}-{rng.randrange(4)}"  # a key is the owner's: per session, a replay is the same request
    status, _ = world.request("create task, key (maybe replay)", "POST", path, slot.principal, {"prompt": key}, key)
    with world.lock:
        if status == 202 and key not in slot.keys:
            slot.keys.append(key)
    return 1


def on_task(operation: str, method: str, suffix: str, body: Any = None) -> Operation:
    def run(world: World, rng: random.Random) -> int:
        slot, task_id = world.pick(rng)
        if task_id is None:
            return 0
        if method == "DELETE":
            world.delete_task(operation, slot.principal, task_id)
        else:
            world.request(operation, method, f"/tasks/{task_id}{suffix}", slot.principal, body)
        return 1

    return run


def follow_up_with_patch(world: World, rng: random.Random) -> int:
    slot, task_id = world.pick(rng)
    if task_id is None:
        return 0
    path, who = f"/tasks/{task_id}", slot.principal
    change = rng.choice(({"title": "raced"}, {"metadata": {"n": rng.randrange(99)}}))
    return burst([
        lambda: world.request("follow-up (with PATCH)", "POST", path + "/messages", who, {"prompt": "go"}),
        lambda: world.request("PATCH (with follow-up)", "PATCH", path, who, change),
    ])  # fmt: skip


def fork_five(world: World, rng: random.Random) -> int:
    slot, task_id = world.pick(rng)
    if task_id is None:
        return 0
    path = f"/tasks/{task_id}/fork"
    return burst([lambda: world.request("fork (5 at once)", "POST", path, slot.principal, {"prompt": "fork"})] * 5)


def fresh_task_raced(world: World, rng: random.Random) -> int:
    """A task just created, while it is queued or leased: cancel, delete, follow up and PATCH it at once."""
    slot, _ = world.pick(rng)
    status, task = world.request("create task", "POST", f"/sessions/{slot.session_id}/tasks", slot.principal,
                                 {"prompt": "fresh"})  # fmt: skip
    if status != 202:
        return 1
    path, who = f"/tasks/{task['task_id']}", slot.principal
    return 1 + burst([
        lambda: world.request("cancel (fresh task)", "POST", path + "/cancel", who),
        lambda: world.delete_task("delete task (fresh task)", who, task["task_id"]),
        lambda: world.request("follow-up (fresh task)", "POST", path + "/messages", who, {"prompt": "and then"}),
        lambda: world.request("PATCH (fresh task)", "PATCH", path, who, {"metadata": {"fresh": True}}),
    ])  # fmt: skip


def delete_session_cascade(world: World, rng: random.Random) -> int:
    """Create a task and at once delete its session with cascade: 409 if the worker leased the task first."""
    slot, _ = world.pick(rng)
    world.request("create task", "POST", f"/sessions/{slot.session_id}/tasks", slot.principal, {"prompt": "doomed"})
    path = f"/sessions/{slot.session_id}?cascade=true"
    status, _ = world.request("delete session, cascade", "DELETE", path, slot.principal)
    if status != 204 and not isinstance(status, str):
        return 2
    with world.lock:
        world.deleted.add(slot.session_id)
        if slot in world.slots:
            world.slots.remove(slot)
    world.open_session(slot.principal)  # keep the number of targets
    return 3


def list_route(operation: str, path: str) -> Operation:
    def run(world: World, rng: random.Random) -> int:
        slot, task_id = world.pick(rng)
        if "{task}" in path and task_id is None:
            return 0
        world.request(operation, "GET", path.format(session=slot.session_id, task=task_id), slot.principal)
        return 1

    return run


# name -> (weight, most requests one draw sends, the operation)
OPERATIONS: dict[str, tuple[int, int, Operation]] = {
    "create task": (10, 1, create_task),
    "create task, keyed": (10, 1, create_task_keyed),
    "follow-up": (10, 1, on_task("follow-up", "POST", "/messages", {"prompt": "more"})),
    "follow-up with PATCH": (10, 2, follow_up_with_patch),
    "PATCH": (6, 1, on_task("PATCH", "PATCH", "", {"title": "alone"})),
    "cancel": (6, 1, on_task("cancel", "POST", "/cancel")),
    "retry": (6, 1, on_task("retry", "POST", "/retry")),
    "fork": (2, 5, fork_five),
    "fresh task raced": (3, 5, fresh_task_raced),
    "delete task": (4, 1, on_task("delete task", "DELETE", "")),
    "delete session": (1, 3, delete_session_cascade),
    "list sessions": (5, 1, list_route("list sessions", "/sessions?limit=20")),
    "list tasks": (6, 1, list_route("list tasks", "/sessions/{session}/tasks?limit=20")),
    "list interactions": (6, 1, list_route("list interactions", "/tasks/{task}/interactions?limit=20")),
    "get task": (4, 1, list_route("get task", "/tasks/{task}")),
}


def race(world: World, operations: int, threads: int, seed: int) -> None:
    """Draw operations on `threads` threads until the next draw could exceed `operations` requests."""
    reserved, lock = 0, threading.Lock()
    names = list(OPERATIONS)
    weights = [OPERATIONS[name][0] for name in names]

    def worker(index: int) -> None:
        nonlocal reserved
        rng = random.Random(seed * 1000 + index)
        while True:
            _, cost, operation = OPERATIONS[rng.choices(names, weights)[0]]
            with lock:
                if reserved + cost > operations:
                    return
                reserved += cost
            sent = operation(world, rng)
            with lock:
                reserved -= cost - sent  # a draw that found no task, or stopped early, gives back its share

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(worker, range(threads)))


class Auditor(threading.Thread):
    """Reads the consistency report every `interval` seconds until stopped."""

    def __init__(self, api_url: str, admin: str, interval: float) -> None:
        super().__init__(daemon=True)
        self.api_url, self.admin, self.interval = api_url, admin, interval
        self.stopped = threading.Event()
        self.statuses: Counter[Status] = Counter()
        self.with_violations = 0
        self.kinds: Counter[str] = Counter()

    def audit(self, since: str = "") -> tuple[Status, list[str]]:
        """The last report's violation kinds; with `since`, waits (bounded) for one started after it."""
        deadline = time.monotonic() + 120
        while True:
            status, report = call(self.api_url, "GET", "/admin/consistency", self.admin)
            fresh = status == 200 and report["started_at"] > since
            if fresh:
                return status, [violation["kind"] for violation in report["violations"]]
            if time.monotonic() > deadline:
                return "no report started after it completed in 120 s", []
            time.sleep(1)

    def run(self) -> None:
        while not self.stopped.wait(self.interval):
            status, kinds = self.audit()
            self.statuses[status] += 1
            self.with_violations += bool(kinds)
            self.kinds.update(kinds)


def settle(world: World, threads: int, limit_s: float) -> tuple[Counter[str], float]:
    """Poll every task answered 202 until it has ended or is gone; at most `limit_s` seconds."""
    outcome: Counter[str] = Counter()
    pending, started = set(world.accepted), time.monotonic()

    def check(task_id: str) -> str | None:
        status, task = call(world.api_url, "GET", f"/tasks/{task_id}", world.accepted[task_id][0])
        if status == 404:
            return "gone, deleted by the workload" if world.was_deleted(task_id) else "gone, never deleted (lost)"
        return f"ended ({task['status']})" if status == 200 and task["status"] in ENDED else None

    with ThreadPoolExecutor(threads) as pool:
        while pending and time.monotonic() - started < limit_s:
            for task_id, verdict in zip(sorted(pending), pool.map(check, sorted(pending)), strict=True):
                if verdict is not None:
                    outcome[verdict] += 1
                    pending.discard(task_id)
            if pending:
                time.sleep(1)
    outcome["still queued or running"] = len(pending)
    return outcome, time.monotonic() - started


def unnamed_tasks(world: World) -> int:
    """Tasks in the live sessions that no 202 named: a request answered otherwise must create nothing."""
    unnamed = 0
    for slot in world.slots:
        cursor = ""
        while cursor is not None:
            query = f"?limit=100&cursor={cursor}" if cursor else "?limit=100"
            _, page = call(world.api_url, "GET", f"/sessions/{slot.session_id}/tasks{query}", slot.principal)
            unnamed += sum(1 for task in page["items"] if task["task_id"] not in world.accepted)
            cursor = page["next_cursor"]
    return unnamed


def print_responses(world: World, setup: int, requests_s: float) -> None:
    racing = sum(world.responses.values()) - setup
    print(f"operations run: {racing} racing requests in {requests_s:.0f} s, after {setup} setting up; responses:")
    for operation in sorted({operation for operation, _ in world.responses}):
        statuses = {s: n for (o, s), n in world.responses.items() if o == operation}
        print(f"  {operation:40} {dict(sorted(statuses.items(), key=str))}")
    by_status: Counter[Status] = Counter()
    for (_, status), n in world.responses.items():
        by_status[status] += n
    server_errors = sum(n for status, n in by_status.items() if isinstance(status, int) and status >= 500)
    print(f"totals by status: {dict(sorted(by_status.items(), key=str))}")
    unanswered = by_status["timeout"] + by_status["no-connection"]
    print(f"5xx responses: {server_errors}; requests with no answer: {unanswered}")


def stop(stack: RunningStack) -> None:
    started = time.monotonic()
    status = stack.stop(signal.SIGINT)
    text = stack.output()
    tail = text.strip().splitlines()[-1] if text.strip() else ""
    print(f"SIGINT -> exit {status} after {time.monotonic() - started:.1f} s; last line: {tail!r}")
    print(f"stack log: {text.count('Traceback')} tracebacks")


def measure(info: dict[str, Any], args: argparse.Namespace) -> None:
    world = World(info["api_url"])
    for principal in PRINCIPALS:
        for _ in range(args.sessions):
            slot = world.open_session(principal)
            create_task(world, random.Random(slot.session_id))
    auditor = Auditor(info["api_url"], info["admin_principal"], args.audit_interval)
    auditor.start()
    setup, started = sum(world.responses.values()), time.monotonic()
    race(world, args.operations, args.threads, args.seed)
    requests_s = time.monotonic() - started
    auditor.stopped.set()
    auditor.join()
    outcome, waited = settle(world, args.threads, args.settle_s)
    status, kinds = auditor.audit(since=now_iso())
    print_responses(world, setup, requests_s)
    print(f"audits during traffic: {sum(auditor.statuses.values())} (statuses {dict(auditor.statuses)}), "
          f"{auditor.with_violations} reported violations; kinds: {dict(auditor.kinds) or 'none'}")  # fmt: skip
    print(f"audit at rest: status {status}, {len(kinds)} violations {dict(Counter(kinds)) or ''}")
    ended = all(verdict.startswith(("ended", "gone, deleted")) for verdict in +outcome)
    print(f"tasks answered 202: {len(world.accepted)}; after {waited:.0f} s: {dict(outcome)}")
    print(f"every task answered 202 reached an end state (or was deleted): {'yes' if ended else 'NO'}")
    print(f"tasks in live sessions that no 202 named: {unnamed_tasks(world)}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--operations", type=int, default=1500, help="racing requests to send")
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--sessions", type=int, default=3, help="sessions per principal (the shared targets)")
    parser.add_argument("--janitor-interval", type=float, default=5.0)
    parser.add_argument("--audit-interval", type=float, default=1.0)
    parser.add_argument("--settle-s", type=float, default=300.0, help="longest wait for every task to end")
    parser.add_argument("--seed", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        interval = str(args.janitor_interval)
        stack = start_stack(
            Path(folder), "--no-persist", "--janitor-interval", interval, "--full-check-interval", interval
        )
        info = stack.info
        print(f"stack pid {stack.process.pid} at {info['api_url']}, Claude backend {info['claude_backend']}")
        try:
            measure(info, args)
        finally:
            stop(stack)


if __name__ == "__main__":
    main()
