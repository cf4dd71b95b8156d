"""Every SQL statement of the webhooks service, named; only `repository.py` runs them."""

from __future__ import annotations

# Delivery workers LISTEN here; a new or replayed message wakes them at once.
CHANNEL = "ferry_webhooks_messages"
NOTIFY = f"NOTIFY {CHANNEL}"

# --- connections projection -------------------------------------------------------------------

CONNECTION_FOR_UPDATE = """
SELECT connection_id, project_id, user_id, provider_name, status, version
FROM connections WHERE connection_id = $1 FOR UPDATE
"""

UPSERT_CONNECTION = """
INSERT INTO connections (connection_id, project_id, user_id, provider_name, status, version)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (connection_id) DO UPDATE SET
    project_id = EXCLUDED.project_id, user_id = EXCLUDED.user_id,
    provider_name = EXCLUDED.provider_name, status = EXCLUDED.status, version = EXCLUDED.version
"""

DELETE_CONNECTION = "DELETE FROM connections WHERE connection_id = $1"

USER_IDS = """
SELECT connection_id, user_id FROM connections WHERE connection_id = ANY($1::text[])
"""

# --- endpoints --------------------------------------------------------------------------------

_ENDPOINT = """id, project_id, url, description, event_types, ordered, secret, enabled,
    created_at, disabled_at, disabled_reason"""

INSERT_ENDPOINT = f"""
INSERT INTO endpoints (id, project_id, url, description, event_types, ordered, secret)
VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {_ENDPOINT}
"""

ENDPOINTS = f"SELECT {_ENDPOINT} FROM endpoints WHERE project_id = $1 ORDER BY created_at, id"

ENDPOINT = f"SELECT {_ENDPOINT} FROM endpoints WHERE project_id = $1 AND id = $2"

SUBSCRIPTIONS = """
SELECT id, project_id, event_types, ordered FROM endpoints
WHERE enabled AND project_id = ANY($1::text[]) ORDER BY created_at, id
"""

DELETE_ENDPOINT = "DELETE FROM endpoints WHERE project_id = $1 AND id = $2"

# Paused or resumed by hand; its messages wait (pending) while it is disabled.
SET_ENABLED = f"""
UPDATE endpoints SET enabled = $3, failing_since = NULL,
    disabled_at = CASE WHEN $3 THEN NULL ELSE coalesce(disabled_at, now()) END,
    disabled_reason = CASE WHEN $3 THEN NULL ELSE 'disabled by the project' END
WHERE project_id = $1 AND id = $2 RETURNING {_ENDPOINT}
"""

ROTATE_SECRET = """
UPDATE endpoints SET previous_secret = secret, secret = $3,
    previous_secret_until = now() + make_interval(secs => $4 * 3600)
WHERE project_id = $1 AND id = $2 RETURNING id, secret
"""

REENABLE = """
UPDATE endpoints SET enabled = true, failing_since = NULL, disabled_at = NULL,
    disabled_reason = NULL
WHERE id = $1 AND NOT enabled
"""

# --- messages: creation -----------------------------------------------------------------------

# Writers of the same lanes are serialized, the locks taken in a fixed order (no deadlock).
LOCK_LANES = "SELECT pg_advisory_xact_lock(k) FROM (SELECT unnest($1::bigint[]) AS k) s"

# One index probe per lane, whatever the statistics say (a semi-join planned on none could
# hash every undelivered message).
BUSY_LANES = """
SELECT l.e AS endpoint_id, l.l AS lane FROM unnest($1::text[], $2::text[]) AS l(e, l)
CROSS JOIN LATERAL (SELECT 1 FROM messages m WHERE m.endpoint_id = l.e AND m.lane = l.l
                    AND m.status IN ('pending', 'retrying') LIMIT 1) busy
"""

INSERT_MESSAGES = """
INSERT INTO messages (id, project_id, endpoint_id, connection_id, lane, event_id, event_type,
                      body, ready, created_at)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::uuid[],
                     $7::text[], $8::text[], $9::bool[], $10::timestamptz[])
"""

# --- messages: delivery -----------------------------------------------------------------------

