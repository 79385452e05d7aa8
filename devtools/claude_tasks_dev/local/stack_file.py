"""`stack.json`: where a running local stack listens and what it created, for the CLI, scripts and tests."""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any

from claude_tasks.core.config import Settings
from claude_tasks_dev.local.environment import LOCAL_ADMIN


class StackFileInUse(Exception):
    """Another running stack owns the state folder."""


def describe(settings: Settings, api_url: str, backend: str, events_log: Path | None = None) -> dict[str, Any]:
    """The stack's addresses and resource names, as `stack.json` holds them."""
    return {
        "api_url": api_url,
        "aws_endpoint_url": settings.aws_endpoint_url,
        "region": settings.region,
        "tables": {
            "sessions": settings.sessions_table,
            "tasks": settings.tasks_table,
            "interactions": settings.interactions_table,
            "claude_sessions": settings.claude_sessions_table,
            "transcripts": settings.transcripts_table,
            "usage": settings.usage_table,
            "audit": settings.audit_table,
        },
        "queues": {"task_queue_url": settings.task_queue_url, "dlq_url": settings.dlq_url},
        "bucket": settings.content_bucket,
        # The task events the local bus received, one JSON line each (`claude-tasks events tail`).
        "event_bus": settings.event_bus_name,
        "events_log": None if events_log is None else str(events_log),
        "claude_backend": backend,
        "admin_principal": LOCAL_ADMIN,
        "pid": os.getpid(),
    }


def write(path: Path, info: dict[str, Any]) -> None:
    """Write it whole at once: a reader polling for the file never sees half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(info, indent=2) + "\n")
    os.replace(partial, path)


def refuse_second_stack(path: Path) -> None:
    """Raise StackFileInUse when a live process wrote `path`: two stacks would overwrite each other's data."""
    pid = None
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
        pid = int(json.loads(path.read_text())["pid"])
    if pid is not None and pid != os.getpid() and _alive(pid):
        raise StackFileInUse(f"a local stack (pid {pid}) already uses {path.parent}: stop it first")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, under another user
    return True
