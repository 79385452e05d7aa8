"""The console's sign-in and sessions page in Chromium: open, page through and delete sessions; one user never
sees another's; an API error shows its detail next to the form; a refused token keeps the user's place."""

from __future__ import annotations

import re
import uuid
from typing import Any

from playwright.sync_api import expect

from claude_tasks_dev.cli.client import ApiError
from tests.browser.console import check_accessibility, open_session, screenshot, sign_in
from tests.e2e.local_stack import RunningStack


def test_the_console_is_served_next_to_the_api(page: Any, stack: RunningStack) -> None:
    # When the start page, its config and an API route are fetched from the same origin
    config = page.request.get("/config.json").json()
    api = page.request.get("/sessions")
    # Then the console is local sign-in on the same origin, and the API kept its route (401 without a token)
    assert config == {"api_url": "", "auth": {"kind": "local"}}
    assert api.status == 401
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    check_accessibility(page, "sign-in")


def test_sign_in_open_a_session_and_page_through_the_list(page: Any, stack: RunningStack, principal: str) -> None:
    # Given 22 sessions of the principal's (more than a page of 20)
    api = stack.api(principal)
    for n in range(21):
        api.call("POST", "/sessions", {"project_path": f"/work/p{n}", "name": f"older-{n:02d}"})
    # When they sign in (keyboard only) and open one more
    page.get_by_label("Your name").press_sequentially(principal)
    page.keyboard.press("Enter")
    session_id = open_session(page, "/work/console-demo", "console-demo")
    # Then its page shows its id, and the list says there is more and pages on
    expect(page.get_by_text(session_id)).to_be_visible()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Sessions").click()
    table = page.get_by_role("table", name="Your sessions")
    expect(table.get_by_role("row")).to_have_count(21)  # header + 20
    expect(page.get_by_text("Page 1: 20 session(s), more on the next page.")).to_be_visible()
    page.get_by_role("button", name="Next page").click()
    expect(page.get_by_text("Page 2: 2 session(s).")).to_be_visible()
    expect(page.get_by_role("button", name="Next page")).to_be_disabled()
    page.get_by_role("button", name="Previous page").click()
    expect(table.get_by_role("link", name="console-demo")).to_be_visible()


def test_a_second_user_sees_none_of_the_first_users_sessions(page: Any, stack: RunningStack, browser: Any) -> None:
    # Given a first user with a session
    first = f"first-{uuid.uuid4().hex[:8]}"
    stack.api(first).call("POST", "/sessions", {"project_path": "/work/private", "name": "first-users-secret"})
    session_id = stack.api(first).call("GET", "/sessions")["items"][0]["session_id"]
    # When a second user signs in
    sign_in(page, f"second-{uuid.uuid4().hex[:8]}")
    # Then their list is empty, and the first user's session, opened by its address, is not found
    expect(page.get_by_text("No sessions yet")).to_be_visible()
    expect(page.get_by_text("first-users-secret")).to_have_count(0)
    page.goto(f"/#/sessions/{session_id}")
    expect(page.get_by_role("alert")).to_have_text(f"session {session_id} does not exist")


def test_an_api_error_shows_its_detail_next_to_the_form(page: Any, stack: RunningStack, principal: str) -> None:
    # Given a signed-in user
    sign_in(page, principal)
    # When they open a session with a relative project path
    form = page.get_by_role("form", name="Open a session")
    form.get_by_label("Project path").fill("relative/path")
    form.get_by_role("button", name="Open session").click()
    # Then the API's own detail shows inside that form
    refused = stack.api(principal)
    detail = _detail(refused, "POST", "/sessions", {"project_path": "relative/path"})
    expect(form.get_by_role("alert")).to_have_text(detail)


def test_deleting_a_session_with_tasks_spells_out_the_cascade(page: Any, stack: RunningStack, principal: str) -> None:
    # Given a session with a task
    api = stack.api(principal)
    session = api.call("POST", "/sessions", {"project_path": "/work/doomed", "name": "doomed"})
    api.call("POST", f"/sessions/{session['session_id']}/tasks", {"prompt": "hi", "backend": "offline"})
    sign_in(page, principal)
    # When the user asks to delete it
    page.get_by_role("button", name="Delete session doomed").click()
    dialog = page.get_by_role("dialog", name="Delete session doomed?")
    # Then the dialog says what each choice does; deleting only an empty one is refused with the API's reason
    expect(dialog).to_contain_text("It has 1 task(s)")
    dialog.get_by_role("button", name="Delete only if it has no tasks").click()
    expect(dialog.get_by_role("alert")).not_to_be_empty()
    # When they choose the cascade
    dialog.get_by_role("button", name="Delete with its 1 task(s)").click()
    # Then the session and its task are gone
    expect(dialog).to_be_hidden()
    expect(page.get_by_text("No sessions yet")).to_be_visible()
    assert api.call("GET", "/sessions")["items"] == []


def test_a_refused_token_sends_the_user_to_sign_in_with_their_place_kept(
    page: Any, stack: RunningStack, principal: str
) -> None:
    # Given a user on a session's page
    sign_in(page, principal)
    session_id = open_session(page, "/work/place", "place")
    # When the API refuses their token once (as an expired Cognito token is refused)
    # (its task list is polled every few seconds: the next poll meets the refusal)
    page.route(re.compile(r".*/sessions/[^/]+/tasks.*"), lambda route: route.fulfill(status=401, body="{}"), times=1)
    page.get_by_label("Your name").wait_for()
    # Then they are asked to sign in again, told why, and land back where they were
    expect(page.get_by_role("status")).to_contain_text("sign in again")
    sign_in(page, principal)
    expect(page).to_have_url(re.compile(f"#/sessions/{session_id}$"))
    expect(page.get_by_role("heading", name="Session place")).to_be_visible()


def test_the_sessions_page_is_accessible(page: Any, stack: RunningStack) -> None:
    # Given a user with a few sessions
    name = "alice"
    api = stack.api(name)
    for project, label in (("/work/shop", "shop"), ("/work/blog", "blog"), ("/work/api", "api-server")):
        api.call("POST", "/sessions", {"project_path": project, "name": label})
    sign_in(page, name)
    page.get_by_role("table", name="Your sessions").get_by_role("link", name="shop").wait_for()
    # Then axe finds nothing serious, and the page is pictured for the README
    check_accessibility(page, "sessions")
    screenshot(page, "sessions")


def _detail(api: Any, method: str, path: str, body: dict[str, Any]) -> str:
    try:
        api.call(method, path, body)
    except ApiError as err:
        return str(err.problem["detail"])
    raise AssertionError("the API accepted it")


def test_the_keyboard_reaches_and_leaves_the_delete_dialog(page: Any, stack: RunningStack, principal: str) -> None:
    # Given a session in the list
    stack.api(principal).call("POST", "/sessions", {"project_path": "/work/keys", "name": "keys"})
    sign_in(page, principal)
    delete = page.get_by_role("button", name="Delete session keys")
    delete.wait_for()
    # When the user tabs from the session's link to its delete button and presses Enter
    page.get_by_role("link", name="keys").focus()
    for _ in range(5):
        if page.evaluate("document.activeElement.getAttribute('aria-label')") == "Delete session keys":
            break
        page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    # Then the dialog opens with the safe choice focused, and Escape closes it with nothing deleted
    dialog = page.get_by_role("dialog", name="Delete session keys?")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("button", name="Keep it")).to_be_focused()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    assert [s["name"] for s in stack.api(principal).call("GET", "/sessions")["items"]] == ["keys"]