# Each endpoint's oldest due messages are found through its own index range, so a long backlog
# at one endpoint costs the others nothing.
CLAIM = """
SELECT c.id, e.id AS endpoint_id, c.lane, c.tries, c.body, e.url, e.secret,
       CASE WHEN e.previous_secret_until > now() THEN e.previous_secret END AS previous_secret,
       c.seq
FROM endpoints e
CROSS JOIN LATERAL (
    SELECT m.id, m.lane, m.tries, m.body, m.next_attempt_at, m.seq FROM messages m
    WHERE m.endpoint_id = e.id AND m.ready AND m.status IN ('pending', 'retrying')
      AND m.next_attempt_at <= now()
    ORDER BY m.next_attempt_at LIMIT $3
    FOR UPDATE SKIP LOCKED
) c
WHERE e.enabled AND NOT (e.id = ANY($2::text[]))
ORDER BY c.next_attempt_at LIMIT $1
"""

SECONDS_UNTIL_NEXT_DUE = """
SELECT extract(epoch FROM min(c.next_attempt_at) - now())::float8 FROM endpoints e
CROSS JOIN LATERAL (
    SELECT m.next_attempt_at FROM messages m
    WHERE m.endpoint_id = e.id AND m.ready AND m.status IN ('pending', 'retrying')
    ORDER BY m.next_attempt_at LIMIT 1
) c
WHERE e.enabled
"""

LEASE = """
UPDATE messages SET next_attempt_at = now() + make_interval(secs => $2), leased_by = $3
WHERE id = ANY($1::text[])
"""

# The messages after `seq` in a lane, for the worker delivering it (nothing once its endpoint
# is disabled). Only the first can be ready: the lane's head, when every earlier message is
# recorded finished.
LANE_NEXT = """
SELECT m.id, e.id AS endpoint_id, m.lane, m.tries, m.body, e.url, e.secret,
       CASE WHEN e.previous_secret_until > now() THEN e.previous_secret END AS previous_secret,
       m.seq, m.ready
FROM endpoints e JOIN messages m ON m.endpoint_id = e.id
WHERE e.id = $1 AND e.enabled AND m.lane = $2 AND m.status IN ('pending', 'retrying')
  AND m.seq > $3
ORDER BY m.seq LIMIT $4
"""

# A lane's ready head taken by a worker: it is due, or already this worker's.
TAKE_HEAD = """
UPDATE messages SET next_attempt_at = now() + make_interval(secs => $3), leased_by = $2
WHERE id = $1 AND ready AND status IN ('pending', 'retrying')
  AND (next_attempt_at <= now() OR (leased_by = $2 AND status = 'pending'))
RETURNING id
"""

# The waiting messages after each claimed head in its lane, oldest first, at most $4 of each.
FOLLOWERS = """
SELECT f.id, f.endpoint_id, f.lane, f.tries, f.body, f.seq
FROM unnest($1::text[], $2::text[], $3::bigint[]) AS l(e, l, seq)
CROSS JOIN LATERAL (
    SELECT m.id, m.endpoint_id, m.lane, m.tries, m.body, m.seq FROM messages m
    WHERE m.endpoint_id = l.e AND m.lane = l.l AND m.status IN ('pending', 'retrying')
      AND m.seq > l.seq
    ORDER BY m.seq LIMIT $4
) f
ORDER BY f.seq
"""


def _heads(where: str) -> str:
    """The ready heads of the lanes ($1 endpoints, $2 lane names) leased to worker $3."""
    return f"""
UPDATE messages m SET {where}
WHERE m.id IN (
    SELECT h.id FROM unnest($1::text[], $2::text[]) AS l(e, l)
    CROSS JOIN LATERAL (
        SELECT r.id FROM messages r WHERE r.endpoint_id = l.e AND r.lane = l.l AND r.ready
          AND r.status IN ('pending', 'retrying')) h)
  AND m.status = 'pending' AND m.leased_by = $3
"""


# The heads of the lanes a worker still delivers stay leased to it ($4 s more).
RENEW = _heads("next_attempt_at = now() + make_interval(secs => $4)")

# A worker lets go of lanes: their heads it leased are due at once.
RELEASE = _heads("next_attempt_at = now(), leased_by = NULL")

# Attempts at messages deleted meanwhile (with their endpoint) are not kept.
INSERT_ATTEMPTS = """
INSERT INTO attempts (message_id, attempted_at, response_status, latency_ms, error,
                      response_excerpt)
SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::int[], $4::float8[], $5::text[],
                     $6::text[]) AS a(id)
WHERE EXISTS (SELECT 1 FROM messages m WHERE m.id = a.id)
"""

