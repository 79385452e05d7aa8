"""What `provision()` creates for `make dev` is what template.yaml declares: read back with describe_* calls."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from claude_tasks.core.config import Settings
from claude_tasks_dev.local.aws import EmbeddedAws
from claude_tasks_dev.local.resources import BUCKET, DLQ, SECRET, TABLES, TASK_QUEUE, provision
from claude_tasks_dev.local.template import load_template, resources_of_type

TEMPLATE = load_template()


@pytest.fixture(scope="module")
def aws() -> Iterator[EmbeddedAws]:
    # The same embedded endpoint `make dev` runs, not the in-process mock: what the stack really talks to.
    with EmbeddedAws() as embedded:
        yield embedded


@pytest.fixture
def settings(aws: EmbeddedAws) -> Settings:
    aws.reset()
    return provision(aws.endpoint_url, api_key="sk-ant-test")


def client(settings: Settings, service: str) -> Any:
    make: Any = boto3.client  # one helper for four services: the stubs' per-service overloads do not apply
    return make(service, region_name=settings.region, endpoint_url=settings.aws_endpoint_url)


def _keys(schema: list[dict[str, str]]) -> list[tuple[str, str]]:
    return [(k["AttributeName"], k["KeyType"]) for k in schema]


@pytest.mark.parametrize("logical_id", sorted(TABLES))
def test_each_table_has_the_templates_keys_and_indexes(settings: Settings, logical_id: str) -> None:
    # Given the template's declaration of the table
    declared = resources_of_type(TEMPLATE, "AWS::DynamoDB::Table")[logical_id]
    # When the provisioned table is described
    name = getattr(settings, TABLES[logical_id][0])
    table = client(settings, "dynamodb").describe_table(TableName=name)["Table"]
    # Then the name is the one the settings give, and keys, attributes and indexes are the template's
    assert table["TableName"] == name
    assert _keys(table["KeySchema"]) == _keys(declared["KeySchema"])
    assert sorted(map(str, table["AttributeDefinitions"])) == sorted(map(str, declared["AttributeDefinitions"]))
    assert table["BillingModeSummary"]["BillingMode"] == declared["BillingMode"]
    indexes = {i["IndexName"]: i for i in table.get("GlobalSecondaryIndexes", [])}
    assert set(indexes) == {i["IndexName"] for i in declared.get("GlobalSecondaryIndexes", [])}
    for index in declared.get("GlobalSecondaryIndexes", []):
        assert _keys(indexes[index["IndexName"]]["KeySchema"]) == _keys(index["KeySchema"])
        assert indexes[index["IndexName"]]["Projection"] == index["Projection"]


def test_the_task_queue_redrives_to_the_dlq_as_the_template_says(settings: Settings) -> None:
    # Given the template's queues
    queues = resources_of_type(TEMPLATE, "AWS::SQS::Queue")
    sqs = client(settings, "sqs")
    # When both queues are described
    task = sqs.get_queue_attributes(QueueUrl=settings.task_queue_url, AttributeNames=["All"])["Attributes"]
    dlq = sqs.get_queue_attributes(QueueUrl=settings.dlq_url, AttributeNames=["All"])["Attributes"]
    # Then the redrive targets the DLQ after the template's maxReceiveCount, with its timeouts and retention
    redrive = json.loads(task["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"] == dlq["QueueArn"]
    assert int(redrive["maxReceiveCount"]) == int(queues[TASK_QUEUE]["RedrivePolicy"]["maxReceiveCount"])
    assert int(task["VisibilityTimeout"]) == int(queues[TASK_QUEUE]["VisibilityTimeout"])
    assert int(task["MessageRetentionPeriod"]) == int(queues[TASK_QUEUE]["MessageRetentionPeriod"])
    assert int(dlq["MessageRetentionPeriod"]) == int(queues[DLQ]["MessageRetentionPeriod"])


def test_the_bucket_and_the_secret_exist_and_the_key_is_stored(settings: Settings) -> None:
    # Given the template declares a content bucket and an API key secret
    assert BUCKET in resources_of_type(TEMPLATE, "AWS::S3::Bucket")
    assert SECRET in resources_of_type(TEMPLATE, "AWS::SecretsManager::Secret")
    # When they are read back
    client(settings, "s3").head_bucket(Bucket=settings.content_bucket)
    secret = client(settings, "secretsmanager").get_secret_value(SecretId=settings.anthropic_secret_id)
    # Then the key passed to provision() is the secret's value
    assert secret["SecretString"] == "sk-ant-test"


def test_provisioning_again_keeps_the_resources_and_their_data(settings: Settings) -> None:
    # Given an item in a provisioned table
    dynamodb = client(settings, "dynamodb")
    dynamodb.put_item(TableName=settings.sessions_table, Item={"session_id": {"S": "s-1"}})
    # When the stack provisions the same endpoint again (a restart against a running moto)
    again = provision(settings.aws_endpoint_url, api_key="sk-ant-rotated")
    # Then nothing was re-created: same names, the item is still there, the new key replaced the old
    assert again == settings
    assert "Item" in dynamodb.get_item(TableName=settings.sessions_table, Key={"session_id": {"S": "s-1"}})
    secret = client(settings, "secretsmanager").get_secret_value(SecretId=settings.anthropic_secret_id)
    assert secret["SecretString"] == "sk-ant-rotated"
