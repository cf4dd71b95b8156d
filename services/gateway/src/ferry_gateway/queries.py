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
