-- Projects are Ferry's tenants. Secret keys are stored only as SHA-256 digests.
CREATE TABLE projects (
    id          text PRIMARY KEY,
    name        text NOT NULL,
    signing_key text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_keys (
    digest      bytea PRIMARY KEY,
    project_id  text NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    prefix      text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);
CREATE INDEX api_keys_project ON api_keys (project_id);
