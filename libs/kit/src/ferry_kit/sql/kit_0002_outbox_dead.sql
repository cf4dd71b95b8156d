-- Outbox rows the broker can never take (over its message size limit): moved here with the
-- reason, so they block nothing and are never lost. An operator looks at them here.
CREATE TABLE outbox_dead (
    id          bigint PRIMARY KEY,
    event_id    uuid NOT NULL,
    topic       text NOT NULL,
    key         text,
    payload     bytea NOT NULL,
    headers     jsonb NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL,
    failed_at   timestamptz NOT NULL DEFAULT now(),
    reason      text NOT NULL
);
