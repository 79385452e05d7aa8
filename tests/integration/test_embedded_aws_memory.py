"""The embedded AWS keeps what its tables hold, not every item a read returned (issue 8, finding 5).

moto deep-copies each item a `Scan` or `Query` returns, and its model classes
used to record every instance they ever made: the local stack grew ~40 KB per
API operation. The bound here is derived from the data written, never from time.
"""

from __future__ import annotations

import gc

import boto3
from moto.dynamodb.models.dynamo_type import Item

from claude_tasks.core.config import Settings

ITEMS = 20
READS = 50


def live_items() -> int:
    gc.collect()
    return sum(1 for obj in gc.get_objects() if type(obj) is Item)


def test_items_returned_by_reads_are_not_kept(settings: Settings) -> None:
    # Given a table holding ITEMS sessions of one owner
    dynamodb = boto3.client("dynamodb", region_name=settings.region, endpoint_url=str(settings.aws_endpoint_url))
    for n in range(ITEMS):
        created = f"2026-01-01T00:00:{n:02d}"
        item = {"session_id": {"S": f"s-{n}"}, "owner": {"S": "alice"}, "created_at": {"S": created}}
        dynamodb.put_item(TableName=settings.sessions_table, Item=item)
    before = live_items()
    # When the table is read again and again (each read hands out copies of ITEMS items)
    for _ in range(READS):
        assert len(dynamodb.scan(TableName=settings.sessions_table)["Items"]) == ITEMS
        page = dynamodb.query(
            TableName=settings.sessions_table,
            IndexName="by-owner",
            KeyConditionExpression="#o = :o",
            ExpressionAttributeNames={"#o": "owner"},
            ExpressionAttributeValues={":o": {"S": "alice"}},
        )
        assert len(page["Items"]) == ITEMS
    # Then no copy outlives its response: the live items are still the table's own
    # (today's bug kept all 2 * READS * ITEMS = 2,000 copies)
    assert live_items() - before <= ITEMS
