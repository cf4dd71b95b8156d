"""Every SQL statement of the connections service, named; only `repository.py` runs them."""

# ---- project sync config ----

PROJECT_CONFIG = """
SELECT data_models, full_sync_interval_hours, record_events_on_initial_sync,
       allowed_return_origins
FROM project_sync_configs WHERE project_id = $1
"""

UPSERT_PROJECT_CONFIG = """
INSERT INTO project_sync_configs (project_id, data_models, full_sync_interval_hours,
                                  record_events_on_initial_sync, allowed_return_origins)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (project_id) DO UPDATE SET
    data_models = EXCLUDED.data_models,
    full_sync_interval_hours = EXCLUDED.full_sync_interval_hours,
    record_events_on_initial_sync = EXCLUDED.record_events_on_initial_sync,
    allowed_return_origins = EXCLUDED.allowed_return_origins, updated_at = now()
"""

# ---- connections ----

# One connection; `$2` (a project id, or NULL for any) keeps projects apart.
CONNECTION = """
SELECT id, project_id, user_id, provider_name, requested_data_types, skip_permissions,
       return_url, status, sync_config, granted_scopes, version, created_at, connected_at,
       disconnected_at, connection_config
FROM connections WHERE id = $1 AND ($2::text IS NULL OR project_id = $2)
"""

CONNECTION_FOR_UPDATE = """
SELECT id, project_id, user_id, provider_name, requested_data_types, skip_permissions,
       return_url, status, sync_config, granted_scopes, version, created_at, connected_at,
       disconnected_at, connection_config
FROM connections WHERE id = $1 AND ($2::text IS NULL OR project_id = $2)
FOR UPDATE
"""

USER_CONNECTIONS = """
SELECT id, project_id, user_id, provider_name, requested_data_types, skip_permissions,
       return_url, status, sync_config, granted_scopes, version, created_at, connected_at,
       disconnected_at, connection_config
FROM connections WHERE project_id = $1 AND user_id = $2
ORDER BY created_at, id
"""

# Newest first (ids grow with time); `$5` is the last id of the previous page.
PROJECT_CONNECTIONS = """
SELECT id, project_id, user_id, provider_name, requested_data_types, skip_permissions,
       return_url, status, sync_config, granted_scopes, version, created_at, connected_at,
       disconnected_at, connection_config
FROM connections
WHERE project_id = $1 AND ($2::text IS NULL OR user_id = $2)
  AND ($3::text IS NULL OR provider_name = $3) AND ($4::text IS NULL OR status = $4)
  AND ($5::text IS NULL OR id < $5)
ORDER BY id DESC LIMIT $6
"""

# The project's connections that follow its sync config, locked, oldest first.
PROJECT_FOLLOWERS_FOR_UPDATE = """
SELECT id, project_id, user_id, provider_name, requested_data_types, skip_permissions,
       return_url, status, sync_config, granted_scopes, version, created_at, connected_at,
       disconnected_at, connection_config
FROM connections WHERE project_id = $1 AND sync_config IS NULL
ORDER BY created_at, id FOR UPDATE
"""

INSERT_CONNECTION = """
INSERT INTO connections (id, project_id, user_id, provider_name, unique_key,
                         requested_data_types, skip_permissions, return_url, status,
                         sync_config, granted_scopes, connected_at, connection_config)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
RETURNING id, project_id, user_id, provider_name, requested_data_types, skip_permissions,
          return_url, status, sync_config, granted_scopes, version, created_at, connected_at,
          disconnected_at, connection_config
"""

# The mutable fields; every change bumps the version.
SAVE_CONNECTION = """
UPDATE connections SET requested_data_types = $2, status = $3, sync_config = $4,
    granted_scopes = $5, connected_at = $6, disconnected_at = $7, connection_config = $8,
    version = version + 1
WHERE id = $1
RETURNING id, project_id, user_id, provider_name, requested_data_types, skip_permissions,
          return_url, status, sync_config, granted_scopes, version, created_at, connected_at,
          disconnected_at, connection_config
"""

