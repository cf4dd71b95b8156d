"""Ingest of pages: which records need a write, COPY of new ones, upsert of changed ones, cursor
positions and the running counts of a job."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg
from ferry_kit.db import delete_in_batches


async def to_write(conn: asyncpg.Connection, connection_id: str, data_model: str, ids_json: str,
                   hashes: bytes, seen_by: str | None) -> tuple[dict[int, bool], int]:
    """Which of these records (ids as a JSON array, their 16-byte hashes end to end) need a write:
    {index in the list: whether a row is stored for it (changed or deleted) or not (new)}. A
    record stored live with the same content hash needs nothing and is left out.

    With `seen_by` (a full sync's job id) the unchanged ones are noted as seen by that job (records
    the job writes need no note: their cursor position says so); returns how many were noted.
    Two binds instead of two arrays of thousands of elements, and rows back only for the records
    to write: on a re-sync that is the few that changed.
    """
    rows = await conn.fetch(
        """
        WITH t AS MATERIALIZED (
            SELECT t.id, t.ord, o.hash IS NOT NULL AS stored,
                   o.live AND o.hash = substring($4::bytea FROM (t.ord::int - 1) * 16 + 1 FOR 16) AS same
            FROM jsonb_array_elements_text($3::text::jsonb) WITH ORDINALITY AS t(id, ord)
            -- A primary-key probe per record, whatever the statistics say: a plain join lets a
            -- planner that believes the table is empty (a first sync) hash the whole model.
            LEFT JOIN LATERAL (SELECT o.hash, o.deleted_at IS NULL AS live FROM records o
                               WHERE o.connection_id=$1 AND o.data_model=$2 AND o.record_id=t.id LIMIT 1) o ON true
        ),
        noted AS (
            INSERT INTO seen (job_id, record_ids)
            SELECT $5, array_agg(id) FROM t WHERE same AND $5::text IS NOT NULL HAVING count(*) > 0
            RETURNING cardinality(record_ids) AS n
        )
        SELECT ord::int - 1 AS i, stored, NULL::bigint AS noted FROM t WHERE same IS NOT TRUE
        UNION ALL SELECT NULL, NULL, coalesce(sum(n), 0) FROM noted
        """,
        connection_id, data_model, ids_json, hashes, seen_by,
    )
    return {r["i"]: r["stored"] for r in rows if r["i"] is not None}, sum(r["noted"] or 0 for r in rows)


_NEW_COLUMNS = ["connection_id", "data_model", "record_id", "data", "hash", "action", "position", "provider_updated_at"]


async def insert_new(conn: asyncpg.Connection, connection_id: str, data_model: str,
                     rows: list[tuple[str, Any, bytes, int, datetime | None]]) -> None:
    """COPY records that have no row yet: (record_id, data, hash, position, provider time). The
    caller holds the connection's cursor lock, taken before it probed, so no other writer can
    have added one of these ids since. `data` may be an `orjson.Fragment` of canonical JSON."""
    await conn.copy_records_to_table(
        "records", columns=_NEW_COLUMNS,
        records=[(connection_id, data_model, rid, data, h, "created", pos, pua) for rid, data, h, pos, pua in rows],
    )


async def transaction_time(conn: asyncpg.Connection) -> datetime:
    """`now()`: what this transaction writes as `modified_at`."""
    return await conn.fetchval("SELECT now()")


async def upsert_page(
    conn: asyncpg.Connection, connection_id: str, data_model: str, records_json: str, hashes: bytes,
    updated_at: list[datetime | None], positions_json: str,
) -> list[asyncpg.Record]:
    """Upsert changed (or deleted and back) records in one statement; returns those written.

    The records travel as one JSON array, already serialised canonically by the caller (a single
    text bind, parsed by Postgres in C), with their 16-byte hashes end to end, provider times and
    cursor positions alongside. A record whose stored hash is equal (and that is not deleted) is
    left alone by the ON CONFLICT filter. `old_data`, the version before this statement, comes
    back for updates.
    """
    return await conn.fetch(
        """
        WITH s AS (
            -- ROWS FROM zips the lists in one pass (a join on the ordinality would let the
            -- planner pick a nested loop: quadratic in the batch size).
            SELECT t.e->>'id' AS record_id, t.e AS data, substring($4::bytea FROM (t.ord::int - 1) * 16 + 1 FOR 16) AS hash,
                   t.pua, t.position::bigint AS position
            FROM ROWS FROM (jsonb_array_elements($3::text::jsonb), unnest($5::timestamptz[]),
                            jsonb_array_elements_text($6::text::jsonb)) WITH ORDINALITY AS t(e, pua, position, ord)
        ),
        up AS (
            INSERT INTO records AS r (connection_id, data_model, record_id, data, hash, action, position, provider_updated_at)
            SELECT $1, $2, s.record_id, s.data, s.hash, 'created', s.position, s.pua FROM s
            ON CONFLICT (connection_id, data_model, record_id) DO UPDATE SET
                data = EXCLUDED.data, hash = EXCLUDED.hash, version = r.version + 1,
                action = CASE WHEN r.deleted_at IS NULL THEN 'updated' ELSE 'created' END,
                position = EXCLUDED.position, provider_updated_at = EXCLUDED.provider_updated_at,
                modified_at = now(), deleted_at = NULL
            WHERE r.hash <> EXCLUDED.hash OR r.deleted_at IS NOT NULL
            RETURNING r.record_id, r.action, r.position, r.modified_at
        )
        SELECT up.record_id, up.action, up.position, up.modified_at,
               CASE WHEN up.action = 'updated' THEN
                   (SELECT o.data FROM records o WHERE o.connection_id=$1 AND o.data_model=$2 AND o.record_id=up.record_id)
               END AS old_data
        FROM up ORDER BY up.position
        """,
        connection_id, data_model, records_json, hashes, updated_at, positions_json,
    )


async def take_positions(conn: asyncpg.Connection, connection_id: str, n: int) -> int:
    """Reserve n consecutive cursor positions; returns the first. Holds the connection's cursor
    row lock until commit, so a later writer's positions can only commit after these."""
    last = await conn.fetchval(
        "INSERT INTO cursors (connection_id, position) VALUES ($1, $2) "
        "ON CONFLICT (connection_id) DO UPDATE SET position = cursors.position + EXCLUDED.position "
        "RETURNING position",
        connection_id, n,
    )
    return int(last) - n + 1


