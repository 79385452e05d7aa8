"""template.yaml keeps the promises the design makes about queues, permissions and data at rest.

These read the template as written (cfn-lint's decoder turns !Ref, !Sub and
!GetAtt into their long forms); `make lint` adds cfn-lint and `sam validate --lint`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from claude_tasks.core.config import Settings
from claude_tasks.store.dead_letters import RETENTION
from claude_tasks.store.models import DeadLetterReason

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"
TABLES = ("SessionsTable", "TasksTable", "InteractionsTable", "ClaudeSessionsTable", "TranscriptsTable")
FUNCTIONS = ("ApiFunction", "WorkerFunction", "JanitorFunction")
# Actions IAM cannot grant on anything narrower than "*", and those Lambda checks on "*" for a VPC function.
WITHOUT_RESOURCE_LEVEL = {
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSubnets",
    "ec2:CreateNetworkInterface",
    "ec2:DeleteNetworkInterface",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
}
API_ROUTES = {
    ("POST", "/sessions"),
    ("GET", "/sessions"),
    ("GET", "/sessions/{session_id}"),
    ("DELETE", "/sessions/{session_id}"),
    ("POST", "/sessions/{session_id}/tasks"),
    ("GET", "/sessions/{session_id}/tasks"),
    ("GET", "/tasks"),
    ("GET", "/tasks/{task_id}"),
    ("PATCH", "/tasks/{task_id}"),
    ("DELETE", "/tasks/{task_id}"),
    ("POST", "/tasks/{task_id}/messages"),
    ("POST", "/tasks/{task_id}/cancel"),
    ("POST", "/tasks/{task_id}/retry"),
    ("POST", "/tasks/{task_id}/fork"),
    ("GET", "/tasks/{task_id}/interactions"),
    ("GET", "/usage"),
    ("GET", "/admin/consistency"),
    ("POST", "/admin/consistency/recount"),
    ("GET", "/admin/dead-letters"),
    ("POST", "/admin/dead-letters/redrive"),
    ("GET", "/admin/quotas/{owner}"),
    ("PUT", "/admin/quotas/{owner}"),
    ("DELETE", "/admin/quotas/{owner}"),
    ("GET", "/capabilities"),
    ("GET", "/openapi.json"),
}


def _resource(template: dict[str, Any], logical_id: str) -> dict[str, Any]:
    return dict(template["Resources"][logical_id]["Properties"])


def _function_setting(template: dict[str, Any], logical_id: str, key: str) -> Any:
    """A function's own value for `key`, else the one from Globals.Function."""
    own = _resource(template, logical_id)
    return own[key] if key in own else template["Globals"]["Function"][key]


def _statements(node: Any) -> Iterator[dict[str, Any]]:
    """Every IAM statement anywhere in `node`, including those inside Fn::If branches
    (of a whole policy, or of one statement in a list)."""
    if isinstance(node, dict):
        statements = node.get("Statement")
        if isinstance(statements, list):
            yield from (s for s in _branches(statements) if "Effect" in s)
        for value in node.values():
            yield from _statements(value)
    elif isinstance(node, list):
        for value in node:
            yield from _statements(value)


def _branches(items: list[Any]) -> Iterator[dict[str, Any]]:
    """The dicts of `items`, an Fn::If among them replaced by its branches (AWS::NoValue dropped)."""
    for item in items:
        if isinstance(item, dict) and "Fn::If" in item:
            yield from _branches([b for b in item["Fn::If"][1:] if b != {"Ref": "AWS::NoValue"}])
        elif isinstance(item, dict):
            yield item


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_queue_visibility_is_at_least_six_worker_timeouts(template: dict[str, Any]) -> None:
    # Given the worker's timeout and its batching window
    timeout = int(_function_setting(template, "WorkerFunction", "Timeout"))
    window = int(
        _resource(template, "WorkerFunction")["Events"]["TaskQueueMessages"]["Properties"].get(
            "MaximumBatchingWindowInSeconds", 0
        )
    )

    # When the task queue's visibility timeout is read
    visibility = int(_resource(template, "TaskQueue")["VisibilityTimeout"])

    # Then a message stays hidden for six runs of the worker, as Lambda's SQS guidance asks
    assert visibility >= 6 * timeout + window


def test_a_held_back_message_waits_no_longer_than_its_queues_visibility_timeout(template: dict[str, Any]) -> None:
    # Given the longest a worker holds a failed record back (MAX_HOLD_S, where the template sets none: the default)
    env = template["Globals"]["Function"]["Environment"]["Variables"]
    hold = int(env.get("MAX_HOLD_S", Settings.model_fields["max_hold_s"].default))
    # Then it is within each worker queue's visibility timeout: an over-quota task.create never waits longer
    for queue in ("TaskQueue", "ClaudeCodeQueue"):
        assert 1 <= hold <= int(_resource(template, queue)["VisibilityTimeout"])


