-- An outbox row may carry a bundle: consecutive events of one topic and key written together
-- (a page's change feed), each still its own message with its own id, published in order.
-- `payload` holds a single event (every row written before this migration), `payloads` a
-- bundle, whose `event_id` is its first event's; `events` counts the row's events.
ALTER TABLE outbox ALTER COLUMN payload DROP NOT NULL;
ALTER TABLE outbox ADD COLUMN payloads bytea[];
ALTER TABLE outbox ADD COLUMN events int NOT NULL DEFAULT 1;
ALTER TABLE outbox ADD CONSTRAINT outbox_one_payload
    CHECK ((payload IS NULL) <> (payloads IS NULL));

-- A bundle's message too large for the broker is kept alone, under its row's id and its own
-- event id (several of one bundle may be).
ALTER TABLE outbox_dead DROP CONSTRAINT outbox_dead_pkey;
ALTER TABLE outbox_dead ADD PRIMARY KEY (id, event_id);

-- A bundle is hundreds of KB: stored out of line as it is, not compressed, since it lives only
-- until the relay sends it and compressing costs Postgres more CPU than the bytes it saves.
ALTER TABLE outbox ALTER COLUMN payloads SET STORAGE EXTERNAL;