async def lock_cursor(conn: asyncpg.Connection, connection_id: str) -> None:
    """Take the connection's cursor lock before counting rows that will get positions."""
    await conn.execute("INSERT INTO cursors (connection_id) VALUES ($1) ON CONFLICT DO NOTHING", connection_id)
    await conn.execute("SELECT 1 FROM cursors WHERE connection_id=$1 FOR UPDATE", connection_id)


async def add_counts(conn: asyncpg.Connection, job_id: str, connection_id: str, data_model: str, *,
                     fetched: int, created: int, updated: int, unchanged: int, seen: int, first_position: int | None) -> None:
    await conn.execute(
        """
        INSERT INTO jobs (job_id, connection_id, data_model, fetched, created, updated, unchanged, seen, first_position)
        VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)
        ON CONFLICT (job_id) DO UPDATE SET fetched = jobs.fetched + $4, created = jobs.created + $5,
            updated = jobs.updated + $6, unchanged = jobs.unchanged + $7, seen = jobs.seen + $8,
            first_position = coalesce(jobs.first_position, $9)
        """,
        job_id, connection_id, data_model, fetched, created, updated, unchanged, seen, first_position,
    )


async def seen_intact(conn: asyncpg.Connection, job_id: str) -> bool:
    """The seen-ids table is unlogged (fast, but emptied if Postgres crashes): deletions are
    computed only when it still holds every id the job's committed pages recorded."""
    return await conn.fetchval(
        "SELECT coalesce((SELECT seen FROM jobs WHERE job_id=$1), 0) = "
        "(SELECT coalesce(sum(cardinality(record_ids)), 0) FROM seen WHERE job_id=$1)",
        job_id,
    )


async def fetched_so_far(conn: asyncpg.Connection, job_id: str) -> int:
    """Records of the job's pages stored so far (each page counted once: the inbox sees to it)."""
    return await conn.fetchval("SELECT coalesce((SELECT fetched FROM jobs WHERE job_id=$1), 0)", job_id)


async def job_counts(conn: asyncpg.Connection, job_id: str) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM jobs WHERE job_id=$1", job_id)


async def end_job(conn: asyncpg.Connection, job_id: str, connection_id: str, data_model: str, deleted: int) -> None:
    await conn.execute("DELETE FROM seen WHERE job_id=$1", job_id)
    await conn.execute(
        """
        INSERT INTO jobs (job_id, connection_id, data_model, deleted, ended_at) VALUES ($1,$2,$3,$4, now())
        ON CONFLICT (job_id) DO UPDATE SET deleted = jobs.deleted + $4, ended_at = now()
        """,
        job_id, connection_id, data_model, deleted,
    )


async def prune_jobs(conn: asyncpg.Connection, older_than_days: float) -> int:
    """Counts (and any seen ids) of jobs begun before the history's retention."""
    await conn.execute("DELETE FROM seen WHERE job_id IN (SELECT job_id FROM jobs "
                       "WHERE created_at < now() - make_interval(secs => $1::float8 * 86400))", older_than_days)
    return await delete_in_batches(
        conn,
        "DELETE FROM jobs WHERE job_id IN (SELECT job_id FROM jobs "
        "WHERE created_at < now() - make_interval(secs => $1::float8 * 86400) LIMIT $2)",
        older_than_days,
    )


async def add_deleted(conn: asyncpg.Connection, job_id: str, connection_id: str, data_model: str,
                      deleted: int) -> None:
    """Deletions the provider listed during a job, counted in its `deleted` before it ends."""
    await conn.execute(
        """
        INSERT INTO jobs (job_id, connection_id, data_model, deleted) VALUES ($1,$2,$3,$4)
        ON CONFLICT (job_id) DO UPDATE SET deleted = jobs.deleted + $4
        """,
        job_id, connection_id, data_model, deleted,
    )
