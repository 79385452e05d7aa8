"""What `sam build` puts in the shared layer: the service package only, never the development tools."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SAM = ROOT / ".tools" / "sam" / "bin" / "sam"


@pytest.mark.skipif(not SAM.exists() and not os.environ.get("CI"), reason="no SAM CLI: run `make tools`")
def test_the_built_shared_layer_holds_the_service_package_and_no_dev_tools(tmp_path: Path) -> None:
    # Given the SAM CLI the Makefile installs; When it builds the shared layer as `make build` does
    env = {**os.environ, "PATH": f"{SAM.parent}:{os.environ['PATH']}", "SAM_CLI_TELEMETRY": "0"}
    env.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    subprocess.run(  # noqa: S603 - our own tool and arguments
        [str(SAM), "build", "SharedLayer", "--build-dir", str(tmp_path)],
        cwd=ROOT, env=env, check=True, capture_output=True,
    )  # fmt: skip
    layer = tmp_path / "SharedLayer" / "python"
    packages = {path.name for path in layer.iterdir() if path.is_dir()}
    # Then it holds claude_tasks and nothing of the local stack, the CLI or their package
    assert packages == {"claude_tasks"}
    assert {path.name for path in (layer / "claude_tasks").iterdir() if path.is_dir()} == {
        "core", "store", "claude", "app",
    }  # fmt: skip
    assert not list(layer.rglob("local")) and not list(layer.rglob("cli"))
