"""The stack's snapshot reads moto's tables in-process: the same items a `Scan` returns, binary values included."""

from __future__ import annotations

import boto3

from claude_tasks_dev.local.aws import EmbeddedAws
from claude_tasks_dev.local.resources import provision


def test_table_items_read_in_process_equal_a_scan() -> None:
    # Given an embedded AWS with a table holding text, numbers, lists, maps and binary values
    with EmbeddedAws(port=0) as aws:
        settings = provision(aws.endpoint_url, prefix="snapshot-test")
        dynamodb = boto3.client("dynamodb", region_name=settings.region, endpoint_url=aws.endpoint_url)
        for n in range(3):
            item = {
                "session_id": {"S": f"s-{n}"},
                "task_count": {"N": str(n)},
                "metadata": {"M": {"blob": {"B": b"\x00\xff"}, "tags": {"L": [{"S": "a"}, {"N": "1"}]}}},
                "raw": {"B": bytes([n, 255])},
                "raws": {"BS": [b"x", b"y"]},
            }
            dynamodb.put_item(TableName=settings.sessions_table, Item=item)
        # When its items are read in-process, and scanned through the endpoint
        direct = aws.table_items(settings.region, settings.sessions_table)
        scanned = dynamodb.scan(TableName=settings.sessions_table)["Items"]
    # Then both give the same items
    key = lambda item: item["session_id"]["S"]  # noqa: E731
    assert sorted(direct, key=key) == sorted(scanned, key=key)
