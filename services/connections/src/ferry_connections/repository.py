"""All SQL of the connections service; rows come back as domain objects."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from .domain import Connection, Integration, ModelConfig, ProjectConfig

_COLUMNS = ("id, project_id, user_id, provider_name, requested_data_types, skip_permissions, return_url, "
            "status, sync_config, granted_scopes, version, created_at, connected_at, disconnected_at, "
            "connection_config")


def _connection(row: asyncpg.Record | None) -> Connection | None:
    if row is None:
        return None
    own = row["sync_config"]
    return Connection(
        id=row["id"], project_id=row["project_id"], user_id=row["user_id"], provider_name=row["provider_name"],
        requested_data_types=list(row["requested_data_types"]), skip_permissions=row["skip_permissions"],
        return_url=row["return_url"], status=row["status"],
        sync_config=[ModelConfig.from_json(m) for m in own] if own is not None else None,
        granted_scopes=list(row["granted_scopes"]) if row["granted_scopes"] is not None else None,
        version=row["version"], created_at=row["created_at"],
        connected_at=row["connected_at"], disconnected_at=row["disconnected_at"],
        connection_config=dict(row["connection_config"] or {}),
    )


def _own_json(config: list[ModelConfig] | None) -> list[dict[str, Any]] | None:
    return [m.to_json() for m in config] if config is not None else None


# ---- project sync config ----

async def project_config(conn: asyncpg.Connection, project_id: str) -> ProjectConfig:
    row = await conn.fetchrow("SELECT * FROM project_sync_configs WHERE project_id = $1", project_id)
    if row is None:
        return ProjectConfig()
    return ProjectConfig(tuple(ModelConfig.from_json(m) for m in row["data_models"]),
                         row["full_sync_interval_hours"], row["record_events_on_initial_sync"],
                         tuple(row["allowed_return_origins"]))


async def put_project_config(conn: asyncpg.Connection, project_id: str, config: ProjectConfig) -> None:
    await conn.execute(
        "INSERT INTO project_sync_configs (project_id, data_models, full_sync_interval_hours, "
        "record_events_on_initial_sync, allowed_return_origins) VALUES ($1, $2, $3, $4, $5) "
        "ON CONFLICT (project_id) DO UPDATE SET "
        "data_models = EXCLUDED.data_models, full_sync_interval_hours = EXCLUDED.full_sync_interval_hours, "
        "record_events_on_initial_sync = EXCLUDED.record_events_on_initial_sync, "
        "allowed_return_origins = EXCLUDED.allowed_return_origins, updated_at = now()",
        project_id, [m.to_json(with_sync_from=False) for m in config.data_models],
        config.full_sync_interval_hours, config.record_events_on_initial_sync,
        list(config.allowed_return_origins),
    )


async def lock_project_followers(conn: asyncpg.Connection, project_id: str) -> list[Connection]:
    """The project's connections that follow its sync config, locked, oldest first."""
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM connections WHERE project_id = $1 AND sync_config IS NULL "
        "ORDER BY created_at, id FOR UPDATE", project_id)
    return [c for c in map(_connection, rows) if c is not None]


# ---- connections ----

async def insert_connection(conn: asyncpg.Connection, c: Connection, unique_key: str | None) -> Connection:
    row = await conn.fetchrow(
        f"INSERT INTO connections (id, project_id, user_id, provider_name, unique_key, requested_data_types, "
        "skip_permissions, return_url, status, sync_config, granted_scopes, connected_at, "
        f"connection_config) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13) RETURNING {_COLUMNS}",
        c.id, c.project_id, c.user_id, c.provider_name, unique_key, c.requested_data_types, c.skip_permissions,
        c.return_url, c.status, _own_json(c.sync_config), c.granted_scopes, c.connected_at,
        c.connection_config,
    )
    out = _connection(row)
    assert out is not None
    return out


