"""An in-memory webhooks repository: the rules of the SQL (lanes, replays) without Postgres."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from ferry_webhooks import domain
from ferry_webhooks.model import (
    Attempt,
    Endpoint,
    KnownConnection,
    Lane,
    Message,
    MessageFilter,
    NewEndpoint,
    NewMessage,
    ReplayTarget,
    Subscription,
)

NOW = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass
class Stored:
    message: NewMessage
    seq: int
    ready: bool
    status: str = "pending"


class FakeRepository:
    def __init__(self) -> None:
        self.connections: dict[str, KnownConnection] = {}
        self.endpoints_by_id: dict[str, Endpoint] = {}
        self.messages_by_id: dict[str, Stored] = {}
        self.attempts_of: dict[str, list[Attempt]] = {}
        self._seq = 0

    # --- connections --------------------------------------------------------------------------

    async def connection_for_update(self, connection_id: str) -> KnownConnection | None:
        return self.connections.get(connection_id)

    async def save_connection(self, c: KnownConnection) -> None:
        self.connections[c.connection_id] = c

    async def delete_connection(self, connection_id: str) -> None:
        self.connections.pop(connection_id, None)

    async def user_ids(self, connection_ids: Sequence[str]) -> dict[str, str | None]:
        return {c: self.connections[c].user_id for c in connection_ids if c in self.connections}

    # --- endpoints ----------------------------------------------------------------------------

    async def subscriptions(self, project_ids: Sequence[str]) -> list[Subscription]:
        return [Subscription(e.id, e.project_id, e.event_types, e.ordered)
                for e in self.endpoints_by_id.values() if e.enabled and e.project_id in project_ids]

    async def add_endpoint(self, e: NewEndpoint) -> Endpoint:
        endpoint = Endpoint(e.id, e.project_id, e.url, e.description, e.event_types, e.ordered,
                            e.secret, True, NOW, None, None)
        self.endpoints_by_id[e.id] = endpoint
        return endpoint

    async def endpoints(self, project_id: str) -> list[Endpoint]:
        return [e for e in self.endpoints_by_id.values() if e.project_id == project_id]

    async def endpoint(self, project_id: str, endpoint_id: str) -> Endpoint | None:
        e = self.endpoints_by_id.get(endpoint_id)
        return e if e is not None and e.project_id == project_id else None

    async def delete_endpoint(self, project_id: str, endpoint_id: str) -> bool:
        if await self.endpoint(project_id, endpoint_id) is None:
            return False
        del self.endpoints_by_id[endpoint_id]
        return True

    async def set_enabled(self, project_id: str, endpoint_id: str,
                          enabled: bool) -> Endpoint | None:
        e = await self.endpoint(project_id, endpoint_id)
        if e is None:
            return None
        e = self.endpoints_by_id[endpoint_id] = replace(
            e, enabled=enabled, disabled_at=None if enabled else NOW,
            disabled_reason=None if enabled else "disabled by the project")
        return e

    async def rotate_secret(self, project_id: str, endpoint_id: str, secret: str,
                            overlap_hours: float) -> str | None:
        e = await self.endpoint(project_id, endpoint_id)
        if e is None:
            return None
        self.endpoints_by_id[endpoint_id] = replace(e, secret=secret)
        return secret

    # --- messages -----------------------------------------------------------------------------

    def _waiting(self, lane: Lane) -> list[Stored]:
        return sorted((s for s in self.messages_by_id.values()
                       if (s.message.endpoint_id, s.message.lane) == lane
                       and s.status in domain.WAITING), key=lambda s: s.seq)

    async def add_messages(self, messages: Sequence[NewMessage]) -> int:
        busy = {(m.endpoint_id, m.lane) for m in messages if self._waiting((m.endpoint_id, m.lane))}
        for m, ready in zip(messages, domain.ready_flags(messages, busy), strict=True):
            self._seq += 1
            self.messages_by_id[m.id] = Stored(m, self._seq, ready)
        return len(messages)

    def _requeue(self, stored: Stored) -> None:
        self._seq += 1
        stored.seq, stored.status, stored.ready = self._seq, "pending", False
        lane = (stored.message.endpoint_id, stored.message.lane)
        if not any(s.ready for s in self._waiting(lane)):
            self._waiting(lane)[0].ready = True

    async def message_for_replay(self, project_id: str, message_id: str) -> ReplayTarget | None:
        s = self.messages_by_id.get(message_id)
        if s is None or s.message.project_id != project_id:
            return None
        return ReplayTarget(s.status, s.message.endpoint_id, s.message.lane)

    async def requeue_message(self, message_id: str, lane: Lane) -> None:
        self._requeue(self.messages_by_id[message_id])

    async def replay_failed(self, endpoint_id: str, since: datetime | None) -> int:
        failed = sorted((s for s in self.messages_by_id.values()
                         if s.message.endpoint_id == endpoint_id and s.status == "failed"),
                        key=lambda s: s.seq)
        for s in failed:
            self._requeue(s)
        e = self.endpoints_by_id[endpoint_id]
        self.endpoints_by_id[endpoint_id] = replace(e, enabled=True, disabled_at=None,
                                                    disabled_reason=None)
        return len(failed)

    async def messages(self, project_id: str, where: MessageFilter, before_seq: int | None,
                       limit: int) -> list[Message]:
        rows = [s for s in sorted(self.messages_by_id.values(), key=lambda s: -s.seq)
                if s.message.project_id == project_id
                and where.endpoint_id in (None, s.message.endpoint_id)
                and where.event_type in (None, s.message.event_type)
                and where.status in (None, s.status)
                and (before_seq is None or s.seq < before_seq)]
        return [Message(s.message.id, s.seq, s.message.endpoint_id, s.message.connection_id,
                        s.message.event_type, s.status, s.message.body, 0, NOW,
                        s.message.created_at, None) for s in rows[:limit]]

    async def attempts(self, message_ids: Sequence[str]) -> list[Attempt]:
        return [a for m in message_ids for a in self.attempts_of.get(m, [])]

    # --- for tests ----------------------------------------------------------------------------

    def ready_lanes(self) -> list[tuple[str, bool]]:
        """(message id, ready) of the waiting messages, in delivery order."""
        return [(s.message.id, s.ready) for s in sorted(self.messages_by_id.values(),
                                                         key=lambda s: s.seq)
                if s.status in domain.WAITING]
