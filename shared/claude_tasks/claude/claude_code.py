"""Claude Code as a backend: the CLI bundled in `claude-agent-sdk`, run in the task's working directory.

Imported only when a task selects `claude-code` (the SDK is an optional extra, `.[claude-code]`).
Each run gets a fresh `CLAUDE_CONFIG_DIR` and keeps its transcript in the store's
`SessionStore`, so any worker resumes any conversation and nothing depends on files an
earlier run left behind. The session id is ours: a new conversation starts under the task's
minted id, a follow-up resumes it, a fork resumes its source's with `fork_session` under its
own; whatever id Claude Code reports must be that one, or the run fails.

A watcher stops the agent (an interrupt, then the process killed if it does not yield) when
the run's deadline comes or when `check` raises (the task cancelled or deleted).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
import time
from pathlib import Path
from typing import Any, ClassVar

from aws_lambda_powertools import Logger
from claude_agent_sdk import (
    AssistantMessage,
    ClaudeAgentOptions,
    ClaudeSDKClient,
    ClaudeSDKError,
    ResultMessage,
    SystemMessage,
    TextBlock,
    ToolResultBlock,
    ToolUseBlock,
    UserMessage,
    project_key_for_directory,
)

from claude_tasks.claude.agent import AgentRequest, AgentResult, Check, ConversationNotFound, Ending, Record
from claude_tasks.claude.agent_env import bundled_cli, guard_worker, wrapper
from claude_tasks.claude.api_key import ApiKeySource
from claude_tasks.claude.base import FatalClaudeError, RetryableClaudeError
from claude_tasks.claude.claude_code_steps import Steps
from claude_tasks.core.config import Settings
from claude_tasks.core.records import NewInteraction, PermissionMode

logger = Logger(child=True)

# How often the watcher asks whether the task may go on, while the agent is quiet.
CHECK_EVERY_S = 2.0
# After an interrupt, how long the agent gets to end its turn (and flush its transcript) before it is closed
# (the SDK's close escalates to SIGKILL); `agent.STOP_GRACE_S` counts both.
INTERRUPT_GRACE_S = 5.0
_NOT_FOUND = "No conversation found"
_LIMITS = {"error_max_turns": "max_turns", "error_max_budget_usd": "max_budget_usd"}
_RETRYABLE_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504, 529})


class ClaudeCodeBackend:
    """Runs Claude Code once per prompt; thread-safe (each run has its own event loop, process and config)."""

    name = "claude-code"
    agentic: ClassVar[bool] = True

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._key = ApiKeySource(settings, self.name)
        self._cli = bundled_cli()
        guard_worker()

    def run(self, request: AgentRequest, record: Record, check: Check) -> AgentResult:
        """See `AgentBackend.run`."""
        api_key = self._key.get()
        with tempfile.TemporaryDirectory(prefix="claude-config-") as config_dir:
            run = _Run(request, record, check, self._options(request, config_dir, api_key))
            return asyncio.run(run.main())

    def _options(self, request: AgentRequest, config_dir: str, api_key: str) -> ClaudeAgentOptions:
        agent = request.options
        env = {
            "ANTHROPIC_API_KEY": api_key,
            "CLAUDE_CONFIG_DIR": config_dir,
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
            "DISABLE_AUTOUPDATER": "1",
        }
        if self._settings.anthropic_base_url:
            env["ANTHROPIC_BASE_URL"] = self._settings.anthropic_base_url
        if not os.access(os.environ.get("HOME") or "/nonexistent", os.W_OK):
            env["HOME"] = config_dir  # Lambda's HOME is read-only; tools may write dotfiles
        fresh = request.resume is None or request.fork
        mcp = {
            name: server.model_dump(exclude_defaults=True, exclude_none=True)
            for name, server in (agent.mcp_servers or {}).items()
        }
        return ClaudeAgentOptions(
            cwd=request.cwd,
            model=request.model,
            session_id=request.claude_session_id if fresh else None,
            resume=request.resume,
            fork_session=request.fork,
            session_store=request.session_store,
            permission_mode=(agent.permission_mode or PermissionMode.ACCEPT_EDITS).value,
            allowed_tools=list(agent.allowed_tools or []),
            disallowed_tools=list(agent.disallowed_tools or []),
            mcp_servers=mcp,  # type: ignore[arg-type]
            system_prompt={"type": "preset", "preset": "claude_code", "append": request.system}
            if request.system
            else None,
            max_turns=request.max_turns,
            max_budget_usd=request.max_budget_usd,
            # The project's own settings and CLAUDE.md apply; no user's or machine's settings do.
            setting_sources=["project"],
            # Started through a wrapper that passes on only the allow-listed variables (agent_env.py).
            cli_path=wrapper(self._cli, Path(config_dir)),
            env=env,
            stderr=lambda line: None,
        )


class _Run:
    """One agent process: messages in, steps recorded, stopped by the watcher when it must."""

    def __init__(self, request: AgentRequest, record: Record, check: Check, options: ClaudeAgentOptions) -> None:
        self.request = request
        self.record = record
        self.check = check
        self.stderr: list[str] = []
        options.stderr = self.stderr.append
        self.options = options
        self.steps = Steps()
        self.stopped: str | None = None  # why we interrupted: "deadline" or "check"
        self.failure: Exception | None = None

    async def main(self) -> AgentResult:
        client = ClaudeSDKClient(self.options)
        watcher: asyncio.Task[None] | None = None
        try:
            await self._bring_transcript()
            await client.connect()
            await client.query(self.request.prompt)
            watcher = asyncio.create_task(self._watch(client))
            return await self._messages(client)
        except ClaudeSDKError as error:
            raise self._sdk_error(error) from error
        finally:
            if watcher is not None:
                watcher.cancel()
            # Never under a timeout of ours: cancelled midway, the SDK's close skips its kill and leaves the CLI.
            with contextlib.suppress(Exception):
                await client.disconnect()

    async def _bring_transcript(self) -> None:
        """Copy the resumed conversation's transcript under this run's directory, when it ran elsewhere.

        Claude Code looks a session up under its working directory's project key; a fork working in
        its own worktree (or another session's project) would otherwise find nothing to resume.
        """
        request, store = self.request, self.request.session_store
        if request.resume is None or request.resume_cwd in (None, request.cwd) or store is None:
            return
        here = {"project_key": project_key_for_directory(request.cwd), "session_id": request.resume}
        there = {"project_key": project_key_for_directory(request.resume_cwd), "session_id": request.resume}
        if here["project_key"] == there["project_key"] or await store.load(here) is not None:
            return
        entries = await store.load(there)
        if entries:
            await store.append(here, entries)

    async def _messages(self, client: ClaudeSDKClient) -> AgentResult:
        async for message in client.receive_response():
            if isinstance(message, ResultMessage):
                return await self._result(message)
            await self._save(self._turns(message))
        if self.failure is not None:
            raise self.failure
        if self.stopped == "deadline":
            await self._save(self.steps.release())
            return AgentResult(Ending.STOPPED, "stopped at the invocation's deadline", None)
        raise RetryableClaudeError(f"claude-code: the agent ended without a result{self._stderr_tail()}")

    def _turns(self, message: object) -> list[NewInteraction]:
        if isinstance(message, AssistantMessage):
            self._own(message.session_id)
            blocks: list[tuple[str, Any]] = [
                ("text" if isinstance(b, TextBlock) else "tool_use" if isinstance(b, ToolUseBlock) else "other", b)
                for b in message.content
            ]
            return self.steps.assistant(blocks, message.model, message.message_id, message.usage)
        if isinstance(message, UserMessage) and isinstance(message.content, list):
            results = [b for b in message.content if isinstance(b, ToolResultBlock)]
            if not results:
                return []
            turns = self.steps.release()
            turns += [self.steps.tool_result(b.tool_use_id, b.content, bool(b.is_error)) for b in results]
            return turns
        if isinstance(message, SystemMessage):
            if message.subtype == "init":
                self._own(message.data.get("session_id"))
            elif message.subtype == "mirror_error":
                logger.warning("Claude Code could not save its transcript", extra={"detail": str(message.data)[:500]})
                return self.steps.system(f"The transcript could not be saved: {str(message.data)[:500]}")
            elif message.subtype == "compact_boundary":
                return self.steps.system("Claude Code compacted the conversation to fit its context window.")
        return []

    async def _result(self, result: ResultMessage) -> AgentResult:
        self._own(result.session_id)
        errors = "; ".join(result.errors or []) or (result.result or "")
        if result.is_error and _NOT_FOUND in f"{errors} {self._stderr_tail()}":
            raise ConversationNotFound(f"claude-code: no conversation {self.request.resume} to resume")
        if self.failure is not None:
            await self._save(self.steps.close(result.total_cost_usd, result.usage, result.duration_ms, "Stopped."))
            raise self.failure
        if self.stopped == "deadline":
            note = "Stopped before the invocation's deadline; the next invocation continues this conversation."
            await self._save(self.steps.close(result.total_cost_usd, result.usage, result.duration_ms, note))
            return AgentResult(Ending.STOPPED, note, result.total_cost_usd)
        limit = _LIMITS.get(result.subtype)
        if limit is not None:
            spent = result.total_cost_usd or 0.0
            reason = f"{limit} reached: Claude Code stopped after {result.num_turns} turn(s) (${spent:.4f} in all)"
            await self._save(self.steps.close(result.total_cost_usd, result.usage, result.duration_ms, reason))
            return AgentResult(Ending.EXHAUSTED, reason, result.total_cost_usd)
        if result.is_error:
            # A failed API call ends the run as subtype "success" with is_error set: name what ended it instead.
            ended = (result.terminal_reason or "error") if result.subtype == "success" else result.subtype
            reason = f"claude-code: {ended}: {errors or 'the run failed'}"[:1000]
            await self._save(self.steps.close(result.total_cost_usd, result.usage, result.duration_ms, reason))
            if result.api_error_status in _RETRYABLE_STATUS:
                raise RetryableClaudeError(reason)
            raise FatalClaudeError(reason)
        await self._save(self.steps.close(result.total_cost_usd, result.usage, result.duration_ms, None))
        return AgentResult(Ending.COMPLETED, None, result.total_cost_usd)

    async def _save(self, turns: list[NewInteraction]) -> None:
        if turns:
            await asyncio.to_thread(self.record, turns)

    async def _watch(self, client: ClaudeSDKClient) -> None:
        """Interrupt the agent at the deadline or when `check` raises; kill it if it does not stop."""
        while True:
            wait = min(CHECK_EVERY_S, self.request.deadline - time.monotonic())
            if wait > 0:
                await asyncio.sleep(wait)
            if time.monotonic() >= self.request.deadline:
                self.stopped = "deadline"
                break
            try:
                await asyncio.to_thread(self.check)
            except Exception as error:
                self.stopped, self.failure = "check", error
                break
        logger.info("stopping the agent", extra={"reason": self.stopped})
        with contextlib.suppress(Exception):
            await asyncio.wait_for(client.interrupt(), INTERRUPT_GRACE_S)
        await asyncio.sleep(INTERRUPT_GRACE_S)
        logger.warning("the agent did not stop after its interrupt: killing it")
        with contextlib.suppress(Exception):
            await client.disconnect()

    def _own(self, reported: str | None) -> None:
        """Fail the run when Claude Code reports a session id that is not the task's."""
        if reported is not None and reported != self.request.claude_session_id:
            raise FatalClaudeError(
                f"claude-code: ran under Claude session {reported}, not the task's {self.request.claude_session_id}"
            )

    def _sdk_error(self, error: ClaudeSDKError) -> Exception:
        if self.failure is not None:
            return self.failure
        text = f"{error} {self._stderr_tail()}"
        if _NOT_FOUND in text:
            return ConversationNotFound(f"claude-code: no conversation {self.request.resume} to resume")
        if self.stopped == "deadline":
            return RetryableClaudeError("claude-code: stopped at the deadline without a result")
        return RetryableClaudeError(f"claude-code: {type(error).__name__}: {str(error)[:500]}")

    def _stderr_tail(self) -> str:
        tail = " | ".join(line.strip() for line in self.stderr[-3:] if line.strip())
        return f" ({tail})" if tail else ""
