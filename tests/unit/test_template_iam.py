"""Each role grants what its function's code does, on the resources it touches, and nothing account-wide.

The template is expanded by the SAM translator, as CloudFormation would receive it (SAM's own
roles, policy templates and managed policies would show here), and every Allow statement of every
role and policy is compared with `GRANTS`: per role, each (action, resource) with the code path
that needs it. A grant the map does not list fails (a new permission needs its reason written
here), and so does a map entry nothing grants (the map stays the roles' description). Each
reason names a file and a pattern found in it, checked below, so a code path that goes away
takes its permission's justification with it.

The SAM translator (aws-sam-translator) pins an older pydantic than the project, so it runs in
the SAM CLI's own virtualenv (`make tools`), in a subprocess.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
SAM_PYTHON = ROOT / ".tools" / "sam" / "bin" / "python"
NO_VALUE = {"Ref": "AWS::NoValue"}

# Runs in the SAM venv: local code locations become S3 URIs (as `sam package` would make them),
# managed policy names become AWS's ARNs, and the template is translated.
_EXPAND = r"""
import json, sys
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

class ManagedPolicies:
    def load(self):
        return {}

    def load_policy_arn(self, name):
        return "arn:aws:iam::aws:policy/" + name

template = yaml_parse(open(sys.argv[1]).read())
for resource in template["Resources"].values():
    props = resource.setdefault("Properties", {})
    if resource["Type"] == "AWS::Serverless::Function":
        if props.get("PackageType") == "Image":
            props["ImageUri"] = "123456789012.dkr.ecr.us-east-1.amazonaws.com/worker:latest"
        else:
            props["CodeUri"] = "s3://bucket/function.zip"
    if resource["Type"] == "AWS::Serverless::LayerVersion":
        props["ContentUri"] = "s3://bucket/layer.zip"
