-- The field changes of every update of a record, so its history can be browsed. Version 1 is
-- the record as first seen; each row here is one later version with what changed in it.
CREATE TABLE record_versions (
    connection_id text NOT NULL,
    data_model    text NOT NULL,
    record_id     text NOT NULL,
    position      bigint NOT NULL,
    changes       jsonb NOT NULL,
    recorded_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (connection_id, data_model, record_id, position)
);
