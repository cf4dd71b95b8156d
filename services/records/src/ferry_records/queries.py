"""Every SQL statement of the records service, named, with explicit columns."""

from __future__ import annotations

from typing import Final

# --- connections ---------------------------------------------------------------------------

CONNECTION: Final = """
    SELECT connection_id, project_id, initial_sync_record_events, deleted
    FROM connections WHERE connection_id = $1
"""

REMEMBER_CONNECTION: Final = """
    INSERT INTO connections (connection_id, project_id, initial_sync_record_events)
    VALUES ($1, $2, coalesce($3, false))
    ON CONFLICT (connection_id) DO UPDATE SET
        project_id = coalesce(EXCLUDED.project_id, connections.project_id),
        initial_sync_record_events = coalesce($3, connections.initial_sync_record_events)
"""

# A deleted connection loses every record, count and hold; a tombstone stays.
PURGE_CONNECTION: Final = (
    "DELETE FROM records WHERE connection_id = $1",
    "DELETE FROM record_versions WHERE connection_id = $1",
    "DELETE FROM seen WHERE job_id IN (SELECT job_id FROM jobs WHERE connection_id = $1)",
    "DELETE FROM jobs WHERE connection_id = $1",
    "DELETE FROM held_deletions WHERE connection_id = $1",
    "DELETE FROM model_state WHERE connection_id = $1",
    "DELETE FROM cursors WHERE connection_id = $1",
    """
    INSERT INTO connections (connection_id, deleted) VALUES ($1, true)
    ON CONFLICT (connection_id) DO UPDATE SET deleted = true
    """,
)

SET_MODEL_STATE: Final = """
    INSERT INTO model_state (connection_id, data_model, last_synced_at, last_status, last_error,
                             held_deletions)
    VALUES ($1, $2, $3, $4, $5, coalesce($6, 0))
    ON CONFLICT (connection_id, data_model) DO UPDATE SET
        last_synced_at = coalesce(EXCLUDED.last_synced_at, model_state.last_synced_at),
        last_status = EXCLUDED.last_status, last_error = EXCLUDED.last_error,
        held_deletions = coalesce($6, model_state.held_deletions)
"""

MODEL_STATES: Final = """
    SELECT data_model, last_synced_at, last_status, last_error, held_deletions
    FROM model_state WHERE connection_id = $1 ORDER BY data_model
"""

# --- ingest --------------------------------------------------------------------------------

# Which records of a chunk (ids as a JSON array, 16-byte hashes end to end) need a write; with
# a full sync's job id ($5) the unchanged ones are noted as seen by it. Two binds instead of
# two arrays of thousands of elements, and rows back only for the records to write.
TO_WRITE: Final = """
    WITH t AS MATERIALIZED (
        SELECT t.id, t.ord, o.hash IS NOT NULL AS stored,
               o.live AND o.hash = substring($4::bytea FROM (t.ord::int - 1) * 16 + 1 FOR 16)
                   AS same
        FROM jsonb_array_elements_text($3::text::jsonb) WITH ORDINALITY AS t(id, ord)
        -- A primary-key probe per record, whatever the statistics say: a plain join lets a
        -- planner that believes the table is empty (a first sync) hash the whole model.
        LEFT JOIN LATERAL (SELECT o.hash, o.deleted_at IS NULL AS live FROM records o
                           WHERE o.connection_id = $1 AND o.data_model = $2
                             AND o.record_id = t.id LIMIT 1) o ON true
    ),
    noted AS (
        INSERT INTO seen (job_id, record_ids)
        SELECT $5, array_agg(id) FROM t WHERE same AND $5::text IS NOT NULL HAVING count(*) > 0
        RETURNING cardinality(record_ids) AS n
    )
    SELECT ord::int - 1 AS i, stored, NULL::bigint AS noted FROM t WHERE same IS NOT TRUE
    UNION ALL SELECT NULL, NULL, coalesce(sum(n), 0) FROM noted
"""

NEW_RECORD_TABLE: Final = "records"
NEW_RECORD_COLUMNS: Final = ["connection_id", "data_model", "record_id", "data", "hash", "action",
                             "position", "provider_updated_at"]

TRANSACTION_TIME: Final = "SELECT now()"

