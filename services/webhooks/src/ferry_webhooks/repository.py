"""All SQL of the webhooks service."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
from ferry_kit.db import delete_in_batches

from . import domain

CHANNEL = "ferry_webhooks_messages"

# --- connections projection -------------------------------------------------------------------


async def connection(conn: asyncpg.Connection, connection_id: str) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM connections WHERE connection_id=$1 FOR UPDATE", connection_id)


async def upsert_connection(conn: asyncpg.Connection, c: dict[str, Any]) -> None:
    await conn.execute(
        """
        INSERT INTO connections (connection_id, project_id, user_id, provider_name, status, version)
        VALUES ($1,$2,$3,$4,$5,$6)
        ON CONFLICT (connection_id) DO UPDATE SET project_id=EXCLUDED.project_id, user_id=EXCLUDED.user_id,
            provider_name=EXCLUDED.provider_name, status=EXCLUDED.status, version=EXCLUDED.version
        """,
        c["connection_id"], c["project_id"], c["user_id"], c["provider_name"], c["status"], c["version"],
    )


async def delete_connection(conn: asyncpg.Connection, connection_id: str) -> None:
    await conn.execute("DELETE FROM connections WHERE connection_id=$1", connection_id)


async def user_ids(conn: asyncpg.Connection, connection_ids: Sequence[str]) -> dict[str, str | None]:
    rows = await conn.fetch(
        "SELECT connection_id, user_id FROM connections WHERE connection_id = ANY($1::text[])", list(connection_ids)
    )
    return {r["connection_id"]: r["user_id"] for r in rows}


# --- endpoints --------------------------------------------------------------------------------


async def insert_endpoint(conn: asyncpg.Connection, e: dict[str, Any]) -> asyncpg.Record:
    return await conn.fetchrow(
        """
        INSERT INTO endpoints (id, project_id, url, description, event_types, ordered, secret)
        VALUES ($1,$2,$3,$4,$5,$6,$7) RETURNING *
        """,
        e["id"], e["project_id"], e["url"], e["description"], e["event_types"], e["ordered"], e["secret"],
    )


async def endpoints(conn: asyncpg.Connection, project_id: str) -> list[asyncpg.Record]:
    return await conn.fetch("SELECT * FROM endpoints WHERE project_id=$1 ORDER BY created_at, id", project_id)


async def endpoint(conn: asyncpg.Connection, project_id: str, endpoint_id: str) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM endpoints WHERE project_id=$1 AND id=$2", project_id, endpoint_id)


async def enabled_endpoints(conn: asyncpg.Connection, project_ids: Sequence[str]) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT id, project_id, event_types, ordered FROM endpoints "
        "WHERE enabled AND project_id = ANY($1::text[]) ORDER BY created_at, id",
        list(project_ids),
    )


async def delete_endpoint(conn: asyncpg.Connection, project_id: str, endpoint_id: str) -> bool:
    done = await conn.execute("DELETE FROM endpoints WHERE project_id=$1 AND id=$2", project_id, endpoint_id)
    return done.endswith(" 1")


async def set_enabled(conn: asyncpg.Connection, project_id: str, endpoint_id: str,
                      enabled: bool) -> asyncpg.Record | None:
    """Pause or resume an endpoint by hand; its messages wait (pending) while it is disabled."""
    return await conn.fetchrow(
        "UPDATE endpoints SET enabled=$3, failing_since=NULL, "
        "disabled_at = CASE WHEN $3 THEN NULL ELSE coalesce(disabled_at, now()) END, "
        "disabled_reason = CASE WHEN $3 THEN NULL ELSE 'disabled by the project' END "
        "WHERE project_id=$1 AND id=$2 RETURNING *", project_id, endpoint_id, enabled)


async def rotate_secret(conn: asyncpg.Connection, project_id: str, endpoint_id: str, secret: str,
                        overlap_hours: float) -> asyncpg.Record | None:
    return await conn.fetchrow(
        """
        UPDATE endpoints SET previous_secret = secret, secret = $3,
            previous_secret_until = now() + make_interval(secs => $4 * 3600)
        WHERE project_id=$1 AND id=$2 RETURNING id, secret
        """,
        project_id, endpoint_id, secret, overlap_hours,
    )


# --- messages: creation -----------------------------------------------------------------------


@dataclass
class NewMessage:
    id: str
    project_id: str
    endpoint_id: str
    connection_id: str | None
    lane: str
    ordered: bool
    event_id: Any
    event_type: str
    body: str
    created_at: datetime


async def lock_lanes(conn: asyncpg.Connection, lanes: set[tuple[str, str]]) -> None:
    """Serialize writers of the same lanes (in a fixed order, so no deadlock)."""
    keys = sorted({domain.lane_lock_key(ep, name) for ep, name in lanes})
    if keys:
        await conn.execute(
            "SELECT pg_advisory_xact_lock(k) FROM (SELECT unnest($1::bigint[]) AS k) s", keys
        )


async def insert_messages(conn: asyncpg.Connection, messages: list[NewMessage]) -> int:
    """Insert in bulk; in an ordered lane only the oldest undelivered message is ready."""
    if not messages:
        return 0
    ordered_lanes = {(m.endpoint_id, m.lane) for m in messages if m.ordered}
    busy: set[tuple[str, str]] = set()
    if ordered_lanes:
        await lock_lanes(conn, ordered_lanes)
        eps, lns = zip(*ordered_lanes, strict=True)
        rows = await conn.fetch(
            """
            SELECT l.e, l.l FROM unnest($1::text[], $2::text[]) AS l(e, l)
            -- One index probe per lane, whatever the statistics say (a semi-join planned on
            -- none could hash every undelivered message).
            CROSS JOIN LATERAL (SELECT 1 FROM messages m WHERE m.endpoint_id = l.e AND m.lane = l.l
                                AND m.status IN ('pending', 'retrying') LIMIT 1) busy
            """,
            list(eps), list(lns),
        )
        busy = {(r["e"], r["l"]) for r in rows}
    ready: list[bool] = []
    for m in messages:
        if not m.ordered:
            ready.append(True)
        elif (m.endpoint_id, m.lane) in busy:
            ready.append(False)
        else:
            busy.add((m.endpoint_id, m.lane))
            ready.append(True)
    await conn.execute(
        """
        INSERT INTO messages (id, project_id, endpoint_id, connection_id, lane, event_id, event_type, body,
                              ready, created_at)
        SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::uuid[], $7::text[],
                             $8::text[], $9::bool[], $10::timestamptz[])
        """,
        [m.id for m in messages], [m.project_id for m in messages], [m.endpoint_id for m in messages],
        [m.connection_id for m in messages], [m.lane for m in messages], [m.event_id for m in messages],
        [m.event_type for m in messages], [m.body for m in messages], ready, [m.created_at for m in messages],
    )
    await conn.execute(f"NOTIFY {CHANNEL}")
    return len(messages)


# --- messages: delivery -----------------------------------------------------------------------


async def claim(conn: asyncpg.Connection, limit: int, full_endpoints: Sequence[str], per_endpoint: int) -> list[asyncpg.Record]:
    """Due ready messages of enabled endpoints not at their concurrency limit, row-locked: at
    most `per_endpoint` of each, oldest first. Each endpoint's oldest due messages are found
    through its own index range, so a long backlog at one endpoint costs the others nothing."""
    return await conn.fetch(
        """
        SELECT c.id, e.id AS endpoint_id, c.lane, c.tries, c.body, e.url, e.ordered, e.secret,
               CASE WHEN e.previous_secret_until > now() THEN e.previous_secret END AS previous_secret
        FROM endpoints e
        CROSS JOIN LATERAL (
            SELECT m.id, m.lane, m.tries, m.body, m.next_attempt_at FROM messages m
            WHERE m.endpoint_id = e.id AND m.ready AND m.status IN ('pending', 'retrying')
              AND m.next_attempt_at <= now()
            ORDER BY m.next_attempt_at LIMIT $3
            FOR UPDATE SKIP LOCKED
        ) c
        WHERE e.enabled AND NOT (e.id = ANY($2::text[]))
        ORDER BY c.next_attempt_at LIMIT $1
        """,
        limit, list(full_endpoints), per_endpoint,
    )


async def seconds_until_next_due(conn: asyncpg.Connection) -> float | None:
    """Seconds until the earliest waiting message of an enabled endpoint is due; None: none."""
    return await conn.fetchval(
        """
        SELECT extract(epoch FROM min(c.next_attempt_at) - now())::float8 FROM endpoints e
        CROSS JOIN LATERAL (
            SELECT m.next_attempt_at FROM messages m
            WHERE m.endpoint_id = e.id AND m.ready AND m.status IN ('pending', 'retrying')
            ORDER BY m.next_attempt_at LIMIT 1
        ) c
        WHERE e.enabled
        """
    )


async def lease(conn: asyncpg.Connection, ids: Sequence[str], seconds: float) -> None:
    await conn.execute(
        "UPDATE messages SET next_attempt_at = now() + make_interval(secs => $2) WHERE id = ANY($1::text[])",
        list(ids), seconds,
    )


@dataclass
class Outcome:
    message_id: str
    endpoint_id: str
    lane: str
    attempted_at: datetime
    response_status: int | None
    latency_ms: float
    error: str | None
    excerpt: str | None
    status: str  # delivered | retrying | failed
    tries: int
    next_attempt_at: datetime | None


async def record_outcomes(conn: asyncpg.Connection, outcomes: list[Outcome]) -> None:
    """Store attempts and their effect on messages; a finished lane head lets the next one go."""
    finished = {(o.endpoint_id, o.lane) for o in outcomes if o.status in ("delivered", "failed")}
    await lock_lanes(conn, finished)
    await conn.execute(
        """
        INSERT INTO attempts (message_id, attempted_at, response_status, latency_ms, error, response_excerpt)
        SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::int[], $4::float8[], $5::text[], $6::text[])
        """,
        [o.message_id for o in outcomes], [o.attempted_at for o in outcomes], [o.response_status for o in outcomes],
        [o.latency_ms for o in outcomes], [o.error for o in outcomes], [o.excerpt for o in outcomes],
    )
    await conn.execute(
        """
        UPDATE messages m SET status = o.status, tries = o.tries, attempt_count = m.attempt_count + 1,
            next_attempt_at = coalesce(o.next_at, m.next_attempt_at),
            delivered_at = CASE WHEN o.status = 'delivered' THEN o.at ELSE m.delivered_at END,
            last_error = o.error
        FROM unnest($1::text[], $2::text[], $3::int[], $4::timestamptz[], $5::timestamptz[], $6::text[])
             AS o(id, status, tries, next_at, at, error)
        WHERE m.id = o.id
        """,
        [o.message_id for o in outcomes], [o.status for o in outcomes], [o.tries for o in outcomes],
        [o.next_attempt_at for o in outcomes], [o.attempted_at for o in outcomes],
        [o.error or (f"HTTP {o.response_status}" if o.status != "delivered" else None) for o in outcomes],
    )
    if finished:
        await promote(conn, finished)


async def promote(conn: asyncpg.Connection, lanes: set[tuple[str, str]]) -> None:
    """Make each lane's oldest waiting message ready, unless the lane already has one ready."""
    eps, lns = zip(*lanes, strict=True)
    await conn.execute(
        """
        UPDATE messages SET ready = true WHERE NOT ready AND id IN (
            SELECT (SELECT m.id FROM messages m WHERE m.endpoint_id = l.e AND m.lane = l.l
                      AND m.status IN ('pending', 'retrying') ORDER BY m.seq LIMIT 1)
            FROM unnest($1::text[], $2::text[]) AS l(e, l)
            WHERE NOT EXISTS (SELECT 1 FROM messages r WHERE r.endpoint_id = l.e AND r.lane = l.l
                              AND r.ready AND r.status IN ('pending', 'retrying')))
        """,
        list(eps), list(lns),
    )


