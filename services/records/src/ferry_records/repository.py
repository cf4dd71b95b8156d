"""All SQL of the records service. Functions take a connection; callers own the transaction."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import asyncpg


async def connection(conn: asyncpg.Connection, connection_id: str) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM connections WHERE connection_id=$1", connection_id)


async def remember_connection(conn: asyncpg.Connection, connection_id: str, project_id: str | None,
                              record_events: bool | None = None) -> None:
    await conn.execute(
        """
        INSERT INTO connections (connection_id, project_id, initial_sync_record_events)
        VALUES ($1, $2, coalesce($3, false))
        ON CONFLICT (connection_id) DO UPDATE SET
            project_id = coalesce(EXCLUDED.project_id, connections.project_id),
            initial_sync_record_events = coalesce($3, connections.initial_sync_record_events)
        """,
        connection_id, project_id, record_events,
    )


async def purge_connection(conn: asyncpg.Connection, connection_id: str) -> None:
    """Every record, count and hold of a deleted connection; a tombstone stays."""
    await conn.execute("DELETE FROM records WHERE connection_id=$1", connection_id)
    await conn.execute("DELETE FROM seen WHERE job_id IN (SELECT job_id FROM jobs WHERE connection_id=$1)", connection_id)
    await conn.execute("DELETE FROM jobs WHERE connection_id=$1", connection_id)
    await conn.execute("DELETE FROM held_deletions WHERE connection_id=$1", connection_id)
    await conn.execute("DELETE FROM model_state WHERE connection_id=$1", connection_id)
    await conn.execute("DELETE FROM cursors WHERE connection_id=$1", connection_id)
    await conn.execute(
        "INSERT INTO connections (connection_id, deleted) VALUES ($1, true) "
        "ON CONFLICT (connection_id) DO UPDATE SET deleted = true", connection_id,
    )


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


_UNSEEN = """
    SELECT l.record_id FROM records l
    WHERE l.connection_id=$1 AND l.data_model=$2 AND l.deleted_at IS NULL
      -- written by this job (or after it began writing): seen without a note
      AND l.position < coalesce((SELECT j.first_position FROM jobs j WHERE j.job_id=$3), 9223372036854775807)
      AND ($4::timestamptz IS NULL OR l.provider_updated_at >= $4)
      AND ($5::timestamptz IS NULL OR l.modified_at < $5)
    EXCEPT  -- set-based: one pass over the model and the notes, whatever the statistics
    SELECT unnest(s.record_ids) FROM seen s WHERE s.job_id=$3
