"""The OpenAPI document: generated from the code, committed as docs/openapi.json, served at GET /openapi.json."""

from __future__ import annotations

import json
from types import ModuleType
from typing import Any

from claude_tasks_dev.local.template import load_template, resources_of_type
from tests.unit.api.conftest import Call

BOOKKEEPING = {"version", "attempts", "run_turns", "run_tokens", "run_cost_usd", "lease_id", "lease_expires_at"}


def _operations(doc: dict[str, Any]) -> set[tuple[str, str]]:
    return {(method.upper(), path) for path, operations in doc["paths"].items() for method in operations}


def test_the_committed_document_is_the_generated_one(api: ModuleType) -> None:
    # Given: the document the code generates now
    generated = api.openapi.render(api.app)
    # When: compared with the committed file
    committed = api.openapi.COMMITTED.read_text()
    # Then: regenerate with `python functions/api/openapi.py` when this fails
    assert committed == generated, "docs/openapi.json drifted: run `python functions/api/openapi.py`"


def test_the_document_is_served_without_authentication(call: Call, api: ModuleType) -> None:
    # When: no principal
    result = call("get_openapi", owner=None)
    # Then
    assert result.status == 200
    assert result.json() == json.loads(api.openapi.COMMITTED.read_text())


def test_the_document_has_every_route_of_the_template_and_no_other(api: ModuleType) -> None:
    # Given: the HttpApi events of the api function in template.yaml
    function = resources_of_type(load_template(), "AWS::Serverless::Function")["ApiFunction"]
    routes = {(event["Properties"]["Method"], event["Properties"]["Path"]) for event in function["Events"].values()}
    # When / Then
    assert _operations(api.openapi.document(api.app)) == routes


def test_no_bookkeeping_field_appears_in_any_schema(api: ModuleType) -> None:
    # Given
    schemas = api.openapi.document(api.app)["components"]["schemas"]
    # When
    named = {name for schema in schemas.values() for name in schema.get("properties", {})}
    # Then: leases, versions and run counters stay inside the service
    assert not BOOKKEEPING & named
    assert "deleting" not in schemas["TaskView"]["properties"]["status"]["enum"]


def test_every_route_has_a_sample_event(api: ModuleType) -> None:
    # Given: the sample events for `sam local invoke`
    events_dir = api.openapi.COMMITTED.parents[1] / "events" / "api"
    samples = {tuple(json.loads(f.read_text())["routeKey"].split(" ", 1)) for f in events_dir.glob("*.json")}
    # When / Then
    assert samples == _operations(api.openapi.document(api.app))