def test_timeouts_nest_inside_each_other(template: dict[str, Any]) -> None:
    # Given the environment every function reads
    env = template["Globals"]["Function"]["Environment"]["Variables"]
    worker_timeout = int(_function_setting(template, "WorkerFunction", "Timeout"))

    # Then the Claude call ends before the worker does, the lease outlives a worker run,
    # and the API answers inside the HTTP API's 30 s integration timeout
    assert float(env["CLAUDE_TIMEOUT_S"]) < worker_timeout
    assert int(env["LEASE_SECONDS"]) > worker_timeout
    assert int(_function_setting(template, "ApiFunction", "Timeout")) < 30


def test_redrive_sends_to_the_dlq_after_five_receives(template: dict[str, Any]) -> None:
    # When the task queue's redrive policy is read
    redrive = _resource(template, "TaskQueue")["RedrivePolicy"]
    env = template["Globals"]["Function"]["Environment"]["Variables"]

    # Then the fifth failed receive lands the message in TaskDLQ, and the code knows the number
    assert int(redrive["maxReceiveCount"]) == 5
    assert redrive["deadLetterTargetArn"] == {"Fn::GetAtt": ["TaskDLQ", "Arn"]}
    assert int(env["MAX_RECEIVE_COUNT"]) == int(redrive["maxReceiveCount"])


def test_dlq_keeps_messages_longer_than_the_queue(template: dict[str, Any]) -> None:
    queue_retention = int(_resource(template, "TaskQueue").get("MessageRetentionPeriod", 345600))
    dlq_retention = int(_resource(template, "TaskDLQ")["MessageRetentionPeriod"])

    assert dlq_retention == 14 * 24 * 3600
    assert dlq_retention > queue_retention


def test_dead_letter_reasons_expire_with_the_dlqs_messages(template: dict[str, Any]) -> None:
    # When the table that keeps the reasons, and both DLQs, are read
    ttl = _resource(template, "TranscriptsTable")["TimeToLiveSpecification"]
    retentions = {int(_resource(template, dlq)["MessageRetentionPeriod"]) for dlq in ("TaskDLQ", "ClaudeCodeDLQ")}
    # Then DynamoDB expires the reasons by the model's attribute, as long after as the DLQs keep a message
    assert ttl == {"AttributeName": DeadLetterReason.expires_at.attr_name, "Enabled": True}
    assert retentions == {int(RETENTION.total_seconds())}


def test_the_api_reads_and_redrives_exactly_the_two_dlqs(template: dict[str, Any]) -> None:
    # When the API role's DLQ statements and the API function's own variables are read
    statements = {s.get("Sid"): s for s in _statements(template["Resources"]["ApiFunctionRole"])}
    dlq, code_dlq = statements["DeadLetterQueue"], statements["ClaudeCodeDeadLetterQueue"]
    # Then it may look at and delete from TaskDLQ and, with Claude Code, ClaudeCodeDLQ — named, never "*"
    look_and_delete = {"sqs:ReceiveMessage", "sqs:ChangeMessageVisibility", "sqs:DeleteMessage"}
    assert set(dlq["Action"]) == set(code_dlq["Action"]) == look_and_delete
    assert (dlq["Resource"], code_dlq["Resource"]) == (
        {"Fn::GetAtt": ["TaskDLQ", "Arn"]},
        {"Fn::GetAtt": ["ClaudeCodeDLQ", "Arn"]},
    )
    # And it is told where the Claude Code DLQ is, under the name the settings read
    read = {field.validation_alias for field in Settings.model_fields.values()}
    variables = _resource(template, "ApiFunction")["Environment"]["Variables"]
    assert variables["CLAUDE_CODE_DLQ_URL"] == {"Fn::If": ["EnableClaudeCode", {"Ref": "ClaudeCodeDLQ"}, ""]}
    assert "CLAUDE_CODE_DLQ_URL" in read


def test_worker_reports_batch_item_failures(template: dict[str, Any]) -> None:
    # When the worker's SQS event source is read
    event = _resource(template, "WorkerFunction")["Events"]["TaskQueueMessages"]

    # Then it consumes TaskQueue and returns only the failed records to the queue
    assert event["Type"] == "SQS"
    assert event["Properties"]["Queue"] == {"Fn::GetAtt": ["TaskQueue", "Arn"]}
    assert "ReportBatchItemFailures" in event["Properties"]["FunctionResponseTypes"]


