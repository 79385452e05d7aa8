"""The local stack runs three functions in one process: each log line names the function that wrote it."""

from __future__ import annotations

import io
import json
import logging
import threading
import uuid
from typing import Any

from aws_lambda_powertools import Logger

from claude_tasks_dev.local.handlers import LambdaFunction, label_log_records


def test_each_function_labels_its_own_lines_while_another_runs() -> None:
    # Given two functions whose handlers share one Powertools service logger (as our three do)
    label_log_records()
    buffer = io.StringIO()
    logger = Logger(service=f"svc-{uuid.uuid4().hex[:6]}", logger_handler=logging.StreamHandler(buffer))
    worker_started, api_ran, worker_may_finish = threading.Event(), threading.Event(), threading.Event()

    @logger.inject_lambda_context
    def worker(event: Any, context: Any) -> None:
        logger.info("worker before")
        worker_started.set()
        worker_may_finish.wait(10)
        logger.info("worker after")

    @logger.inject_lambda_context
    def api(event: Any, context: Any) -> None:
        logger.info("api")
        api_ran.set()

    worker_fn = LambdaFunction("WorkerFunction", worker, 60, 128)
    api_fn = LambdaFunction("ApiFunction", api, 60, 128)
    # When the API is invoked while the worker's invocation is still running
    running = threading.Thread(target=worker_fn.invoke, args=({},))
    running.start()
    worker_started.wait(10)
    threading.Thread(target=lambda: (api_fn.invoke({}), worker_may_finish.set())).start()
    running.join(10)
    # Then every line names the function that wrote it, the worker's last line too
    lines = {entry["message"]: entry["function_name"] for entry in map(json.loads, buffer.getvalue().splitlines())}
    assert api_ran.is_set()
    assert lines == {"worker before": "WorkerFunction", "api": "ApiFunction", "worker after": "WorkerFunction"}
