"""The whole service in one process: embedded AWS, the resources of `template.yaml`, the three functions.

`LocalStack.start()` brings it up in dependency order and writes `stack.json`;
`stop()` takes it down in reverse, so nothing in flight is cut off, then saves
the data (when persisting) and removes `stack.json`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, MutableMapping
from pathlib import Path
from typing import Any, TypeVar

from claude_tasks.core.config import Settings, get_settings
from claude_tasks_dev.local import environment, stack_file, state
from claude_tasks_dev.local.aws import EmbeddedAws
from claude_tasks_dev.local.console import ConsoleFiles
from claude_tasks_dev.local.event_log import EventLog
from claude_tasks_dev.local.gateway import Gateway
from claude_tasks_dev.local.handlers import load_function
from claude_tasks_dev.local.options import StackOptions
from claude_tasks_dev.local.resources import provision
from claude_tasks_dev.local.routes import routes_from_template
from claude_tasks_dev.local.schedule import Schedule
from claude_tasks_dev.local.task_events import TaskEventsLoop, events_log_path
from claude_tasks_dev.local.template import load_template
from claude_tasks_dev.local.worker_loop import WorkerLoop

logger = logging.getLogger("claude_tasks_dev.local")
T = TypeVar("T")
EVENTS_FUNCTION, REPLIES_FUNCTION = "TaskEventsFunction", "TaskRepliesFunction"


class StackError(Exception):
    """The stack cannot start; the message says what to change."""


class LocalStack:
    """The stack of `options`; `env` (default `os.environ`) receives the functions' variables."""

    def __init__(self, options: StackOptions, env: MutableMapping[str, str] | None = None) -> None:
        self.options = options
        self.env = os.environ if env is None else env
        self.restored: dict[str, int] | None = None
        self.backend: environment.BackendChoice | None = None
        self.api_url = ""
        self.events_log: Path | None = None
        # (what, how) in start order; `stop()` runs them in reverse.
        self._stops: list[tuple[str, Callable[[], None]]] = []
        self._aws: EmbeddedAws | None = None

    def start(self) -> dict[str, Any]:
        """Start everything; returns what `stack.json` holds. Raises StackError (nothing left running)."""
        try:
            return self._start()
        except BaseException:
            self.stop(save=False)
            raise

    def _start(self) -> dict[str, Any]:
        options = self.options
        try:
            stack_file.refuse_second_stack(options.stack_file)
        except stack_file.StackFileInUse as err:
            raise StackError(str(err)) from err
        try:
            self.backend = environment.choose_backend(self.env)
        except environment.BackendUnavailable as err:
            raise StackError(str(err)) from err
        environment.use_fake_credentials(self.env)
        aws = _listen(lambda: EmbeddedAws(options.host, options.aws_port), options.aws_port, "--aws-port").start()
        self._stops.append(("aws", aws.stop))
        self._aws = aws
        settings = provision(aws.endpoint_url, options.region, options.prefix, self.backend.api_key)
        self._restore(settings)
        template = load_template()
        environment.apply_environment(self.env, environment.function_environment(template, settings, self.backend))
        self.env["CURSOR_SECRET"] = state.cursor_secret(options.state_file)
        get_settings.cache_clear()  # the handlers must see the variables just set
        self._serve(template, settings)
        info = stack_file.describe(settings, self.api_url, self.backend.name, self.events_log)
        stack_file.write(options.stack_file, info)
        self._stops.append(("stack file", lambda: options.stack_file.unlink(missing_ok=True)))
        return info

    def _serve(self, template: dict[str, Any], settings: Settings) -> None:
        options, region = self.options, settings.region
        api, worker, janitor = (
            load_function(template, f, region) for f in ("ApiFunction", "WorkerFunction", "JanitorFunction")
        )
        if options.persist:
            self._stops.append(("save", lambda: self._save(settings)))
        # Started last, stopped first: no request arrives while the worker and janitor finish.
        endpoint = str(settings.aws_endpoint_url)
        loop = WorkerLoop(
            worker, settings.task_queue_url, endpoint, region, options.poll_interval_s, options.retry_delay_s
        )
        # Stopped after the worker: the events of its last writes are still published.
        self._stops.append(("task events", self._task_events(template, settings).start().stop))
        self._stops.append(("worker", loop.start().stop))
        if options.janitor_interval_s > 0:
            schedule = Schedule(janitor, options.janitor_interval_s, options.full_check_interval_s)
            self._stops.append(("janitor", schedule.start().stop))
        gateway = _listen(
            lambda: Gateway(
                routes_from_template(template), api, options.host, options.api_port, ConsoleFiles.of_checkout()
            ),
            options.api_port,
            "--api-port",
        )
        self.api_url = gateway.start().url
        self._stops.append(("gateway", gateway.stop))

    def _task_events(self, template: dict[str, Any], settings: Settings) -> TaskEventsLoop:
        events, replies = (load_function(template, f, settings.region) for f in (EVENTS_FUNCTION, REPLIES_FUNCTION))
        log = EventLog(events_log_path(self.options.state_dir))
        self.events_log = log.path
        return TaskEventsLoop(template, settings, events, replies, log, self.options.events_interval_s)

    def _restore(self, settings: Settings) -> None:
        if not self.options.persist:
            return
        try:
            saved = state.load(self.options.state_file)
        except ValueError as err:
            logger.warning("%s", err)
            return
        if saved is not None:
            self.restored = state.Snapshot(settings).restore(saved)

    def _save(self, settings: Settings) -> None:
        aws = self._aws
        if aws is not None:
            # A message a worker held (or one held invisible by hand) is not lost: it comes back on restart.
            aws.release_in_flight()
        read = None if aws is None else lambda table: aws.table_items(settings.region, table)
        state.save(self.options.state_file, state.Snapshot(settings, read).take())
        logger.info("data saved to %s", self.options.state_file)

    def stop(self, save: bool = True) -> None:
        """Stop in reverse order of start (each part finishes what it is doing); never raises.

        The gateway, worker and janitor stop before the data is saved, and the
        embedded AWS stops last. With `save=False` nothing is written.
        """
        while self._stops:
            what, step = self._stops.pop()
            if what == "save" and not save:
                continue
            try:
                step()
            except Exception:
                logger.exception("stopping the local stack: %s failed; going on", what)


def _listen(make: Callable[[], T], port: int, flag: str) -> T:
    # werkzeug prints the OS error and exits when a port is taken; say which flag changes it.
    try:
        return make()
    except SystemExit as err:
        raise StackError(f"cannot listen on port {port}: pass another with {flag} (0 picks a free one)") from err
