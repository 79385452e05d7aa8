"""template.yaml's optional hardening: a customer managed key for everything at rest, bucket access logs,
and reserved concurrency per function, each off by default and switched on by a parameter.

Read as written, like tests/unit/test_template.py (cfn-lint's decoder keeps Fn::If as data); the roles'
KMS grants are checked against the code in test_template_iam.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.test_template import FUNCTIONS, _resource

NO_VALUE = {"Ref": "AWS::NoValue"}
WITH_KEY = {"Fn::If": ["HasKmsKey", {"Ref": "KmsKeyArn"}, NO_VALUE]}
# Every resource that keeps data at rest, and the property that names its key.
KEY_PROPERTIES = {
    "AWS::SQS::Queue": "KmsMasterKeyId",
    "AWS::Logs::LogGroup": "KmsKeyId",
    "AWS::SecretsManager::Secret": "KmsKeyId",
    "AWS::SNS::Topic": "KmsMasterKeyId",
    "AWS::Events::EventBus": "KmsKeyIdentifier",
}
ROLES = (*(f"{name}Role" for name in FUNCTIONS), "ClaudeCodeWorkerRole")


def _of_type(template: dict[str, Any], *types: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in template["Resources"].items() if r["Type"] in types}


def test_the_key_is_optional_and_named_by_arn(template: dict[str, Any]) -> None:
    parameter = template["Parameters"]["KmsKeyArn"]
    assert parameter["Default"] == ""
    assert template["Conditions"]["HasKmsKey"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "KmsKeyArn"}, ""]}]}


@pytest.mark.parametrize("kind", sorted(KEY_PROPERTIES))
def test_every_store_of_data_takes_the_key_when_given(template: dict[str, Any], kind: str) -> None:
    # When each resource of the kind is read
    resources = _of_type(template, kind)
    assert resources

    # Then its key is the customer managed one exactly when KmsKeyArn is set
    assert {name: r["Properties"].get(KEY_PROPERTIES[kind]) for name, r in resources.items()} == dict.fromkeys(
        resources, WITH_KEY
    )


def test_tables_take_the_key_when_given(template: dict[str, Any]) -> None:
    tables = _of_type(template, "AWS::DynamoDB::Table")
    for name, table in tables.items():
        sse = table["Properties"]["SSESpecification"]
        assert sse["SSEEnabled"] is True, name
        assert sse["KMSMasterKeyId"] == WITH_KEY, name
        assert sse["SSEType"] == {"Fn::If": ["HasKmsKey", "KMS", NO_VALUE]}, name


def test_queues_use_sqs_managed_keys_unless_given_one(template: dict[str, Any]) -> None:
    for name, queue in _of_type(template, "AWS::SQS::Queue").items():
        assert queue["Properties"]["SqsManagedSseEnabled"] == {"Fn::If": ["HasKmsKey", False, True]}, name


def test_buckets_encrypt_with_the_key_when_given_and_log_when_asked(template: dict[str, Any]) -> None:
    for name, bucket in _of_type(template, "AWS::S3::Bucket").items():
        # Then objects are SSE-S3, or SSE-KMS with the key (and a bucket key, one KMS call per data key)
        (rule,) = bucket["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        default = rule["ServerSideEncryptionByDefault"]
        assert default["SSEAlgorithm"] == {"Fn::If": ["HasKmsKey", "aws:kms", "AES256"]}, name
        assert default["KMSMasterKeyID"] == WITH_KEY, name
        # And access logs go to AccessLogBucket only when one is named
        condition, logging, absent = bucket["Properties"]["LoggingConfiguration"]["Fn::If"]
        assert (condition, absent) == ("HasAccessLogBucket", NO_VALUE), name
        assert logging["DestinationBucketName"] == {"Ref": "AccessLogBucket"}, name
    assert template["Parameters"]["AccessLogBucket"]["Default"] == ""


def test_functions_environment_takes_the_key_when_given(template: dict[str, Any]) -> None:
    assert template["Globals"]["Function"]["KmsKeyArn"] == WITH_KEY


@pytest.mark.parametrize("role", ROLES)
def test_roles_may_use_the_key_only_when_it_is_given(template: dict[str, Any], role: str) -> None:
    # When the role's statements are read as written
    (policy,) = _resource(template, role)["Policies"]
    statements = policy["PolicyDocument"]["Statement"]

    # Then one grants decrypt and data keys on that key alone, under HasKmsKey
    use = {
        "Sid": "CustomerManagedKey",
        "Effect": "Allow",
        "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
        "Resource": {"Ref": "KmsKeyArn"},
    }
    assert {"Fn::If": ["HasKmsKey", use, NO_VALUE]} in statements


# The zip functions with a parameter each (the Claude Code worker always reserves ClaudeCodeConcurrency).
RESERVING = {function: function.removesuffix("Function") for function in FUNCTIONS}
RESERVING |= {"TaskEventsFunction": "Events", "TaskRepliesFunction": "Replies"}


@pytest.mark.parametrize("function", sorted(RESERVING))
def test_reserved_concurrency_is_a_parameter_off_by_default(template: dict[str, Any], function: str) -> None:
    # Given the function's parameter
    name = RESERVING[function]
    parameter = template["Parameters"][f"{name}ReservedConcurrency"]

    # Then 0 leaves the function in the account's pool, any other number reserves that many
    assert (parameter["Type"], parameter["Default"], parameter["MinValue"]) == ("Number", 0, 0)
    condition = f"Has{name}ReservedConcurrency"
    assert template["Conditions"][condition] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": f"{name}ReservedConcurrency"}, "0"]}]
    }
    assert _resource(template, function)["ReservedConcurrentExecutions"] == {
        "Fn::If": [condition, {"Ref": f"{name}ReservedConcurrency"}, NO_VALUE]
    }
