"""What the agent's process may see of the worker: an environment built from an allow-list, and a worker it
cannot read.

The agent runs tools (`Bash` among them) with the worker's own user id. Two things would otherwise put the
worker's AWS credentials — its role reaches every tenant's tables — within a command's reach:
- its environment: the SDK always starts the CLI with the worker's whole environment plus ours, so the
  CLI is started through a small wrapper that clears it (`env -i`) and passes on only `ALLOWED`;
- the worker's `/proc/<pid>/environ` and memory, readable by any process of the same user: the worker
  makes itself non-dumpable (`prctl(PR_SET_DUMPABLE, 0)`), after which the kernel refuses those reads
  to every process but root's (Lambda runs functions as a non-root user).
Written by hand: no library does either. The Anthropic key reaches the CLI (it must) and nothing else secret.
"""

from __future__ import annotations

import ctypes
import os
import shlex
import stat
import sys
from pathlib import Path

from aws_lambda_powertools import Logger

logger = Logger(child=True)

# The worker's variables a tool may see: where programs are, the locale, the operator's outbound proxy.
INHERITED = (
    "PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "USER", "LOGNAME", "SHELL", "TERM",
    "HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY", "https_proxy", "http_proxy", "no_proxy",
)  # fmt: skip
# What the run itself gives the CLI (see ClaudeCodeBackend), and what the SDK adds to talk to it.
GIVEN = (
    "ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL", "CLAUDE_CONFIG_DIR", "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC",
    "DISABLE_AUTOUPDATER", "CLAUDE_CODE_ENTRYPOINT", "CLAUDE_AGENT_SDK_VERSION", "CLAUDE_AGENT_SDK_CLIENT_APP",
    "CLAUDE_AGENT_SDK_DERIVED_CLIENT_APP", "CLAUDE_CODE_SDK_READS_SESSION_STATE",
    "CLAUDE_CODE_ENABLE_SDK_FILE_CHECKPOINTING", "PWD", "TRACEPARENT", "TRACESTATE",
)  # fmt: skip
ALLOWED = (*INHERITED, *GIVEN)

_PR_SET_DUMPABLE = 4
_guarded = False


def wrapper(cli: Path, directory: Path) -> Path:
    """A script in `directory` that starts `cli` with only the `ALLOWED` variables that are set."""
    # `${NAME+"NAME=$NAME"}` is the assignment when NAME is set, nothing when it is not.
    keep = " ".join(f'${{{name}+"{name}=${name}"}}' for name in ALLOWED)
    script = directory / "claude"
    script.write_text(f'#!/bin/sh\nexec /usr/bin/env -i {keep} {shlex.quote(str(cli))} "$@"\n')
    script.chmod(stat.S_IRWXU)
    return script


def bundled_cli() -> Path:
    """The Claude Code binary inside the installed claude-agent-sdk wheel."""
    import claude_agent_sdk  # noqa: PLC0415 - the backend module imports it anyway; kept out of module import

    return Path(claude_agent_sdk.__file__).parent / "_bundled" / "claude"


def guard_worker() -> None:
    """Make this process non-dumpable, once: its environment and memory unreadable to the agent's processes."""
    global _guarded  # noqa: PLW0603 - a process-wide, once-only switch
    if _guarded or not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
        logger.warning("could not make the worker non-dumpable", extra={"errno": ctypes.get_errno()})
        return
    _guarded = True
    logger.info("worker made non-dumpable before starting Claude Code", extra={"pid": os.getpid()})
