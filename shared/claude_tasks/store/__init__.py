"""The data layer: PynamoDB models and the repositories whose writes keep the invariants.

`Store(settings)` binds the models to the configured tables and endpoint and
holds one repository per aggregate. Every write that an invariant depends on
is one conditional `TransactWriteItems`.

Each repository is made (and its module imported) on first use: a handler's cold start
loads only the repositories it uses (the janitor: sessions, tasks and the audit). So are the
writing parts (`Transaction`, `TaskWrite`, the content store): the task events function reads
stream images through `store.records` and never writes, so its cold start does not load them.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

from claude_tasks.core.config import Settings
from claude_tasks.core.tracing import Tracer
from claude_tasks.store.models import bind

if TYPE_CHECKING:
    from claude_tasks.store.audit_record import AuditRepository
    from claude_tasks.store.claims import ClaimRepository
    from claude_tasks.store.content import ContentStore
    from claude_tasks.store.counters import CounterRepository
    from claude_tasks.store.dead_letters import DeadLetterReasons
    from claude_tasks.store.forks import ForkRepository
    from claude_tasks.store.interactions import InteractionRepository
    from claude_tasks.store.runs import RunRepository
    from claude_tasks.store.sessions import SessionRepository
    from claude_tasks.store.task_write import TaskWrite
    from claude_tasks.store.tasks import TaskRepository
    from claude_tasks.store.transaction import Cancelled, Transaction
    from claude_tasks.store.transcripts import TranscriptRepository
    from claude_tasks.store.transitions import TransitionRepository
    from claude_tasks.store.usage import UsageRepository

__all__ = ["Cancelled", "Store", "TaskWrite", "Transaction"]

# The repositories' modules are imported where each is first used (PLC0415): see the module's docstring.
# ruff: noqa: PLC0415
_EXPORTED = {"Cancelled": "transaction", "Transaction": "transaction", "TaskWrite": "task_write"}


def __getattr__(name: str) -> Any:
    """`Cancelled`, `Transaction` and `TaskWrite`, their modules imported on first use (see the docstring)."""
    if name not in _EXPORTED:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"{__name__}.{_EXPORTED[name]}"), name)


class Store:
    """The repositories, bound to one configuration. Build one per process, at import of a handler."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.connection = bind(settings)
        self.tracer = Tracer(settings.tracing_enabled)

    @cached_property
    def content(self) -> ContentStore:
        from claude_tasks.store.content import ContentStore

        return ContentStore(self.settings)

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
        from claude_tasks.store.transaction import Transaction

        return Transaction(self.connection, client_request_token, tracer=self.tracer)
