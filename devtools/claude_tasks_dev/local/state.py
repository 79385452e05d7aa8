"""The local stack's data across restarts: every table item, queued message and stored object, in one JSON file.

Saved on a clean stop (after the API, worker and janitor have stopped, so the
copy is consistent) and loaded on the next start. Messages come back with their
bodies and attributes; their receive counts start again from zero.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3

from claude_tasks.core.config import Settings
from claude_tasks_dev.local.resources import TABLES

FORMAT = 1
QUEUES = {"TaskQueue": "task_queue_url", "TaskDLQ": "dlq_url"}


class Snapshot:
    """Reads and writes the resources of one `Settings` on its endpoint."""

    def __init__(self, settings: Settings, read_table: Callable[[str], list[dict[str, Any]]] | None = None) -> None:
        """`read_table`, if given, returns a table's items (as `Scan` would) faster than scanning it."""
        self.settings = settings
        self._read_table = read_table or self._scan
        session = boto3.Session(region_name=settings.region)
        self._dynamodb = session.client("dynamodb", endpoint_url=settings.aws_endpoint_url)
        self._sqs = session.client("sqs", endpoint_url=settings.aws_endpoint_url)
        self._s3 = session.client("s3", endpoint_url=settings.aws_endpoint_url)

    def take(self) -> dict[str, Any]:
        """Everything, keyed by the template's logical ids. Drains the queues: call it last."""
        tables = {
            logical_id: [_encode(item) for item in self._read_table(getattr(self.settings, field))]
            for logical_id, (field, _) in TABLES.items()
        }
        queues = {logical_id: self._drain(getattr(self.settings, field)) for logical_id, field in QUEUES.items()}
        return {"format": FORMAT, "tables": tables, "queues": queues, "objects": self._objects()}

    def restore(self, state: dict[str, Any]) -> dict[str, int]:
        """Put a snapshot's contents back; returns how many items each table received."""
        counts = {}
        for logical_id, (field, _) in TABLES.items():
            items = [_decode(item) for item in state.get("tables", {}).get(logical_id, [])]
            self._write(getattr(self.settings, field), items)
            counts[logical_id] = len(items)
        for logical_id, field in QUEUES.items():
            for message in state.get("queues", {}).get(logical_id, []):
                self._sqs.send_message(QueueUrl=getattr(self.settings, field), **message)
        for key, data in state.get("objects", {}).items():
            self._s3.put_object(Bucket=self.settings.content_bucket, Key=key, Body=base64.b64decode(data))
        return counts

    def _scan(self, table: str) -> list[dict[str, Any]]:
        pages = self._dynamodb.get_paginator("scan").paginate(TableName=table)
        return [item for page in pages for item in page.get("Items", [])]

    def _write(self, table: str, items: list[dict[str, Any]]) -> None:
        for start in range(0, len(items), 25):
            requests: dict[str, Any] = {table: [{"PutRequest": {"Item": item}} for item in items[start : start + 25]]}
            while requests:
                requests = self._dynamodb.batch_write_item(RequestItems=requests).get("UnprocessedItems") or {}

    def _drain(self, queue_url: str) -> list[dict[str, Any]]:
        drained: list[dict[str, Any]] = []
        while True:
            batch = self._sqs.receive_message(
                QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=300, MessageAttributeNames=["All"]
            ).get("Messages", [])
            if not batch:
                return drained
            for message in batch:
                entry: dict[str, Any] = {"MessageBody": message["Body"]}
                if message.get("MessageAttributes"):
                    entry["MessageAttributes"] = _encode(message["MessageAttributes"])
                drained.append(entry)

    def _objects(self) -> dict[str, str]:
        pages = self._s3.get_paginator("list_objects_v2").paginate(Bucket=self.settings.content_bucket)
        keys = [entry["Key"] for page in pages for entry in page.get("Contents", [])]
        return {
            key: base64.b64encode(
                self._s3.get_object(Bucket=self.settings.content_bucket, Key=key)["Body"].read()
            ).decode()
            for key in keys
        }


def _encode(value: Any) -> Any:
    """JSON-safe: binary values (DynamoDB `B`/`BS`, SQS `BinaryValue`) become `{"$b64": ...}`."""
    if isinstance(value, bytes | bytearray):
        return {"$b64": base64.b64encode(value).decode()}
    if isinstance(value, dict):
        return {key: _encode(item) for key, item in value.items()}
    if isinstance(value, list | set):
        return [_encode(item) for item in value]
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"$b64"}:
            return base64.b64decode(value["$b64"])
        return {key: _decode(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_decode(item) for item in value]
    return value


def load(path: Path) -> dict[str, Any] | None:
    """The saved state, or None when there is none. An unreadable file is moved aside, not lost."""
    if not path.is_file():
        return None
    try:
        state = json.loads(path.read_text())
        if not isinstance(state, dict) or state.get("format") != FORMAT:
            raise ValueError(f"not a state file of format {FORMAT}")
    except ValueError as err:
        aside = path.with_suffix(".unreadable.json")
        path.replace(aside)
        raise ValueError(f"{path} could not be read ({err}); moved to {aside.name}, starting empty") from err
    return state


def cursor_secret(state_file: Path) -> str:
    """The stack's key for signing pagination cursors: made once, kept beside the state so cursors survive
    restarts (a new key on every start would turn every cursor a client holds into a 400)."""
    path = state_file.with_name("cursor-secret")
    if path.is_file() and path.read_text().strip():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(32)
    path.write_text(value)
    path.chmod(0o600)
    return value


def save(path: Path, state: dict[str, Any]) -> None:
    """Write atomically: a crash mid-write leaves the previous state, never half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(state))
    os.replace(partial, path)
