-- The browser that started an authorization: the SHA-256 of a nonce kept in its cookie.
-- Authorizations started before this column existed have none and are refused.
ALTER TABLE connect_sessions ADD COLUMN browser_hash bytea;
CREATE INDEX connect_sessions_by_connection ON connect_sessions (connection_id);

-- Origins a connection's return_url may use (scheme://host[:port]); empty: any.
ALTER TABLE project_sync_configs
    ADD COLUMN allowed_return_origins text[] NOT NULL DEFAULT '{}';
