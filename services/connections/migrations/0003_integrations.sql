-- A project's own app at a provider (its OAuth client): the secret encrypted (AES-256-GCM,
-- "integration:<project>:<provider>" as associated data), never returned.
CREATE TABLE integrations (
    project_id     text NOT NULL,
    provider       text NOT NULL,
    client_id      text NOT NULL,
    client_secret  bytea,
    scopes         text[] NOT NULL DEFAULT '{}',
    api_base_url   text,
    auth_base_url  text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, provider)
);

-- Values the provider's definition declares (subdomain, region...), given or captured in auth.
ALTER TABLE connections ADD COLUMN connection_config jsonb NOT NULL DEFAULT '{}';

-- Credentials an end user (or the customer) gave: an API key, or a username and password;
-- encrypted JSON, the connection id as associated data.
CREATE TABLE given_credentials (
    connection_id  text PRIMARY KEY REFERENCES connections (id) ON DELETE CASCADE,
    secret         bytea NOT NULL,
    updated_at     timestamptz NOT NULL DEFAULT now()
);
