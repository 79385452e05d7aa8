"""The AWS calls code makes, as the IAM actions and template resources they need.

`recorded(settings)` patches botocore's one call path (boto3 clients and PynamoDB both go through
`BaseClient._make_api_call`) and yields the set of (action, resource) the calls inside the block
need, named as tests/unit/test_template_iam.py names grants: `dynamodb:PutItem` on `TasksTable`,
`dynamodb:Query` on `TasksTable/index/by-session`, `sqs:SendMessage` on `TaskQueue`. A
`TransactWriteItems` needs the item actions it carries, as IAM authorizes it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

import botocore.client

from claude_tasks.core.config import Settings

Grant = tuple[str, str]
_ITEM_ACTIONS = {
    "ConditionCheck": "ConditionCheckItem",
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
}


def _names(settings: Settings) -> dict[str, str]:
    """Configured table, queue and bucket names -> the template's logical ids."""
    return {
        settings.sessions_table: "SessionsTable",
        settings.tasks_table: "TasksTable",
        settings.interactions_table: "InteractionsTable",
        settings.claude_sessions_table: "ClaudeSessionsTable",
        settings.transcripts_table: "TranscriptsTable",
        settings.audit_table: "AuditTable",
        settings.usage_table: "UsageTable",
        settings.task_queue_url: "TaskQueue",
        settings.claude_code_queue_url or "-": "ClaudeCodeQueue",
        settings.dlq_url: "TaskDLQ",
        settings.content_bucket: "ContentBucket/*",
    }


def _grants(names: dict[str, str], service: str, operation: str, params: dict[str, Any]) -> Iterator[Grant]:
    if service == "dynamodb":
        if operation == "TransactWriteItems":
            for item in params["TransactItems"]:
                ((kind, body),) = item.items()
                yield f"dynamodb:{_ITEM_ACTIONS[kind]}", names[body["TableName"]]
        elif operation == "TransactGetItems":
            yield from (("dynamodb:GetItem", names[item["Get"]["TableName"]]) for item in params["TransactItems"])
        elif operation in ("BatchWriteItem", "BatchGetItem"):
            yield from ((f"dynamodb:{operation}", names[table]) for table in params["RequestItems"])
        else:
            table = names[params["TableName"]]
            index = params.get("IndexName")
            yield f"dynamodb:{operation}", f"{table}/index/{index}" if index else table
    elif service == "sqs":
        yield f"sqs:{operation}", names.get(params.get("QueueUrl", ""), params.get("QueueUrl", "?"))
    elif service == "s3":
        yield f"s3:{operation}", names.get(params.get("Bucket", ""), "?")
    else:
        yield f"{service}:{operation}", "?"


@contextmanager
def recorded(settings: Settings) -> Iterator[set[Grant]]:
    """The (action, resource) pairs every AWS call made inside the block needs."""
    names = _names(settings)
    seen: set[Grant] = set()
    original = botocore.client.BaseClient._make_api_call  # type: ignore[attr-defined]  # private, untyped

    def record(client: Any, operation: str, params: dict[str, Any]) -> Any:
        seen.update(_grants(names, client.meta.service_model.signing_name, operation, params))
        return original(client, operation, params)

    with mock.patch.object(botocore.client.BaseClient, "_make_api_call", record):
        yield seen