async def endpoint_health(conn: asyncpg.Connection, failed: dict[str, datetime], ok: Sequence[str],
                          disable_after_hours: float) -> list[str]:
    """Track continuous failure per endpoint; returns the endpoints disabled now."""
    disabled: list[str] = []
    if failed:
        await conn.execute(
            """
            UPDATE endpoints e SET failing_since = coalesce(e.failing_since, f.at)
            FROM unnest($1::text[], $2::timestamptz[]) AS f(id, at) WHERE e.id = f.id
            """,
            list(failed), list(failed.values()),
        )
    if ok:
        await conn.execute(
            "UPDATE endpoints SET failing_since = NULL WHERE id = ANY($1::text[]) AND failing_since IS NOT NULL",
            list(ok),
        )
    if failed:
        rows = await conn.fetch(
            """
            UPDATE endpoints SET enabled = false, disabled_at = now(),
                disabled_reason = 'every delivery failed since ' || to_char(failing_since AT TIME ZONE 'UTC',
                    'YYYY-MM-DD"T"HH24:MI:SS"Z"') || ' (' || $2::text || ' hours without a success)'
            WHERE id = ANY($1::text[]) AND enabled AND failing_since <= now() - make_interval(secs => $2 * 3600)
            RETURNING id
            """,
            list(failed), disable_after_hours,
        )
        disabled = [r["id"] for r in rows]
    return disabled


