"""The connections service's repository: named queries in, domain records out."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import asyncpg

from . import queries as q
from .domain import (
    Connection,
    ConnectSession,
    Integration,
    ModelConfig,
    NewConnectSession,
    NewIntegration,
    NewToken,
    ProjectConfig,
    StatusChange,
    Token,
    UniqueProviderTaken,
)


class Repository(Protocol):
    """What handlers and views may ask of the connections service's storage."""

    async def stored_project_config(self, project_id: str) -> ProjectConfig | None: ...
    async def project_config(self, project_id: str) -> ProjectConfig: ...
    async def put_project_config(self, project_id: str, config: ProjectConfig) -> None: ...
    async def lock_project_followers(self, project_id: str) -> list[Connection]: ...
    async def insert_connection(self, c: Connection, unique_key: str | None) -> Connection: ...
    async def connection(
        self, connection_id: str, project_id: str | None = None, *, lock: bool = False
    ) -> Connection | None: ...
    async def user_connections(self, project_id: str, user_id: str) -> list[Connection]: ...
    async def project_connections(
        self, project_id: str, *, user_id: str | None, provider_name: str | None,
        status: str | None, after: str | None, limit: int,
    ) -> list[Connection]: ...
    async def status_history(self, connection_id: str) -> list[StatusChange]: ...
    async def save(self, c: Connection) -> Connection: ...
    async def delete(self, connection_id: str) -> None: ...
    async def token(self, connection_id: str, *, lock: bool = False) -> Token | None: ...
    async def put_token(self, connection_id: str, token: NewToken) -> None: ...
    async def delete_credentials(self, connection_id: str) -> None: ...
    async def add_session(self, session: NewConnectSession) -> None: ...
    async def take_session(
        self, state_hash: bytes, browser_hash: bytes
    ) -> ConnectSession | None: ...
    async def drop_sessions(self, connection_id: str) -> None: ...
    async def given_secret(self, connection_id: str) -> bytes | None: ...
    async def put_given_secret(self, connection_id: str, secret: bytes) -> None: ...
    async def integration(self, project_id: str, provider: str) -> Integration | None: ...
    async def integrations(self, project_id: str) -> list[Integration]: ...
    async def put_integration(self, i: NewIntegration) -> Integration: ...
    async def delete_integration(self, project_id: str, provider: str) -> bool: ...


def _connection(row: Mapping[str, Any]) -> Connection:
    own = row["sync_config"]
    scopes = row["granted_scopes"]
    return Connection(
        id=row["id"], project_id=row["project_id"], user_id=row["user_id"],
        provider_name=row["provider_name"], requested_data_types=list(row["requested_data_types"]),
        skip_permissions=row["skip_permissions"], return_url=row["return_url"],
        status=row["status"],
        sync_config=[ModelConfig.from_json(m) for m in own] if own is not None else None,
        granted_scopes=list(scopes) if scopes is not None else None,
        version=row["version"], created_at=row["created_at"],
        connected_at=row["connected_at"], disconnected_at=row["disconnected_at"],
        connection_config=dict(row["connection_config"] or {}),
    )


def _own_json(config: list[ModelConfig] | None) -> list[dict[str, Any]] | None:
    return [m.to_json() for m in config] if config is not None else None


def _integration(row: Mapping[str, Any]) -> Integration:
    return Integration(row["project_id"], row["provider"], row["client_id"], row["client_secret"],
                       list(row["scopes"]), row["api_base_url"], row["auth_base_url"],
                       row["created_at"], row["updated_at"])


def _token(row: Mapping[str, Any]) -> Token:
    return Token(access_token=row["access_token"], refresh_token=row["refresh_token"],
                 expires_at=row["expires_at"], scopes=list(row["scopes"]),
                 refreshed_at=row["refreshed_at"], connection_id=row["connection_id"],
                 updated_at=row["updated_at"])


