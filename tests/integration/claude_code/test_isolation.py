"""The agent cannot reach the service's credentials: the real CLI, as an unprivileged user (as in Lambda),
with the stub scripting `Bash` commands that look for them — in its environment, its parent's, every
process's, and the Lambda runtime API. Nothing secret of the worker may appear in a turn or a transcript.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from claude_tasks.core.config import Settings
from claude_tasks.core.records import AgentOptions, NewTask, TaskStatus
from claude_tasks.store import Store
from claude_tasks.store.models import TranscriptItem
from claude_tasks.store.transcript_layout import partition, stream_of
from tests.support.anthropic_stub import AnthropicStub, Reply, ToolUse
from tests.support.worker import environment, load_event, retarget

REPO = Path(__file__).resolve().parents[3]
NOBODY = 65534
# The worker's credentials and secrets, as Lambda would give them (moto takes any key).
SECRETS = {
    "AWS_ACCESS_KEY_ID": "AKIAWORKERFAKE0000001",
    "AWS_SECRET_ACCESS_KEY": "worker-secret-key-never-to-be-seen-0001",
    "AWS_SESSION_TOKEN": "worker-session-token-never-to-be-seen-0001",
    "AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9777",
    "CURSOR_SECRET": "cursor-secret-never-to-be-seen-0001",
}
LOOK = [
    "env",
    "tr '\\0' '\\n' < /proc/$PPID/environ",
    "for f in /proc/[0-9]*/environ; do tr '\\0' '\\n' < \"$f\"; done 2>&1",
    'echo "runtime api: ${AWS_LAMBDA_RUNTIME_API:-unset}"',
]


def _interpreter() -> str:
    """A python of this minor version that an unprivileged user may run (pyenv's live under /root)."""
    for candidate in (shutil.which(f"python{sys.version_info.major}.{sys.version_info.minor}"), "/usr/bin/python3"):
        if not candidate:
            continue
        try:
            probe = subprocess.run(  # noqa: S603 - a fixed interpreter, a fixed program
                [candidate, "-c", "import sys; print(sys.version_info[:2])"],
                user=NOBODY,
                capture_output=True,
                text=True,
                check=False,
            )
        except PermissionError:
            continue
        if probe.returncode == 0 and probe.stdout.strip() == str(tuple(sys.version_info[:2])):
            return candidate
    pytest.skip(f"no python{sys.version_info.major}.{sys.version_info.minor} that an unprivileged user can run")


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A directory the unprivileged worker may write in (pytest's tmp_path is root's alone)."""
    directory = Path(tempfile.mkdtemp(prefix="claude-tasks-nobody-"))
    directory.chmod(0o777)
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


@pytest.mark.skipif(os.geteuid() != 0, reason="starts the worker as another user: needs root")
def test_no_credential_or_secret_of_the_worker_reaches_a_turn_or_a_transcript(
    settings: Settings, store: Store, shared_dir: Path
) -> None:
    python = _interpreter()
    # Given a session in a project the unprivileged worker can write, and Claude running commands that
    # look for credentials: the environment, the parent's, every process's, the Lambda runtime API
    project = shared_dir / "project"
    project.mkdir(mode=0o777)
    session = store.sessions.create("alice", str(project))
    task = store.tasks.create(
        "alice",
        session.session_id,
        NewTask(prompt="Look around", backend="claude-code", agent=AgentOptions(allowed_tools=["Bash"])),
    )
    secrets = boto3.client("secretsmanager", region_name=settings.region, endpoint_url=settings.aws_endpoint_url)
    secrets.put_secret_value(SecretId=settings.anthropic_secret_id, SecretString="sk-ant-the-key-the-cli-needs")
    with AnthropicStub() as stub:
        stub.script(*[Reply(text="", tool_uses=(ToolUse("Bash", {"command": command}),)) for command in LOOK])
        stub.script(Reply(text="Looked."))
        configured = settings.model_copy(update={"claude_backend": "claude-code", "anthropic_base_url": stub.url})
        env = {k: v for k, v in environment(configured).items() if v is not None}
        env |= SECRETS | {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "HOME": str(shared_dir),
            "TMPDIR": str(shared_dir),
            "PYTHONPATH": os.pathsep.join(
                [sysconfig.get_paths()["purelib"], str(REPO / "shared"), str(REPO / "devtools"), str(REPO)]
            ),
            "POWERTOOLS_SERVICE_NAME": "claude-task-server",
            "POWERTOOLS_METRICS_NAMESPACE": "ClaudeTaskServer",
            "POWERTOOLS_TRACE_DISABLED": "1",
        }
        order = {"env": env, "event": retarget(load_event("task-run-batch"), [task]), "remaining_s": 300}
        # When the worker runs the task as an unprivileged user, the secrets in its process environment
        worker = subprocess.Popen(  # noqa: S603 - this repository's driver, a fixed interpreter
            [python, str(REPO / "tests" / "support" / "unprivileged_worker.py")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            user=NOBODY,
            group=NOBODY,
            env=env,
            cwd=shared_dir,
            text=True,
        )
        stdout, stderr = worker.communicate(json.dumps(order), timeout=300)
    # Then the run succeeded, every command ran
    assert worker.returncode == 0, stderr[-3000:]
    assert json.loads(stdout.strip().splitlines()[-1]) == {"batchItemFailures": []}
    finished = store.tasks.load(task.task_id)
    assert finished.status is TaskStatus.SUCCEEDED, finished.error
    outputs = [
        t.content for t in store.interactions.all(task.task_id) if t.stop_reason in ("tool_result", "tool_error")
    ]
    assert len(outputs) == len(LOOK)
    # And the key reached the CLI (it must), but no credential, token or secret of the worker reached any turn
    turns = json.dumps([t.model_dump() for t in store.interactions.all(task.task_id)])
    assert "ANTHROPIC_API_KEY=" in outputs[0]
    for name, value in SECRETS.items():
        assert value not in turns, f"{name} reached a turn"
    assert not [line for line in outputs[0].splitlines() if line.startswith(("AWS_", "CURSOR_SECRET"))]
    # And the worker's own environment was unreadable to the agent's commands; the runtime API unknown to them
    denied = [line for line in outputs[2].splitlines() if f"/proc/{worker.pid}/environ" in line]
    assert denied and "Permission denied" in denied[0]
    assert "runtime api: unset" in outputs[3]
    # And nothing secret is in the transcript Claude Code kept in the store
    claude_session_id = finished.claude_session_id
    assert claude_session_id is not None
    heads = TranscriptItem.query(partition("alice", claude_session_id), TranscriptItem.position.startswith("h#"))
    streams = {stream_of(head.position)[1:] for head in heads}
    assert streams
    for project_key, subpath in streams:
        key = {"project_key": project_key, "session_id": claude_session_id, **({"subpath": subpath} if subpath else {})}
        entries = json.dumps(store.transcripts.load("alice", key))  # type: ignore[arg-type]
        assert "Looked." in entries
        for name, value in SECRETS.items():
            assert value not in entries, f"{name} reached the transcript store"