# --- messages: API ----------------------------------------------------------------------------


async def messages(conn: asyncpg.Connection, project_id: str, *, endpoint_id: str | None, event_type: str | None,
                   status: str | None, before_seq: int | None, limit: int) -> list[asyncpg.Record]:
    return await conn.fetch(
        """
        SELECT * FROM messages WHERE project_id=$1
          AND ($2::text IS NULL OR endpoint_id=$2) AND ($3::text IS NULL OR event_type=$3)
          AND ($4::text IS NULL OR status=$4) AND ($5::bigint IS NULL OR seq < $5)
        ORDER BY seq DESC LIMIT $6
        """,
        project_id, endpoint_id, event_type, status, before_seq, limit,
    )


async def attempts(conn: asyncpg.Connection, message_ids: Sequence[str]) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT * FROM attempts WHERE message_id = ANY($1::text[]) ORDER BY message_id, id", list(message_ids)
    )


async def replay_message(conn: asyncpg.Connection, project_id: str, message_id: str) -> bool | None:
    """None: unknown; otherwise made due again (a finished message) or left alone (one under way)."""
    row = await conn.fetchrow(
        "SELECT status, endpoint_id, lane FROM messages WHERE project_id=$1 AND id=$2 FOR UPDATE",
        project_id, message_id,
    )
    if row is None:
        return None
    if row["status"] in ("pending", "retrying"):
        return False
    lane = (row["endpoint_id"], row["lane"])
    await lock_lanes(conn, {lane})
    await _requeue(conn, "id = $1", message_id)
    await promote(conn, {lane})
    await conn.execute(f"NOTIFY {CHANNEL}")
    return True


