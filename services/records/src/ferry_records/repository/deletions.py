"""Deletions after a complete full sync, and the mass-delete guard's held deletions."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import datetime

import asyncpg

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


# --- deletions the provider lists (tombstones, a "deleted since" endpoint) -------------------

async def count_listed_live(conn: asyncpg.Connection, connection_id: str, data_model: str,
                            record_ids: list[str]) -> int:
    return await conn.fetchval(
        "SELECT count(*) FROM records WHERE connection_id=$1 AND data_model=$2"
        " AND record_id = ANY($3::text[]) AND deleted_at IS NULL",
        connection_id, data_model, record_ids,
    )


async def hold_listed(conn: asyncpg.Connection, connection_id: str, data_model: str, job_id: str,
                      record_ids: list[str]) -> int:
    status = await conn.execute(
        """
        INSERT INTO held_deletions (connection_id, data_model, record_id, job_id)
        SELECT $1, $2, r.record_id, $4 FROM records r
        WHERE r.connection_id=$1 AND r.data_model=$2 AND r.record_id = ANY($3::text[])
          AND r.deleted_at IS NULL
        ON CONFLICT (connection_id, data_model, record_id) DO NOTHING
        """,
        connection_id, data_model, record_ids, job_id,
    )
    return int(status.split()[-1])


async def delete_listed(conn: asyncpg.Connection, connection_id: str, data_model: str,
                        record_ids: list[str], first_position: int) -> list[asyncpg.Record]:
    return await conn.fetch(
        """
        WITH gone AS MATERIALIZED (
            SELECT r.record_id,
                   $4::bigint - 1 + row_number() OVER (ORDER BY r.record_id) AS position
            FROM records r
            WHERE r.connection_id=$1 AND r.data_model=$2 AND r.record_id = ANY($3::text[])
              AND r.deleted_at IS NULL
        )
        UPDATE records r SET deleted_at = now(), modified_at = now(), action = 'deleted',
               position = gone.position, version = r.version + 1
        FROM gone WHERE r.connection_id=$1 AND r.data_model=$2 AND r.record_id = gone.record_id
        RETURNING r.record_id, r.position, r.modified_at, r.data
        """,
        connection_id, data_model, record_ids, first_position,
    )
