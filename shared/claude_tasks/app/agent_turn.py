"""One prompt of a Claude Code task, run as the agent works: every step recorded as it comes.

The story of `AgentTurn.run`, under the executor's lease:
1. **where** — the session's project directory, or the task's own git worktree of it;
2. **start** — the first run of a prompt records its user turn and, on the task's first run,
   claims its minted Claude session id, in one write; a run that continues (the previous one
   stopped at its deadline or died) records a `system` turn saying so and resumes instead;
3. **steps** — the agent's text, tool uses and results, each written as it happens (with the
   conversation's cost so far), so a cancel, a delete or a lost lease stops the agent;
4. **end** — answered (the prompt removed, the status decided as for any turn), exhausted by a
   limit, or stopped before the deadline (the executor hands the task to a fresh invocation).
A resume that finds no conversation is rebuilt once: a new Claude session, seeded with a summary
of the recorded turns, claimed in place of the old id in the write that says so.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from aws_lambda_powertools import Logger

from claude_tasks.app.conversation import status_after
from claude_tasks.claude import traced
from claude_tasks.claude.agent import AgentBackend, AgentRequest, AgentResult, ConversationNotFound, Ending
from claude_tasks.claude.pricing import AGENT_REPORTED
from claude_tasks.claude.workspace import WorkspaceError, prepare, project_dir
from claude_tasks.core.config import Settings
from claude_tasks.core.errors import ConcurrentUpdate, SessionNotFound, TaskNotFound, TransientStoreError
from claude_tasks.core.records import Interaction, NewInteraction, Role, Task, TaskStatus, Worktree
from claude_tasks.store import Store
from claude_tasks.store.ids import new_id
from claude_tasks.store.runs import Lease, TurnRecord

# What a run that continues an earlier one asks. The prompt is quoted: the earlier run may have stopped
# before Claude Code saw it (a crash, a failed start), and a continuation must never lose it.
CONTINUE_PROMPT = (
    "Your previous run on this request was interrupted before it finished. Continue from where you "
    "stopped; if the request is already done, say so briefly.\n\nThe request:\n{prompt}"
)
# A rebuilt conversation's seed quotes at most this much of the recorded turns (the newest kept).
SUMMARY_CHARS = 40_000
_QUOTE_CHARS = 2_000
RECORD_ATTEMPTS = 5

logger = Logger(child=True)

Held = Callable[[str, Lease], Task]


@dataclass(frozen=True)
class Stopped:
    """The run stopped at its deadline, to be continued; `progressed` says whether it recorded any step
    (a run that keeps stopping without one — a command longer than an invocation — must not go on for ever)."""

    progressed: bool


@dataclass(frozen=True)
class Start:
    """How the run begins: under which id, resuming what, asking what."""

    claude_session_id: str
    prompt: str
    resume: str | None
    fork: bool
    # Where the resumed conversation ran, for a fork working elsewhere than its source.
    resume_cwd: str | None = None


class AgentTurn:
    """Runs the head pending prompt of a leased Claude Code task. Returns the task's status after it,
    or `Stopped` when the run stopped at its deadline (to be continued by another invocation)."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        backend: AgentBackend,
        lease: Lease,
        held: Held,
        deadline: float,
        task: Task,
    ) -> None:
        self.store = store
        self.settings = settings
        self.backend = backend
        self.lease = lease
        self.held = held
        self.deadline = deadline
        self.task = task  # as this run knows it: its interaction count and Claude session id kept current
        self.steps = 0  # the agent's steps recorded by this run

    def run(self) -> TaskStatus | Stopped:
        task = self.task
        cwd, worktree = self._where(task)
        start = self._start(task, worktree)
        try:
            result = self._run(start, cwd)
        except ConversationNotFound:
            start = self._rebuild(start)
            result = self._run(start, cwd)
        if result.ending is Ending.STOPPED:
            return Stopped(progressed=self.steps > 0)
        if result.ending is Ending.EXHAUSTED:
            self._write(TurnRecord((), TaskStatus.EXHAUSTED, result.reason, answered=False))
            return TaskStatus.EXHAUSTED
        return self._answered()

    def _run(self, start: Start, cwd: str) -> AgentResult:
        request = self._request(start, cwd)
        return traced.run_agent(self.store.tracer, self.backend, request, self._record, self._check, self.task.task_id)

    # 1. where --------------------------------------------------------------------------------
    def _where(self, task: Task) -> tuple[str, Worktree | None]:
        session = self.store.sessions.get(task.owner, task.session_id)
        project = project_dir(session.project_path, self.settings, task.owner)
        cwd, worktree = prepare(project, task.task_id, task.agent.workspace, task.worktree)
        return str(cwd), worktree

    # 2. start --------------------------------------------------------------------------------
    def _start(self, task: Task, worktree: Worktree | None) -> Start:
        new_worktree = worktree if worktree != task.worktree else None
        if task.prompt_started and task.claude_session_id is not None:
            note = "Continuing the Claude Code run in a new invocation: the previous one stopped before it finished."
            self._write(TurnRecord((_system(note),), answered=False, worktree=new_worktree))
            prompt = CONTINUE_PROMPT.format(prompt=task.pending_prompts[0])
            return Start(task.claude_session_id, prompt, task.claude_session_id, False)
        user = NewInteraction(role=Role.USER, content=task.pending_prompts[0])
        if task.claude_session_id is not None:  # a follow-up: the conversation goes on
            self._write(TurnRecord((user,), answered=False, started=True, worktree=new_worktree))
            prompt = task.pending_prompts[0]
            return Start(task.claude_session_id, prompt, task.claude_session_id, False)
        claude_session_id = new_id()
        source = self._fork_source(task)
        first = TurnRecord((user,), answered=False, started=True, claim=claude_session_id, worktree=new_worktree)
        prompt = task.pending_prompts[0]
        if source is None and task.forked_from is not None and task.interaction_count:
            # A fork whose source is gone: its copied turns are all there is of the conversation.
            prompt = seeded_prompt(self.store.interactions.all(task.task_id), prompt)
        self._write(first, claude_session_id)
        if source is None:
            return Start(claude_session_id, prompt, None, False)
        return Start(claude_session_id, prompt, source.claude_session_id, True, self._cwd_of(source))

    def _fork_source(self, task: Task) -> Task | None:
        """The task a fork's conversation came from, if it still has one to resume."""
        if task.forked_from is None:
            return None
        try:
            source = self.store.tasks.load(task.forked_from)
        except TaskNotFound:
            return None  # deleted: the resume is skipped, the fork is rebuilt from its copied turns
        return source if source.claude_session_id is not None else None

    def _cwd_of(self, source: Task) -> str | None:
        """Where the source's conversation ran (Claude Code files a transcript under its directory)."""
        if source.worktree is not None:
            return source.worktree.path
        try:
            project_path = self.store.sessions.get(source.owner, source.session_id).project_path
            return str(project_dir(project_path, self.settings, source.owner))
        except (SessionNotFound, WorkspaceError):
            return None

    def _rebuild(self, lost: Start) -> Start:
        task = self.task
        history = self.store.interactions.all(task.task_id)
        new = new_id()
        note = (
            f"The Claude Code conversation {lost.resume} was not found (its transcript is gone). Continuing in a new "
            f"Claude session {new}, started from a summary of this task's {len(history)} recorded turns; "
            f"the old id is retired."
        )
        rebuilt = TurnRecord((_system(note),), answered=False, claim=new, replaces_claim=True)
        self._write(rebuilt, new)
        return Start(new, seeded_prompt(history, task.pending_prompts[0]), None, False)

    def _request(self, start: Start, cwd: str) -> AgentRequest:
        task = self.task
        limits = task.limits
        budget = None if limits.max_budget_usd is None else max(0.0001, limits.max_budget_usd - task.run_cost_usd)
        return AgentRequest(
            prompt=start.prompt,
            cwd=cwd,
            owner=task.owner,
            claude_session_id=start.claude_session_id,
            model=task.model or self.settings.claude_model,
            deadline=self.deadline,
            system=task.system,
            resume=start.resume,
            fork=start.fork,
            resume_cwd=start.resume_cwd,
            options=task.agent,
            max_turns=limits.max_turns,
            max_budget_usd=budget,
            session_store=self.store.transcripts.for_owner(task.owner),
        )

    # 3. steps --------------------------------------------------------------------------------
    def _record(self, turns: list[NewInteraction]) -> None:
        self._write(TurnRecord(tuple(turns), answered=False))
        # The notes a stopped run leaves are not progress; text, tool calls and results are.
        self.steps += sum(1 for turn in turns if turn.role is not Role.SYSTEM)

    def _check(self) -> None:
        """Raise when the run must stop: the task cancelled, deleted or taken over. A read that failed says
        nothing about the task: the next check asks again (a write would find a lost lease anyway)."""
        try:
            self.held(self.task.task_id, self.lease)
        except TransientStoreError:
            logger.warning("could not read the task to check on the run; checking again")

    # 4. end ----------------------------------------------------------------------------------
    def _answered(self) -> TaskStatus:
        task = self.task
        for _ in range(RECORD_ATTEMPTS):
            status, reason = status_after(task, tokens=0, cost_usd=0.0)
            try:
                self.store.runs.record(
                    task, self.lease, TurnRecord((), status, reason, started=False, prices=AGENT_REPORTED)
                )
                return status
            except ConcurrentUpdate:
                # A follow-up arrived meanwhile: decide the status again with the prompts as they are now.
                task = self.held(task.task_id, self.lease)
        raise TransientStoreError(f"task {task.task_id} kept changing while its run was recorded")

    def _write(self, turn: TurnRecord, claim: str | None = None) -> None:
        """Record `turn` and keep the task as this run knows it (its count, its Claude session id)."""
        task = self.task
        # Claude Code reports its own cost: the totals say so rather than naming our price table.
        self.store.runs.record(task, self.lease, replace(turn, prices=AGENT_REPORTED))
        update: dict[str, object] = {"interaction_count": task.interaction_count + len(turn.interactions)}
        if claim is not None:
            update["claude_session_id"] = claim
        self.task = task.model_copy(update=update)


def _system(note: str) -> NewInteraction:
    return NewInteraction(role=Role.SYSTEM, content=note)


def seeded_prompt(history: list[Interaction], prompt: str) -> str:
    """The first prompt of a rebuilt conversation: the recorded turns, summarised, then the prompt."""
    lines = []
    for turn in history:
        if turn.role is Role.TOOL:
            text = f"{turn.tool_name or 'tool'} {turn.stop_reason or ''}: {turn.content}"
        else:
            text = turn.content
        quoted = text if len(text) <= _QUOTE_CHARS else text[:_QUOTE_CHARS] + " …"
        lines.append(f"[{turn.role.value}] {quoted}")
    transcript = "\n".join(lines)
    if len(transcript) > SUMMARY_CHARS:
        transcript = "… (older turns left out)\n" + transcript[-SUMMARY_CHARS:]
    return (
        "This task's earlier Claude Code conversation was lost. Here are its recorded turns, oldest first, "
        "for context; the files in the working directory reflect the work done so far.\n\n"
        f"<recorded-turns>\n{transcript}\n</recorded-turns>\n\nContinue with this request:\n{prompt}"
    )