def test_no_iam_statement_grants_every_resource(template: dict[str, Any]) -> None:
    # Given every statement written in the template (inline policies, bucket policy, Fn::If branches)
    statements = list(_statements(template["Resources"]))
    assert statements

    # Then none of them names "*" as its resource, except for actions IAM grants on nothing narrower
    # (the Claude Code worker's network-interface look-ups and X-Ray writes)
    wildcards = [
        s
        for s in statements
        if "*" in _as_list(s.get("Resource")) and not set(_as_list(s["Action"])) <= WITHOUT_RESOURCE_LEVEL
    ]
    assert wildcards == []


@pytest.mark.parametrize("logical_id", FUNCTIONS)
def test_functions_have_their_own_role_and_nothing_sam_adds(template: dict[str, Any], logical_id: str) -> None:
    # When a function's permissions are read
    function = _resource(template, logical_id)
    role = _resource(template, f"{logical_id}Role")

    # Then they come only from its own role's inline statements (checked above and in test_template_iam):
    # no SAM policy template (CRUD on whole tables) and no managed policy, which could grant anything
    # (SAM adds AWSLambdaSQSQueueExecutionRole, on every queue, for an SQS event)
    assert function["Role"] == {"Fn::GetAtt": [f"{logical_id}Role", "Arn"]}
    assert "Policies" not in function
    assert "ManagedPolicyArns" not in role
    assert role["AssumeRolePolicyDocument"]["Statement"] == [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ]


@pytest.mark.parametrize("logical_id", TABLES)
def test_tables_are_on_demand_with_recovery_and_encryption(template: dict[str, Any], logical_id: str) -> None:
    # When a table's definition is read
    resource = template["Resources"][logical_id]
    table = _resource(template, logical_id)

    # Then it bills per request, keeps point-in-time recovery, encrypts at rest,
    # survives a stack deletion or replacement, and lets CloudFormation name it
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert table["SSESpecification"]["SSEEnabled"] is True
    assert resource["DeletionPolicy"] == "Retain"
    assert resource["UpdateReplacePolicy"] == "Retain"
    assert "TableName" not in table


def test_bucket_blocks_public_access(template: dict[str, Any]) -> None:
    # When the content bucket's definition is read
    bucket = _resource(template, "ContentBucket")

    # Then every public-access switch is on, ACLs are off, and objects are encrypted
    assert bucket["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert bucket["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]


def test_bucket_policy_denies_requests_without_tls(template: dict[str, Any]) -> None:
    # Given the content bucket's policy
    policy = _resource(template, "ContentBucketPolicy")
    assert policy["Bucket"] == {"Ref": "ContentBucket"}

    # When its statements are read
    denies = [
        s
        for s in policy["PolicyDocument"]["Statement"]
        if s["Effect"] == "Deny" and s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false"
    ]

    # Then one denies every S3 action over plain HTTP, on the bucket and on its objects
    assert len(denies) == 1
    assert denies[0]["Action"] in ("s3:*", ["s3:*"])
    assert {"Fn::GetAtt": ["ContentBucket", "Arn"]} in denies[0]["Resource"]
    assert {"Fn::Sub": "${ContentBucket.Arn}/*"} in denies[0]["Resource"]


def test_every_route_of_the_design_reaches_the_api_function(template: dict[str, Any]) -> None:
    # When the API function's HTTP events are read
    events = _resource(template, "ApiFunction")["Events"].values()
    routes = {(e["Properties"]["Method"], e["Properties"]["Path"]) for e in events if e["Type"] == "HttpApi"}

    # Then each route the design lists is there, and only /openapi.json skips the authorizer
    assert routes == API_ROUTES
    public = {e["Properties"]["Path"] for e in events if e["Properties"].get("Auth", {}).get("Authorizer") == "NONE"}
    assert public == {"/openapi.json"}


def test_template_sets_only_variables_the_settings_read(template: dict[str, Any]) -> None:
    # Given the names the typed configuration reads
    read = {field.validation_alias for field in Settings.model_fields.values()}

    # When the variables the template gives every function are read
    given = set(template["Globals"]["Function"]["Environment"]["Variables"])

    # Then each is one of them (a misspelt name would silently fall back to a local default), or
    # Powertools' or OpenTelemetry's own
    assert {name for name in given if not name.startswith(("POWERTOOLS_", "OTEL_"))} <= read


def test_the_worker_gives_every_record_of_a_full_batch_a_thread(template: dict[str, Any]) -> None:
    # Given the worker's event source mapping and the handler's record pool, read from their files
    mapping = template["Resources"]["WorkerFunction"]["Properties"]["Events"]["TaskQueueMessages"]["Properties"]
    handler = (TEMPLATE.parent / "functions" / "worker" / "app.py").read_text()
    pool = re.search(r"^MAX_CONCURRENT_RECORDS = (\d+)$", handler, re.M)
    assert pool is not None
    # Then a full batch never waits for a thread: a record's Claude call would eat the others' time
    assert int(pool.group(1)) == mapping["BatchSize"]
