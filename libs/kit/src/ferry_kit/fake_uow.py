"""An in-memory unit of work for unit tests of handlers: no connection, no broker."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar
from uuid import UUID

from ferry_contracts import Envelope
from ferry_contracts.topics import Encoded, parse

from .uow import Emitted, UnitOfWork

R = TypeVar("R")
E = TypeVar("E", bound=Envelope[Any])


class FakeUnitOfWork(UnitOfWork[R]):
    """Wraps fake repositories; `committed` holds what a real one would have put in the outbox.

    It can be entered again after a commit, like a factory handing out the same fake, so a test
    can run several handlers and read everything they emitted in `committed`.
    """

    def __init__(self, repos: R) -> None:
        super().__init__()
        self.repos = repos
        self.processed: set[UUID] = set()
        self.committed: list[Envelope[Any]] = []
        self.commits = 0
        self.rollbacks = 0

    def __call__(self) -> FakeUnitOfWork[R]:
        return self

    @property
    def payloads(self) -> list[Any]:
        """The payloads of the committed events, in order."""
        return [e.data for e in self.committed]

    async def _begin(self) -> None:
        self._claimed: set[UUID] = set()

    async def _claim(self, events: Sequence[E]) -> list[E]:
        fresh: list[E] = []
        for event in events:
            if event.id not in self.processed and event.id not in self._claimed:
                self._claimed.add(event.id)
                fresh.append(event)
        return fresh

    async def _write_outbox(self, events: Sequence[Emitted]) -> None:
        # An event that came encoded is read back as its consumers will read it.
        self._staged = [parse(e.value, e.type) if isinstance(e, Encoded) else e for e in events]

    async def _commit(self) -> None:
        self.committed += self._staged
        self.processed |= self._claimed
        self.commits += 1

    async def _rollback(self) -> None:
        self._claimed = set()
        self.rollbacks += 1
