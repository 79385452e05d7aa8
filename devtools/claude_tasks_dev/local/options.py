"""The local stack's options and its command line (`python -m claude_tasks_dev.local --help`)."""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, field
from pathlib import Path

from claude_tasks_dev.checkout import repo_root


@dataclass(frozen=True)
class StackOptions:
    host: str = "127.0.0.1"
    aws_port: int = 4566
    api_port: int = 3000
    state_dir: Path = field(default_factory=lambda: repo_root() / ".local")
    persist: bool = True
    janitor_interval_s: float = 30.0
    full_check_interval_s: float = 600.0
    poll_interval_s: float = 0.2
    retry_delay_s: float = 1.0
    # How often the tasks table's stream is read for task events (the pipe's part).
    events_interval_s: float = 0.5
    region: str = "us-east-1"
    prefix: str = "claude-tasks"

    @property
    def stack_file(self) -> Path:
        return self.state_dir / "stack.json"

    @property
    def state_file(self) -> Path:
        return self.state_dir / "state.json"


def parse_options(argv: list[str] | None = None) -> StackOptions:
    defaults = StackOptions()
    parser = argparse.ArgumentParser(
        prog="python -m claude_tasks_dev.local",
        description="Run the whole service on this machine until Ctrl-C (what `make dev` runs).",
    )
    parser.add_argument("--host", default=defaults.host, help="interface for both servers (default %(default)s)")
    parser.add_argument("--api-port", type=int, default=defaults.api_port, help="HTTP API port; 0 = any free one")
    parser.add_argument("--aws-port", type=int, default=defaults.aws_port, help="embedded AWS port; 0 = any free one")
    parser.add_argument("--state-dir", type=Path, default=defaults.state_dir, help="where stack.json and state.json go")
    parser.add_argument("--no-persist", action="store_true", help="start empty and save nothing on stop")
    parser.add_argument("--janitor-interval", type=float, default=defaults.janitor_interval_s, help="seconds; 0 = off")
    parser.add_argument(
        "--full-check-interval",
        type=float,
        default=defaults.full_check_interval_s,
        help="seconds between the janitor's full consistency checks; 0 = never",
    )
    parser.add_argument("--poll-interval", type=float, default=defaults.poll_interval_s, help="queue poll, seconds")
    parser.add_argument(
        "--retry-delay", type=float, default=defaults.retry_delay_s, help="first redelivery delay of a failed record"
    )
    parser.add_argument("--region", default=os.environ.get("AWS_REGION", defaults.region))
    args = parser.parse_args(argv)
    return StackOptions(
        host=args.host,
        aws_port=args.aws_port,
        api_port=args.api_port,
        state_dir=args.state_dir.resolve(),
        persist=not args.no_persist,
        janitor_interval_s=args.janitor_interval,
        full_check_interval_s=args.full_check_interval,
        poll_interval_s=args.poll_interval,
        retry_delay_s=args.retry_delay,
        region=args.region,
    )
