-- What the executor knows of each connection, from its newest `connection.changed`: a manual
-- sync request is checked against it (CONNECTED, models enabled for reading).
CREATE TABLE connections (
    connection_id text PRIMARY KEY,
    project_id    text,
    provider_name text NOT NULL,
    status        text NOT NULL,
    readable      text[] NOT NULL DEFAULT '{}',
    version       int NOT NULL DEFAULT 0
);
