"""The unit of work: one transaction that owns a handler's effect, its inbox claim and its outbox.

A handler receives a `UnitOfWork` already open: it reads and writes through `uow.repos`, emits
events with `uow.emit(...)`, and never sees the connection. The events go into the outbox on
`commit()`, inside the same transaction, so an effect and its events are durable together or
not at all. Leaving the block without `commit()` rolls everything back (emitted events too).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any, Generic, Self, TypeVar

import asyncpg
from ferry_contracts import Envelope, Payload
from ferry_contracts.topics import Encoded

from . import inbox, outbox

R = TypeVar("R")
E = TypeVar("E", bound=Envelope[Any])


class UnitOfWorkClosed(RuntimeError):
    """Raised when a unit of work is used outside its `async with` block or after commit."""


# What a unit of work writes to the outbox: an envelope, or one already encoded.
Emitted = Envelope[Any] | Encoded


def envelope_of(
    event: Payload | Emitted, project_id: str | None, connection_id: str | None
) -> Emitted:
    """An envelope for what a handler emits; a payload's own `connection_id` keys it by default.
    An envelope, or an event already encoded, goes as it is."""
    if isinstance(event, (Envelope, Encoded)):
        return event
    key = connection_id if connection_id is not None else getattr(event, "connection_id", None)
    return Envelope.of(event, project_id=project_id, connection_id=key)


class UnitOfWork(ABC, Generic[R]):
    """What handlers depend on. `PgUnitOfWork` is the real one, `FakeUnitOfWork` the test one."""

    repos: R

    def __init__(self) -> None:
        self._pending: list[Emitted] = []
        self._open = False

    async def __aenter__(self) -> Self:
        await self._begin()
        self._pending = []
        self._open = True
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._open:
            await self.rollback()

    def emit(
        self,
        event: Payload | Emitted,
        *,
        project_id: str | None = None,
        connection_id: str | None = None,
    ) -> Emitted:
        """Queue an event for the outbox; it is written on `commit()`, in this transaction."""
        self._check_open()
        envelope = envelope_of(event, project_id, connection_id)
        self._pending.append(envelope)
        return envelope

    @property
    def pending(self) -> list[Emitted]:
        """Events emitted and not yet committed."""
        return list(self._pending)

    async def claim(self, event: Envelope[Any]) -> bool:
        """Mark an event processed; False when it was processed before (skip its effect)."""
        return bool(await self.claim_all([event]))

    async def claim_all(self, events: Sequence[E]) -> list[E]:
        """The events not processed before, in order (duplicates dropped), now marked processed."""
        self._check_open()
        return await self._claim(events)

    async def commit(self) -> None:
        self._check_open()
        await self._write_outbox(self._pending)
        await self._commit()
        self._pending = []
        self._open = False

    async def rollback(self) -> None:
        self._pending = []
        self._open = False
        await self._rollback()

    def _check_open(self) -> None:
        if not self._open:
            raise UnitOfWorkClosed("use the unit of work inside `async with`, before commit")

    # What the storage does: Postgres (PgUnitOfWork) or the fake's lists (FakeUnitOfWork).

    @abstractmethod
    async def _begin(self) -> None:
        ...

    @abstractmethod
    async def _claim(self, events: Sequence[E]) -> list[E]:
        ...

    @abstractmethod
    async def _write_outbox(self, events: Sequence[Emitted]) -> None:
        ...

    @abstractmethod
    async def _commit(self) -> None:
        ...

    @abstractmethod
    async def _rollback(self) -> None:
        ...


RepositoryFactory = Callable[[asyncpg.Connection], R]


class PgUnitOfWork(UnitOfWork[R]):
    """A pooled connection and a transaction; the repositories are built on that connection."""

    def __init__(self, pool: asyncpg.Pool, repositories: RepositoryFactory[R]) -> None:
        super().__init__()
        self._pool = pool
        self._factory = repositories
        self._conn: asyncpg.Connection | None = None
        self._tx: Any = None

    async def _begin(self) -> None:
        self._conn = await self._pool.acquire()
        try:
            self._tx = self._conn.transaction()
            await self._tx.start()
        except BaseException:
            await self._release()
            raise
        self.repos = self._factory(self._conn)

    async def _claim(self, events: Sequence[E]) -> list[E]:
        assert self._conn is not None
        if not events:
            return []
        return await inbox.claim(self._conn, events[0].type, events)

    async def _write_outbox(self, events: Sequence[Emitted]) -> None:
        assert self._conn is not None
        await outbox.add(self._conn, events)

    async def _commit(self) -> None:
        try:
            await self._tx.commit()
        finally:
            await self._release()

    async def _rollback(self) -> None:
        if self._tx is None:
            return
        try:
            await self._tx.rollback()
        finally:
            await self._release()

    async def _release(self) -> None:
        conn, self._conn, self._tx = self._conn, None, None
        if conn is not None:
            await self._pool.release(conn)


class UnitOfWorkFactory(Generic[R]):
    """Makes units of work for one service (`bootstrap.py` builds it once, on the pool)."""

    def __init__(self, pool: asyncpg.Pool, repositories: RepositoryFactory[R]) -> None:
        self._pool = pool
        self._repositories = repositories

    def __call__(self) -> PgUnitOfWork[R]:
        return PgUnitOfWork(self._pool, self._repositories)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[R]:
        """Repositories for reads only (views) or single statements: a pooled connection, no
        transaction (given back without a reset query, as every pooled one: `db.create_pool`)."""
        async with self._pool.acquire() as conn:
            yield self._repositories(conn)
