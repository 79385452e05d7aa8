"""The soak's random operations: a seeded sequence of API calls (and a few pipeline messages) against a stack.

`Soak.step()` picks one operation by weight, sends it, and records `(operation, status)`;
what it learnt (sessions and tasks made, deleted, messages posted) stays in the `Soak`
for the checks at rest. The sequence of choices depends on the seed and on the answers
(a 404 ends a session's life in the model), never on wall-clock time.
"""

from __future__ import annotations

import json
import random
import urllib.error
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from claude_tasks_dev.cli.client import ApiClient, Response
from tests.e2e.local_stack import RunningStack

OWNERS = ("soak-ann", "soak-bob", "soak-cid")


@dataclass
class Soak:
    stack: RunningStack
    rng: random.Random
    outcomes: Counter[tuple[str, int]] = field(default_factory=Counter)
    server_errors: list[str] = field(default_factory=list)
    sessions: dict[str, str] = field(default_factory=dict)  # session id -> owner, while believed alive
    tasks: dict[str, tuple[str, str]] = field(default_factory=dict)  # task id -> (owner, session id)
    deleted_tasks: set[str] = field(default_factory=set)
    deleted_sessions: set[str] = field(default_factory=set)
    ever_sessions: set[str] = field(default_factory=set)
    cancelled: set[str] = field(default_factory=set)  # tasks the soak cancelled and has not retried since
    # task.create messages posted straight to the queue: idempotency key -> (owner, session id).
    posted: dict[str, tuple[str, str]] = field(default_factory=dict)
    # Task creates sent with an Idempotency-Key: (owner, session id, key, body), for a client's retry.
    keys: list[tuple[str, str, str, dict[str, Any]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.clients = {owner: self.stack.api(owner) for owner in OWNERS}
        self.operations: list[tuple[str, int, Callable[[], None]]] = [
            ("create session", 8, self.create_session),
            ("delete session", 4, self.delete_session),
            ("create task", 22, self.create_task),
            ("follow-up", 10, self.follow_up),
            ("cancel", 3, self.cancel),
            ("cancel (new task)", 5, self.cancel_new),
            ("retry", 5, self.retry),
            ("fork", 5, self.fork),
            ("delete task", 4, self.delete_task),
            ("patch task", 3, self.patch_task),
            ("read", 16, self.read),
            ("bad input", 8, self.bad_input),
            ("other owner's task", 3, self.foreign),
            ("pipeline task.create", 3, self.pipeline),
        ]

    @property
    def count(self) -> int:
        """Operations sent so far (a pick with nothing to act on sends none)."""
        return sum(self.outcomes.values())

    def step(self) -> None:
        names_weights = [(fn, weight) for _, weight, fn in self.operations]
        operation = self.rng.choices([fn for fn, _ in names_weights], [w for _, w in names_weights])[0]
        operation()

    # what a caller does -------------------------------------------------------------------------
    def create_session(self) -> None:
        owner = self.rng.choice(OWNERS)
        body = {"project_path": f"/work/soak/{self.rng.randrange(5)}", "name": "soak"}
        headers = {}
        if self.rng.random() < 0.3:
            headers["Idempotency-Key"] = f"s-{self.rng.randrange(10)}"
        response = self._send("create session", owner, "POST", "/sessions", body, headers=headers)
        if response.status == 201:
            self.sessions[response.body["session_id"]] = owner
            self.ever_sessions.add(response.body["session_id"])

    def delete_session(self) -> None:
        session_id, owner = self._session()
        if session_id is None:
            return
        cascade = self.rng.random() < 0.6
        label = "delete session (cascade)" if cascade else "delete session"
        response = self._send(
            label, owner, "DELETE", f"/sessions/{session_id}", query={"cascade": str(cascade).lower()}
        )
        if response.status in (204, 404):
            self.sessions.pop(session_id, None)
            self.deleted_sessions.add(session_id)
            self.deleted_tasks |= {tid for tid, (_, sid) in self.tasks.items() if sid == session_id}

    def create_task(self) -> None:
        session_id, owner = self._session()
        if session_id is None:
            return self.create_session()
        body = {"prompt": f"soak prompt {self.rng.randrange(1000)}"}
        headers = {}
        if self.keys and self.rng.random() < 0.1:  # a client's retry: the same key, the same body
            owner, session_id, key, body = self.rng.choice(self.keys)
            headers["Idempotency-Key"] = key
        elif self.rng.random() < 0.3:
            headers["Idempotency-Key"] = key = f"t-{uuid.UUID(int=self.rng.getrandbits(128))}"
            self.keys.append((owner, session_id, key, body))
        response = self._send("create task", owner, "POST", f"/sessions/{session_id}/tasks", body, headers=headers)
        if response.status == 202:
            self.tasks[response.body["task_id"]] = (owner, session_id)
        elif response.status == 404:
            self.sessions.pop(session_id, None)

    def follow_up(self) -> None:
        self._on_task("follow-up", "POST", "/messages", {"prompt": f"and then {self.rng.randrange(100)}?"})

    def cancel(self) -> None:
        done = self._on_task("cancel", "POST", "/cancel", {})
        if done is not None and done[2].status == 200:
            self.cancelled.add(done[0])

    def cancel_new(self) -> None:
        """A task cancelled as soon as it is created: the cancel races the worker's run."""
        before = set(self.tasks)
        self.create_task()
        made = [task_id for task_id in self.tasks if task_id not in before]
        if made:
            owner = self.tasks[made[0]][0]
            if self._send("cancel (new task)", owner, "POST", f"/tasks/{made[0]}/cancel", {}).status == 200:
                self.cancelled.add(made[0])

    def retry(self) -> None:
        """Mostly a task the soak cancelled (retry takes cancelled, failed or exhausted tasks), else any."""
        cancelled = sorted(self.cancelled - self.deleted_tasks)
        if cancelled and self.rng.random() < 0.7:
            task_id = self.rng.choice(cancelled)
            owner = self.tasks[task_id][0]
            if self._send("retry", owner, "POST", f"/tasks/{task_id}/retry", {}).status == 202:
                self.cancelled.discard(task_id)
            return
        self._on_task("retry", "POST", "/retry", {})

    def fork(self) -> None:
        body = {"prompt": "a fork's question"} if self.rng.random() < 0.7 else {}
        done = self._on_task("fork", "POST", "/fork", body)
        if done is not None and done[2].status == 202:
            _, owner, response = done
            self.tasks[response.body["task_id"]] = (owner, response.body["session_id"])

    def delete_task(self) -> None:
        done = self._on_task("delete task", "DELETE", "", None)
        if done is not None and done[2].status in (204, 404):
            self.deleted_tasks.add(done[0])

    def patch_task(self) -> None:
        self._on_task("patch task", "PATCH", "", {"title": f"title {self.rng.randrange(100)}"})

    def read(self) -> None:
        owner = self.rng.choice(OWNERS)
        session_id, session_owner = self._session()
        task_id, task_owner = self._task()
        choices: list[tuple[str, str, dict[str, Any] | None]] = [(owner, "/sessions", {"limit": 5})]
        if session_id:
            choices += [(session_owner, f"/sessions/{session_id}", None)]
            choices += [(session_owner, f"/sessions/{session_id}/tasks", None)]
        if task_id:
            choices += [(task_owner, f"/tasks/{task_id}", None)]
            choices += [(task_owner, f"/tasks/{task_id}/interactions", {"after_seq": self.rng.randrange(3)})]
        who, path, query = self.rng.choice(choices)
        self._send("read", who, "GET", path, query=query)

    def bad_input(self) -> None:
        owner = self.rng.choice(OWNERS)
        session_id, _ = self._session()
        target = f"/sessions/{session_id or uuid.uuid4()}/tasks"
        cases: list[tuple[str, str, Any]] = [
            ("POST", target, "{not json"),
            ("POST", target, {"prompt": ""}),
            ("POST", target, {"prompt": 5}),
            ("POST", target, {"prompt": "p", "session_id": "x"}),
            ("POST", "/sessions", {"project_path": "relative/../path"}),
            ("GET", f"/tasks/{uuid.uuid4()}", None),
            ("GET", "/sessions?limit=100000", None),
            ("GET", "/sessions?cursor=forged", None),
            ("POST", f"/tasks/{uuid.uuid4()}/messages", {"prompt": "to nowhere"}),
            ("PATCH", f"/tasks/{uuid.uuid4()}", {"session_id": "moved"}),
        ]
        method, path, body = self.rng.choice(cases)
        status = self._raw(owner, method, path, body)
        self._record("bad input", status, f"{method} {path}")
        if not 400 <= status < 500:
            self.server_errors.append(f"bad input {method} {path} {body!r} answered {status}")

    def foreign(self) -> None:
        task_id, owner = self._task()
        if task_id is None:
            return
        stranger = self.rng.choice([o for o in OWNERS if o != owner])
        response = self._send("other owner's task", stranger, "GET", f"/tasks/{task_id}")
        if response.status != 404:
            self.server_errors.append(f"{stranger} read {owner}'s task {task_id}: {response.status}")

    def pipeline(self) -> None:
        """A pipeline's task.create straight to the queue: for a live session, or one that never existed."""
        session_id, owner = self._session()
        if session_id is None or self.rng.random() < 0.4:
            session_id, owner = str(uuid.UUID(int=self.rng.getrandbits(128))), self.rng.choice(OWNERS)
        key = f"pipe-{uuid.UUID(int=self.rng.getrandbits(128))}"
        message = {
            "type": "task.create",
            "session_id": session_id,
            "owner": owner,
            "prompt": "piped",
            "idempotency_key": key,
        }
        self.stack.sqs().send_message(
            QueueUrl=self.stack.info["queues"]["task_queue_url"], MessageBody=json.dumps(message)
        )
        self.posted[key] = (owner, session_id)
        self._record("pipeline task.create", 0, "sent")

    # plumbing -----------------------------------------------------------------------------------
    def _session(self) -> tuple[str | None, str]:
        if not self.sessions or self.rng.random() < 0.05:
            return None, self.rng.choice(OWNERS)
        session_id = self.rng.choice(sorted(self.sessions))
        return session_id, self.sessions[session_id]

    def _task(self) -> tuple[str | None, str]:
        alive = sorted(t for t in self.tasks if t not in self.deleted_tasks)
        if not alive:
            return None, self.rng.choice(OWNERS)
        task_id = self.rng.choice(alive)
        return task_id, self.tasks[task_id][0]

    def _on_task(self, label: str, method: str, suffix: str, body: Any) -> tuple[str, str, Response] | None:
        """`method` on one of the tasks believed alive, as its owner: (task id, owner, response)."""
        task_id, owner = self._task()
        if task_id is None:
            return None
        return task_id, owner, self._send(label, owner, method, f"/tasks/{task_id}{suffix}", body)

    def _send(
        self,
        label: str,
        owner: str,
        method: str,
        path: str,
        body: Any = None,
        query: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        client: ApiClient = self.clients[owner]
        response = client.send(method, path, body, query=query, headers=headers)
        self._record(label, response.status, f"{method} {path}")
        if response.status >= 500:
            self.server_errors.append(f"{label}: {method} {path} {body!r} answered {response.status} {response.body}")
        return response

    def _raw(self, owner: str, method: str, path: str, body: Any) -> int:
        """A request whose body is sent as given (a str as is): for inputs the JSON client cannot make."""
        data = None if body is None else (body if isinstance(body, str) else json.dumps(body)).encode()
        request = urllib.request.Request(  # noqa: S310 - the stack's own loopback URL
            self.stack.api_url + path,
            data=data,
            method=method,
            headers={"authorization": f"Bearer {owner}", "content-type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as reply:  # noqa: S310
                return int(reply.status)
        except urllib.error.HTTPError as error:
            return int(error.code)

    def _record(self, label: str, status: int, _what: str) -> None:
        self.outcomes[(label, status)] += 1


def summary(outcomes: Counter[tuple[str, int]]) -> list[str]:
    """One line per operation: how often it ran, and its answers by status (0: a message sent to the queue)."""
    lines = [f"soak: {sum(outcomes.values())} operations"]
    for label in sorted({label for label, _ in outcomes}):
        statuses = {status: n for (name, status), n in sorted(outcomes.items()) if name == label}
        total = sum(statuses.values())
        lines.append(f"  {label:24} {total:4}  " + "  ".join(f"{s}×{n}" for s, n in statuses.items()))
    return lines
