"""What the browser tests need besides Python: a Chromium and axe-core; and why they skip without them."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from claude_tasks_dev.checkout import repo_root

AXE_VERSION = "4.14.1"  # the Makefile's AXE_VERSION
AXE_JS = repo_root() / ".cache" / f"axe-core-{AXE_VERSION}" / "axe.min.js"


def chromium_path() -> str | None:
    """Debian's Chromium (Playwright's own browser download is unreachable here); CHROMIUM names another."""
    chosen = os.environ.get("CHROMIUM")
    for candidate in (chosen,) if chosen else ("/usr/bin/chromium", shutil.which("chromium")):
        if candidate and Path(candidate).is_file():
            return candidate
    return None


def missing() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed (pip install -e '.[dev]')"
    if chromium_path() is None:
        where = os.environ.get("CHROMIUM") or "/usr/bin/chromium"
        return f"no Chromium found at {where} (apt-get install chromium, or set CHROMIUM)"
    if not AXE_JS.is_file():
        return f"axe-core is missing at {AXE_JS} (run `make axe-core`)"
    return None


def report_header() -> str:
    """The line pytest prints first: whether the browser tests will run, loudly when they will not."""
    why = missing()
    if why is None:
        return f"browser tests: Chromium at {chromium_path()}, axe-core {AXE_VERSION}"
    fate = "FAIL (CI is set)" if os.environ.get("CI") else "SKIP"
    return f"browser tests: WILL {fate}: {why}"
