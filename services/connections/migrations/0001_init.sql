-- A project's sync config (seed 000). No row: every requested model syncs DAILY with READ access.
CREATE TABLE project_sync_configs (
    project_id                    text PRIMARY KEY,
    data_models                   jsonb NOT NULL DEFAULT '[]',
    full_sync_interval_hours      int NOT NULL DEFAULT 24,
    record_events_on_initial_sync boolean NOT NULL DEFAULT false,
    updated_at                    timestamptz NOT NULL DEFAULT now()
);

-- One end user's connection to one provider (seed 004).
CREATE TABLE connections (
    id                   text PRIMARY KEY,
    project_id           text NOT NULL,
    user_id              text NOT NULL,
    provider_name        text NOT NULL,
    -- Set to the provider name for `unique` providers only: the partial unique index below
    -- then refuses a second connection of the same user even under concurrent creates.
    unique_key           text,
    requested_data_types text[] NOT NULL,
    skip_permissions     boolean NOT NULL DEFAULT false,
    return_url           text,
    status               text NOT NULL,
    -- The connection's own sync config (replaces the project's); NULL: follow the project.
    sync_config          jsonb,
    -- NULL until the provider granted something; then what it granted.
    granted_scopes       text[],
    -- Bumped on every change of the connection and carried in `connection.changed`.
    version              int NOT NULL DEFAULT 1,
    created_at           timestamptz NOT NULL DEFAULT now(),
    connected_at         timestamptz,
    disconnected_at      timestamptz
);
CREATE INDEX connections_by_user ON connections (project_id, user_id, created_at);
CREATE INDEX connections_by_project ON connections (project_id) WHERE sync_config IS NULL;
CREATE UNIQUE INDEX connections_unique_provider ON connections (project_id, user_id, unique_key)
    WHERE unique_key IS NOT NULL;

-- OAuth tokens, encrypted (AES-256-GCM, "<key id>:" prefix, connection id as associated data).
CREATE TABLE tokens (
    connection_id  text PRIMARY KEY REFERENCES connections (id) ON DELETE CASCADE,
    access_token   bytea NOT NULL,
    refresh_token  bytea,
    expires_at     timestamptz,
    scopes         text[] NOT NULL DEFAULT '{}',
    refreshed_at   timestamptz,
    updated_at     timestamptz NOT NULL DEFAULT now()
);

-- Authorizations in flight: `state` is stored hashed and used once; the PKCE verifier stays here.
CREATE TABLE connect_sessions (
    state_hash     bytea PRIMARY KEY,
    connection_id  text NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    code_verifier  bytea NOT NULL,
    scopes         text[] NOT NULL,
    resume_status  text NOT NULL,
    expires_at     timestamptz NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX connect_sessions_by_expiry ON connect_sessions (expires_at);