async def get(conn: asyncpg.Connection, connection_id: str, project_id: str | None = None,
              *, lock: bool = False) -> Connection | None:
    sql = f"SELECT {_COLUMNS} FROM connections WHERE id = $1"
    args: list[Any] = [connection_id]
    if project_id is not None:
        sql += " AND project_id = $2"
        args.append(project_id)
    if lock:
        sql += " FOR UPDATE"
    return _connection(await conn.fetchrow(sql, *args))


async def list_for_user(conn: asyncpg.Connection, project_id: str, user_id: str) -> list[Connection]:
    rows = await conn.fetch(f"SELECT {_COLUMNS} FROM connections WHERE project_id = $1 AND user_id = $2 "
                            "ORDER BY created_at, id", project_id, user_id)
    return [c for c in map(_connection, rows) if c is not None]


async def list_for_project(conn: asyncpg.Connection, project_id: str, *, user_id: str | None,
                           provider_name: str | None, status: str | None, after: str | None,
                           limit: int) -> list[Connection]:
    """Newest first (ids grow with time); `after` is the last id of the previous page."""
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM connections WHERE project_id = $1 "
        "AND ($2::text IS NULL OR user_id = $2) AND ($3::text IS NULL OR provider_name = $3) "
        "AND ($4::text IS NULL OR status = $4) AND ($5::text IS NULL OR id < $5) "
        "ORDER BY id DESC LIMIT $6", project_id, user_id, provider_name, status, after, limit)
    return [c for c in map(_connection, rows) if c is not None]


async def status_history(conn: asyncpg.Connection, connection_id: str) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT status, previous_status, changed_at FROM connection_status_history "
        "WHERE connection_id = $1 ORDER BY changed_at, status", connection_id)


async def save(conn: asyncpg.Connection, c: Connection) -> Connection:
    """Write the mutable fields and bump the version; returns the stored row."""
    row = await conn.fetchrow(
        "UPDATE connections SET requested_data_types = $2, status = $3, sync_config = $4, granted_scopes = $5, "
        "connected_at = $6, disconnected_at = $7, connection_config = $8, version = version + 1 "
        f"WHERE id = $1 RETURNING {_COLUMNS}",
        c.id, c.requested_data_types, c.status, _own_json(c.sync_config), c.granted_scopes,
        c.connected_at, c.disconnected_at, c.connection_config,
    )
    out = _connection(row)
    assert out is not None
    return out


async def delete(conn: asyncpg.Connection, connection_id: str) -> None:
    # Tokens and authorizations in flight go with it (ON DELETE CASCADE).
    await conn.execute("DELETE FROM connections WHERE id = $1", connection_id)


# ---- tokens ----

async def token(conn: asyncpg.Connection, connection_id: str, *, lock: bool = False) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT connection_id, access_token, refresh_token, expires_at, scopes, refreshed_at, updated_at "
        "FROM tokens WHERE connection_id = $1" + (" FOR UPDATE" if lock else ""), connection_id)


async def put_token(conn: asyncpg.Connection, connection_id: str, access: bytes, refresh: bytes | None,
                    expires_at: datetime | None, scopes: list[str], refreshed_at: datetime | None) -> None:
    await conn.execute(
        "INSERT INTO tokens (connection_id, access_token, refresh_token, expires_at, scopes, refreshed_at) "
        "VALUES ($1,$2,$3,$4,$5,$6) ON CONFLICT (connection_id) DO UPDATE SET access_token = EXCLUDED.access_token, "
        "refresh_token = EXCLUDED.refresh_token, expires_at = EXCLUDED.expires_at, scopes = EXCLUDED.scopes, "
        "refreshed_at = EXCLUDED.refreshed_at, updated_at = now()",
        connection_id, access, refresh, expires_at, scopes, refreshed_at,
    )


async def delete_token(conn: asyncpg.Connection, connection_id: str) -> None:
    """Every credential of the connection goes: tokens and what an end user gave."""
    await conn.execute("DELETE FROM tokens WHERE connection_id = $1", connection_id)
    await conn.execute("DELETE FROM given_credentials WHERE connection_id = $1", connection_id)


# ---- authorizations in flight ----

