"""A DynamoDB table's stream, read as EventBridge Pipes hands it to its target (Lambda's record shape).

Each read asks for an iterator after the last record taken: moto replaces a table (its stream with it)
when it rolls a failed transaction back, so an iterator kept across reads could point at the old one.
Records taken are then trimmed from the emulator (`aws.trim_stream`), which would otherwise keep them all.
"""

from __future__ import annotations

import base64
import datetime
from typing import Any

import boto3
from botocore.config import Config

from claude_tasks_dev.local.aws import request_trim

IDLE_READS_PER_TRIM = 20


def _as_lambda(value: Any) -> Any:
    """boto3's parsed record as Lambda's JSON has it: times in epoch seconds, binary values base64 text."""
    if isinstance(value, datetime.datetime):
        return value.timestamp()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, dict):
        return {key: _as_lambda(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_as_lambda(item) for item in value]
    return value


class StreamReader:
    """The new records of `table_name`'s stream on the emulator at `endpoint_url`, read on demand."""

    def __init__(self, endpoint_url: str | None, region: str, table_name: str) -> None:
        self._endpoint_url = endpoint_url
        self._table = table_name
        dynamodb = boto3.client("dynamodb", region_name=region, endpoint_url=endpoint_url)
        self.arn = dynamodb.describe_table(TableName=table_name)["Table"]["LatestStreamArn"]
        # botocore addresses streams by account (`<account>.streams-ddb.…`), a host moto does not serve in process.
        config = Config(account_id_endpoint_mode="disabled")
        self._streams = boto3.client("dynamodbstreams", region_name=region, endpoint_url=endpoint_url, config=config)
        self._shard = self._streams.describe_stream(StreamArn=self.arn)["StreamDescription"]["Shards"][0]["ShardId"]
        self._last: str | None = None  # sequence number of the last record taken
        self._idle_reads = 0

    def read(self, limit: int = 1000) -> list[dict[str, Any]]:
        """Up to `limit` records after the last one taken (`advance`), each with its `eventSourceARN`."""
        position: dict[str, Any] = (
            {"ShardIteratorType": "TRIM_HORIZON"}
            if self._last is None
            else {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": self._last}
        )
        iterator = self._streams.get_shard_iterator(StreamArn=self.arn, ShardId=self._shard, **position)
        records = self._streams.get_records(ShardIterator=iterator["ShardIterator"], Limit=limit)["Records"]
        self._idle_reads = 0 if records else self._idle_reads + 1
        if self._idle_reads >= IDLE_READS_PER_TRIM:
            self._trim()  # each read leaves two iterators behind in the emulator, records or not
        return [{**_as_lambda(record), "eventSourceARN": self.arn} for record in records]

    def advance(self, records: list[dict[str, Any]]) -> None:
        """Take `records` (the last `read`): the next read starts after them, and the emulator forgets them."""
        if not records:
            return
        self._last = str(records[-1]["dynamodb"]["SequenceNumber"])
        self._trim()

    def _trim(self) -> None:
        self._idle_reads = 0
        if self._endpoint_url is None:
            return  # moto in this process (the unit tests): nothing to serve the trim
        request_trim(self._endpoint_url, self._table, through=self._last or "0")

    def skip_to_end(self) -> int:
        """Take every record there is now; returns how many."""
        skipped = 0
        while records := self.read(limit=1000):
            self.advance(records)
            skipped += len(records)
        return skipped
