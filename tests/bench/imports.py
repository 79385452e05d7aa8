"""Cold-start import time of each handler, against `import boto3` measured in the same run."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HANDLERS = ("api", "worker", "janitor", "events", "replies")
_TIMER = "import sys, time; {prefix}t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"


def _time(statement: str, folder: Path | None = None, repeats: int = 5) -> float:
    env = {**os.environ, "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1", "POWERTOOLS_TRACE_DISABLED": "1"}
    prefix = f"sys.path.insert(0, {str(folder)!r}); " if folder else ""
    samples = []
    for _ in range(repeats):
        out = subprocess.run(  # noqa: S603 - our own interpreter, our own statement
            [sys.executable, "-c", _TIMER.format(prefix=prefix, statement=statement)],
            capture_output=True,
            text=True,
            check=True,
            env=env,
            cwd=folder or ROOT,
        ).stdout
        samples.append(float(out.strip().splitlines()[-1]))
    return statistics.median(samples)


def run() -> list[str]:
    """Printable lines: median import seconds of each handler module, and its ratio to `import boto3`."""
    base = _time("import boto3")
    lines = [f"{'import':30} {'seconds':>8} {'ratio':>6}", f"{'boto3 (baseline)':30} {base:>8.3f} {1.0:>6.1f}"]
    for name in HANDLERS:
        seconds = _time("import app", ROOT / "functions" / name)
        lines.append(f"{'functions/' + name + '/app.py':30} {seconds:>8.3f} {seconds / base:>6.1f}")
    return lines