"""


@contextlib.asynccontextmanager
async def _set_based(conn: asyncpg.Connection) -> AsyncIterator[None]:
    """Joins of a whole model run as hash joins for the statements inside. Right after a sync
    wrote thousands of rows the planner may still believe the connection has one: it then
    picks a nested loop that rescans one side per row of the other, quadratic in the model.
    On error the transaction is rolled back, which undoes the setting as well."""
    await conn.execute("SET LOCAL enable_nestloop = off")
    yield
    await conn.execute("SET LOCAL enable_nestloop = on")


async def count_unseen(conn: asyncpg.Connection, connection_id: str, data_model: str, job_id: str,
                       window_start: datetime | None, job_started: datetime | None) -> int:
    """Live records a complete full sync did not see: inside the job's `sync_from` window and not
    written after the job started (a write-back during the sync is not a deletion)."""
    return await conn.fetchval(f"SELECT count(*) FROM ({_UNSEEN}) u", connection_id, data_model, job_id, window_start,
                               job_started)


async def count_live(conn: asyncpg.Connection, connection_id: str, data_model: str) -> int:
    return await conn.fetchval(
        "SELECT count(*) FROM records WHERE connection_id=$1 AND data_model=$2 AND deleted_at IS NULL",
        connection_id, data_model,
    )


async def hold_unseen(conn: asyncpg.Connection, connection_id: str, data_model: str, job_id: str,
                      window_start: datetime | None, job_started: datetime | None) -> int:
    await conn.execute("DELETE FROM held_deletions WHERE connection_id=$1 AND data_model=$2", connection_id, data_model)
    status = await conn.execute(
        f"INSERT INTO held_deletions (connection_id, data_model, record_id, job_id) SELECT $1, $2, u.record_id, $3 FROM ({_UNSEEN}) u",
        connection_id, data_model, job_id, window_start, job_started,
    )
    return int(status.split()[-1])


async def delete_unseen(conn: asyncpg.Connection, connection_id: str, data_model: str, job_id: str,
                        window_start: datetime | None, job_started: datetime | None, first_position: int) -> list[asyncpg.Record]:
    async with _set_based(conn):
        return await conn.fetch(
            f"""
            WITH gone AS MATERIALIZED (
                SELECT u.record_id, $6::bigint - 1 + row_number() OVER (ORDER BY u.record_id) AS position FROM ({_UNSEEN}) u
            )
            UPDATE records r SET deleted_at = now(), modified_at = now(), action = 'deleted',
                   position = gone.position, version = r.version + 1
            FROM gone WHERE r.connection_id=$1 AND r.data_model=$2 AND r.record_id = gone.record_id
            RETURNING r.record_id, r.position, r.modified_at, r.data
            """,
            connection_id, data_model, job_id, window_start, job_started, first_position,
        )


async def count_held_live(conn: asyncpg.Connection, connection_id: str, data_model: str) -> int:
    async with _set_based(conn):
        return await conn.fetchval(
            """
            SELECT count(*) FROM held_deletions h JOIN records r USING (connection_id, data_model, record_id)
            WHERE h.connection_id=$1 AND h.data_model=$2 AND r.deleted_at IS NULL AND r.modified_at <= h.held_at
            """,
            connection_id, data_model,
        )


async def delete_held(conn: asyncpg.Connection, connection_id: str, data_model: str, first_position: int) -> list[asyncpg.Record]:
    """Apply held deletions, except for records changed since they were held (they came back)."""
    async with _set_based(conn):
        rows = await conn.fetch(
            """
            WITH gone AS MATERIALIZED (
                SELECT h.record_id, $3::bigint - 1 + row_number() OVER (ORDER BY h.record_id) AS position
                FROM held_deletions h JOIN records r USING (connection_id, data_model, record_id)
                WHERE h.connection_id=$1 AND h.data_model=$2 AND r.deleted_at IS NULL AND r.modified_at <= h.held_at
            )
        UPDATE records r SET deleted_at = now(), modified_at = now(), action = 'deleted',
               position = gone.position, version = r.version + 1
        FROM gone WHERE r.connection_id=$1 AND r.data_model=$2 AND r.record_id = gone.record_id
        RETURNING r.record_id, r.position, r.modified_at, r.data
        """,
        connection_id, data_model, first_position,
    )
    await conn.execute("DELETE FROM held_deletions WHERE connection_id=$1 AND data_model=$2", connection_id, data_model)
    return rows


async def end_job(conn: asyncpg.Connection, job_id: str, connection_id: str, data_model: str, deleted: int) -> None:
    await conn.execute("DELETE FROM seen WHERE job_id=$1", job_id)
    await conn.execute(
        """
        INSERT INTO jobs (job_id, connection_id, data_model, deleted, ended_at) VALUES ($1,$2,$3,$4, now())
        ON CONFLICT (job_id) DO UPDATE SET deleted = jobs.deleted + $4, ended_at = now()
        """,
        job_id, connection_id, data_model, deleted,
    )


async def set_model_state(conn: asyncpg.Connection, connection_id: str, data_model: str, *, status: str,
                          error: str | None, synced_at: datetime | None, held: int | None) -> None:
    await conn.execute(
        """
        INSERT INTO model_state (connection_id, data_model, last_synced_at, last_status, last_error, held_deletions)
        VALUES ($1,$2,$3,$4,$5,coalesce($6, 0))
        ON CONFLICT (connection_id, data_model) DO UPDATE SET
            last_synced_at = coalesce(EXCLUDED.last_synced_at, model_state.last_synced_at),
            last_status = EXCLUDED.last_status, last_error = EXCLUDED.last_error,
            held_deletions = coalesce($6, model_state.held_deletions)
        """,
        connection_id, data_model, synced_at, status, error, held,
    )


async def model_states(conn: asyncpg.Connection, connection_id: str) -> list[asyncpg.Record]:
    return await conn.fetch("SELECT * FROM model_state WHERE connection_id=$1 ORDER BY data_model", connection_id)


async def page_of_changes(conn: asyncpg.Connection, connection_id: str, data_model: str, *, after: int,
                          limit: int, include_deleted: bool, modified_after: datetime | None) -> list[asyncpg.Record]:
    return await conn.fetch(
        """
        SELECT record_id, data, action, first_seen_at, modified_at, deleted_at, position
        FROM records
        WHERE (connection_id || '/' || data_model) = ($1::text || '/' || $2::text) AND position > $3
          AND connection_id = $1 AND data_model = $2
          AND ($4 OR deleted_at IS NULL) AND ($5::timestamptz IS NULL OR modified_at > $5)
        ORDER BY position LIMIT $6
        """,
        connection_id, data_model, after, include_deleted, modified_after, limit,
    )
