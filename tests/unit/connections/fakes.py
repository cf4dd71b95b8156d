"""An in-memory connections repository: the rules of the SQL (versions, unique providers,
single-use authorizations) without a database."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from ferry_connections.domain import (
    Connection,
    ConnectSession,
    Integration,
    NewConnectSession,
    NewIntegration,
    NewToken,
    ProjectConfig,
    StatusChange,
    Token,
    UniqueProviderTaken,
)

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


class FakeRepository:
    def __init__(self) -> None:
        self.projects: dict[str, ProjectConfig] = {}
        self.connections: dict[str, Connection] = {}
        self.unique: dict[str, str] = {}  # connection id -> unique key
        self.history: list[tuple[str, StatusChange]] = []
        self.tokens: dict[str, Token] = {}
        self.given: dict[str, bytes] = {}
        self.sessions: dict[bytes, NewConnectSession] = {}
        self.apps: dict[tuple[str, str], Integration] = {}

    async def stored_project_config(self, project_id: str) -> ProjectConfig | None:
        return self.projects.get(project_id)

    async def project_config(self, project_id: str) -> ProjectConfig:
        return self.projects.get(project_id, ProjectConfig())

    async def put_project_config(self, project_id: str, config: ProjectConfig) -> None:
        self.projects[project_id] = config

    async def lock_project_followers(self, project_id: str) -> list[Connection]:
        return [replace(c) for c in self.connections.values()
                if c.project_id == project_id and c.sync_config is None]

    async def insert_connection(self, c: Connection, unique_key: str | None) -> Connection:
        if unique_key is not None and any(
                key == unique_key and self.connections[cid].user_id == c.user_id
                and self.connections[cid].project_id == c.project_id
                for cid, key in self.unique.items()):
            raise UniqueProviderTaken(unique_key)
        if unique_key is not None:
            self.unique[c.id] = unique_key
        self.connections[c.id] = replace(c, version=1, created_at=EPOCH)
        self.history.append((c.id, StatusChange(c.status, None, EPOCH)))
        return replace(self.connections[c.id])

    async def connection(self, connection_id: str, project_id: str | None = None, *,
                         lock: bool = False) -> Connection | None:
        c = self.connections.get(connection_id)
        if c is None or (project_id is not None and c.project_id != project_id):
            return None
        return replace(c)

    async def user_connections(self, project_id: str, user_id: str) -> list[Connection]:
        return [replace(c) for c in self.connections.values()
                if c.project_id == project_id and c.user_id == user_id]

    async def project_connections(self, project_id: str, *, user_id: str | None,
                                  provider_name: str | None, status: str | None,
                                  after: str | None, limit: int) -> list[Connection]:
        found = [c for c in self.connections.values() if c.project_id == project_id
                 and user_id in (None, c.user_id) and provider_name in (None, c.provider_name)
                 and status in (None, c.status) and (after is None or c.id < after)]
        return sorted(found, key=lambda c: c.id, reverse=True)[:limit]

    async def status_history(self, connection_id: str) -> list[StatusChange]:
        return [s for cid, s in self.history if cid == connection_id]

    async def save(self, c: Connection) -> Connection:
        old = self.connections[c.id]
        if old.status != c.status:
            self.history.append((c.id, StatusChange(c.status, old.status, EPOCH)))
        self.connections[c.id] = replace(c, version=old.version + 1)
        return replace(self.connections[c.id])

    async def delete(self, connection_id: str) -> None:
        self.connections.pop(connection_id, None)
        self.unique.pop(connection_id, None)
        self.tokens.pop(connection_id, None)
        self.given.pop(connection_id, None)
        self.sessions = {k: s for k, s in self.sessions.items()
                         if s.connection_id != connection_id}

    async def token(self, connection_id: str, *, lock: bool = False) -> Token | None:
        return self.tokens.get(connection_id)

    async def put_token(self, connection_id: str, token: NewToken) -> None:
        self.tokens[connection_id] = Token(
            token.access_token, token.refresh_token, token.expires_at, token.scopes,
            token.refreshed_at, connection_id=connection_id, updated_at=EPOCH)

    async def delete_credentials(self, connection_id: str) -> None:
        self.tokens.pop(connection_id, None)
        self.given.pop(connection_id, None)

    async def add_session(self, session: NewConnectSession) -> None:
        self.sessions[session.state_hash] = session

    async def take_session(self, state_hash: bytes, browser_hash: bytes) -> ConnectSession | None:
        s = self.sessions.get(state_hash)
        if s is None or s.browser_hash != browser_hash:
            return None
        del self.sessions[state_hash]
        return s

    async def drop_sessions(self, connection_id: str) -> None:
        self.sessions = {k: s for k, s in self.sessions.items()
                         if s.connection_id != connection_id}

    async def given_secret(self, connection_id: str) -> bytes | None:
        return self.given.get(connection_id)

    async def put_given_secret(self, connection_id: str, secret: bytes) -> None:
        self.given[connection_id] = secret

    async def integration(self, project_id: str, provider: str) -> Integration | None:
        return self.apps.get((project_id, provider))

    async def integrations(self, project_id: str) -> list[Integration]:
        return [i for (p, _), i in sorted(self.apps.items()) if p == project_id]

    async def put_integration(self, i: NewIntegration) -> Integration:
        old = self.apps.get((i.project_id, i.provider))
        app = Integration(i.project_id, i.provider, i.client_id, i.client_secret, i.scopes,
                          i.api_base_url, i.auth_base_url, old.created_at if old else EPOCH,
                          EPOCH)
        self.apps[(i.project_id, i.provider)] = app
        return app

    async def delete_integration(self, project_id: str, provider: str) -> bool:
        return self.apps.pop((project_id, provider), None) is not None