RECORD_OUTCOMES = """
UPDATE messages m SET status = o.status, tries = o.tries, attempt_count = m.attempt_count + 1,
    next_attempt_at = coalesce(o.next_at, m.next_attempt_at),
    delivered_at = CASE WHEN o.status = 'delivered' THEN o.at ELSE m.delivered_at END,
    last_error = o.error
FROM unnest($1::text[], $2::text[], $3::int[], $4::timestamptz[], $5::timestamptz[], $6::text[])
     AS o(id, status, tries, next_at, at, error)
WHERE m.id = o.id
"""

# Each lane's oldest waiting message becomes ready, unless the lane already has one ready. In
# a lane a worker still delivers (`held`), a pending head is leased to that worker ($3, for $4 s).
PROMOTE = """
UPDATE messages m SET ready = true,
    leased_by = CASE WHEN h.held AND m.status = 'pending' THEN $3::uuid END,
    next_attempt_at = CASE WHEN h.held AND m.status = 'pending'
                           THEN now() + make_interval(secs => $4) ELSE m.next_attempt_at END
FROM (
    SELECT (SELECT w.id FROM messages w WHERE w.endpoint_id = l.e AND w.lane = l.l
              AND w.status IN ('pending', 'retrying') ORDER BY w.seq LIMIT 1) AS id, l.held
    FROM unnest($1::text[], $2::text[], $5::bool[]) AS l(e, l, held)
    WHERE NOT EXISTS (SELECT 1 FROM messages r WHERE r.endpoint_id = l.e AND r.lane = l.l
                      AND r.ready AND r.status IN ('pending', 'retrying'))) h
WHERE m.id = h.id AND NOT m.ready
"""

MARK_FAILING = """
UPDATE endpoints e SET failing_since = coalesce(e.failing_since, f.at)
FROM unnest($1::text[], $2::timestamptz[]) AS f(id, at) WHERE e.id = f.id
"""

CLEAR_FAILING = """
UPDATE endpoints SET failing_since = NULL
WHERE id = ANY($1::text[]) AND failing_since IS NOT NULL
"""

DISABLE_FAILING = """
UPDATE endpoints SET enabled = false, disabled_at = now(),
    disabled_reason = 'every delivery failed since '
        || to_char(failing_since AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
        || ' (' || $2::text || ' hours without a success)'
WHERE id = ANY($1::text[]) AND enabled
  AND failing_since <= now() - make_interval(secs => $2 * 3600)
RETURNING id
"""

# --- messages: reads and replays --------------------------------------------------------------

MESSAGES = """
SELECT id, seq, endpoint_id, connection_id, event_type, status, body, attempt_count,
       next_attempt_at, created_at, delivered_at
FROM messages WHERE project_id = $1
  AND ($2::text IS NULL OR endpoint_id = $2) AND ($3::text IS NULL OR event_type = $3)
  AND ($4::text IS NULL OR status = $4) AND ($5::bigint IS NULL OR seq < $5)
ORDER BY seq DESC LIMIT $6
"""

ATTEMPTS = """
SELECT message_id, attempted_at, response_status, latency_ms, error, response_excerpt
FROM attempts WHERE message_id = ANY($1::text[]) ORDER BY message_id, id
"""

MESSAGE_FOR_REPLAY = """
SELECT status, endpoint_id, lane FROM messages WHERE project_id = $1 AND id = $2 FOR UPDATE
"""

FAILED_LANES = """
SELECT DISTINCT lane FROM messages WHERE endpoint_id = $1 AND status = 'failed'
  AND ($2::timestamptz IS NULL OR created_at >= $2)
"""


def _requeue(where: str) -> str:
    """Finished messages go back to the end of their lanes, in their original order: a replay
    is a new delivery and must not overtake what already waits in an ordered lane."""
    return f"""
UPDATE messages m SET status = 'pending', ready = false, tries = 0, next_attempt_at = now(),
       seq = q.seq
FROM (SELECT o.id, nextval(pg_get_serial_sequence('messages', 'seq')) AS seq
      FROM (SELECT id FROM messages WHERE {where} ORDER BY seq) o) q
WHERE m.id = q.id
"""


REQUEUE_MESSAGE = _requeue("id = $1")
REQUEUE_FAILED = _requeue(
    "endpoint_id = $1 AND status = 'failed' AND ($2::timestamptz IS NULL OR created_at >= $2)"
)

# Delivered and failed messages past the history's retention, with their attempts (cascade).
PRUNE_FINISHED = """
DELETE FROM messages WHERE id IN (
    SELECT id FROM messages WHERE status IN ('delivered', 'failed')
      AND created_at < now() - make_interval(secs => $1::float8 * 86400) LIMIT $2)
"""
