"""The functions' environment in the local stack: which Claude, whose settings win, no real AWS identity."""

from __future__ import annotations

import pytest

from claude_tasks.core.config import Settings
from claude_tasks_dev.local.environment import (
    BackendUnavailable,
    apply_environment,
    choose_backend,
    function_environment,
    use_fake_credentials,
)
from claude_tasks_dev.local.template import load_template


@pytest.mark.parametrize(
    ("env", "backend"),
    [
        ({}, "offline"),
        ({"ANTHROPIC_API_KEY": "sk-ant-x"}, "anthropic"),
        ({"ANTHROPIC_API_KEY": "sk-ant-x", "CLAUDE_BACKEND": "offline"}, "offline"),
        ({"ANTHROPIC_API_KEY": "sk-ant-x", "CLAUDE_BACKEND": "Anthropic"}, "anthropic"),
    ],
)
def test_the_backend_follows_the_developers_environment(env: dict[str, str], backend: str) -> None:
    assert choose_backend(env).name == backend


@pytest.mark.parametrize(
    "env", [{"CLAUDE_BACKEND": "anthropic"}, {"CLAUDE_BACKEND": "bedrock"}, {"CLAUDE_BACKEND": "gpt"}]
)
def test_a_backend_that_cannot_run_locally_is_refused_with_the_reason(env: dict[str, str]) -> None:
    with pytest.raises(BackendUnavailable, match="CLAUDE_BACKEND"):
        choose_backend(env)


def test_the_stack_owns_the_resources_and_the_developer_owns_the_knobs() -> None:
    # Given a developer's shell naming another table, a lease and an admin of their own
    shell = {"TASKS_TABLE": "prod-tasks", "LEASE_SECONDS": "60", "ADMIN_PRINCIPALS": "carol", "AWS_PROFILE": "prod"}
    settings = Settings(aws_endpoint_url="http://127.0.0.1:4566", tasks_table="claude-tasks-tasks")
    # When the functions' environment is applied
    apply_environment(shell, function_environment(load_template(), settings, choose_backend({})))
    use_fake_credentials(shell)
    # Then the local table and endpoint are used, the developer's lease is kept, admin is added
    assert shell["TASKS_TABLE"] == "claude-tasks-tasks"
    assert shell["AWS_ENDPOINT_URL"] == "http://127.0.0.1:4566"
    assert shell["LEASE_SECONDS"] == "60"
    assert shell["ADMIN_PRINCIPALS"] == "admin,carol"
    # And the template's literals arrive too, and no real AWS identity is left
    assert shell["MAX_RECEIVE_COUNT"] == "5" and shell["CLAUDE_BACKEND"] == "offline"
    assert "AWS_PROFILE" not in shell and shell["AWS_ACCESS_KEY_ID"] == "local"
