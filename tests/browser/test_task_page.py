"""A session's and a task's pages in Chromium: start a task and watch its reply arrive, follow up, cancel a
running task, fork; the model's markup stays text; the two ids are explained; axe finds nothing serious."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import LATENCIES_MS
from tests.browser.console import check_accessibility, open_session, screenshot, sign_in, start_task, status_of
from tests.e2e.local_stack import RunningStack, wait_until
from tests.support.anthropic_stub import AnthropicStub, Held, HttpError, Reply, ToolUse

INJECTION = 'Look: <script>window.__pwned = "script"</script> <img src=x onerror="window.__pwned = \'img\'"> **done**'


@pytest.fixture
def held(stub: AnthropicStub) -> Iterator[AnthropicStub]:
    """The stub, holding its next reply until the test is done with the task waiting on it."""
    stub.script(Held(Reply(text="Too late: this task was cancelled.")))
    yield stub
    stub.release()


def _conversation(page: Any) -> Any:
    return page.get_by_role("list", name="Conversation")


def _turns(page: Any) -> Any:
    return _conversation(page).get_by_role("article")


def _record_latency(page: Any, seq: int) -> None:
    """From the turn's creation (the API's `created_at`) to its appearing on the page, both on this machine's
    clock; only for a turn written while the page was open (one there before it loaded measures nothing)."""
    turn = page.locator(f'li[data-seq="{seq}"]')
    created = datetime.fromisoformat(str(turn.get_attribute("data-created")).replace("Z", "+00:00")).timestamp()
    opened = float(_conversation(page).get_attribute("data-opened") or 0)
    if created * 1000 > opened:
        LATENCIES_MS.append(float(turn.get_attribute("data-shown") or 0) - created * 1000)


def test_start_a_task_watch_the_reply_and_follow_up(page: Any, stack: RunningStack, principal: str) -> None:
    # Given a signed-in user with a session
    sign_in(page, principal)
    open_session(page, "/work/demo", "demo")
    # When they start a task on the offline model
    task_id = start_task(page, "Summarise the *README* in one line")
    # Then its reply appears without a reload, and the task succeeds
    expect(page.get_by_role("article", name="Interaction 2: assistant")).to_contain_text(
        "offline model", timeout=20_000
    )
    expect(status_of(page)).to_contain_text("succeeded")
    expect(page.get_by_role("article", name="Interaction 1: user").locator("em")).to_have_text("README")
    # When they send three follow-ups, one after the other
    for n in range(3):
        box = page.get_by_role("form", name="Follow-up")
        box.get_by_label("Follow-up").fill(f"And now point {n + 1}?")
        box.get_by_role("button", name="Send follow-up").click()
        reply = page.get_by_role("article", name=f"Interaction {4 + 2 * n}: assistant")
        # Then each reply shows up as it is written, with its figures, and the totals count it
        expect(reply).to_contain_text(f"point {n + 1}?", timeout=20_000)
        _record_latency(page, 4 + 2 * n)
    expect(_turns(page)).to_have_count(8)
    expect(page.get_by_label("Totals")).to_contain_text("Total: 8 interaction(s) in 4 turn(s)")
    task = stack.api(principal).call("GET", f"/tasks/{task_id}")
    expect(page.get_by_label("Totals")).to_contain_text(f"{task['usage']['input_tokens']} in")
    assert task["status"] == "succeeded" and task["interaction_count"] == 8


def test_the_ids_are_side_by_side_each_explained_to_the_keyboard(
    page: Any, stack: RunningStack, principal: str
) -> None:
    # Given a task that ran
    sign_in(page, principal)
    open_session(page, "/work/ids", "ids")
    start_task(page, "hello")
    expect(status_of(page)).to_contain_text("succeeded")
    # When the user tabs to the question mark beside claude_session_id
    explain = page.get_by_role("button", name="What is claude_session_id?")
    explain.focus()
    # Then its tooltip shows and describes it; the session_id's says what it is
    expect(explain).to_have_accessible_description(re.compile("Claude's conversation id for this task"))
    expect(page.get_by_role("tooltip").filter(has_text="Claude's conversation id")).to_be_visible()
    expect(page.get_by_role("button", name="What is session_id?")).to_have_accessible_description(
        re.compile("Our session")
    )


def test_nothing_the_model_writes_can_run_as_script(
    page: Any, stack: RunningStack, stub: AnthropicStub, principal: str
) -> None:
    # Given Claude (the stub) answering with a script tag and an onerror attribute
    stub.script(Reply(text=INJECTION, delay_s=1.0))
    sign_in(page, principal)
    open_session(page, "/work/inject", "inject")
    # When a task asks, with the same markup in the prompt
    start_task(page, f"Repeat: {INJECTION}", backend="anthropic")
    reply = page.get_by_role("article", name="Interaction 2: assistant")
    expect(reply).to_contain_text("<script>", timeout=20_000)
    _record_latency(page, 2)
    # Then the markup shows as text, nothing ran, and no element came of it; the Markdown around it did render
    expect(reply).to_contain_text("onerror=")
    expect(reply.locator("strong")).to_have_text("done")
    conversation = page.get_by_role("list", name="Conversation")
    assert conversation.locator("script, img, [onerror]").count() == 0
    assert page.evaluate("window.__pwned") is None


def test_cancel_a_running_task(page: Any, stack: RunningStack, held: AnthropicStub, principal: str) -> None:
    # Given a task running on Claude, which has not answered yet
    sign_in(page, principal)
    open_session(page, "/work/slow", "slow")
    task_id = start_task(page, "Take your time", backend="anthropic")
    expect(status_of(page)).to_contain_text("running")
    # When the user cancels it
    page.get_by_role("button", name="Cancel task").click()
    # Then the status changes without a reload, and stays so after Claude's late answer
    expect(status_of(page)).to_contain_text("cancelled")
    answered = len(held.answered)
    held.release()
    wait_until(lambda: len(held.answered) > answered, 20, "Claude's late answer")
    for _ in range(15):  # the worker records (or drops) the late answer meanwhile
        assert stack.api(principal).call("GET", f"/tasks/{task_id}")["status"] == "cancelled"
        time.sleep(0.1)
    expect(status_of(page)).to_contain_text("cancelled")


def test_fork_a_task_and_retry_refused_with_its_reason(page: Any, stack: RunningStack, principal: str) -> None:
    # Given a task that succeeded
    sign_in(page, principal)
    open_session(page, "/work/fork", "fork")
    source_id = start_task(page, "First question")
    expect(status_of(page)).to_contain_text("succeeded")
    # When the user retries it, the API's reason shows next to the buttons
    page.get_by_role("button", name="Retry task").click()
    actions = page.get_by_role("region", name="Task actions")
    expect(actions.get_by_role("alert")).not_to_be_empty()
    # When they fork it with a new prompt
    actions.get_by_label("Fork with prompt (optional)").fill("Second question, on the fork")
    actions.get_by_role("button", name="Fork task").click()
    # Then the fork's page shows the copied conversation, its own answer and where it came from
    expect(page).not_to_have_url(re.compile(source_id))
    expect(page.get_by_role("article", name="Interaction 4: assistant")).to_contain_text(
        "Second question", timeout=20_000
    )
    expect(page.get_by_role("link", name=source_id[:8])).to_be_visible()
    fork_id = page.url.rsplit("/", 1)[1]
    api = stack.api(principal)
    fork, source = api.call("GET", f"/tasks/{fork_id}"), api.call("GET", f"/tasks/{source_id}")
    assert fork["forked_from"] == source_id and fork["claude_session_id"] != source["claude_session_id"]


def test_the_session_and_task_pages_are_accessible(page: Any, stack: RunningStack) -> None:
    # Given alice's session with a few tasks, one of them answered in Markdown
    sign_in(page, "alice")
    open_session(page, "/work/shop", "shop")
    start_task(page, "List the **open issues** of the shop:\n\n- checkout\n- search")
    expect(status_of(page)).to_contain_text("succeeded")
    page.get_by_role("link", name="← Session").click()
    form = page.get_by_role("form", name="Start a task")
    form.get_by_label("Backend").select_option("anthropic")
    page.get_by_role("table", name="Tasks").get_by_role("row").nth(1).wait_for()
    # Then axe finds nothing serious on either page, and both are pictured for the README
    check_accessibility(page, "session")
    screenshot(page, "session")
    page.get_by_role("table", name="Tasks").get_by_role("link").first.click()
    expect(page.get_by_role("article", name="Interaction 2: assistant")).to_be_visible()
    check_accessibility(page, "task")
    screenshot(page, "task")


def test_claude_code_tool_calls_fold_to_one_line_with_input_and_result_on_demand(
    page: Any, stack: RunningStack, stub: AnthropicStub, principal: str, tmp_path: Path
) -> None:
    # Given a real project, and Claude (the stub) reading a file in it before answering
    pytest.importorskip("claude_agent_sdk", reason="Claude Code turns need the `claude-code` extra")
    project = tmp_path / "notes"
    project.mkdir()
    (project / "todo.txt").write_text("buy milk\n")
    stub.script(
        Reply(text="Let me look.", tool_uses=(ToolUse("Read", {"file_path": str(project / "todo.txt")}),)),
        Reply(text="The list says **buy milk**."),
    )
    sign_in(page, principal)
    open_session(page, str(project), "notes")
    # When a claude-code task runs, allowed to read
    form = page.get_by_role("form", name="Start a task")
    form.get_by_label("Backend").select_option("claude-code")
    form.get_by_label("Allowed tools").fill("Read")
    start_task(page, "What is on my list?", backend="claude-code")
    expect(status_of(page)).to_contain_text("succeeded", timeout=120_000)
    # Then the tool call is one folded line naming the tool, its input and result shown on demand
    call = page.get_by_role("group").filter(has_text="Tool Read")
    expect(call).to_have_count(1)
    expect(call.get_by_text("buy milk")).to_be_hidden()
    call.get_by_text("Tool Read").click()
    expect(call.get_by_role("heading", name="Input")).to_be_visible()
    expect(call.get_by_role("heading", name="Result")).to_be_visible()
    expect(call.get_by_text("buy milk")).to_be_visible()
    expect(page.get_by_text("The list says")).to_be_visible()
    _record_latency(page, int(_conversation(page).get_by_role("listitem").last.get_attribute("data-seq") or 0))


def test_a_failed_run_shows_its_error_turn_and_status_live(
    page: Any, stack: RunningStack, stub: AnthropicStub, principal: str
) -> None:
    # Given Claude (the stub) refusing the request, a non-retryable error
    stub.script(HttpError(400, "invalid_request_error", "the prompt was refused by the stub"))
    sign_in(page, principal)
    open_session(page, "/work/fails", "fails")
    # When a task runs into it
    start_task(page, "This will fail", backend="anthropic")
    # Then the status turns to failed without a reload, with the reason, and the error is a turn of its own
    expect(status_of(page)).to_contain_text("failed")
    error = page.get_by_role("article", name=re.compile(r"^Interaction \d+: error$"))
    expect(error).to_contain_text("the prompt was refused by the stub")
    expect(status_of(page)).to_contain_text("Error:")
