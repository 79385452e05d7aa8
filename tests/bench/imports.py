"""Cold-start import of each handler against `import boto3`, measured in the same run, interleaved.

Each sample is a fresh interpreter timing one import statement (interpreter start-up excluded).
The rounds interleave boto3 and every handler, so a busy machine slows them alike; the figure is
the median of `REPEATS`. Wall time is what a cold start waits for; CPU time is what this machine
can measure steadily while other work runs beside it (both are printed, as ratios to boto3's).

The floor line is what each handler needs for its first event, whatever we defer: PynamoDB (which
imports botocore, most of boto3's own cost), pydantic (pydantic-core parses every request and
message, and every handler builds its `Settings`, a model, at import) and Powertools (Logger,
Metrics, and the API's resolver or the worker's batch processor).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HANDLERS = ("api", "worker", "janitor", "events", "replies")
REPEATS = 7
TARGET = 1.5
_TIMER = (
    "import json, sys, time; {prefix}w = time.perf_counter(); c = time.process_time(); {statement}; "
    "print(json.dumps([time.perf_counter() - w, time.process_time() - c]))"
)
# The third-party imports each handler cannot start without (see the module's docstring).
# pydantic's import is lazy: the floor defines and validates one one-field model, as every handler builds
# its `Settings` (a model) at import. A model class, unlike a bare `TypeAdapter`, loads pydantic's fields
# machinery (`pydantic.fields`, `pydantic.types`, `annotated_types`): ~15 ms, about 0.12x `import boto3`.
_LIBRARIES = (
    "import pynamodb.models; from pydantic import BaseModel; "
    "type('Floor', (BaseModel,), {'__annotations__': {'x': int}})(x=1); "
    "from aws_lambda_powertools import Logger, Metrics"
)
# Each handler turns the cyclic collector off while it imports (`gc.disable()` in every app.py); its
# floor does too. The baseline stays `import boto3` as is, and a line shows it with the collector off.
_COLLECTOR_OFF = "import gc; gc.disable(); "
FLOORS = {
    "api": f"{_COLLECTOR_OFF}{_LIBRARIES}; from aws_lambda_powertools.event_handler import APIGatewayHttpResolver",
    # Before pydantic, as the handler does: Powertools' batch types load its parser models when pydantic is loaded.
    "worker": f"{_COLLECTOR_OFF}from aws_lambda_powertools.utilities.batch import BatchProcessor; {_LIBRARIES}",
    "janitor": _COLLECTOR_OFF + _LIBRARIES,
    "events": _COLLECTOR_OFF + _LIBRARIES,
    "replies": _COLLECTOR_OFF + _LIBRARIES,
}


def _sample(statement: str, folder: Path | None = None) -> tuple[float, float]:
    """(wall, CPU) seconds of `statement` in a fresh interpreter, tracing off as deployed without it."""
    env = {**os.environ, "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1", "TRACING_ENABLED": "false"}
    prefix = f"sys.path.insert(0, {str(folder)!r}); " if folder else ""
    out = subprocess.run(  # noqa: S603 - our own interpreter, our own statement
        [sys.executable, "-c", _TIMER.format(prefix=prefix, statement=statement)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        cwd=folder or ROOT,
    ).stdout
    wall, cpu = json.loads(out.strip().splitlines()[-1])
    return wall, cpu


def measure(repeats: int = REPEATS) -> dict[str, tuple[float, float]]:
    """Median (wall, CPU) seconds of boto3, of each handler and of each handler's floor, over interleaved rounds."""
    statements: dict[str, tuple[str, Path | None]] = {
        "boto3": ("import boto3", None),
        "boto3, collector off": (_COLLECTOR_OFF + "import boto3", None),
    }
    for name in HANDLERS:
        statements[name] = ("import app", ROOT / "functions" / name)
        statements[f"{name} floor"] = (FLOORS[name], None)
    samples: dict[str, list[tuple[float, float]]] = {key: [] for key in statements}
    for _ in range(repeats):
        for key, (statement, folder) in statements.items():
            samples[key].append(_sample(statement, folder))
    return {
        key: (statistics.median(w for w, _ in runs), statistics.median(c for _, c in runs))
        for key, runs in samples.items()
    }


def run() -> list[str]:
    """Printable lines: each handler's import against `import boto3` (wall and CPU ratios), and its floor."""
    figures = measure()
    base_wall, base_cpu = figures["boto3"]
    lines = [
        f"median of {REPEATS}, interleaved; target: at most {TARGET}x `import boto3`",
        f"{'import':28} {'wall s':>7} {'ratio':>6} {'CPU s':>7} {'ratio':>6}   {'floor (CPU ratio)':>17}",
        f"{'boto3 (baseline)':28} {base_wall:>7.3f} {1.0:>6.2f} {base_cpu:>7.3f} {1.0:>6.2f}",
    ]
    off_wall, off_cpu = figures["boto3, collector off"]
    lines.append(
        f"{'boto3, collector off':28} {off_wall:>7.3f} {off_wall / base_wall:>6.2f} "
        f"{off_cpu:>7.3f} {off_cpu / base_cpu:>6.2f}"
    )
    for name in HANDLERS:
        wall, cpu = figures[name]
        floor = figures[f"{name} floor"][1] / base_cpu
        lines.append(
            f"{'functions/' + name + '/app.py':28} {wall:>7.3f} {wall / base_wall:>6.2f} "
            f"{cpu:>7.3f} {cpu / base_cpu:>6.2f}   {floor:>17.2f}"
        )
    lines.append(
        "floor: pynamodb (botocore), pydantic and Powertools alone, which every first request needs, imported "
        "with the collector off as the handlers do; above it: our models, repositories and routes"
    )
    return lines
