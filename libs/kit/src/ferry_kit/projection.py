"""A service's copy of each connection, kept from `connection.changed`: the steps every copy
takes before its own (lock the copy, let a late older event change nothing, drop the copy of a
deleted connection)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from ferry_contracts.connections import ConnectionChanged


class Versioned(Protocol):
    @property
    def version(self) -> int: ...


K = TypeVar("K", bound=Versioned)
K_co = TypeVar("K_co", bound=Versioned, covariant=True)


class ConnectionCopies(Protocol[K_co]):
    """What a service's repository offers for its copy of the connections."""

    async def connection_for_update(self, connection_id: str) -> K_co | None: ...

    async def delete_connection(self, connection_id: str) -> None: ...


@dataclass(frozen=True)
class Newer(Generic[K]):
    """The event is newer than the copy and the connection lives on: save it. `known` is the
    copy before the event (locked until the commit), None for a connection new to the service."""

    known: K | None


async def newer_connection(
    repos: ConnectionCopies[K], changed: ConnectionChanged
) -> Newer[K] | None:
    """`Newer` when the caller should save `changed`; None when there is nothing more to do (an
    older event arriving late, or a deletion, whose copy is gone now)."""
    known = await repos.connection_for_update(changed.connection_id)
    if known is not None and known.version > changed.version:
        return None
    if changed.status == "DELETED":
        await repos.delete_connection(changed.connection_id)
        return None
    return Newer(known)
