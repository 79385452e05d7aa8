"""Loading a handler in a long-lived process (the local stack, the tests) leaves the garbage collector as it was.

A handler imports with the cyclic collector off and freezes what it made, right for a Lambda process that
lives for it alone; this process goes on loading and running other things.
"""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

from claude_tasks_dev.local.handlers import load_module

FROZEN = "import gc\ngc.disable()\nMADE = [[] for _ in range(100)]\ngc.freeze()\ngc.enable()\n"
FAILING = "import gc\ngc.disable()\nraise RuntimeError('a setting is missing')\n"


def _handler(tmp_path: Path, source: str) -> Path:
    (tmp_path / "app.py").write_text(source)
    return tmp_path


def test_a_loaded_handler_leaves_nothing_frozen(tmp_path: Path) -> None:
    module = load_module(_handler(tmp_path, FROZEN), "app", f"gc_probe_{tmp_path.name}")
    assert len(module.MADE) == 100
    assert gc.isenabled() and gc.get_freeze_count() == 0


def test_a_handler_whose_import_fails_leaves_the_collector_on(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="a setting is missing"):
        load_module(_handler(tmp_path, FAILING), "app", f"gc_probe_{tmp_path.name}")
    assert gc.isenabled()
