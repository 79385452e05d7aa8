"""Where the full check keeps its progress between invocations, and its last completed report.

Two items of the audit table: `progress` while a check runs (its jobs' keys and its
tally), `report` once one completed. The progress item is versioned: an invocation
that loaded it saves it back only if no other invocation saved it meanwhile, so two
janitors running at once never count the same items twice. A progress item this
code cannot read (written by another version of it: a rollback) is replaced by a
fresh start, so the check goes on rather than failing every janitor run.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from pydantic import ValidationError
from pynamodb.exceptions import DeleteError, PutError

from claude_tasks.core.clock import now_iso
from claude_tasks.store.audit import ConsistencyReport
from claude_tasks.store.audit_scan import Progress
from claude_tasks.store.faults import response_code, translate_faults
from claude_tasks.store.models import AuditRecord

if TYPE_CHECKING:
    from claude_tasks.store import Store

logger = logging.getLogger(__name__)

PROGRESS, REPORT = "progress", "report"


@translate_faults
class AuditRepository:
    def __init__(self, store: Store) -> None:
        self._store = store

    def start(self) -> bool:
        """Begin a full check unless one is under way; returns whether this call began it."""
        progress = Progress.begin(self._store.settings.audit_segments)
        record = AuditRecord(PROGRESS, body=progress.model_dump(mode="json"), updated_at=now_iso())
        try:
            record.save(condition=AuditRecord.name.does_not_exist(), add_version_condition=False)
        except PutError as error:
            if response_code(error) != "ConditionalCheckFailedException":
                raise
            return False
        return True

    def under_way(self) -> tuple[AuditRecord, Progress] | None:
        """The check under way and its progress (one consistent read), or None. Progress it cannot read is
        replaced by the start of a new check (saved over it, version-checked: None if another invocation
        saved first)."""
        try:
            record = AuditRecord.get(PROGRESS, consistent_read=True)
        except AuditRecord.DoesNotExist:
            return None
        try:
            return record, Progress.model_validate(record.body)
        except ValidationError as unreadable:
            logger.error(
                "full check: its saved progress cannot be read (%d errors, as %s); the check starts again",
                unreadable.error_count(),
                ", ".join(sorted({str(error["type"]) for error in unreadable.errors(include_input=False)})),
            )
            fresh = Progress.begin(self._store.settings.audit_segments)
            return (record, fresh) if self.save(record, fresh) else None

    def save(self, record: AuditRecord, progress: Progress) -> bool:
        """Save the progress over the item it was loaded from; False when another invocation saved first."""
        record.body, record.updated_at = progress.model_dump(mode="json"), now_iso()
        try:
            record.save()  # requires the version it was loaded with
        except PutError as error:
            if response_code(error) != "ConditionalCheckFailedException":
                raise
            return False
        return True

    def complete(self, record: AuditRecord, progress: Progress) -> ConsistencyReport | None:
        """End the check: its progress goes (version-checked) and its report replaces the last one.

        Returns the report, or None when another invocation moved the progress meanwhile.
        """
        try:
            record.delete()  # requires the version it was loaded with
        except DeleteError as error:
            if response_code(error) != "ConditionalCheckFailedException":
                raise
            return None
        report = progress.tally.report(progress.started_at, now_iso())
        AuditRecord(REPORT, body=report.model_dump(mode="json"), updated_at=now_iso()).save(add_version_condition=False)
        return report

    def last_report(self) -> ConsistencyReport | None:
        """The last completed full check's report, or None before the first one completed."""
        try:
            record = AuditRecord.get(REPORT)
        except AuditRecord.DoesNotExist:
            return None
        return ConsistencyReport.model_validate(record.body)
