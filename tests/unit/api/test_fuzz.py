"""Property-based fuzzing from the OpenAPI document (schemathesis), in-process through `lambda_handler`.

Each operation gets valid and invalid requests generated from the committed
document (the drift test holds it equal to the code's); every response must be
no 5xx and must match the document: status code, content type, headers, body.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from claude_tasks.core.config import Settings
from claude_tasks.core.records import Task
from tests.support.http_api import EVENTS, as_wsgi
from tests.unit.api.conftest import FUZZ_CASES, api_module

OWNER = "fuzzer"
MAX_EXAMPLES = 30
SCHEMA = schemathesis.openapi.from_dict(json.loads((EVENTS.parents[1] / "docs" / "openapi.json").read_text()))
# Every request, including those a check sends again, goes to the handler in-process.
SCHEMA.app = as_wsgi(api_module().lambda_handler, OWNER)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


@pytest.fixture
def seeded(
    configure: Callable[..., Settings],
    add_turns: Callable[[Task, int], Task],
    task_factory: Callable[..., Task],
    session_factory: Callable[..., object],
) -> Task:
    """A session of the fuzzer's with a task of three turns, so generated ids can name something real; the
    fuzzer is an admin, so the admin routes answer 200s to check too (their 403 has tests of its own)."""
    configure(admin_principals=OWNER)
    return add_turns(task_factory(session_factory(owner=OWNER)), 3)


def _aim_at(case: schemathesis.Case, task: Task) -> None:
    # Random UUIDs only ever find nothing (404): point about half the valid cases at the seeded resources.
    # The choice hashes the generated value, so a failing example replays the same way.
    if case.meta is None or case.meta.generation.mode.is_negative or not case.path_parameters:
        return
    if zlib.crc32(json.dumps(case.path_parameters, sort_keys=True).encode()) % 2:
        return
    if "task_id" in case.path_parameters:
        case.path_parameters["task_id"] = task.task_id
    if "session_id" in case.path_parameters:
        case.path_parameters["session_id"] = task.session_id


@SCHEMA.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_no_5xx_and_every_response_matches_the_document(case: schemathesis.Case, seeded: Task) -> None:
    # Given: a generated request from the fuzzer's principal, maybe aimed at its seeded task
    _aim_at(case, seeded)
    # When / Then: sent through the handler, its response passes every check
    response = case.call_and_validate(checks=CHECKS)
    FUZZ_CASES[(case.operation.label, response.status_code)] += 1
