"""The claude-code worker's container image, checked without Docker: its task root laid out as the Dockerfile does.

The first run downloads the pinned wheels (~130 MB, ~470 MiB installed) into `.cache/claude-code-image/`;
later runs reuse them until the pins change.
"""

from __future__ import annotations

import json
import os
import platform
import tomllib
import urllib.request
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from claude_tasks_dev.image import (
    CACHE,
    CLI,
    REQUIREMENTS,
    ROOT,
    SOURCES,
    assemble,
    cache_key,
    check,
    dependencies,
)

DOCKERFILE = REQUIREMENTS.with_name("Dockerfile")


def _requirements(path: Path) -> list[Requirement]:
    lines = (line.strip() for line in path.read_text().splitlines())
    return [Requirement(line) for line in lines if line and not line.startswith("#")]


def _pins() -> dict[str, Requirement]:
    return {canonicalize_name(r.name): r for r in _requirements(REQUIREMENTS)}


def _pypi_reachable() -> bool:
    try:
        with urllib.request.urlopen("https://pypi.org/simple/claude-agent-sdk/", timeout=15):  # noqa: S310
            return True
    except OSError:
        return False


@pytest.fixture(scope="module")
def image_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not (CACHE / cache_key(platform.machine())).is_dir() and not _pypi_reachable():
        pytest.skip("PyPI cannot be reached, and the image's wheels are not cached in .cache/claude-code-image yet")
    return assemble(tmp_path_factory.mktemp("claude-code-image") / "task")


def test_the_handler_imports_from_the_image_tree_alone_and_the_bundled_cli_answers(
    image_tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the task root assembled as the Dockerfile makes it
    cli = image_tree / CLI
    assert os.access(cli, os.X_OK)
    # When Python 3.13 imports the handler with only the tree and the standard library, and the CLI runs
    figures = check(image_tree)  # raises on a failed import, a module from elsewhere, or a failed CLI
    # Then the CLI reports the version the SDK bundles
    assert figures.cli_version.split()[0] == cli.with_name("claude.version").read_text().split()[0]
    with capsys.disabled():
        print(
            f"\nclaude-code image task root: {figures.size_mib:.0f} MiB; handler import {figures.import_s:.3f} s, "
            f"`claude --version` {figures.cli_s:.3f} s (medians of 3, this machine)"
        )


def test_the_tree_holds_what_the_dockerfile_copies_compiled_for_python_3_13(image_tree: Path) -> None:
    # Given the Dockerfile; Then it starts from Lambda's Python 3.13 image and copies what `assemble` copies
    dockerfile = DOCKERFILE.read_text()
    assert "public.ecr.aws/lambda/python:3.13" in dockerfile
    assert 'CMD ["app.lambda_handler"]' in dockerfile
    assert all(source in dockerfile for source in [*SOURCES, str(REQUIREMENTS.relative_to(ROOT))])
    # And the tree has our code with 3.13 bytecode only (the checkout's own __pycache__ stays behind)
    ours = [image_tree / "app.py", *(image_tree / "claude_tasks").rglob("*.py")]
    assert all(p.is_file() for p in ours)
    compiled = {p.name.split(".")[1] for p in (image_tree / "claude_tasks").rglob("*.pyc")}
    assert compiled == {"cpython-313"}
    assert (image_tree / "__pycache__" / "app.cpython-313.pyc").is_file()


def test_pip_installs_exactly_the_pinned_distributions(image_tree: Path) -> None:
    # Given pip's report of the install behind the tree
    report = json.loads((dependencies() / "report.json").read_text())
    installed = {canonicalize_name(i["metadata"]["name"]): i["metadata"]["version"] for i in report["install"]}
    # Then every distribution it installed is pinned to that version, and no pin is left unused
    assert installed == {name: str(next(iter(r.specifier)).version) for name, r in _pins().items()}


def test_every_pin_is_exact_and_within_the_dependency_layer_and_the_claude_code_extra() -> None:
    # Given the image's pins, the dependency layer's ranges and pyproject's claude-code extra
    pins = _pins()
    layer = _requirements(ROOT / "layers" / "dependencies" / "requirements.txt")
    extra = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["claude-code"]
    # Then each pin is one exact version, and each range the zip functions ship is met, extras included
    assert all(len(r.specifier) == 1 and next(iter(r.specifier)).operator == "==" for r in pins.values())
    for wanted in [*layer, *map(Requirement, extra)]:
        pin = pins[canonicalize_name(wanted.name)]
        assert wanted.specifier.contains(next(iter(pin.specifier)).version), f"{pin} is outside {wanted}"
        assert wanted.extras <= pin.extras, f"{pin} lacks the extras of {wanted}"
