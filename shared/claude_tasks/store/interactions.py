"""Interactions: staged into a run's transaction with their task's counter, read back in `seq` order."""

from __future__ import annotations

from typing import TYPE_CHECKING

from claude_tasks.core.clock import now_iso
from claude_tasks.core.records import Interaction, NewInteraction, Page, Task
from claude_tasks.store import cursor
from claude_tasks.store.faults import translate_faults
from claude_tasks.store.models import InteractionModel, TaskModel
from claude_tasks.store.records import interaction_record
from claude_tasks.store.task_write import TaskWrite
from claude_tasks.store.transaction import Transaction

if TYPE_CHECKING:
    from claude_tasks.store import Store


@translate_faults
class InteractionRepository:
    def __init__(self, store: Store) -> None:
        self._store = store

    def stage(
        self, tx: Transaction, write: TaskWrite, task: Task, new: list[NewInteraction], expected_count: int
    ) -> list[InteractionModel]:
        """Add `new` as the turns after `expected_count` to `tx` and to the task's update `write`.

        The task update requires `interaction_count = expected_count` and sets it
        to the count after; each interaction put requires its key to be new.
        """
        write.expected_count = expected_count
        write.actions.append(TaskModel.interaction_count.set(expected_count + len(new)))
        stamp = now_iso()
        items = []
        for offset, turn in enumerate(new, start=1):
            item = InteractionModel(
                task.task_id,
                expected_count + offset,
                session_id=write.session_id,
                owner=task.owner,
                role=turn.role.value,
                content=None if turn.content_ref else turn.content,
                content_ref=turn.content_ref,
                input_tokens=turn.usage.input_tokens,
                output_tokens=turn.usage.output_tokens,
                cache_creation_input_tokens=turn.usage.cache_creation_input_tokens,
                cache_read_input_tokens=turn.usage.cache_read_input_tokens,
                cost_usd=turn.cost_usd,
                duration_ms=turn.duration_ms,
                stop_reason=turn.stop_reason,
                model=turn.model,
                tool_name=turn.tool_name,
                tool_use_id=turn.tool_use_id,
                created_at=stamp,
            )
            tx.put(f"interaction:{offset}", item, InteractionModel.task_id.does_not_exist())
            items.append(item)
        return items

    def list_for_task(
        self, task: Task, after_seq: int = 0, limit: int = 100, after: str | None = None
    ) -> Page[Interaction]:
        """The task's interactions with `seq > after_seq`, in `seq` order, one page at a time."""
        scope = f"interactions\x00{task.owner}\x00{task.task_id}\x00{after_seq}"
        start = cursor.decode(
            after, scope, frozenset({"task_id", "seq"}), {"task_id": task.task_id}, numeric=frozenset({"seq"})
        )
        results = InteractionModel.query(
            task.task_id,
            InteractionModel.seq > after_seq,
            consistent_read=True,
            limit=limit,
            last_evaluated_key=start,
        )
        items = [interaction_record(item, self._store.content.read(item)) for item in results]
        return Page[Interaction](items=items, next_cursor=cursor.encode(results.last_evaluated_key, scope))

    def all(self, task_id: str) -> list[Interaction]:
        """Every interaction of the task, in `seq` order, content resolved."""
        return [
            interaction_record(item, self._store.content.read(item))
            for item in InteractionModel.query(task_id, consistent_read=True)
        ]