# Tokens and authorizations in flight go with it (ON DELETE CASCADE).
DELETE_CONNECTION = "DELETE FROM connections WHERE id = $1"

STATUS_HISTORY = """
SELECT status, previous_status, changed_at
FROM connection_status_history WHERE connection_id = $1 ORDER BY changed_at, status
"""

# ---- tokens ----

TOKEN = """
SELECT connection_id, access_token, refresh_token, expires_at, scopes, refreshed_at, updated_at
FROM tokens WHERE connection_id = $1
"""

TOKEN_FOR_UPDATE = """
SELECT connection_id, access_token, refresh_token, expires_at, scopes, refreshed_at, updated_at
FROM tokens WHERE connection_id = $1 FOR UPDATE
"""

UPSERT_TOKEN = """
INSERT INTO tokens (connection_id, access_token, refresh_token, expires_at, scopes,
                    refreshed_at)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (connection_id) DO UPDATE SET
    access_token = EXCLUDED.access_token, refresh_token = EXCLUDED.refresh_token,
    expires_at = EXCLUDED.expires_at, scopes = EXCLUDED.scopes,
    refreshed_at = EXCLUDED.refreshed_at, updated_at = now()
"""

DELETE_TOKEN = "DELETE FROM tokens WHERE connection_id = $1"

# ---- authorizations in flight ----

DELETE_EXPIRED_SESSIONS = "DELETE FROM connect_sessions WHERE expires_at < now()"

INSERT_SESSION = """
INSERT INTO connect_sessions (state_hash, connection_id, code_verifier, scopes, resume_status,
                              expires_at, browser_hash)
VALUES ($1, $2, $3, $4, $5, $6, $7)
"""

# A state is good for one callback only, from the browser that started it.
TAKE_SESSION = """
DELETE FROM connect_sessions WHERE state_hash = $1 AND browser_hash = $2
RETURNING connection_id, code_verifier, scopes, resume_status, expires_at
"""

DELETE_SESSIONS = "DELETE FROM connect_sessions WHERE connection_id = $1"

# ---- credentials an end user gave (API key, username and password) ----

GIVEN_SECRET = "SELECT secret FROM given_credentials WHERE connection_id = $1"

UPSERT_GIVEN_SECRET = """
INSERT INTO given_credentials (connection_id, secret) VALUES ($1, $2)
ON CONFLICT (connection_id) DO UPDATE SET secret = EXCLUDED.secret, updated_at = now()
"""

DELETE_GIVEN_SECRET = "DELETE FROM given_credentials WHERE connection_id = $1"

# ---- integrations (a project's apps at providers) ----

INTEGRATION = """
SELECT project_id, provider, client_id, client_secret, scopes, api_base_url, auth_base_url,
       created_at, updated_at
FROM integrations WHERE project_id = $1 AND provider = $2
"""

INTEGRATIONS = """
SELECT project_id, provider, client_id, client_secret, scopes, api_base_url, auth_base_url,
       created_at, updated_at
FROM integrations WHERE project_id = $1 ORDER BY provider
"""

UPSERT_INTEGRATION = """
INSERT INTO integrations (project_id, provider, client_id, client_secret, scopes,
                          api_base_url, auth_base_url)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (project_id, provider) DO UPDATE SET
    client_id = EXCLUDED.client_id, client_secret = EXCLUDED.client_secret,
    scopes = EXCLUDED.scopes, api_base_url = EXCLUDED.api_base_url,
    auth_base_url = EXCLUDED.auth_base_url, updated_at = now()
RETURNING project_id, provider, client_id, client_secret, scopes, api_base_url, auth_base_url,
          created_at, updated_at
"""

DELETE_INTEGRATION = "DELETE FROM integrations WHERE project_id = $1 AND provider = $2"
