"""Browser level: the console in a real Chromium (Playwright for Python, Debian's browser) against the local stack.

One stack and one browser for all browser tests; each test gets a fresh browser
context (nothing in memory: it signs in) and principals of its own. The stack's
Claude is the project's Messages API stub (tasks on `anthropic` wait on it when a
test holds it) next to the offline model, whose reply quotes the prompt.

Without a Chromium (or without axe-core: `make axe-core`) the tests skip, and the
run says so loudly; with CI set they fail instead.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from claude_tasks_dev.checkout import repo_root
from tests.browser.requirements import chromium_path, missing
from tests.e2e.local_stack import FAST, RunningStack, start_stack
from tests.support.anthropic_stub import AnthropicStub

SCREENSHOTS = repo_root() / "docs" / "screenshots"
VIEWPORT = {"width": 1100, "height": 760}
# Generous on a busy machine: a poll is 1 s while a task runs.
WAIT_MS = 20_000
# Filled by the tests, printed at the end: axe's findings per page, and reply-to-page latencies in ms.
AXE_RESULTS: dict[str, dict[str, int]] = {}
LATENCIES_MS: list[float] = []
_SKIPPED: list[str] = []


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _SKIPPED:
        terminalreporter.write_sep("!", f"BROWSER TESTS SKIPPED: {_SKIPPED[0]}", red=True, bold=True)
    for page, counts in sorted(AXE_RESULTS.items()):
        figures = ", ".join(f"{impact} {n}" for impact, n in counts.items())
        terminalreporter.write_line(f"axe-core on the {page} page: {figures}")
    if LATENCIES_MS:
        ordered = sorted(LATENCIES_MS)
        median, slowest = ordered[len(ordered) // 2], ordered[-1]
        each = ", ".join(f"{x:.0f}" for x in LATENCIES_MS)
        terminalreporter.write_line(
            f"reply written -> shown on the task page: {len(ordered)} replies, median {median:.0f} ms, "
            f"max {slowest:.0f} ms ({each})"
        )


# Package scope, not session: Playwright's sync API keeps an asyncio loop running on the main thread while it
# lives, and the tests after these (the Claude Code worker's asyncio.run among them) need it gone.
@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    why = missing()
    if why:
        if os.environ.get("CI"):
            pytest.fail(f"browser tests cannot run in CI: {why}")
        _SKIPPED.append(why)
        pytest.skip(f"browser tests skipped: {why}")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=WAIT_MS)  # a busy machine: assertions wait as long as actions do

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium_path(), args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture(scope="package")
def stub() -> Iterator[AnthropicStub]:
    with AnthropicStub() as server:
        yield server


@pytest.fixture(scope="package")
def stack(tmp_path_factory: pytest.TempPathFactory, stub: AnthropicStub) -> Iterator[RunningStack]:
    env = {"ANTHROPIC_BASE_URL": stub.url, "ANTHROPIC_API_KEY": "sk-ant-local-test"}
    running = start_stack(tmp_path_factory.mktemp("browser-stack"), "--no-persist", *FAST, env=env)
    yield running
    stub.release()  # nothing left waiting on a held reply
    assert running.stop() == 0, running.output()[-3000:]


@pytest.fixture
def principal() -> str:
    return f"user-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def page(browser: Any, stack: RunningStack) -> Iterator[Any]:
    """A fresh context (no token in memory) on the console's start page."""
    context = browser.new_context(viewport=VIEWPORT, base_url=stack.api_url)
    context.set_default_timeout(WAIT_MS)
    opened = context.new_page()
    opened.goto("/")
    yield opened
    context.close()
