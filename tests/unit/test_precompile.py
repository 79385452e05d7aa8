"""`make build` leaves bytecode for the runtime's Python beside every module, which Lambda then uses as it is."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
from importlib.util import cache_from_source
from pathlib import Path

import pytest

from claude_tasks_dev.precompile import runtime_of

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "devtools" / "claude_tasks_dev" / "precompile.py"
BUILT_TEMPLATE = "Resources:\n  Fn:\n    Properties:\n      Runtime: python3.13\n"


def _python313() -> str | None:
    if sys.version_info[:2] == (3, 13):
        return sys.executable
    # pyenv's own 3.13 before PATH's: pyenv's shim for python3.13 refuses unless 3.13 is a selected version.
    installed = sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.13*/bin/python3.13")))
    return installed[-1] if installed else shutil.which("python3.13")


def _built(tmp_path: Path) -> Path:
    """A build folder as `sam build` leaves it: a template, a function's code, a layer's package, no bytecode."""
    (tmp_path / "template.yaml").write_text(BUILT_TEMPLATE)
    for module in ("JanitorFunction/app.py", "SharedLayer/python/claude_tasks/__init__.py"):
        (tmp_path / module).parent.mkdir(parents=True)
        (tmp_path / module).write_text("VALUE = 42\n")
    return tmp_path


def _run(python: str, build: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}  # as here: nothing is compiled unless the script does it
    return subprocess.run([python, str(SCRIPT), str(build)], capture_output=True, text=True, env=env, check=False)  # noqa: S603


@pytest.mark.skipif(_python313() is None and not os.environ.get("CI"), reason="no python3.13 (make build needs one)")
def test_every_module_gets_bytecode_that_the_runtime_uses_without_checking_the_source(tmp_path: Path) -> None:
    # Given a build folder with no bytecode, and the runtime's Python
    build, python = _built(tmp_path), _python313()
    assert python is not None
    # When the script runs under it
    result = _run(python, build)
    # Then every module has bytecode, and it is an unchecked hash-based pyc (PEP 552 flags = 0b01)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 of 2 modules" in result.stdout
    for source in build.rglob("*.py"):
        pyc = Path(cache_from_source(str(source)).replace(sys.implementation.cache_tag, "cpython-313"))
        assert int.from_bytes(pyc.read_bytes()[4:8], "little") == 0b01, pyc


@pytest.mark.skipif(sys.version_info[:2] == (3, 13), reason="needs an interpreter other than the runtime's")
def test_another_python_is_refused_because_its_bytecode_would_be_ignored(tmp_path: Path) -> None:
    # When the script runs under this (3.11 or 3.12) interpreter
    result = _run(sys.executable, _built(tmp_path))
    # Then it refuses, names both versions, and compiles nothing
    assert result.returncode == 2
    assert "but the functions run on python3.13" in result.stdout
    assert not list(tmp_path.rglob("*.pyc"))


def test_the_runtime_is_the_one_the_built_template_names() -> None:
    assert runtime_of(BUILT_TEMPLATE + "      CompatibleRuntimes: [python3.13]\n") == "python3.13"
    with pytest.raises(ValueError, match="one Python runtime"):
        runtime_of(BUILT_TEMPLATE + "      Runtime: python3.12\n")