# Changed (or deleted and back) records in one statement: the records as one canonical JSON
# array (parsed by Postgres in C), hashes end to end, provider times and positions alongside.
# A record whose stored hash is equal (and not deleted) is left alone by the ON CONFLICT filter;
# `old_data`, the version before this statement, comes back for updates.
UPSERT_RECORDS: Final = """
    WITH s AS (
        -- ROWS FROM zips the lists in one pass (a join on the ordinality would let the
        -- planner pick a nested loop: quadratic in the batch size).
        SELECT t.e->>'id' AS record_id, t.e AS data,
               substring($4::bytea FROM (t.ord::int - 1) * 16 + 1 FOR 16) AS hash,
               t.pua, t.position::bigint AS position
        FROM ROWS FROM (jsonb_array_elements($3::text::jsonb), unnest($5::timestamptz[]),
                        jsonb_array_elements_text($6::text::jsonb))
             WITH ORDINALITY AS t(e, pua, position, ord)
    ),
    up AS (
        INSERT INTO records AS r (connection_id, data_model, record_id, data, hash, action,
                                  position, provider_updated_at)
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
               (SELECT o.data FROM records o WHERE o.connection_id = $1 AND o.data_model = $2
                                                AND o.record_id = up.record_id)
           END AS old_data
    FROM up ORDER BY up.position
"""

# Reserves n positions; the row lock orders this writer against the connection's others.
TAKE_POSITIONS: Final = """
    INSERT INTO cursors (connection_id, position) VALUES ($1, $2)
    ON CONFLICT (connection_id) DO UPDATE SET position = cursors.position + EXCLUDED.position
    RETURNING position
"""

ENSURE_CURSOR: Final = (
    "INSERT INTO cursors (connection_id) VALUES ($1) ON CONFLICT DO NOTHING"
)
LOCK_CURSOR: Final = "SELECT 1 FROM cursors WHERE connection_id = $1 FOR UPDATE"

ADD_COUNTS: Final = """
    INSERT INTO jobs (job_id, connection_id, data_model, fetched, created, updated, unchanged,
                      seen, first_position)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
    ON CONFLICT (job_id) DO UPDATE SET fetched = jobs.fetched + $4,
        created = jobs.created + $5, updated = jobs.updated + $6,
        unchanged = jobs.unchanged + $7, seen = jobs.seen + $8,
        first_position = coalesce(jobs.first_position, $9)
"""

ADD_DELETED: Final = """
    INSERT INTO jobs (job_id, connection_id, data_model, deleted) VALUES ($1, $2, $3, $4)
    ON CONFLICT (job_id) DO UPDATE SET deleted = jobs.deleted + $4
"""

VERSION_TABLE: Final = "record_versions"
VERSION_COLUMNS: Final = ["connection_id", "data_model", "record_id", "position", "changes"]

ADD_VERSIONS: Final = """
    INSERT INTO record_versions (connection_id, data_model, record_id, position, changes)
    SELECT $1, $2, u.e->>0, (u.e->>1)::bigint, u.e->2
    FROM jsonb_array_elements($3::text::jsonb) AS u(e)
    ON CONFLICT DO NOTHING
"""

# --- the end of a job ----------------------------------------------------------------------

# The seen-ids table is unlogged (emptied if Postgres crashes): deletions are computed only
# when it still holds every id the job's committed pages noted.
SEEN_INTACT: Final = """
    SELECT coalesce((SELECT seen FROM jobs WHERE job_id = $1), 0) =
           (SELECT coalesce(sum(cardinality(record_ids)), 0) FROM seen WHERE job_id = $1)
"""

FETCHED_SO_FAR: Final = "SELECT coalesce((SELECT fetched FROM jobs WHERE job_id = $1), 0)"

JOB_COUNTS: Final = """
    SELECT fetched, created, updated, unchanged, deleted FROM jobs WHERE job_id = $1
"""

FORGET_SEEN: Final = "DELETE FROM seen WHERE job_id = $1"
END_JOB: Final = """
    INSERT INTO jobs (job_id, connection_id, data_model, deleted, ended_at)
    VALUES ($1, $2, $3, $4, now())
    ON CONFLICT (job_id) DO UPDATE SET deleted = jobs.deleted + $4, ended_at = now()
"""

_OLD_JOBS = ("SELECT job_id FROM jobs "
             "WHERE created_at < now() - make_interval(secs => $1::float8 * 86400)")
PRUNE_SEEN: Final = f"DELETE FROM seen WHERE job_id IN ({_OLD_JOBS})"
PRUNE_JOBS: Final = f"DELETE FROM jobs WHERE job_id IN ({_OLD_JOBS} LIMIT $2)"

# --- deletions -----------------------------------------------------------------------------

# Live records a complete full sync did not see: inside its `sync_from` window ($4) and not
# written after the job started ($5; a write-back during the sync is not a deletion).
_UNSEEN = """
    SELECT l.record_id FROM records l
    WHERE l.connection_id = $1 AND l.data_model = $2 AND l.deleted_at IS NULL
      -- written by this job (or after it began writing): seen without a note
      AND l.position < coalesce((SELECT j.first_position FROM jobs j WHERE j.job_id = $3),
                                9223372036854775807)
      AND ($4::timestamptz IS NULL OR l.provider_updated_at >= $4)
      AND ($5::timestamptz IS NULL OR l.modified_at < $5)
    EXCEPT  -- set-based: one pass over the model and the notes, whatever the statistics
    SELECT unnest(s.record_ids) FROM seen s WHERE s.job_id = $3
"""