async def _requeue(conn: asyncpg.Connection, where: str, *args: Any) -> int:
    """Put finished messages back at the end of their lanes, in their original order: a replay
    is a new delivery and must not overtake what already waits in an ordered lane."""
    done = await conn.execute(
        f"""
        UPDATE messages m SET status='pending', ready=false, tries=0, next_attempt_at=now(),
               seq=q.seq
        FROM (SELECT o.id, nextval(pg_get_serial_sequence('messages', 'seq')) AS seq
              FROM (SELECT id FROM messages WHERE {where} ORDER BY seq) o) q
        WHERE m.id = q.id
        """,
        *args,
    )
    return int(done.split()[-1])


async def replay_failed(conn: asyncpg.Connection, endpoint_id: str, since: datetime | None) -> int:
    """Every failed message of the endpoint (since a time) becomes due again; the endpoint is re-enabled."""
    await conn.execute(
        "UPDATE endpoints SET enabled=true, failing_since=NULL, disabled_at=NULL, disabled_reason=NULL "
        "WHERE id=$1 AND NOT enabled",
        endpoint_id,
    )
    lanes = await conn.fetch(
        "SELECT DISTINCT lane FROM messages WHERE endpoint_id=$1 AND status='failed' "
        "AND ($2::timestamptz IS NULL OR created_at >= $2)",
        endpoint_id, since,
    )
    await lock_lanes(conn, {(endpoint_id, r["lane"]) for r in lanes})
    done = await _requeue(
        conn,
        "endpoint_id=$1 AND status='failed' AND ($2::timestamptz IS NULL OR created_at >= $2)",
        endpoint_id, since,
    )
    if lanes:
        await promote(conn, {(endpoint_id, r["lane"]) for r in lanes})
    await conn.execute(f"NOTIFY {CHANNEL}")
    return done


async def prune_finished(conn: asyncpg.Connection, older_than_days: float) -> int:
    """Delivered and failed messages past the history's retention, with their attempts."""
    return await delete_in_batches(
        conn,
        "DELETE FROM messages WHERE id IN (SELECT id FROM messages WHERE status IN ('delivered', 'failed') "
        "AND created_at < now() - make_interval(secs => $1::float8 * 86400) LIMIT $2)",
        older_than_days,
    )
