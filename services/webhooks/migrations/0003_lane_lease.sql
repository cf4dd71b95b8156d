-- The delivery worker that holds a message's lease (`next_attempt_at` in the future). A worker
-- delivers an ordered lane one message after another without a claim for each: its lease moves
-- to each new head of the lane, is renewed while it runs, and is dropped when it lets go. A
-- worker that dies leaves leases that simply run out.
ALTER TABLE messages ADD COLUMN leased_by uuid;

-- Each ordered lane's ready head, found without reading the lane's backlog (a lane can hold
-- 100,000 waiting messages): for renewing, dropping and passing on the lease.
CREATE INDEX messages_lane_head ON messages (endpoint_id, lane)
    WHERE ready AND status IN ('pending', 'retrying');
