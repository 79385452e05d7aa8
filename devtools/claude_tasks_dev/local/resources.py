"""Create the stack's tables, queues, bucket and secret on an AWS endpoint, from `template.yaml` itself.

Keys, indexes, the queue's visibility timeout and the DLQ redrive are read from
the template's resource definitions — there is no second copy of the schema.
Used by the local stack (`make dev`) and by the tests' fixtures.
"""

from __future__ import annotations

import json
from typing import Any

import boto3

from claude_tasks.core.config import Settings
from claude_tasks_dev.local.template import load_template, resources_of_type

TABLES = {
    "SessionsTable": ("sessions_table", "sessions"),
    "TasksTable": ("tasks_table", "tasks"),
    "InteractionsTable": ("interactions_table", "interactions"),
    "ClaudeSessionsTable": ("claude_sessions_table", "claude-sessions"),
    "TranscriptsTable": ("transcripts_table", "transcripts"),
    "UsageTable": ("usage_table", "usage"),
    "AuditTable": ("audit_table", "audit"),
}
TASK_QUEUE, DLQ, BUCKET, SECRET = "TaskQueue", "TaskDLQ", "ContentBucket", "AnthropicApiKeySecret"
# The template's TaskEventBus; the local stack's is `<prefix>-task-events`.


def _value(template: dict[str, Any], value: Any) -> Any:
    """A property's literal value; a `Ref` to a parameter resolves to the parameter's default."""
    if isinstance(value, dict) and "Ref" in value:
        return template.get("Parameters", {}).get(value["Ref"], {}).get("Default")
    return value


def table_request(template: dict[str, Any], logical_id: str, name: str) -> dict[str, Any]:
    """The `CreateTable` request for the template's table `logical_id`, named `name`."""
    props = resources_of_type(template, "AWS::DynamoDB::Table")[logical_id]
    request: dict[str, Any] = {
        "TableName": name,
        "AttributeDefinitions": props["AttributeDefinitions"],
        "KeySchema": props["KeySchema"],
        "BillingMode": "PAY_PER_REQUEST",
    }
    indexes = [
        {"IndexName": gsi["IndexName"], "KeySchema": gsi["KeySchema"], "Projection": gsi["Projection"]}
        for gsi in props.get("GlobalSecondaryIndexes", [])
    ]
    if indexes:
        request["GlobalSecondaryIndexes"] = indexes
    stream = props.get("StreamSpecification")
    if stream:
        # The tasks table's stream feeds the task events, locally as in AWS.
        request["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream["StreamViewType"]}
    return request


def provision(
    endpoint_url: str | None, region: str = "us-east-1", prefix: str = "claude-tasks", api_key: str | None = None
) -> Settings:
    """Create every resource on `endpoint_url` (existing ones are kept); return settings naming them."""
    template = load_template()
    aws = boto3.Session(region_name=region)
    names: dict[str, Any] = {"aws_endpoint_url": endpoint_url, "region": region}
    dynamodb = aws.client("dynamodb", endpoint_url=endpoint_url)
    existing = set(dynamodb.list_tables()["TableNames"])
    for logical_id, (field, suffix) in TABLES.items():
        names[field] = f"{prefix}-{suffix}"
        if names[field] not in existing:
            dynamodb.create_table(**table_request(template, logical_id, names[field]))
    names.update(_queues(template, aws, endpoint_url, prefix))
    names["content_bucket"] = f"{prefix}-content"
    s3 = aws.client("s3", endpoint_url=endpoint_url)
    s3.create_bucket(Bucket=names["content_bucket"])
    names["anthropic_secret_id"] = _secret(aws, endpoint_url, f"{prefix}/anthropic-api-key", api_key)
    names["event_bus_name"] = _event_bus(aws, endpoint_url, f"{prefix}-task-events")
    return Settings(**names)


def _queues(template: dict[str, Any], aws: boto3.Session, endpoint_url: str | None, prefix: str) -> dict[str, str]:
    queues = resources_of_type(template, "AWS::SQS::Queue")
    sqs = aws.client("sqs", endpoint_url=endpoint_url)
    dlq_url = sqs.create_queue(QueueName=f"{prefix}-dlq", Attributes=_queue_attributes(template, queues[DLQ]))[
        "QueueUrl"
    ]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    attributes = _queue_attributes(template, queues[TASK_QUEUE])
    redrive = queues[TASK_QUEUE]["RedrivePolicy"]
    attributes["RedrivePolicy"] = json.dumps(
        {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(_value(template, redrive["maxReceiveCount"]))}
    )
    queue_url = sqs.create_queue(QueueName=f"{prefix}-tasks", Attributes=attributes)["QueueUrl"]
    return {"task_queue_url": queue_url, "dlq_url": dlq_url}


def _queue_attributes(template: dict[str, Any], props: dict[str, Any]) -> Any:
    attributes = {}
    for name in ("VisibilityTimeout", "MessageRetentionPeriod", "ReceiveMessageWaitTimeSeconds"):
        value = _value(template, props.get(name))
        if isinstance(value, int | str) and str(value).isdigit():
            attributes[name] = str(value)
    return attributes


def _event_bus(aws: boto3.Session, endpoint_url: str | None, name: str) -> str:
    events = aws.client("events", endpoint_url=endpoint_url)
    if not any(bus["Name"] == name for bus in events.list_event_buses(NamePrefix=name)["EventBuses"]):
        events.create_event_bus(Name=name)
    return name


def _secret(aws: boto3.Session, endpoint_url: str | None, name: str, api_key: str | None) -> str:
    secrets = aws.client("secretsmanager", endpoint_url=endpoint_url)
    try:
        secrets.create_secret(Name=name, SecretString=api_key or "not-set")
    except secrets.exceptions.ResourceExistsException:
        if api_key:
            secrets.put_secret_value(SecretId=name, SecretString=api_key)
    return name
