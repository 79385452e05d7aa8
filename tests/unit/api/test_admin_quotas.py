"""`GET`, `PUT` and `DELETE /admin/quotas/{owner}`: an admin keeps an owner's quota overrides."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from claude_tasks.core.records import Session
from tests.unit.api.conftest import Call

UNSET = {"max_active_tasks": None, "max_tasks_per_minute": None, "monthly_spend_usd": None}


@pytest.fixture
def admin(configure: Callable[..., object]) -> str:
    """carol is an admin; the deployment's defaults allow 3 active tasks and 10 creations a minute."""
    configure(admin_principals="carol", quota_max_active_tasks=3, quota_max_tasks_per_minute=10)
    return "carol"


def test_an_owner_without_overrides_has_the_defaults(call: Call, admin: str) -> None:
    # When carol reads alice's quota
    result = call("get_owner_quota", owner=admin, path={"owner": "alice"})
    # Then no override is kept, and the defaults apply
    assert result.status == 200, result.body
    assert result.json() == {
        "owner": "alice",
        "override": UNSET,
        "quota": {"max_active_tasks": 3, "max_tasks_per_minute": 10, "monthly_spend_usd": None},
    }


def test_set_overrides_apply_and_0_lifts_a_default(call: Call, admin: str) -> None:
    # When carol lifts alice's active-tasks limit, sets a monthly spend, and leaves the rate unset
    body = {"max_active_tasks": 0, "monthly_spend_usd": 2.5}
    result = call("set_owner_quota", owner=admin, path={"owner": "alice"}, body=body)
    # Then the override is kept as sent; the quota has no active-tasks limit, the default rate, and the spend
    assert result.status == 200, result.body
    expected = {
        "owner": "alice",
        "override": {**UNSET, **body},
        "quota": {"max_active_tasks": None, "max_tasks_per_minute": 10, "monthly_spend_usd": 2.5},
    }
    assert result.json() == expected
    assert call("get_owner_quota", owner=admin, path={"owner": "alice"}).json() == expected
    # And alice's own GET /usage shows the same quota
    assert call("get_usage", owner="alice").json()["quota"] == expected["quota"]


def test_a_put_replaces_the_overrides_and_a_delete_drops_them(call: Call, admin: str) -> None:
    # Given alice's override of the rate
    call("set_owner_quota", owner=admin, path={"owner": "alice"}, body={"max_tasks_per_minute": 1})
    # When another PUT names only the active tasks, Then the rate is back to the default
    quota = call("set_owner_quota", owner=admin, path={"owner": "alice"}, body={"max_active_tasks": 1}).json()
    assert quota["override"] == {**UNSET, "max_active_tasks": 1}
    assert quota["quota"]["max_tasks_per_minute"] == 10
    # When the overrides are deleted, Then the defaults apply again (and a second delete is no error)
    for _ in range(2):
        assert call("clear_owner_quota", owner=admin, path={"owner": "alice"}).status == 204
    after = call("get_owner_quota", owner=admin, path={"owner": "alice"}).json()
    assert after["override"] == UNSET and after["quota"]["max_active_tasks"] == 3


@pytest.mark.parametrize(
    ("body", "field", "kind"),
    [
        ({"max_active_tasks": -1}, "max_active_tasks", "greater_than_equal"),
        ({"monthly_spend_usd": -0.5}, "monthly_spend_usd", "greater_than_equal"),
        ({"max_tasks_per_minute": 1.5}, "max_tasks_per_minute", "int_type"),
        ({"max_active_tasks": "5"}, "max_active_tasks", "int_type"),
        ({"max_active_tasks": True}, "max_active_tasks", "int_type"),
        ({"max_active": 2}, "max_active", "extra_forbidden"),
        # Larger than DynamoDB stores (38 digits): refused here, not a 500 from the write
        ({"max_active_tasks": 10**40}, "max_active_tasks", "less_than_equal"),
        ({"max_tasks_per_minute": 1_000_000_001}, "max_tasks_per_minute", "less_than_equal"),
        ({"monthly_spend_usd": 1e39}, "monthly_spend_usd", "less_than_equal"),
    ],
)
def test_an_invalid_override_is_422_naming_the_field(
    call: Call, admin: str, body: dict[str, object], field: str, kind: str
) -> None:
    # When carol sends a negative limit, a fraction of a task, a string or a boolean, or a field that is not a limit
    result = call("set_owner_quota", owner=admin, path={"owner": "alice"}, body=body)
    # Then 422 problem+json names it, and nothing is kept
    assert result.status == 422, result.body
    assert result.headers["Content-Type"] == "application/problem+json"
    errors = result.json()["errors"]
    assert [(e["location"], e["field"], e["type"]) for e in errors] == [("body", field, kind)]
    assert call("get_owner_quota", owner=admin, path={"owner": "alice"}).json()["override"] == UNSET


@pytest.mark.parametrize("name", ["get_owner_quota", "set_owner_quota", "clear_owner_quota"])
def test_a_caller_who_is_not_an_admin_is_403(call: Call, admin: str, name: str) -> None:
    # Given alice's override, set by carol
    call("set_owner_quota", owner=admin, path={"owner": "alice"}, body={"max_active_tasks": 1})
    # When alice (not an admin) reads, sets or clears her own quota, Then 403, and the override stays
    result = call(name, owner="alice", path={"owner": "alice"}, body={"max_active_tasks": 0})
    assert result.status == 403, result.body
    assert result.json()["type"] == "urn:claude-tasks:problem:forbidden"
    kept = call("get_owner_quota", owner=admin, path={"owner": "alice"}).json()
    assert kept["override"]["max_active_tasks"] == 1


def test_a_lifted_limit_lets_the_owner_create_past_the_default(
    call: Call, configure: Callable[..., object], session: Session
) -> None:
    # Given a default of one active task, and alice's override of 0 (no limit)
    configure(admin_principals="carol", quota_max_active_tasks=1)
    call("set_owner_quota", owner="carol", path={"owner": "alice"}, body={"max_active_tasks": 0})
    # When alice creates two tasks, Then both are accepted
    for prompt in ("one", "two"):
        created = call(
            "create_task",
            path={"session_id": session.session_id},
            body={"prompt": prompt},
            headers={"idempotency-key": None},
        )
        assert created.status == 202, created.body