async def add_session(conn: asyncpg.Connection, state_hash: bytes, connection_id: str, verifier: bytes,
                      scopes: list[str], resume_status: str, expires_at: datetime,
                      browser_hash: bytes) -> None:
    await conn.execute("DELETE FROM connect_sessions WHERE expires_at < now()")
    await conn.execute(
        "INSERT INTO connect_sessions (state_hash, connection_id, code_verifier, scopes, "
        "resume_status, expires_at, browser_hash) VALUES ($1,$2,$3,$4,$5,$6,$7)",
        state_hash, connection_id, verifier, scopes, resume_status, expires_at, browser_hash)


async def take_session(conn: asyncpg.Connection, state_hash: bytes,
                       browser_hash: bytes) -> asyncpg.Record | None:
    """The authorization of this `state` started by this browser, removed: a state is good for
    one callback only."""
    return await conn.fetchrow(
        "DELETE FROM connect_sessions WHERE state_hash = $1 AND browser_hash = $2 "
        "RETURNING connection_id, code_verifier, scopes, resume_status, expires_at",
        state_hash, browser_hash)


async def drop_sessions(conn: asyncpg.Connection, connection_id: str) -> None:
    """Void every authorization in flight of the connection (cancel)."""
    await conn.execute("DELETE FROM connect_sessions WHERE connection_id = $1", connection_id)


# ---- credentials an end user gave (API key, username and password) ----

async def given_secret(conn: asyncpg.Connection, connection_id: str) -> bytes | None:
    return await conn.fetchval(
        "SELECT secret FROM given_credentials WHERE connection_id = $1", connection_id)


async def put_given_secret(conn: asyncpg.Connection, connection_id: str, secret: bytes) -> None:
    await conn.execute(
        "INSERT INTO given_credentials (connection_id, secret) VALUES ($1, $2) "
        "ON CONFLICT (connection_id) DO UPDATE SET secret = EXCLUDED.secret, updated_at = now()",
        connection_id, secret)


# ---- integrations (a project's apps at providers) ----

_INTEGRATION = ("project_id, provider, client_id, client_secret, scopes, api_base_url, auth_base_url, "
                "created_at, updated_at")


def _integration(row: asyncpg.Record | None) -> Integration | None:
    if row is None:
        return None
    return Integration(row["project_id"], row["provider"], row["client_id"], row["client_secret"],
                       list(row["scopes"]), row["api_base_url"], row["auth_base_url"],
                       row["created_at"], row["updated_at"])


async def integration(conn: asyncpg.Connection, project_id: str,
                      provider: str) -> Integration | None:
    return _integration(await conn.fetchrow(
        f"SELECT {_INTEGRATION} FROM integrations WHERE project_id = $1 AND provider = $2",
        project_id, provider))


async def integrations(conn: asyncpg.Connection, project_id: str) -> list[Integration]:
    rows = await conn.fetch(f"SELECT {_INTEGRATION} FROM integrations WHERE project_id = $1 "
                            "ORDER BY provider", project_id)
    return [i for i in map(_integration, rows) if i is not None]


async def put_integration(conn: asyncpg.Connection, i: Integration) -> Integration:
    row = await conn.fetchrow(
        "INSERT INTO integrations (project_id, provider, client_id, client_secret, scopes, "
        "api_base_url, auth_base_url) VALUES ($1,$2,$3,$4,$5,$6,$7) "
        "ON CONFLICT (project_id, provider) DO UPDATE SET client_id = EXCLUDED.client_id, "
        "client_secret = EXCLUDED.client_secret, scopes = EXCLUDED.scopes, "
        "api_base_url = EXCLUDED.api_base_url, auth_base_url = EXCLUDED.auth_base_url, "
        f"updated_at = now() RETURNING {_INTEGRATION}",
        i.project_id, i.provider, i.client_id, i.client_secret, i.scopes, i.api_base_url,
        i.auth_base_url)
    out = _integration(row)
    assert out is not None
    return out


async def delete_integration(conn: asyncpg.Connection, project_id: str, provider: str) -> bool:
    done = await conn.execute("DELETE FROM integrations WHERE project_id = $1 AND provider = $2",
                              project_id, provider)
    return done.endswith(" 1")
