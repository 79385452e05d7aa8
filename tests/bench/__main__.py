"""`make bench`: the service's figures, each section as ratios against a baseline measured in the same run.

Benchmarks report numbers; tests assert behaviour. Run: `.venv/bin/python -m tests.bench`.
"""

from __future__ import annotations

import importlib
import os
import sys
import time

os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
os.environ.setdefault("AWS_REGION", "us-east-1")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("TRACING_ENABLED", "false")

SECTIONS = {
    "DynamoDB round trips and capacity per repository operation": "tests.bench.dynamodb_ops",
    "Round trips per API operation and per task run, against the design's minimum": "tests.bench.round_trips",
    "Cold import of each handler against `import boto3` (target ≤ 1.5×)": "tests.bench.imports",
    "Warm time per request through the API handler, against the same calls with raw boto3": "tests.bench.warm_requests",
    "Batch concurrency: 10 records against 1 through the worker (Claude stub: 1 s per call; target ≤ 1.5)": (
        "tests.bench.worker_batch"
    ),
    "Tasks per second and memory through the local stack (offline model)": "tests.bench.local_stack_rate",
    "One Claude Code turn against one anthropic turn (stub), and the CLI's peak memory": "tests.bench.claude_code_turn",
}


def main() -> int:
    for title, module_name in SECTIONS.items():
        print(f"\n== {title}")
        started = time.perf_counter()
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as missing:
            print(f"   (not available: {missing})")
            continue
        for line in module.run():
            print(f"   {line}")
        print(f"   [{time.perf_counter() - started:.1f} s]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