class PgRepository:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    # ---- project sync config ----

    async def stored_project_config(self, project_id: str) -> ProjectConfig | None:
        row = await self._conn.fetchrow(q.PROJECT_CONFIG, project_id)
        if row is None:
            return None
        return ProjectConfig(tuple(ModelConfig.from_json(m) for m in row["data_models"]),
                             row["full_sync_interval_hours"], row["record_events_on_initial_sync"],
                             tuple(row["allowed_return_origins"]))

    async def project_config(self, project_id: str) -> ProjectConfig:
        return await self.stored_project_config(project_id) or ProjectConfig()

    async def put_project_config(self, project_id: str, config: ProjectConfig) -> None:
        await self._conn.execute(
            q.UPSERT_PROJECT_CONFIG, project_id,
            [m.to_json(with_sync_from=False) for m in config.data_models],
            config.full_sync_interval_hours, config.record_events_on_initial_sync,
            list(config.allowed_return_origins),
        )

    async def lock_project_followers(self, project_id: str) -> list[Connection]:
        rows = await self._conn.fetch(q.PROJECT_FOLLOWERS_FOR_UPDATE, project_id)
        return [_connection(r) for r in rows]

    # ---- connections ----

    async def insert_connection(self, c: Connection, unique_key: str | None) -> Connection:
        try:
            row = await self._conn.fetchrow(
                q.INSERT_CONNECTION, c.id, c.project_id, c.user_id, c.provider_name, unique_key,
                c.requested_data_types, c.skip_permissions, c.return_url, c.status,
                _own_json(c.sync_config), c.granted_scopes, c.connected_at, c.connection_config,
            )
        except asyncpg.UniqueViolationError:
            raise UniqueProviderTaken(c.provider_name) from None
        return _connection(row)

    async def connection(
        self, connection_id: str, project_id: str | None = None, *, lock: bool = False
    ) -> Connection | None:
        sql = q.CONNECTION_FOR_UPDATE if lock else q.CONNECTION
        row = await self._conn.fetchrow(sql, connection_id, project_id)
        return _connection(row) if row is not None else None

    async def user_connections(self, project_id: str, user_id: str) -> list[Connection]:
        rows = await self._conn.fetch(q.USER_CONNECTIONS, project_id, user_id)
        return [_connection(r) for r in rows]

    async def project_connections(
        self, project_id: str, *, user_id: str | None, provider_name: str | None,
        status: str | None, after: str | None, limit: int,
    ) -> list[Connection]:
        rows = await self._conn.fetch(q.PROJECT_CONNECTIONS, project_id, user_id, provider_name,
                                      status, after, limit)
        return [_connection(r) for r in rows]

    async def status_history(self, connection_id: str) -> list[StatusChange]:
        rows = await self._conn.fetch(q.STATUS_HISTORY, connection_id)
        return [StatusChange(**r) for r in rows]

    async def save(self, c: Connection) -> Connection:
        """Write the mutable fields and bump the version; returns the stored row."""
        row = await self._conn.fetchrow(
            q.SAVE_CONNECTION, c.id, c.requested_data_types, c.status, _own_json(c.sync_config),
            c.granted_scopes, c.connected_at, c.disconnected_at, c.connection_config,
        )
        return _connection(row)

    async def delete(self, connection_id: str) -> None:
        await self._conn.execute(q.DELETE_CONNECTION, connection_id)

    # ---- tokens and given credentials ----

    async def token(self, connection_id: str, *, lock: bool = False) -> Token | None:
        row = await self._conn.fetchrow(q.TOKEN_FOR_UPDATE if lock else q.TOKEN, connection_id)
        return _token(row) if row is not None else None

    async def put_token(self, connection_id: str, token: NewToken) -> None:
        await self._conn.execute(
            q.UPSERT_TOKEN, connection_id, token.access_token, token.refresh_token,
            token.expires_at, token.scopes, token.refreshed_at,
        )

    async def delete_credentials(self, connection_id: str) -> None:
        """Every credential of the connection goes: tokens and what an end user gave."""
        await self._conn.execute(q.DELETE_TOKEN, connection_id)
        await self._conn.execute(q.DELETE_GIVEN_SECRET, connection_id)

    async def given_secret(self, connection_id: str) -> bytes | None:
        secret: bytes | None = await self._conn.fetchval(q.GIVEN_SECRET, connection_id)
        return secret

    async def put_given_secret(self, connection_id: str, secret: bytes) -> None:
        await self._conn.execute(q.UPSERT_GIVEN_SECRET, connection_id, secret)

    # ---- authorizations in flight ----

    async def add_session(self, s: NewConnectSession) -> None:
        await self._conn.execute(q.DELETE_EXPIRED_SESSIONS)
        await self._conn.execute(
            q.INSERT_SESSION, s.state_hash, s.connection_id, s.code_verifier, s.scopes,
            s.resume_status, s.expires_at, s.browser_hash,
        )

    async def take_session(self, state_hash: bytes, browser_hash: bytes) -> ConnectSession | None:
        row = await self._conn.fetchrow(q.TAKE_SESSION, state_hash, browser_hash)
        if row is None:
            return None
        return ConnectSession(row["connection_id"], row["code_verifier"], list(row["scopes"]),
                              row["resume_status"], row["expires_at"])

    async def drop_sessions(self, connection_id: str) -> None:
        await self._conn.execute(q.DELETE_SESSIONS, connection_id)

    # ---- integrations ----

    async def integration(self, project_id: str, provider: str) -> Integration | None:
        row = await self._conn.fetchrow(q.INTEGRATION, project_id, provider)
        return _integration(row) if row is not None else None

    async def integrations(self, project_id: str) -> list[Integration]:
        return [_integration(r) for r in await self._conn.fetch(q.INTEGRATIONS, project_id)]

    async def put_integration(self, i: NewIntegration) -> Integration:
        row = await self._conn.fetchrow(
            q.UPSERT_INTEGRATION, i.project_id, i.provider, i.client_id, i.client_secret,
            i.scopes, i.api_base_url, i.auth_base_url,
        )
        return _integration(row)

    async def delete_integration(self, project_id: str, provider: str) -> bool:
        done: str = await self._conn.execute(q.DELETE_INTEGRATION, project_id, provider)
        return done.endswith(" 1")
