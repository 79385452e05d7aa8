"""Run the worker handler once in this process, as Lambda would: the environment and event come on stdin.

    {"env": {...}, "event": {...}, "remaining_s": 120}  ->  stdout: the handler's response as JSON

Started by tests/integration/claude_code/test_isolation.py as an unprivileged user (Lambda runs functions
as one), so the kernel's protections apply to the agent's processes as they do in AWS; as root they would not.
"""

from __future__ import annotations

import json
import os
import sys


def main() -> int:
    order = json.load(sys.stdin)
    os.environ.clear()
    os.environ.update(order["env"])
    from tests.support.handlers import load_handler  # noqa: PLC0415 - after the environment is in place
    from tests.support.worker import LambdaContextStub  # noqa: PLC0415

    worker = load_handler("worker")
    response = worker.lambda_handler(order["event"], LambdaContextStub(order["remaining_s"]))
    print(json.dumps(response))
    return 0


if __name__ == "__main__":
    sys.exit(main())
