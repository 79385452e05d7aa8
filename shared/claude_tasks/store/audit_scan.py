"""The full check as a parallel, segmented scan that stops at a deadline and goes on where it stopped.

Each table is split into `segments` (DynamoDB's `Segment`/`TotalSegments`); each
(table, segment) is a job scanned on its own thread, item by item, through
`audit_checks`. A job past the deadline stops after the item in hand and keeps
the key to start after (the `ExclusiveStartKey` of its next scan); a task's turns,
which a scan returns together, are checked as one run and never split. Every job
does at least one item per step, so any budget makes progress. An item whose
confirmation would start past the deadline (`audit_checks.Deferred`) is dropped with
its figures and done again in the next step, from the key before it. Of the usage
table, only the owners' `total` items are checked (a filter: the scan still reads,
and pays for, their days, months and minutes).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from claude_tasks.core.clock import now_iso
from claude_tasks.core.usage import TOTAL
from claude_tasks.store import audit_checks as check
from claude_tasks.store.audit import Tally
from claude_tasks.store.models import InteractionModel, SessionModel, TaskModel, UsageModel

if TYPE_CHECKING:
    from claude_tasks.store import Store

Table = Literal["sessions", "tasks", "interactions", "usage"]
TABLES: tuple[Table, ...] = ("sessions", "tasks", "interactions", "usage")
# One unit of work: the key to resume after it, and its check (called with a tally and `deadline=`).
Unit = tuple[dict[str, Any], Callable[..., None]]


class Job(BaseModel):
    model_config = ConfigDict(defer_build=True)  # built on first use, not at a handler's import

    table: Table
    segment: int
    start_key: dict[str, Any] | None = None  # DynamoDB's form, as `ExclusiveStartKey` takes it
    done: bool = False


class Progress(BaseModel):
    """A full check under way: where each job stands, and what the finished items added up to."""

    model_config = ConfigDict(defer_build=True)

    started_at: str
    segments: int
    jobs: list[Job]
    tally: Tally = Field(default_factory=Tally)

    @classmethod
    def begin(cls, segments: int) -> Progress:
        jobs = [Job(table=table, segment=n) for table in TABLES for n in range(segments)]
        return cls(started_at=now_iso(), segments=segments, jobs=jobs)

    @property
    def complete(self) -> bool:
        return all(job.done for job in self.jobs)

    def advance(self, store: Store, deadline: float, page_size: int | None = None) -> None:
        """Scan the unfinished jobs, `segments` at a time, until each is done or `deadline` (monotonic) passed."""
        pending = [job for job in self.jobs if not job.done]
        if not pending:
            return
        with ThreadPoolExecutor(max_workers=min(self.segments, len(pending)), thread_name_prefix="audit") as pool:
            tallies = list(pool.map(lambda job: self._run(store, job, deadline, page_size), pending))
        for tally in tallies:
            self.tally.merge(tally)

    def _run(self, store: Store, job: Job, deadline: float, page_size: int | None) -> Tally:
        tally = Tally()
        for n, (key, unit) in enumerate(_units(store, job, self.segments, page_size)):
            if n > 0 and time.monotonic() >= deadline:
                return tally
            done = Tally()
            try:
                unit(done, deadline=deadline if n > 0 else None)  # the first item always finishes: progress
            except check.Deferred:
                return tally  # `start_key` still names the item before: this one is done again
            tally.merge(done)
            job.start_key = key
        job.done, job.start_key = True, None
        return tally


def _units(store: Store, job: Job, segments: int, page_size: int | None) -> Iterator[Unit]:
    options: dict[str, Any] = {
        "segment": job.segment,
        "total_segments": segments,
        "last_evaluated_key": job.start_key,
        "page_size": page_size,
    }
    if job.table == "sessions":
        for session in SessionModel.scan(**options):
            yield {"session_id": {"S": session.session_id}}, partial(check.session, store, item=session)
    elif job.table == "tasks":
        for task in TaskModel.scan(**options):
            yield {"task_id": {"S": task.task_id}}, partial(check.task, item=task)
    elif job.table == "usage":
        for total in UsageModel.scan(UsageModel.period == TOTAL, **options):
            yield {"owner": {"S": total.owner}, "period": {"S": TOTAL}}, partial(check.owner_without_tasks, item=total)
    else:
        for task_id, group in itertools.groupby(InteractionModel.scan(**options), key=lambda turn: turn.task_id):
            run = list(group)
            key = {"task_id": {"S": task_id}, "seq": {"N": str(int(run[-1].seq))}}
            yield key, partial(check.turns, task_id=task_id, run=run)
