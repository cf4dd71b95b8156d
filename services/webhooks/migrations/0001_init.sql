-- What the webhooks service knows of each connection (from connection.changed), newest version only.
CREATE TABLE connections (
    connection_id  text PRIMARY KEY,
    project_id     text,
    user_id        text,
    provider_name  text,
    status         text NOT NULL,
    version        bigint NOT NULL DEFAULT 0
);

-- A customer's webhook endpoint. Secrets are stored as given (they sign every delivery);
-- they are protected by database access and never logged.
CREATE TABLE endpoints (
    id                        text PRIMARY KEY,
    project_id                text NOT NULL,
    url                       text NOT NULL,
    description               text,
    event_types               text[] NOT NULL DEFAULT '{}',
    ordered                   boolean NOT NULL DEFAULT true,
    secret                    text NOT NULL,
    previous_secret           text,
    previous_secret_until     timestamptz,
    enabled                   boolean NOT NULL DEFAULT true,
    failing_since             timestamptz,
    disabled_at               timestamptz,
    disabled_reason           text,
    created_at                timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX endpoints_project ON endpoints (project_id, created_at);

-- One message per (event, endpoint). `lane` groups the messages delivered in order (the
-- connection of an ordered endpoint); only a lane's oldest undelivered message is `ready`.
-- `next_attempt_at` doubles as the lease of a message being delivered.
CREATE TABLE messages (
    id               text PRIMARY KEY,
    seq              bigserial NOT NULL,
    project_id       text NOT NULL,
    endpoint_id      text NOT NULL REFERENCES endpoints (id) ON DELETE CASCADE,
    connection_id    text,
    lane             text NOT NULL,
    event_id         uuid,
    event_type       text NOT NULL,
    body             text NOT NULL,
    status           text NOT NULL DEFAULT 'pending',  -- pending | retrying | delivered | failed
    ready            boolean NOT NULL,
    tries            int NOT NULL DEFAULT 0,            -- attempts since the last (re)play
    attempt_count    int NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    created_at       timestamptz NOT NULL DEFAULT now(),
    delivered_at     timestamptz,
    last_error       text
);
CREATE INDEX messages_due ON messages (next_attempt_at) WHERE ready AND status IN ('pending', 'retrying');
CREATE INDEX messages_lane ON messages (endpoint_id, lane, seq) WHERE status IN ('pending', 'retrying');
CREATE INDEX messages_project ON messages (project_id, seq);
CREATE INDEX messages_endpoint_failed ON messages (endpoint_id, created_at) WHERE status = 'failed';

CREATE TABLE attempts (
    id               bigserial PRIMARY KEY,
    message_id       text NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    attempted_at     timestamptz NOT NULL,
    response_status  int,
    latency_ms       double precision NOT NULL,
    error            text,
    response_excerpt text
);
CREATE INDEX attempts_message ON attempts (message_id, id);
