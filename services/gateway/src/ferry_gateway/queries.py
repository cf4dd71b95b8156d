"""Every SQL statement of the gateway, named; only `repository.py` runs them."""

INSERT_PROJECT = """
INSERT INTO projects (id, name, signing_key) VALUES ($1, $2, $3)
RETURNING id, name, signing_key, created_at
"""

INSERT_KEY = "INSERT INTO api_keys (digest, project_id, prefix) VALUES ($1, $2, $3)"

PROJECTS = "SELECT id, name, signing_key, created_at FROM projects ORDER BY created_at, id"

PROJECT = "SELECT id, name, signing_key, created_at FROM projects WHERE id = $1"

LOCK_PROJECT = "SELECT 1 FROM projects WHERE id = $1 FOR UPDATE"

REVOKE_KEYS = """
UPDATE api_keys SET revoked_at = now() WHERE project_id = $1 AND revoked_at IS NULL
"""

PROJECT_OF_KEY = """
SELECT p.id, p.name, p.signing_key, p.created_at
FROM api_keys k JOIN projects p ON p.id = k.project_id
WHERE k.digest = $1 AND k.revoked_at IS NULL
"""

# The gateway's copies of sync jobs (`sync_jobs`): the newest version of a job wins; the same
# version said again later (by the executor) moves only its `seen_at`.
SAVE_JOB = """
INSERT INTO sync_jobs (id, project_id, connection_id, version, body, seen_at)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (id) DO UPDATE SET project_id = EXCLUDED.project_id,
    connection_id = EXCLUDED.connection_id, version = EXCLUDED.version, body = EXCLUDED.body,
    seen_at = EXCLUDED.seen_at
WHERE sync_jobs.version < EXCLUDED.version
   OR (sync_jobs.version = EXCLUDED.version AND sync_jobs.seen_at < EXCLUDED.seen_at)
RETURNING true
"""

JOB = "SELECT id, project_id, connection_id, version, body, seen_at FROM sync_jobs WHERE id = $1"

# A change the gateway asked for (a cancel): the copy is asked of the executor at the next read.
DOUBT_JOB = "UPDATE sync_jobs SET seen_at = 'epoch' WHERE id = $1"

PRUNE_JOBS = """
DELETE FROM sync_jobs WHERE id IN (SELECT id FROM sync_jobs
    WHERE seen_at < now() - make_interval(secs => $1::float8 * 86400) LIMIT $2)
"""