parameters = {"AWS::Region": "us-east-1", "AWS::AccountId": "123456789012", "AWS::Partition": "aws"}
json.dump(transform(template, parameters, ManagedPolicies()), sys.stdout)
"""


@dataclass(frozen=True)
class Use:
    """Why a grant exists: the code path, and a pattern that must occur in `path` (repository-relative)."""

    why: str
    path: str
    pattern: str


STORE = "shared/claude_tasks/store"
# Code paths more than one role shares.
_LOGS = Use("Lambda writes the function's log lines to its own group", "template.yaml", r"LogGroup: !Ref \w+Logs")
_XRAY = Use(
    "Tracing=active (Globals): Lambda and the ADOT layer send segments",
    "template.yaml",
    r"Tracing: !If \[TracingActive, Active",
)
_KMS = Use(
    "With KmsKeyArn, what the function reads (tables, queues, objects, environment) is encrypted with the key",
    "template.yaml",
    r"KmsKeyArn: !If \[HasKmsKey",
)
_AUDIT_SCAN = Use("the full check scans the table in segments", f"{STORE}/audit_scan.py", r"Model\.scan\(\*\*options\)")
_AUDIT_GET = Use(
    "the full check reads what an item names and re-reads a suspect", f"{STORE}/audit_checks.py", r"\.get\("
)
_SEND_RUN = Use("a task's run message goes to its queue", "shared/claude_tasks/app/queue.py", r"send_message\(")
_SESSION_GET = Use("a session is read (consistent)", f"{STORE}/sessions.py", r"SessionModel\.get\(")
_TASK_GET = Use("a task is read (consistent)", f"{STORE}/tasks.py", r"TaskModel\.get\(")
_TASKS_REREAD = Use(
    "a recount re-reads the tasks it counts, 100 to a request", f"{STORE}/counters.py", r"TaskModel\.batch_get\("
)
_TASK_COUNTER = Use(
    "creating or deleting a task updates its session's counter in the same transaction",
    f"{STORE}/tasks.py",
    r"tx\.update\(\s*\"session\"",
)
_TASK_CREATE = Use("a new task is put by a conditional transaction", f"{STORE}/tasks.py", r"tx\.put\(\"task\"")
_TASK_WRITE = Use("every task change is a conditional update", f"{STORE}/task_write.py", r"tx\.update\(\"task\"")
_TURNS_QUERY = Use("a task's turns are read in order", f"{STORE}/interactions.py", r"InteractionModel\.query\(")
_CLAIM_RETIRE = Use(
    "a deleted or replaced Claude session id's claim is marked retired", f"{STORE}/claims.py", r"retired_at\.set\("
)
_TRANSCRIPT_KEYS = Use("a transcript's items are listed", f"{STORE}/transcripts.py", r"TranscriptItem\.query\(")
_TRANSCRIPT_DELETE = Use(
    "a deleted task's transcript items are deleted in batches", f"{STORE}/transcripts.py", r"batch\.delete\("
)
_CONTENT_GET = Use("a long turn's text is read back from S3", f"{STORE}/content.py", r"get_object\(")
_DEAD_LETTERS = "shared/claude_tasks/app/dead_letters.py"
_REASON_PUT = Use(
    "a message given up on its last receive leaves its reason (partition dead-letters only)",
    f"{STORE}/dead_letters.py",
    r"DeadLetterReason\(\s*DEAD_LETTERS,",
)
_DLQ_LOOK = Use("GET /admin/dead-letters receives the DLQs' messages", _DEAD_LETTERS, r"receive_message\(")
_CONTENT_PUT = Use("a long turn's text is written to S3", f"{STORE}/content.py", r"put_object\(")
_POLLER = Use(
    "Lambda's SQS poller receives, deletes and returns (ReportBatchItemFailures) with the function's role",
    "template.yaml",
    r"FunctionResponseTypes: \[ReportBatchItemFailures\]",
)
_SECRET = Use(
    "the Anthropic key is read from Secrets Manager",
    "shared/claude_tasks/claude/api_key.py",
    r"secrets\.get\(",
)
_TRANSCRIPT_STORE = f"{STORE}/transcripts.py"

_PROJECTS = Use(
    "Claude Code works in the project's directory on EFS, mounted through the access point",
    "template.yaml",
    r"LocalMountPath: /mnt/projects",
)
_VPC = Use(
    'Lambda manages a VPC function\'s network interfaces with its role, checked on "*"',
    "template.yaml",
    r"VpcConfig:",
)
VPC_NETWORK_INTERFACES = (
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSubnets",
    "ec2:CreateNetworkInterface",
    "ec2:DeleteNetworkInterface",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
)
TRACING = {("xray:PutTraceSegments", "*"): _XRAY, ("xray:PutTelemetryRecords", "*"): _XRAY}
# The task events pipe is AWS's code, not ours: its grants are used by EventBridge Pipes itself, as the
# template's TaskEventsPipe configures it (source, target, dead-letter queue).
_PIPE_SOURCE = Use(
    "EventBridge Pipes reads the tasks table's stream, TaskEventsPipe's source",
    "template.yaml",
    r"Source: !GetAtt TasksTable\.StreamArn",
)
_PIPE_DEAD_LETTERS = Use(
    "EventBridge Pipes records a batch it gave up on in TaskEventsPipe's dead-letter queue",
    "template.yaml",
    r"DeadLetterConfig:\s+Arn: !GetAtt TaskEventsDLQ\.Arn",
)
_EVENTS = "shared/claude_tasks/app/events.py"
_REPLIES = "shared/claude_tasks/app/replies.py"

# Usage totals and quota counters (store/tally.py): every task write moves them; a creation reads the quota.
_COUNTERS: dict[tuple[str, str], Use] = {
    ("dynamodb:GetItem", "UsageTable"): Use(
        "a creation reads the owner's quota (and a refusal the figure it reports)",
        f"{STORE}/usage.py",
        r"UsageModel\.get\(owner, period",
    ),
    ("dynamodb:UpdateItem", "UsageTable"): Use(
        "the owner's counters move in the transaction of each task write", f"{STORE}/tally.py", r"tx\.update\(\"owner\""
    ),
    ("dynamodb:ConditionCheckItem", "UsageTable"): Use(
        "a creation checks the month's spend under the quota", f"{STORE}/tally.py", r"tx\.check\(\"month\""
    ),
}

# What a task run does to the tables, in either worker (functions/worker/app.py; the image runs the same code).
_TASK_RUN: dict[tuple[str, str], Use] = {
    ("dynamodb:GetItem", "SessionsTable"): _SESSION_GET,
    ("dynamodb:UpdateItem", "SessionsTable"): _TASK_COUNTER,
    ("dynamodb:GetItem", "TasksTable"): _TASK_GET,
    ("dynamodb:PutItem", "TasksTable"): _TASK_CREATE,
    ("dynamodb:UpdateItem", "TasksTable"): _TASK_WRITE,
    ("dynamodb:Query", "InteractionsTable"): _TURNS_QUERY,
    ("dynamodb:PutItem", "InteractionsTable"): Use(
        "each turn is put in the run's transaction", f"{STORE}/interactions.py", r"tx\.put\(f\"interaction"
    ),
    ("dynamodb:PutItem", "ClaudeSessionsTable"): Use(
        "a new Claude session id is claimed in the run's transaction", f"{STORE}/claims.py", r"tx\.put\("
    ),
    ("dynamodb:UpdateItem", "ClaudeSessionsTable"): _CLAIM_RETIRE,
    **_COUNTERS,
}
# Claude Code's session store (store/transcripts.py), used only where the claude-code backend runs.
_SESSION_STORE: dict[tuple[str, str], Use] = {
    ("dynamodb:GetItem", "TranscriptsTable"): Use(
        "Claude Code's session store reads a stream's head", _TRANSCRIPT_STORE, r"TranscriptItem\.get\("
    ),
    ("dynamodb:Query", "TranscriptsTable"): _TRANSCRIPT_KEYS,
    ("dynamodb:BatchGetItem", "TranscriptsTable"): Use(
        "the session store reads which entries it holds", _TRANSCRIPT_STORE, r"TranscriptItem\.batch_get\("
    ),
    ("dynamodb:BatchWriteItem", "TranscriptsTable"): Use(
        "the session store writes a large entry's parts", _TRANSCRIPT_STORE, r"batch\.save\("
    ),
    ("dynamodb:PutItem", "TranscriptsTable"): Use(
        "the session store appends entries in a transaction", _TRANSCRIPT_STORE, r"tx\.put\("
    ),
    ("dynamodb:UpdateItem", "TranscriptsTable"): Use(
        "the session store advances a stream's head in the transaction", _TRANSCRIPT_STORE, r"tx\.update\("
    ),
}

GRANTS: dict[str, dict[tuple[str, str], Use]] = {
    "ApiFunctionRole": {
        ("dynamodb:GetItem", "SessionsTable"): _SESSION_GET,
        ("dynamodb:PutItem", "SessionsTable"): Use(
            "a session is created by a conditional put", f"{STORE}/sessions.py", r"item\.save\(condition="
        ),
        ("dynamodb:UpdateItem", "SessionsTable"): _TASK_COUNTER,
        ("dynamodb:DeleteItem", "SessionsTable"): Use(
            "an empty session is deleted by a conditional transaction", f"{STORE}/sessions.py", r"tx\.delete\("
        ),
        ("dynamodb:Query", "SessionsTable/index/by-owner"): Use(
            "GET /sessions lists the caller's sessions", f"{STORE}/sessions.py", r"SessionModel\.by_owner\.query\("
        ),
        ("dynamodb:GetItem", "TasksTable"): _TASK_GET,
        ("dynamodb:BatchGetItem", "TasksTable"): _TASKS_REREAD,
        ("dynamodb:PutItem", "TasksTable"): _TASK_CREATE,
        ("dynamodb:UpdateItem", "TasksTable"): _TASK_WRITE,
        ("dynamodb:DeleteItem", "TasksTable"): Use(
            "a task marked deleting is deleted by a conditional transaction",
            f"{STORE}/tasks.py",
            r"tx\.delete\(\"task\"",
        ),
        ("dynamodb:Query", "TasksTable/index/by-session"): Use(
            "a session's tasks are listed", f"{STORE}/tasks.py", r"TaskModel\.by_session\.query\("
        ),
        ("dynamodb:Query", "TasksTable/index/by-owner"): Use(
            "GET /tasks lists the caller's tasks across sessions", f"{STORE}/tasks.py", r"TaskModel\.by_owner\.query\("
        ),
        ("dynamodb:Query", "InteractionsTable"): _TURNS_QUERY,
        ("dynamodb:PutItem", "InteractionsTable"): Use(
            "a fork copies its source's turns in its transaction", f"{STORE}/forks.py", r"InteractionModel\.query\("
        ),
        ("dynamodb:BatchWriteItem", "InteractionsTable"): Use(
            "a deleted task's turns are deleted in batches", f"{STORE}/tasks.py", r"InteractionModel\.batch_write\(\)"
        ),
        **_COUNTERS,
        ("dynamodb:Query", "UsageTable"): Use(
            "GET /usage reads the owner's last 30 days", f"{STORE}/usage.py", r"UsageModel\.query\("
        ),
        ("dynamodb:BatchGetItem", "UsageTable"): Use(
            "GET /usage reads the owner's total, month and quota", f"{STORE}/usage.py", r"UsageModel\.batch_get\("
        ),
        ("dynamodb:PutItem", "UsageTable"): Use(
            "PUT /admin/quotas/{owner} keeps an owner's quota overrides",
            f"{STORE}/usage.py",
            r"item = UsageModel\(owner, periods\.QUOTA",
        ),
        ("dynamodb:DeleteItem", "UsageTable"): Use(
            "DELETE /admin/quotas/{owner} drops an owner's quota overrides",
            f"{STORE}/usage.py",
            r"UsageModel\(owner, periods\.QUOTA\)\.delete\(\)",
        ),
        ("dynamodb:GetItem", "AuditTable"): Use(
            "GET /admin/consistency serves the full check's last report",
            f"{STORE}/audit_record.py",
            r"AuditRecord\.get\(REPORT\)",
        ),
        ("dynamodb:UpdateItem", "ClaudeSessionsTable"): _CLAIM_RETIRE,
        ("dynamodb:Query", "TranscriptsTable"): _TRANSCRIPT_KEYS,
        ("dynamodb:BatchWriteItem", "TranscriptsTable"): _TRANSCRIPT_DELETE,
        ("dynamodb:DeleteItem", "TranscriptsTable"): Use(
            "a redriven dead letter's reason is dropped (partition dead-letters only)",
            f"{STORE}/dead_letters.py",
            r"DeadLetterReason\(DEAD_LETTERS, message_id\)\.delete\(\)",
        ),
        ("sqs:SendMessage", "TaskQueue"): _SEND_RUN,
        ("sqs:SendMessage", "ClaudeCodeQueue"): _SEND_RUN,
        ("sqs:ReceiveMessage", "TaskDLQ"): _DLQ_LOOK,
        ("sqs:ReceiveMessage", "ClaudeCodeDLQ"): _DLQ_LOOK,
        ("sqs:ChangeMessageVisibility", "TaskDLQ"): Use(
            "a look is not a take: listed messages are visible again at once", _DEAD_LETTERS, r"VisibilityTimeout\": 0"
        ),
        ("sqs:ChangeMessageVisibility", "ClaudeCodeDLQ"): Use(
            "a look is not a take: listed messages are visible again at once", _DEAD_LETTERS, r"VisibilityTimeout\": 0"
        ),
        ("sqs:DeleteMessage", "TaskDLQ"): Use(
            "a redriven message leaves its DLQ once sent back", _DEAD_LETTERS, r"delete_message\("
        ),
        ("sqs:DeleteMessage", "ClaudeCodeDLQ"): Use(
            "a redriven message leaves its DLQ once sent back", _DEAD_LETTERS, r"delete_message\("
        ),
        ("s3:GetObject", "ContentBucket/*"): _CONTENT_GET,
        ("logs:CreateLogStream", "ApiFunctionLogs"): _LOGS,
        ("logs:PutLogEvents", "ApiFunctionLogs"): _LOGS,
        ("kms:Decrypt", "KmsKeyArn"): _KMS,
        ("kms:GenerateDataKey", "KmsKeyArn"): _KMS,
        **TRACING,
    },
    "WorkerFunctionRole": {
        ("sqs:ReceiveMessage", "TaskQueue"): _POLLER,
        ("sqs:DeleteMessage", "TaskQueue"): _POLLER,
        # Lambda's poller uses it too (_POLLER); the map names the worker's own call.
        ("sqs:ChangeMessageVisibility", "TaskQueue"): Use(
            "a task.create over its owner's quota is delivered again after the quota's Retry-After",
            "shared/claude_tasks/app/queue.py",
            r"change_message_visibility\(\s*QueueUrl=self\._settings\.task_queue_url",
        ),
        ("sqs:GetQueueAttributes", "TaskQueue"): _POLLER,
        ("sqs:SendMessage", "TaskQueue"): Use(
            "a run near the end of its invocation re-queues its task", "shared/claude_tasks/app/run.py", r"send_run\("
        ),
        ("sqs:SendMessage", "ClaudeCodeQueue"): Use(
            "a task.create for claude-code is handed to the Claude Code worker's queue",
            "shared/claude_tasks/app/run.py",
            r"HANDED_OFF",
        ),
        **_TASK_RUN,
        ("dynamodb:PutItem", "TranscriptsTable"): _REASON_PUT,
        ("s3:GetObject", "ContentBucket/*"): _CONTENT_GET,
        ("s3:PutObject", "ContentBucket/*"): _CONTENT_PUT,
        ("secretsmanager:GetSecretValue", "AnthropicApiKeySecret"): _SECRET,
        ("bedrock:InvokeModel", "arn:${AWS::Partition}:bedrock:*::foundation-model/anthropic.*"): Use(
            "the bedrock backend calls Converse", "shared/claude_tasks/claude/bedrock_backend.py", r"\.converse\("
        ),
        (
            "bedrock:InvokeModel",
            "arn:${AWS::Partition}:bedrock:${AWS::Region}:${AWS::AccountId}:inference-profile/*anthropic.*",
        ): Use("the bedrock backend calls Converse", "shared/claude_tasks/claude/bedrock_backend.py", r"\.converse\("),
        ("bedrock:InvokeModelWithResponseStream", "arn:${AWS::Partition}:bedrock:*::foundation-model/anthropic.*"): Use(
            "ConverseStream (the streaming call)", "shared/claude_tasks/claude/bedrock_backend.py", r"converse"
        ),
        (
            "bedrock:InvokeModelWithResponseStream",
            "arn:${AWS::Partition}:bedrock:${AWS::Region}:${AWS::AccountId}:inference-profile/*anthropic.*",
        ): Use("ConverseStream (the streaming call)", "shared/claude_tasks/claude/bedrock_backend.py", r"converse"),
        ("logs:CreateLogStream", "WorkerFunctionLogs"): _LOGS,
        ("logs:PutLogEvents", "WorkerFunctionLogs"): _LOGS,
        ("kms:Decrypt", "KmsKeyArn"): _KMS,
        ("kms:GenerateDataKey", "KmsKeyArn"): _KMS,
        **TRACING,
    },
    "JanitorFunctionRole": {
        ("dynamodb:GetItem", "SessionsTable"): _AUDIT_GET,
        ("dynamodb:DeleteItem", "SessionsTable"): Use(
            "an orphaned session is deleted by a conditional transaction",
            f"{STORE}/sessions.py",
            r"def delete_if_orphaned",
        ),
        ("dynamodb:Scan", "SessionsTable"): _AUDIT_SCAN,
        ("dynamodb:UpdateItem", "SessionsTable"): Use(
            "the full check puts a session written before the idle index existed into it",
            f"{STORE}/sessions.py",
            r"SessionModel\.idle_shard\.set\(shard\)",
        ),
        ("dynamodb:Query", "SessionsTable/index/by-idle-shard"): Use(
            "orphaned sessions are read from the sparse idle index",
            f"{STORE}/sessions.py",
            r"SessionModel\.by_idle_shard\.query\(",
        ),
        ("dynamodb:GetItem", "TasksTable"): _AUDIT_GET,
        ("dynamodb:BatchGetItem", "TasksTable"): _TASKS_REREAD,
        ("dynamodb:Scan", "TasksTable"): _AUDIT_SCAN,
        ("dynamodb:Query", "TasksTable/index/by-active-shard"): Use(
            "stuck tasks are read from the sparse active index",
            f"{STORE}/tasks.py",
            r"TaskModel\.by_active_shard\.query\(",
        ),
        ("dynamodb:Query", "TasksTable/index/by-session"): Use(
            "a suspect session's tasks are recounted", f"{STORE}/audit_recheck.py", r"TaskModel\.by_session\.query\("
        ),
        ("dynamodb:Query", "TasksTable/index/by-owner"): Use(
            "an owner's first task stands for them; a suspect owner's tasks are recounted",
            f"{STORE}/counters.py",
            r"TaskModel\.by_owner\.query\(",
        ),
        ("dynamodb:Scan", "UsageTable"): Use(
            "the full check scans the owners' usage totals for counters with no task behind them",
            f"{STORE}/audit_scan.py",
            r"UsageModel\.scan\(",
        ),
        ("dynamodb:GetItem", "UsageTable"): Use(
            "the full check reads an owner's usage total (and re-reads a suspect's)",
            f"{STORE}/counters.py",
            r"UsageModel\.get\(owner, periods\.TOTAL",
        ),
        ("dynamodb:GetItem", "InteractionsTable"): _AUDIT_GET,
        ("dynamodb:Query", "InteractionsTable"): Use(
            "a suspect task's turns are recounted", f"{STORE}/audit_recheck.py", r"InteractionModel\.query\("
        ),
        ("dynamodb:Scan", "InteractionsTable"): _AUDIT_SCAN,
        ("dynamodb:GetItem", "ClaudeSessionsTable"): _AUDIT_GET,
        ("dynamodb:GetItem", "AuditTable"): Use(
            "the full check's progress is read", f"{STORE}/audit_record.py", r"AuditRecord\.get\(PROGRESS"
        ),
        ("dynamodb:PutItem", "AuditTable"): Use(
            "the full check's progress and report are saved", f"{STORE}/audit_record.py", r"record\.save\("
        ),
        ("dynamodb:DeleteItem", "AuditTable"): Use(
            "a completed check's progress is deleted", f"{STORE}/audit_record.py", r"record\.delete\("
        ),
        ("sqs:SendMessage", "TaskQueue"): Use(
            "a stuck task is re-queued", "shared/claude_tasks/app/janitor.py", r"self\._queue\.send_run\("
        ),
        ("sqs:SendMessage", "ClaudeCodeQueue"): Use(
            "a stuck claude-code task is re-queued where its worker listens",
            "shared/claude_tasks/app/queue.py",
            r"claude_code_queue_url",
        ),
        ("logs:CreateLogStream", "JanitorFunctionLogs"): _LOGS,
        ("logs:PutLogEvents", "JanitorFunctionLogs"): _LOGS,
        ("kms:Decrypt", "KmsKeyArn"): _KMS,
        ("kms:GenerateDataKey", "KmsKeyArn"): _KMS,
        **TRACING,
    },
    "ClaudeCodeWorkerRole": {
        ("sqs:ReceiveMessage", "ClaudeCodeQueue"): _POLLER,
        ("sqs:DeleteMessage", "ClaudeCodeQueue"): _POLLER,
        ("sqs:ChangeMessageVisibility", "ClaudeCodeQueue"): Use(
            "the poller returns failed records; a task.create over its owner's quota is held for its Retry-After "
            "(this worker's TASK_QUEUE_URL is this queue)",
            "shared/claude_tasks/app/queue.py",
            r"change_message_visibility\(\s*QueueUrl=self\._settings\.task_queue_url",
        ),
        ("sqs:GetQueueAttributes", "ClaudeCodeQueue"): _POLLER,
        ("sqs:SendMessage", "ClaudeCodeQueue"): Use(
            "a run near its invocation's deadline is continued by a message to its own queue",
            "shared/claude_tasks/app/run.py",
            r"send_run\(",
        ),
        **_TASK_RUN,
        **_SESSION_STORE,
        ("s3:GetObject", "ContentBucket/*"): _CONTENT_GET,
        ("s3:PutObject", "ContentBucket/*"): _CONTENT_PUT,
        ("secretsmanager:GetSecretValue", "AnthropicApiKeySecret"): Use(
            "the CLI gets the Anthropic key", "shared/claude_tasks/claude/claude_code.py", r"self\._key\.get\(\)"
        ),
        ("elasticfilesystem:ClientMount", "ClaudeCodeFileSystem"): _PROJECTS,
        ("elasticfilesystem:ClientWrite", "ClaudeCodeFileSystem"): _PROJECTS,
        ("logs:CreateLogStream", "ClaudeCodeWorkerFunctionLogs"): _LOGS,
        ("logs:PutLogEvents", "ClaudeCodeWorkerFunctionLogs"): _LOGS,
        ("kms:Decrypt", "KmsKeyArn"): _KMS,
        ("kms:GenerateDataKey", "KmsKeyArn"): _KMS,
        **TRACING,
        **{(action, "*"): _VPC for action in VPC_NETWORK_INTERFACES},
    },
    "TaskEventsPipeRole": {
        **{
            (action, "TasksTable/stream"): _PIPE_SOURCE
            for action in (
                "dynamodb:DescribeStream",
                "dynamodb:GetRecords",
                "dynamodb:GetShardIterator",
                "dynamodb:ListStreams",
            )
        },
        ("lambda:InvokeFunction", "TaskEventsFunction"): Use(
            "EventBridge Pipes invokes TaskEventsPipe's target with each filtered batch",
            "template.yaml",
            r"Target: !GetAtt TaskEventsFunction\.Arn",
        ),
        ("sqs:SendMessage", "TaskEventsDLQ"): _PIPE_DEAD_LETTERS,
        ("kms:Decrypt", "KmsKeyArn"): _PIPE_DEAD_LETTERS,
        ("kms:GenerateDataKey", "KmsKeyArn"): _PIPE_DEAD_LETTERS,
    },
    "TaskEventsFunctionRole": {
        ("events:PutEvents", "TaskEventBus"): Use(
            "a batch's task events are put on the bus", _EVENTS, r"\.put_events\("
        ),
        ("logs:CreateLogStream", "TaskEventsFunctionLogs"): _LOGS,
        ("logs:PutLogEvents", "TaskEventsFunctionLogs"): _LOGS,
        # Its environment only: EventBridge encrypts the bus's events with the key as itself.
        ("kms:Decrypt", "KmsKeyArn"): _KMS,
        **TRACING,
    },
    "TaskRepliesFunctionRole": {
        ("sqs:SendMessage", "arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:${ReplyQueuePrefix}*"): Use(
            "a terminal event is sent to the reply_to queue its task.create named", _REPLIES, r"send_message\("
        ),
        ("sqs:SendMessage", "TaskRepliesDLQ"): Use(
            "Lambda sends an invocation that failed its retries to the function's DLQ with its role",
            "template.yaml",
            r"TargetArn: !GetAtt TaskRepliesDLQ\.Arn",
        ),
        ("logs:CreateLogStream", "TaskRepliesFunctionLogs"): _LOGS,
        ("logs:PutLogEvents", "TaskRepliesFunctionLogs"): _LOGS,
        ("kms:Decrypt", "KmsKeyArn"): _KMS,
        ("kms:GenerateDataKey", "KmsKeyArn"): Use(
            "with KmsKeyArn, TaskRepliesDLQ is under the key: Lambda's send to it takes a data key",
            "template.yaml",
            r"DeadLetterQueue:\s+Type: SQS\s+TargetArn: !GetAtt TaskRepliesDLQ\.Arn",
        ),
        **TRACING,
    },
}
# Resource "*" is allowed only for these: X-Ray has no resource-level permissions, and Lambda checks a
# VPC function's network-interface actions on "*" (ClaudeCodeWorkerRole; see its comment in the template).
STAR_ALLOWED = {*(action for action, _ in TRACING), *VPC_NETWORK_INTERFACES}


@pytest.fixture(scope="module")
def expanded() -> dict[str, Any]:
    """template.yaml as the SAM translator turns it into CloudFormation (SAM's resources made explicit)."""
    if not SAM_PYTHON.exists():
        if os.environ.get("CI"):
            pytest.fail(f"no SAM CLI virtualenv at {SAM_PYTHON}: `make tools` makes it")
        pytest.skip(f"no SAM CLI virtualenv at {SAM_PYTHON}: run `make tools`")
    done = subprocess.run(  # noqa: S603 - our own interpreter and script
        [str(SAM_PYTHON), "-c", _EXPAND, str(TEMPLATE)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "AWS_DEFAULT_REGION": "us-east-1"},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


def _branches(node: Any) -> Iterator[Any]:
    """`node`, or each branch of it where it is an Fn::If (AWS::NoValue dropped), recursively."""
    if isinstance(node, dict) and "Fn::If" in node:
        for branch in node["Fn::If"][1:]:
            if branch != NO_VALUE:
                yield from _branches(branch)
    else:
        yield node


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _policy_documents(resource: dict[str, Any]) -> Iterator[dict[str, Any]]:
    props = resource["Properties"]
    if resource["Type"] == "AWS::IAM::Role":
        for policy in (p for item in props.get("Policies", []) for p in _branches(item)):
            yield policy["PolicyDocument"]
    else:
        yield props["PolicyDocument"]


def _allow_statements(resource: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for document in _policy_documents(resource):
        for statement in (s for item in _as_list(document["Statement"]) for s in _branches(item)):
            assert statement["Effect"] == "Allow", statement
            yield statement


def _resource_name(resource: Any) -> str:
    """A statement's resource as the map writes it: a logical id, `Id/index/name`, `Id/*`, `Id/stream`, or the text."""
    if resource == "*":
        return "*"
    if "Fn::GetAtt" in resource:
        name, attribute = resource["Fn::GetAtt"]
        assert attribute in {"Arn", "StreamArn"}, resource
        return f"{name}/stream" if attribute == "StreamArn" else str(name)
    if "Ref" in resource:
        return str(resource["Ref"])
    text = resource["Fn::Sub"]
    assert isinstance(text, str), resource
    return re.sub(r"^\$\{(\w+)\.Arn\}", r"\1", text)


def _grants(expanded: dict[str, Any], role: str) -> set[tuple[str, str]]:
    """Every (action, resource) the role's own policies and the AWS::IAM::Policy resources on it allow."""
    resources = expanded["Resources"]
    holders = [resources[role]] + [
        r for r in resources.values() if r["Type"] == "AWS::IAM::Policy" and {"Ref": role} in r["Properties"]["Roles"]
    ]
    return {
        (action, _resource_name(target))
        for holder in holders
        for statement in _allow_statements(holder)
        for action in _as_list(statement["Action"])
        for target in _as_list(statement["Resource"])
    }


def _roles(expanded: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in expanded["Resources"].items() if r["Type"] == "AWS::IAM::Role"}


def test_every_role_is_one_the_template_writes_out(expanded: dict[str, Any]) -> None:
    # When the roles of the expanded template are listed
    roles = _roles(expanded)

    # Then they are the functions' own (SAM made none) and none holds a managed policy
    assert set(roles) == set(GRANTS)
    assert {name: r["Properties"].get("ManagedPolicyArns") for name, r in roles.items()} == dict.fromkeys(roles)


@pytest.mark.parametrize("role", sorted(GRANTS))
def test_a_role_grants_exactly_what_its_code_uses(expanded: dict[str, Any], role: str) -> None:
    # When the role's grants are read from the expanded template
    granted = _grants(expanded, role)

    # Then each has a reason in the map, and each reason is granted (both branches of every Fn::If)
    assert sorted(granted - set(GRANTS[role])) == [], "granted, but no code path is named for it"
    assert sorted(set(GRANTS[role]) - granted) == [], "in the map, but not granted"


def test_no_role_grants_every_resource_but_for_logging_and_tracing(expanded: dict[str, Any]) -> None:
    # When every grant on "*" is collected, of every role and policy in the expanded template
    on_star = {
        (name, action) for name in _roles(expanded) for action, target in _grants(expanded, name) if target == "*"
    }

    # Then each is an action IAM offers nothing narrower for
    assert {(name, action) for name, action in on_star if action not in STAR_ALLOWED} == set()


def test_every_reason_names_code_that_exists() -> None:
    # Given every reason in the map
    uses = {use for grants in GRANTS.values() for use in grants.values()}

    # Then its pattern is found in the file it names: the map says where each action is used
    missing = [use for use in uses if not re.search(use.pattern, (ROOT / use.path).read_text())]
    assert missing == []


def test_the_claude_code_worker_polls_only_its_own_queue(expanded: dict[str, Any]) -> None:
    # When the grants of every role on queue actions are read
    polling = {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes"}
    pollers = {
        (name, target) for name in _roles(expanded) for action, target in _grants(expanded, name) if action in polling
    }

    # Then each worker polls its own queue, and nothing else polls anything but the API the DLQs
    # (GET /admin/dead-letters and its redrive)
    assert pollers == {
        ("WorkerFunctionRole", "TaskQueue"),
        ("ClaudeCodeWorkerRole", "ClaudeCodeQueue"),
        ("ApiFunctionRole", "TaskDLQ"),
        ("ApiFunctionRole", "ClaudeCodeDLQ"),
    }
