"""Usage totals through the local stack: a task's cost, once it ran, in GET /usage and its session."""

from __future__ import annotations

from pathlib import Path

import pytest

from claude_tasks.claude.pricing import PRICES, cost_usd
from claude_tasks.core.records import Usage
from tests.e2e.local_stack import FAST, finished, start_stack, wait_until
from tests.support.anthropic_stub import AnthropicStub


def test_get_usage_shows_a_tasks_cost_after_it_ran(tmp_path: Path) -> None:
    # Given the stack on the anthropic backend (a stub Messages API standing in for Anthropic, which prices)
    with AnthropicStub() as anthropic:
        env = {"ANTHROPIC_API_KEY": "sk-ant-local-test", "ANTHROPIC_BASE_URL": anthropic.url}
        running = start_stack(tmp_path, "--no-persist", *FAST, env=env)
        try:
            api = running.api("usage-e2e")
            session = api.call("POST", "/sessions", {"project_path": "/work/usage"})
            before = api.call("GET", "/usage")
            # When a task runs to its end
            task = api.call("POST", f"/sessions/{session['session_id']}/tasks", {"prompt": "What does it cost?"})
            done = wait_until(finished(api, task["task_id"]), 30, "the run")
            assert done["status"] == "succeeded", done
            # Then GET /usage and the session show what the task spent, priced by the named table
            mine = api.call("GET", "/usage")
            totals = api.call("GET", f"/sessions/{session['session_id']}")["usage"]
        finally:
            assert running.stop() == 0, running.output()[-2000:]
    spent = cost_usd(done["model"] or "", Usage(**done["usage"]))
    assert done["cost_usd"] == pytest.approx(spent) and spent > 0
    assert before["total"]["cost_usd"] == 0
    # The turn counts in the UTC day and month it was recorded in; a run that ends just before midnight UTC is
    # read the next day, so its day is the one day with a turn, and the month is checked only when the read fell
    # in that day's month
    (ran_on,) = [day for day in mine["days"] if day["turns"]]
    periods = [mine["total"], ran_on, totals]
    if mine["days"][-1]["day"][:7] == ran_on["day"][:7]:
        periods.append(mine["month"])
    for figures in periods:
        assert figures["cost_usd"] == pytest.approx(done["cost_usd"])
        assert figures["usage"] == done["usage"] and figures["turns"] == 1
        assert figures["prices"] == [PRICES.version]
    assert mine["total"]["tasks"]["succeeded"] == totals["tasks"]["succeeded"] == 1
    assert mine["total"]["tasks"]["queued"] == mine["total"]["tasks"]["running"] == 0
