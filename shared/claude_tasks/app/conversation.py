"""What Claude is asked on a task's turn, and what the answer does to the task.

The Messages API and Bedrock are stateless, so every turn resends the whole
conversation, rebuilt from the task's recorded interactions (`seq` order) plus
the prompt at the head of `pending_prompts`.
"""

from __future__ import annotations

from collections.abc import Iterable

from claude_tasks.claude import ClaudeReply, ClaudeRequest, Turn
from claude_tasks.claude.pricing import PRICES
from claude_tasks.core.config import Settings
from claude_tasks.core.records import Interaction, NewInteraction, Role, Task, TaskLimits, TaskStatus
from claude_tasks.store.runs import TurnRecord


def conversation(history: Iterable[Interaction], prompt: str) -> list[Turn]:
    """The user/assistant turns of `history`, then `prompt`; alternating, ending with the user.

    `error`, `system` and `tool` interactions are our records, not Claude's turns, so they
    are left out; consecutive turns of one role (e.g. a copied history) are joined, as
    the Messages API requires roles to alternate.
    """
    turns: list[Turn] = []
    for item in history:
        if item.role is Role.USER:
            _add(turns, Turn("user", item.content))
        elif item.role is Role.ASSISTANT:
            _add(turns, Turn("assistant", item.content))
    _add(turns, Turn("user", prompt))
    return turns


def _add(turns: list[Turn], turn: Turn) -> None:
    if turns and turns[-1].role == turn.role:
        turns[-1] = Turn(turn.role, f"{turns[-1].content}\n\n{turn.content}")
    else:
        turns.append(turn)


def request_for(
    task: Task, history: Iterable[Interaction], settings: Settings, claude_session_id: str, deadline: float
) -> ClaudeRequest:
    """The request answering the task's next pending prompt (which must exist), to be answered by `deadline`."""
    return ClaudeRequest(
        conversation=conversation(history, task.pending_prompts[0]),
        model=task.model or settings.claude_model,
        system=task.system,
        max_tokens=task.max_tokens or settings.claude_max_tokens,
        claude_session_id=claude_session_id,
        deadline=deadline,
    )


def limit_reached(limits: TaskLimits, turns: int, tokens: int, cost_usd: float) -> str | None:
    """Which of the task's limits this run's usage has reached, in words; None while all allow more."""
    if limits.max_turns is not None and turns >= limits.max_turns:
        return f"max_turns reached: {turns} turn(s) of {limits.max_turns} this run"
    if limits.max_tokens is not None and tokens >= limits.max_tokens:
        return f"max_tokens reached: {tokens} token(s) of {limits.max_tokens} this run"
    if limits.max_budget_usd is not None and cost_usd >= limits.max_budget_usd:
        return f"max_budget_usd reached: ${cost_usd:.4f} of ${limits.max_budget_usd:.4f} this run"
    return None


def exhausted_before_turn(task: Task) -> str | None:
    """Why the task may not take another turn now (a limit already reached), or None."""
    reason = limit_reached(task.limits, task.run_turns, task.run_tokens, task.run_cost_usd)
    return None if reason is None else f"{reason}; {len(task.pending_prompts)} prompt(s) left"


def status_after(task: Task, tokens: int, cost_usd: float) -> tuple[TaskStatus, str | None]:
    """The task's status once its head prompt is answered, with `tokens` and `cost_usd` more spent this run.

    `running` while prompts remain and no limit is reached; with none left `succeeded`; with
    prompts left but a limit reached `exhausted`, with the reason saying which.
    """
    left = len(task.pending_prompts) - 1
    if left == 0:
        return TaskStatus.SUCCEEDED, None
    reason = limit_reached(task.limits, task.run_turns + 1, task.run_tokens + tokens, task.run_cost_usd + cost_usd)
    if reason is not None:
        return TaskStatus.EXHAUSTED, f"{reason}; {left} prompt(s) left"
    return TaskStatus.RUNNING, None


def turn_record(task: Task, prompt: str, reply: ClaudeReply, claim: str | None) -> TurnRecord:
    """The record of `reply` answering `prompt` (the head of the task's pending prompts, as `task` was read)."""
    status, reason = status_after(task, reply.usage.total_tokens, reply.cost_usd)
    answer = NewInteraction(
        role=Role.ASSISTANT,
        content=reply.content,
        usage=reply.usage,
        cost_usd=reply.cost_usd,
        duration_ms=reply.duration_ms,
        stop_reason=reply.stop_reason,
        model=reply.model,
    )
    user = NewInteraction(role=Role.USER, content=prompt)
    return TurnRecord.answer(user, answer, status, reason, claim, prices=PRICES.version)
