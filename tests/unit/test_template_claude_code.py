"""template.yaml's Claude Code worker (EnableClaudeCode): only there when enabled, and holding only what it needs.

Read as written, like tests/unit/test_template.py; `make lint` adds cfn-lint, `sam validate --lint`
and checkov.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from claude_tasks.core.config import Settings
from tests.unit.test_template import (
    TABLES,
    TEMPLATE,
    WITHOUT_RESOURCE_LEVEL,
    _as_list,
    _function_setting,
    _resource,
    _statements,
)

CONDITION = "EnableClaudeCode"
WORKER = "ClaudeCodeWorkerFunction"
ROLE = "ClaudeCodeWorkerRole"
# Read by botocore and the Claude Code CLI, not by the service's settings.
# AWS_LAMBDA_EXEC_WRAPPER: read by the Lambda runtime (the ADOT layer's wrapper, with Tracing=active).
READ_BY_LIBRARIES = {"HTTPS_PROXY", "NO_PROXY", "AWS_LAMBDA_EXEC_WRAPPER"}


def _implies_enabled(template: dict[str, Any], name: str) -> bool:
    """Whether condition `name` can only hold with EnableClaudeCode=true."""
    condition = template["Conditions"][name]
    if condition == {"Fn::Equals": [{"Ref": CONDITION}, "true"]}:
        return True
    parts = condition.get("Fn::And", [])
    return any("Condition" in part and _implies_enabled(template, part["Condition"]) for part in parts)


def _references(node: Any, guarded: bool = False) -> Iterator[tuple[str, bool]]:
    """Every resource named by Ref/GetAtt/Sub in `node`, and whether an Fn::If on EnableClaudeCode guards it."""
    if isinstance(node, dict):
        if "Fn::If" in node:
            condition, when_true, when_false = node["Fn::If"]
            yield from _references(when_true, guarded or condition == CONDITION)
            yield from _references(when_false, guarded)
            return
        if "Ref" in node:
            yield node["Ref"], guarded
        if "Fn::GetAtt" in node:
            yield node["Fn::GetAtt"][0], guarded
        if "Fn::Sub" in node:
            text = node["Fn::Sub"] if isinstance(node["Fn::Sub"], str) else node["Fn::Sub"][0]
            yield from ((name.split(".")[0], guarded) for name in _sub_names(text))
        for key, value in node.items():
            if key not in ("Ref", "Fn::GetAtt"):
                yield from _references(value, guarded)
    elif isinstance(node, list):
        for value in node:
            yield from _references(value, guarded)


def _sub_names(text: str) -> Iterator[str]:
    parts = text.split("${")[1:]
    yield from (part.split("}")[0] for part in parts)


def _claude_code_resources(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in template["Resources"].items() if name.startswith("ClaudeCode")}


def test_claude_code_is_off_unless_asked_for(template: dict[str, Any]) -> None:
    # Given the parameter and the Claude Code resources
    assert template["Parameters"][CONDITION]["Default"] == "false"
    resources = _claude_code_resources(template)
    assert WORKER in resources and "ClaudeCodeQueue" in resources and "ClaudeCodeFileSystem" in resources

    # Then each is created only under a condition that needs EnableClaudeCode=true
    unconditional = [name for name, r in resources.items() if not _implies_enabled(template, r.get("Condition", ""))]
    assert unconditional == []


def test_nothing_else_needs_a_claude_code_resource_when_it_is_off(template: dict[str, Any]) -> None:
    # Given every reference from outside the Claude Code resources: other resources, Globals, outputs
    claude_code = set(_claude_code_resources(template))
    outside = {name: r for name, r in template["Resources"].items() if name not in claude_code}
    outputs = {name: o for name, o in template["Outputs"].items() if "Condition" not in o}
    sources = [outside, template["Globals"], outputs]

    # Then each reference to a Claude Code resource sits in the EnableClaudeCode branch of an Fn::If
    unguarded = [
        name for source in sources for name, guarded in _references(source) if name in claude_code and not guarded
    ]
    assert unguarded == []
    for name, output in template["Outputs"].items():
        if any(ref in claude_code for ref, _ in _references(output)):
            assert _implies_enabled(template, output["Condition"]), name


def test_claude_code_queue_hides_a_message_for_six_worker_runs(template: dict[str, Any]) -> None:
    # Given the Claude Code worker's timeout and its event source
    timeout = int(_function_setting(template, WORKER, "Timeout"))
    event = _resource(template, WORKER)["Events"]["ClaudeCodeQueueMessages"]["Properties"]
    window = int(event.get("MaximumBatchingWindowInSeconds", 0))

    # When its queue is read
    queue = _resource(template, "ClaudeCodeQueue")

    # Then the visibility covers six runs, and redrive works as on the task queue (the code has one count)
    assert int(queue["VisibilityTimeout"]) >= 6 * timeout + window
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": ["ClaudeCodeDLQ", "Arn"]}
    main = _resource(template, "TaskQueue")["RedrivePolicy"]
    assert int(queue["RedrivePolicy"]["maxReceiveCount"]) == int(main["maxReceiveCount"])
    for name in ("ClaudeCodeQueue", "ClaudeCodeDLQ"):  # SQS managed keys, or the customer managed key
        assert _resource(template, name)["SqsManagedSseEnabled"] == {"Fn::If": ["HasKmsKey", False, True]}
        assert _resource(template, name)["KmsMasterKeyId"] == {
            "Fn::If": ["HasKmsKey", {"Ref": "KmsKeyArn"}, {"Ref": "AWS::NoValue"}]
        }
    assert int(_resource(template, "ClaudeCodeDLQ")["MessageRetentionPeriod"]) == 14 * 24 * 3600


def test_claude_code_worker_is_the_image_with_room_for_the_cli(template: dict[str, Any]) -> None:
    # When the worker's definition is read
    resource = template["Resources"][WORKER]
    worker = _resource(template, WORKER)

    # Then it is built from the repository's Dockerfile, with the memory, time and disk the Agent SDK asks for
    assert worker["PackageType"] == "Image"
    assert (TEMPLATE.parent / resource["Metadata"]["Dockerfile"]).is_file()
    assert resource["Metadata"]["DockerContext"] == "."
    assert worker["Architectures"] == ["x86_64"]
    assert int(worker["MemorySize"]) >= 2048
    assert int(worker["Timeout"]) == 900
    assert int(worker["EphemeralStorage"]["Size"]) >= 5120
    # And no Globals setting an image function may not have
    assert not {"Runtime", "Layers", "Handler"} & set(template["Globals"]["Function"])


def test_claude_code_worker_takes_one_task_at_a_time_within_its_reserve(template: dict[str, Any]) -> None:
    # When its event source is read
    worker = _resource(template, WORKER)
    event = worker["Events"]["ClaudeCodeQueueMessages"]

    # Then it consumes its own queue one message per invocation, returns only failures, and never
    # starts more invocations than its reserved concurrency lets run (a throttled delivery counts as a receive)
    assert event["Type"] == "SQS"
    assert event["Properties"]["Queue"] == {"Fn::GetAtt": ["ClaudeCodeQueue", "Arn"]}
    assert event["Properties"]["BatchSize"] == 1
    assert event["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert event["Properties"]["ScalingConfig"]["MaximumConcurrency"] == worker["ReservedConcurrentExecutions"]


def test_claude_code_worker_sees_the_projects_and_its_own_queue(template: dict[str, Any]) -> None:
    # When its environment and mounts are read
    worker = _resource(template, WORKER)
    env = worker["Environment"]["Variables"]

    # Then the projects are mounted where the settings look, through the access point,
    # and its continued runs go back to its own queue
    (mount,) = worker["FileSystemConfigs"]
    assert mount == {"Arn": {"Fn::GetAtt": ["ClaudeCodeAccessPoint", "Arn"]}, "LocalMountPath": "/mnt/projects"}
    assert env["PROJECTS_MOUNT"] == mount["LocalMountPath"]
    assert env["TASK_QUEUE_URL"] == {"Ref": "ClaudeCodeQueue"}
    assert env["HTTPS_PROXY"] == {"Ref": "HttpsProxy"}
    assert worker["VpcConfig"]["SecurityGroupIds"] == [{"Ref": "ClaudeCodeFunctionSecurityGroup"}]


def test_every_function_variable_is_one_something_reads(template: dict[str, Any]) -> None:
    # Given the names the typed configuration reads
    read = {field.validation_alias for field in Settings.model_fields.values()} | READ_BY_LIBRARIES

    # When each function's own variables are read
    given = {
        name
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::Serverless::Function"
        for name in resource["Properties"].get("Environment", {}).get("Variables", {})
    }

    # Then each is read by the settings or a library (a misspelt name would fall back silently)
    assert given <= read


def _role_statements(template: dict[str, Any]) -> list[dict[str, Any]]:
    role = _resource(template, ROLE)
    files = _resource(template, "ClaudeCodeWorkerFileSystemPolicy")
    assert files["Roles"] == [{"Ref": ROLE}]
    return [*_statements(role["Policies"]), *_statements(files["PolicyDocument"])]


def _granting(statements: list[dict[str, Any]], action: str) -> list[Any]:
    return [r for s in statements if action in _as_list(s["Action"]) for r in _as_list(s["Resource"])]


def test_claude_code_worker_has_its_own_role_and_nothing_sam_adds(template: dict[str, Any]) -> None:
    # When the worker's permissions are read
    worker = _resource(template, WORKER)
    role = _resource(template, ROLE)

    # Then they come only from its role: no SAM policies (an SQS event would add
    # AWSLambdaSQSQueueExecutionRole, on every queue) and no managed policy
    assert worker["Role"] == {"Fn::GetAtt": [ROLE, "Arn"]}
    assert "Policies" not in worker
    assert "ManagedPolicyArns" not in role


def test_claude_code_role_names_every_resource_it_touches(template: dict[str, Any]) -> None:
    # Given the role's statements
    statements = _role_statements(template)
    queue = {"Fn::GetAtt": ["ClaudeCodeQueue", "Arn"]}

    # Then its queue is the only one it may touch, tables, objects and the key are named, and the
    # file system is mounted only through its access point
    for action in ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:SendMessage"):
        assert _granting(statements, action) == [queue], action
    for table in TABLES:  # written (turns are only put), each named; test_template_iam holds each action
        written = _granting(statements, "dynamodb:UpdateItem") + _granting(statements, "dynamodb:PutItem")
        assert {"Fn::GetAtt": [table, "Arn"]} in written, table
    assert _granting(statements, "dynamodb:Scan") == []
    assert _granting(statements, "s3:PutObject") == [{"Fn::Sub": "${ContentBucket.Arn}/*"}]
    assert _granting(statements, "secretsmanager:GetSecretValue") == [{"Ref": "AnthropicApiKeySecret"}]
    (mount,) = [s for s in statements if "elasticfilesystem:ClientMount" in _as_list(s["Action"])]
    assert mount["Resource"] == {"Fn::GetAtt": ["ClaudeCodeFileSystem", "Arn"]}
    assert mount["Condition"]["StringEquals"]["elasticfilesystem:AccessPointArn"] == {
        "Fn::GetAtt": ["ClaudeCodeAccessPoint", "Arn"]
    }


def test_claude_code_role_grants_star_only_where_iam_has_nothing_narrower(template: dict[str, Any]) -> None:
    # When the statements on "*" are read
    wildcards = [s for s in _role_statements(template) if "*" in _as_list(s["Resource"])]

    # Then they are the network-interface look-ups Lambda makes and X-Ray's writes, nothing else
    assert wildcards
    assert {a for s in wildcards for a in _as_list(s["Action"])} <= WITHOUT_RESOURCE_LEVEL


@pytest.mark.parametrize("logical_id", ["ApiFunction", "WorkerFunction", "JanitorFunction"])
def test_senders_may_send_to_the_claude_code_queue_only_when_it_exists(
    template: dict[str, Any], logical_id: str
) -> None:
    # When a function's role's statements are read, as written (Fn::If kept)
    (policy,) = _resource(template, f"{logical_id}Role")["Policies"]
    statements = policy["PolicyDocument"]["Statement"]

    # Then one sends to ClaudeCodeQueue, under EnableClaudeCode
    send = {
        "Sid": "ClaudeCodeQueue",
        "Effect": "Allow",
        "Action": "sqs:SendMessage",
        "Resource": {"Fn::GetAtt": ["ClaudeCodeQueue", "Arn"]},
    }
    assert {"Fn::If": [CONDITION, send, {"Ref": "AWS::NoValue"}]} in statements


def test_every_function_knows_the_claude_code_queue_and_whether_it_is_offered(template: dict[str, Any]) -> None:
    # When the variables every function gets are read
    env = template["Globals"]["Function"]["Environment"]["Variables"]

    # Then the queue's URL is there when it exists (empty otherwise), and claude-code is offered only then
    assert env["CLAUDE_CODE_QUEUE_URL"] == {"Fn::If": [CONDITION, {"Ref": "ClaudeCodeQueue"}, ""]}
    condition, enabled, disabled = env["ENABLED_BACKENDS"]["Fn::If"]
    assert condition == CONDITION
    assert all("claude-code" in backends for backends in enabled["Fn::If"][1:])
    assert all("claude-code" not in backends for backends in disabled["Fn::If"][1:])


def test_only_the_worker_reaches_the_file_system(template: dict[str, Any]) -> None:
    # Given the file system, its access point, mount targets and security group
    files = _resource(template, "ClaudeCodeFileSystem")
    point = _resource(template, "ClaudeCodeAccessPoint")
    (ingress,) = _resource(template, "ClaudeCodeFileSystemSecurityGroup")["SecurityGroupIngress"]
    targets = [r for r in template["Resources"].values() if r["Type"] == "AWS::EFS::MountTarget"]

    # Then it is encrypted and ages into IA, is reached over NFS only from the worker's group,
    # only by the worker's role, as uid/gid 1000 under /projects, from two subnets
    assert files["Encrypted"] is True
    assert {"TransitionToIA": "AFTER_30_DAYS"} in files["LifecyclePolicies"]
    assert (ingress["FromPort"], ingress["ToPort"], ingress["IpProtocol"]) == (2049, 2049, "tcp")
    assert ingress["SourceSecurityGroupId"] == {"Ref": "ClaudeCodeFunctionSecurityGroup"}
    (allow,) = files["FileSystemPolicy"]["Statement"]
    assert allow["Principal"] == {"AWS": {"Fn::GetAtt": [ROLE, "Arn"]}}
    assert point["RootDirectory"]["Path"] == "/projects"
    assert point["PosixUser"] == {"Uid": "1000", "Gid": "1000"}
    assert len(targets) == 2


def test_the_private_subnets_route_out_only_through_the_nat_gateway(template: dict[str, Any]) -> None:
    # When the routes to the internet are read
    routes = {
        name: r
        for name, r in template["Resources"].items()
        if r["Type"] == "AWS::EC2::Route" and r["Properties"]["DestinationCidrBlock"] == "0.0.0.0/0"
    }

    # Then the private route table has one, to the NAT gateway, only with ClaudeCodeEgress=nat
    private = {
        n: r for n, r in routes.items() if r["Properties"]["RouteTableId"] == {"Ref": "ClaudeCodePrivateRouteTable"}
    }
    ((name, route),) = private.items()
    assert route["Properties"]["NatGatewayId"] == {"Ref": "ClaudeCodeNatGateway"}
    assert route["Condition"] == "ClaudeCodeNat"
    assert template["Conditions"]["ClaudeCodeNat"]["Fn::And"][1] == {"Fn::Equals": [{"Ref": "ClaudeCodeEgress"}, "nat"]}
