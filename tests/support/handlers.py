"""Load a function's handler as Lambda does: its folder first on `sys.path`, its `app.py` a module of its own."""

from __future__ import annotations

import importlib
import itertools
from pathlib import Path
from types import ModuleType

from claude_tasks_dev.local.handlers import load_module

FUNCTIONS = Path(__file__).resolve().parents[2] / "functions"
_loads = itertools.count(1)


def load_handler(name: str) -> ModuleType:
    """Import `functions/<name>/app.py` afresh, under a unique module name, with its folder on `sys.path`.

    Every call runs the module's import-time code again, so it reads the environment
    (and `get_settings()`, if its cache was cleared) as it is now. The three functions'
    `app` modules never clash. Raises ImportError if the file is missing.
    """
    return load_module(FUNCTIONS / name, "app", f"handler_{name}_{next(_loads)}")


def clear_api_caches() -> None:
    """Forget the API's service objects, which `routes.params` builds once per process (as a Lambda
    container does) and every load of the API shares: the next request builds them from the settings now."""
    params = importlib.import_module("routes.params")
    params.task_service.cache_clear()
    params.dead_letter_queues.cache_clear()