# Joins of a whole model run as hash joins between these two: right after a sync wrote
# thousands of rows the planner may still believe the connection has one, and a nested loop
# is then quadratic in the model. On error the rollback undoes the setting as well.
SET_BASED_ON: Final = "SET LOCAL enable_nestloop = off"
SET_BASED_OFF: Final = "SET LOCAL enable_nestloop = on"

COUNT_UNSEEN: Final = f"SELECT count(*) FROM ({_UNSEEN}) u"

COUNT_LIVE: Final = """
    SELECT count(*) FROM records
    WHERE connection_id = $1 AND data_model = $2 AND deleted_at IS NULL
"""

FORGET_HELD: Final = "DELETE FROM held_deletions WHERE connection_id = $1 AND data_model = $2"
HOLD_UNSEEN: Final = f"""
    INSERT INTO held_deletions (connection_id, data_model, record_id, job_id)
    SELECT $1, $2, u.record_id, $3 FROM ({_UNSEEN}) u
"""

# Marks the rows of `gone` (record_id, position) deleted; returns them.
_MARK_DELETED = """
    UPDATE records r SET deleted_at = now(), modified_at = now(), action = 'deleted',
           position = gone.position, version = r.version + 1
    FROM gone WHERE r.connection_id = $1 AND r.data_model = $2 AND r.record_id = gone.record_id
    RETURNING r.record_id, r.position, r.modified_at
"""

DELETE_UNSEEN: Final = f"""
    WITH gone AS MATERIALIZED (
        SELECT u.record_id, $6::bigint - 1 + row_number() OVER (ORDER BY u.record_id) AS position
        FROM ({_UNSEEN}) u
    )
    {_MARK_DELETED}
"""

# Held deletions still to apply: not for records changed since they were held (they came back).
_HELD_LIVE = """
    FROM held_deletions h JOIN records r USING (connection_id, data_model, record_id)
    WHERE h.connection_id = $1 AND h.data_model = $2 AND r.deleted_at IS NULL
      AND r.modified_at <= h.held_at
"""
COUNT_HELD_LIVE: Final = f"SELECT count(*) {_HELD_LIVE}"
DELETE_HELD: Final = f"""
    WITH gone AS MATERIALIZED (
        SELECT h.record_id, $3::bigint - 1 + row_number() OVER (ORDER BY h.record_id) AS position
        {_HELD_LIVE}
    )
    {_MARK_DELETED}
"""

# Deletions the provider lists (tombstones, a "deleted since" endpoint): ids in $3.
COUNT_LISTED_LIVE: Final = """
    SELECT count(*) FROM records
    WHERE connection_id = $1 AND data_model = $2 AND record_id = ANY($3::text[])
      AND deleted_at IS NULL
"""
HOLD_LISTED: Final = """
    INSERT INTO held_deletions (connection_id, data_model, record_id, job_id)
    SELECT $1, $2, r.record_id, $4 FROM records r
    WHERE r.connection_id = $1 AND r.data_model = $2 AND r.record_id = ANY($3::text[])
      AND r.deleted_at IS NULL
    ON CONFLICT (connection_id, data_model, record_id) DO NOTHING
"""
DELETE_LISTED: Final = f"""
    WITH gone AS MATERIALIZED (
        SELECT r.record_id, $4::bigint - 1 + row_number() OVER (ORDER BY r.record_id) AS position
        FROM records r
        WHERE r.connection_id = $1 AND r.data_model = $2 AND r.record_id = ANY($3::text[])
          AND r.deleted_at IS NULL
    )
    {_MARK_DELETED}
"""

# --- reads ---------------------------------------------------------------------------------

# The change feed of one (connection, model); the first condition names the expression of
# the `records_changes` index (see the migration).
PAGE_OF_CHANGES: Final = """
    SELECT record_id, data, action, first_seen_at, modified_at, deleted_at, position
    FROM records
    WHERE (connection_id || '/' || data_model) = ($1::text || '/' || $2::text) AND position > $3
      AND connection_id = $1 AND data_model = $2
      AND ($4 OR deleted_at IS NULL) AND ($5::timestamptz IS NULL OR modified_at > $5)
    ORDER BY position LIMIT $6
"""

RECORD: Final = """
    SELECT record_id, data, version, action, position, first_seen_at, modified_at, deleted_at
    FROM records WHERE connection_id = $1 AND data_model = $2 AND record_id = $3
"""

RECORD_VERSIONS: Final = """
    SELECT position, changes, recorded_at FROM record_versions
    WHERE connection_id = $1 AND data_model = $2 AND record_id = $3 ORDER BY position
"""
