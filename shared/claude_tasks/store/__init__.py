"""The data layer: PynamoDB models and the repositories whose writes keep the invariants.

`Store(settings)` binds the models to the configured tables and endpoint and
holds one repository per aggregate. Every write that an invariant depends on
is one conditional `TransactWriteItems`.
"""

from __future__ import annotations

from claude_tasks.core.config import Settings
from claude_tasks.core.tracing import Tracer
from claude_tasks.store.audit_record import AuditRepository
from claude_tasks.store.claims import ClaimRepository
from claude_tasks.store.content import ContentStore
from claude_tasks.store.dead_letters import DeadLetterReasons
from claude_tasks.store.forks import ForkRepository
from claude_tasks.store.interactions import InteractionRepository
from claude_tasks.store.models import bind
from claude_tasks.store.runs import RunRepository
from claude_tasks.store.sessions import SessionRepository
from claude_tasks.store.task_write import TaskWrite
from claude_tasks.store.tasks import TaskRepository
from claude_tasks.store.transaction import Cancelled, Transaction
from claude_tasks.store.transcripts import TranscriptRepository
from claude_tasks.store.transitions import TransitionRepository
from claude_tasks.store.usage import UsageRepository

__all__ = ["Cancelled", "Store", "TaskWrite", "Transaction"]


class Store:
    """The repositories, bound to one configuration. Build one per process, at import of a handler."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.connection = bind(settings)
        self.tracer = Tracer(settings.tracing_enabled)
        self.content = ContentStore(settings)
        self.sessions = SessionRepository(self)
        self.tasks = TaskRepository(self)
        self.interactions = InteractionRepository(self)
        self.claims = ClaimRepository(self)
        self.transitions = TransitionRepository(self)
        self.forks = ForkRepository(self)
        self.runs = RunRepository(self)
        self.transcripts = TranscriptRepository(self)
        self.usage = UsageRepository(self)
        self.dead_letters = DeadLetterReasons(self)
        self.audit = AuditRepository(self)

    def transaction(self, client_request_token: str | None = None) -> Transaction:
        """A new, empty transaction on this store's connection."""
        return Transaction(self.connection, client_request_token, tracer=self.tracer)
