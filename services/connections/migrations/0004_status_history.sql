-- Every status a connection took, with when: the console's status history. Kept by a trigger so
-- no write path can forget it; goes with the connection.
CREATE TABLE connection_status_history (
    connection_id   text NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    status          text NOT NULL,
    previous_status text,
    changed_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX connection_status_history_by_connection
    ON connection_status_history (connection_id, changed_at);

CREATE FUNCTION record_connection_status() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    IF TG_OP = 'INSERT' OR NEW.status IS DISTINCT FROM OLD.status THEN
        INSERT INTO connection_status_history (connection_id, status, previous_status)
        VALUES (NEW.id, NEW.status, CASE WHEN TG_OP = 'UPDATE' THEN OLD.status END);
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER connection_status_history
    AFTER INSERT OR UPDATE OF status ON connections
    FOR EACH ROW EXECUTE FUNCTION record_connection_status();
