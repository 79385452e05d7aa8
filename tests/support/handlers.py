"""Load a function's handler as Lambda does: its folder first on `sys.path`, its `app.py` a module of its own."""

from __future__ import annotations

import importlib.util
import itertools
import sys
from pathlib import Path
from types import ModuleType

FUNCTIONS = Path(__file__).resolve().parents[2] / "functions"
_loads = itertools.count(1)


def load_handler(name: str) -> ModuleType:
    """Import `functions/<name>/app.py` afresh, under a unique module name, with its folder on `sys.path`.

    Every call runs the module's import-time code again, so it reads the environment
    (and `get_settings()`, if its cache was cleared) as it is now. The three functions'
    `app` modules never clash. Raises ImportError if the file is missing.
    """
    folder = FUNCTIONS / name
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
    unique = f"handler_{name}_{next(_loads)}"
    spec = importlib.util.spec_from_file_location(unique, folder / "app.py")
    if spec is None or spec.loader is None:
        raise ImportError(f"no handler at {folder / 'app.py'}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[unique] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[unique]
        raise
    return module
