-- An initial sync's opt-in to per-record events, as its request said (NULL: not said, as on
-- every other sync and on jobs queued before this column). Each page of the job carries it, so
-- the records service decides from the sync itself, not from whichever `connection.changed` it
-- happens to have seen first.
ALTER TABLE jobs ADD COLUMN record_events boolean;
