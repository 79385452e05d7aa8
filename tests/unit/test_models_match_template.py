"""The PynamoDB models and template.yaml declare the same keys and indexes: one schema, held together."""

from __future__ import annotations

import pytest
from pynamodb.models import Model

from claude_tasks.store.models import (
    AuditRecord,
    ClaudeSessionClaim,
    InteractionModel,
    SessionModel,
    TaskModel,
    TranscriptItem,
    UsageModel,
)
from claude_tasks_dev.local.resources import TABLES, table_request
from claude_tasks_dev.local.template import load_template

MODELS: dict[str, type[Model]] = {
    "SessionsTable": SessionModel,
    "TasksTable": TaskModel,
    "InteractionsTable": InteractionModel,
    "ClaudeSessionsTable": ClaudeSessionClaim,
    "TranscriptsTable": TranscriptItem,
    "UsageTable": UsageModel,
    "AuditTable": AuditRecord,
}


def _shape(request: dict) -> dict:
    return {
        "attributes": sorted((a["AttributeName"], a["AttributeType"]) for a in request["AttributeDefinitions"]),
        "keys": sorted((k["AttributeName"], k["KeyType"]) for k in request["KeySchema"]),
        "indexes": sorted(
            (
                gsi["IndexName"],
                tuple(sorted((k["AttributeName"], k["KeyType"]) for k in gsi["KeySchema"])),
                gsi["Projection"]["ProjectionType"],
            )
            for gsi in request.get("GlobalSecondaryIndexes", [])
        ),
    }


@pytest.mark.parametrize("logical_id", sorted(TABLES))
def test_model_and_template_declare_the_same_table(logical_id: str) -> None:
    # Given the template's table and the model's own schema
    from_template = _shape(table_request(load_template(), logical_id, "t"))
    schema = MODELS[logical_id]._get_schema()
    from_model = _shape(
        {
            "AttributeDefinitions": schema["attribute_definitions"],
            "KeySchema": schema["key_schema"],
            "GlobalSecondaryIndexes": [
                {"IndexName": i["index_name"], "KeySchema": i["key_schema"], "Projection": i["projection"]}
                for i in schema.get("global_secondary_indexes", [])
            ],
        }
    )
    # Then they agree on attributes, keys and indexes
    assert from_template == from_model
