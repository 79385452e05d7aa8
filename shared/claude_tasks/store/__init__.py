"""The data layer: PynamoDB models and the repositories whose writes keep the invariants.

`Store(settings)` binds the models to the configured tables and endpoint and
holds one repository per aggregate. Every write that an invariant depends on
is one conditional `TransactWriteItems`.

Each repository is made (and its module imported) on first use: a handler's cold start
loads only the repositories it uses (the janitor: sessions, tasks and the audit).
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from claude_tasks.core.config import Settings
from claude_tasks.core.tracing import Tracer
from claude_tasks.store.content import ContentStore
from claude_tasks.store.models import bind
from claude_tasks.store.task_write import TaskWrite
from claude_tasks.store.transaction import Cancelled, Transaction

if TYPE_CHECKING:
    from claude_tasks.store.audit_record import AuditRepository
    from claude_tasks.store.claims import ClaimRepository
    from claude_tasks.store.counters import CounterRepository
    from claude_tasks.store.dead_letters import DeadLetterReasons
    from claude_tasks.store.forks import ForkRepository
    from claude_tasks.store.interactions import InteractionRepository
    from claude_tasks.store.runs import RunRepository
    from claude_tasks.store.sessions import SessionRepository
    from claude_tasks.store.tasks import TaskRepository
    from claude_tasks.store.transcripts import TranscriptRepository
    from claude_tasks.store.transitions import TransitionRepository
    from claude_tasks.store.usage import UsageRepository

__all__ = ["Cancelled", "Store", "TaskWrite", "Transaction"]

# The repositories' modules are imported where each is first used (PLC0415): see the module's docstring.
# ruff: noqa: PLC0415


class Store:
    """The repositories, bound to one configuration. Build one per process, at import of a handler."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.connection = bind(settings)
        self.tracer = Tracer(settings.tracing_enabled)
        self.content = ContentStore(settings)

    @cached_property
    def sessions(self) -> SessionRepository:
        from claude_tasks.store.sessions import SessionRepository

        return SessionRepository(self)

    @cached_property
    def tasks(self) -> TaskRepository:
        from claude_tasks.store.tasks import TaskRepository

        return TaskRepository(self)

    @cached_property
    def interactions(self) -> InteractionRepository:
        from claude_tasks.store.interactions import InteractionRepository

        return InteractionRepository(self)

    @cached_property
    def claims(self) -> ClaimRepository:
        from claude_tasks.store.claims import ClaimRepository

        return ClaimRepository(self)

    @cached_property
    def transitions(self) -> TransitionRepository:
        from claude_tasks.store.transitions import TransitionRepository

        return TransitionRepository(self)

    @cached_property
    def forks(self) -> ForkRepository:
        from claude_tasks.store.forks import ForkRepository

        return ForkRepository(self)

    @cached_property
    def runs(self) -> RunRepository:
        from claude_tasks.store.runs import RunRepository

        return RunRepository(self)

    @cached_property
    def transcripts(self) -> TranscriptRepository:
        from claude_tasks.store.transcripts import TranscriptRepository

        return TranscriptRepository(self)

    @cached_property
    def dead_letters(self) -> DeadLetterReasons:
        from claude_tasks.store.dead_letters import DeadLetterReasons

        return DeadLetterReasons(self)

    @cached_property
    def audit(self) -> AuditRepository:
        from claude_tasks.store.audit_record import AuditRepository

        return AuditRepository(self)

    @cached_property
    def usage(self) -> UsageRepository:
        from claude_tasks.store.usage import UsageRepository

        return UsageRepository(self)

    @cached_property
    def counters(self) -> CounterRepository:
        from claude_tasks.store.counters import CounterRepository

        return CounterRepository(self)

    def transaction(self, client_request_token: str | None = None) -> Transaction:
        """A new, empty transaction on this store's connection."""
        return Transaction(self.connection, client_request_token, tracer=self.tracer)
