"""The admin page in Chromium: the consistency report's table and violations for the admin, the API's refusal
for anyone else, and the dead-letter queue (or a plain word that this API does not serve it)."""

from __future__ import annotations

import uuid
from typing import Any

from playwright.sync_api import expect

from claude_tasks.core.clock import now_iso
from tests.browser.console import check_accessibility, screenshot, sign_in
from tests.e2e.local_stack import RunningStack, report_since, wait_until

FIGURES = (
    "Sessions",
    "Sessions with tasks",
    "Orphaned sessions (no tasks)",
    "Tasks",
    "Tasks with a valid session",
    "Interactions",
    "Claude session ids assigned",
    "Claude session ids shared by two tasks",
    "Counters not checked (over 2,000 tasks)",
)


def test_the_admin_sees_the_consistency_report_and_the_dead_letter_queue(page: Any, stack: RunningStack) -> None:
    # Given some data (a session with a task), and the local stack's admin signed in
    api = stack.api("report-owner")
    session = api.call("POST", "/sessions", {"project_path": "/work/report", "name": "report"})
    api.call("POST", f"/sessions/{session['session_id']}/tasks", {"prompt": "hi", "backend": "offline"})
    # (the janitor's full check runs every 2 s here: wait for one that started after the data was written)
    admin = stack.api(stack.info["admin_principal"])
    report = wait_until(report_since(admin, now_iso()), 60, "a full check of the data")
    sign_in(page, stack.info["admin_principal"])
    # When they open the admin page
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Admin").click()
    table = page.get_by_role("table", name="Consistency figures")
    # Then every figure of the seed report is a row with the number the API reports, and no violation
    for label in FIGURES:
        expect(table.get_by_role("row", name=label, exact=False).first).to_be_visible()
    sessions_row = table.get_by_role("row").filter(has=page.get_by_role("rowheader", name="Sessions", exact=True))
    expect(sessions_row.get_by_role("cell")).to_have_text(str(report["total_sessions"]))
    expect(page.get_by_role("heading", name="Violations: 0")).to_be_visible()
    # And the dead-letter queue: its messages, or a plain word that this API does not serve it
    letters = page.get_by_role("region", name="Dead-letter queue")
    expect(letters.get_by_text("dead-letter queue", exact=False).first).to_be_visible()
    check_accessibility(page, "admin")
    screenshot(page, "admin")


def test_the_report_is_refused_to_a_non_admin_with_the_apis_reason(page: Any, stack: RunningStack) -> None:
    # Given a user who is not an admin
    sign_in(page, "not-an-admin")
    # When they open the admin page
    page.goto("/#/admin")
    # Then they are told, and the API's refusal shows in the report's section
    expect(page.get_by_text("not-an-admin is not an administrator")).to_be_visible()
    report = page.get_by_role("region", name="Consistency report")
    expect(report.get_by_role("alert")).to_contain_text("administrators only")


def test_the_admin_sees_each_dead_letter_with_its_reason_and_redrives_it(page: Any, stack: RunningStack) -> None:
    # Given a message the worker cannot read, posted to the task queue, given up on and in the DLQ
    admin = stack.api(stack.info["admin_principal"])
    body = f"not json {uuid.uuid4()}"
    message_id = stack.sqs().send_message(QueueUrl=stack.info["queues"]["task_queue_url"], MessageBody=body)[
        "MessageId"
    ]

    def listed() -> bool:
        page_: dict[str, Any] = admin.call("GET", "/admin/dead-letters", query={"limit": 100})
        return any(item["message_id"] == message_id for item in page_["items"])

    wait_until(listed, 60, "the message in the DLQ")
    # When the admin opens the admin page
    sign_in(page, stack.info["admin_principal"])
    page.goto("/#/admin")
    letters = page.get_by_role("region", name="Dead-letter queue")
    # Then the message is a row with the worker's reason
    row = letters.get_by_role("row").filter(has_text=message_id[:8])
    expect(row).to_contain_text("invalid task message")
    # And its redrive sends it back to the queue, saying so
    row.get_by_role("button", name=f"Redrive message {message_id[:8]}").click()
    expect(letters.get_by_role("status")).to_contain_text("Redriven: 1. Refused: 0.")
