"""What the browser tests do on the console, by role and label: signing in, axe checks, screenshots."""

from __future__ import annotations

from typing import Any

from tests.browser.conftest import AXE_RESULTS, SCREENSHOTS
from tests.browser.requirements import AXE_JS

IMPACTS = ("minor", "moderate", "serious", "critical")


def sign_in(page: Any, name: str) -> None:
    page.get_by_label("Your name").fill(name)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text(f"Signed in as {name}").wait_for()


def open_session(page: Any, project: str, name: str) -> str:
    """Open a session from the sessions page; returns its id (from the address it lands on)."""
    page.goto("/#/sessions")
    form = page.get_by_role("form", name="Open a session")
    form.get_by_label("Project path").fill(project)
    form.get_by_label("Name (optional)").fill(name)
    form.get_by_role("button", name="Open session").click()
    page.get_by_role("heading", name=f"Session {name}").wait_for()
    return str(page.url.rsplit("/", 1)[1])


def start_task(page: Any, prompt: str, backend: str = "offline") -> str:
    """Start a task from a session's page; returns its id once its page shows."""
    form = page.get_by_role("form", name="Start a task")
    form.get_by_label("Prompt").fill(prompt)
    form.get_by_label("Backend").select_option(backend)
    form.get_by_role("button", name="Start task").click()
    page.get_by_role("heading", name="Conversation").wait_for()
    return str(page.url.rsplit("/", 1)[1])


def status_of(page: Any) -> Any:
    return page.get_by_role("status").filter(has_text="Status:")


def check_accessibility(page: Any, name: str) -> dict[str, int]:
    """Run axe-core on the page as it is; record and return the violations' counts by impact."""
    page.evaluate(AXE_JS.read_text())
    result = page.evaluate(
        "async () => (await axe.run(document)).violations.map(v => [v.id, v.impact, v.nodes.length])"
    )
    counts = dict.fromkeys(IMPACTS, 0)
    for _rule, impact, _nodes in result:
        counts[impact or "minor"] += 1
    AXE_RESULTS[name] = counts
    serious = [(rule, impact) for rule, impact, _ in result if impact in ("serious", "critical")]
    assert not serious, f"axe-core on the {name} page: {result}"
    return counts


def screenshot(page: Any, name: str) -> None:
    """The page as users see it, for the README: one viewport, no animations."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), animations="disabled", caret="hide")
