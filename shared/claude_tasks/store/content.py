"""Long interaction content kept in S3, the item holding only a pointer; readers get the text back."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from claude_tasks.core.clients import make_client
from claude_tasks.core.config import Settings
from claude_tasks.store.faults import translate_faults

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from claude_tasks.store.models import InteractionModel


@translate_faults
class ContentStore:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    @cached_property
    def _s3(self) -> S3Client:
        client: S3Client = make_client("s3", self._settings)
        return client

    def is_large(self, content: str) -> bool:
        """Whether `content` must go to S3 to keep its item well under DynamoDB's 400 KB limit."""
        return len(content.encode()) > self._settings.inline_content_limit

    def put(self, task_id: str, seq: int, content: str) -> str:
        """Store `content` for the turn `seq` of `task_id`; returns the pointer an interaction keeps."""
        key = f"interactions/{task_id}/{seq:08d}.txt"
        self._s3.put_object(
            Bucket=self._settings.content_bucket, Key=key, Body=content.encode(), ContentType="text/plain"
        )
        return key

    def read(self, item: InteractionModel) -> str:
        """The interaction's content, fetched from S3 when the item holds a pointer."""
        if not item.content_ref:
            return str(item.content or "")
        body = self._s3.get_object(Bucket=self._settings.content_bucket, Key=item.content_ref)["Body"]
        return body.read().decode()
