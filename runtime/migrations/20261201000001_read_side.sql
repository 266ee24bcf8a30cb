-- The read side: per subscriber partition ("unit") a checkpoint with its lease, the live
-- nodes, parked and skipped events, process-manager state, and the watermark readers use.

CREATE TABLE checkpoints (
    subscriber       text NOT NULL,             -- context.Name
    partition        int NOT NULL,
    partitions       int NOT NULL,
    position         bigint NOT NULL,           -- everything <= is handled, skipped or parked
    legacy           bigint[],                  -- checkpoints of a previous partitioning
    suspect_until    bigint NOT NULL,           -- events <= may have been in flight
    attempt_position bigint NOT NULL DEFAULT 0, -- the event `attempts` counts for
    attempts         int NOT NULL DEFAULT 0,
    stopped          text,                      -- stopped by the failure policy: the error
    last_error       text,
    last_error_at    timestamptz,
    owner            text,                      -- the node holding the lease
    token            bigint NOT NULL DEFAULT 0, -- fencing token: grows with every new lease
    lease_until      timestamptz,
    rebuild_until    bigint,                    -- a rebuild's target head, until reached
    updated_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (subscriber, partition)
);

CREATE TABLE nodes (
    node            text PRIMARY KEY,
    info            text NOT NULL,
    subscribers     text[] NOT NULL,
    heartbeat_until timestamptz NOT NULL,
    started_at      timestamptz NOT NULL DEFAULT now()
);

-- Events a subscriber gave up on. The event itself stays in `events`.
CREATE TABLE failed_events (
    id         bigserial PRIMARY KEY,
    subscriber text NOT NULL,
    partition  int NOT NULL,
    outcome    text NOT NULL CHECK (outcome IN ('parked', 'skipped')),
    position   bigint NOT NULL,
    error      text NOT NULL,
    attempts   int NOT NULL,
    at         timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX failed_events_subscriber_idx ON failed_events (subscriber, position);

CREATE TABLE process_instances (
    process    text NOT NULL,  -- context.Name
    instance   text NOT NULL,  -- the identity value
    state      jsonb NOT NULL,
    position   bigint NOT NULL, -- the event that left it so
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (process, instance)
);

-- The highest position up to which every event is committed or rolled back, found without
-- making appends wait (safe_position() takes the "all" lock exclusively, which queues every
-- append behind it; this only looks).
--
-- Every append holds the shared "all" lock from before it draws a position until it ends.
-- So a candidate S (the sequence's last value) is safe once every transaction that held the
-- lock when S was read has ended: one that drew a position <= S drew it before S was read,
-- while holding the lock. The sequence is read first, the holders after it. A transaction
-- releases its locks only after its commit is visible to new snapshots.
--
-- Called with the previous call's candidate and holders (NULL holders: none): returns
-- `safe`, that candidate when its holders are gone (else 0), or the new candidate itself
-- when nobody holds the lock; and the new candidate with its holders, for the next call.
CREATE FUNCTION safe_watermark(p_candidate bigint, p_holders text[],
                               OUT safe bigint, OUT candidate bigint, OUT holders text[])
LANGUAGE plpgsql AS $$
DECLARE
    k  bigint := all_lock_key();
    hi oid := ((k >> 32) & 4294967295)::oid;
    lo oid := (k & 4294967295)::oid;
    db oid := (SELECT d.oid FROM pg_database d WHERE d.datname = current_database());
BEGIN
    safe := 0;
    IF p_holders IS NOT NULL AND NOT EXISTS (
        SELECT FROM pg_locks l
        WHERE l.locktype = 'advisory' AND l.database = db AND l.classid = hi
          AND l.objid = lo AND l.objsubid = 1 AND l.virtualtransaction = ANY (p_holders)
    ) THEN
        safe := p_candidate;
    END IF;
    SELECT CASE WHEN s.is_called THEN s.last_value ELSE 0 END INTO candidate
    FROM event_position_seq s;
    holders := ARRAY(
        SELECT l.virtualtransaction FROM pg_locks l
        WHERE l.locktype = 'advisory' AND l.database = db AND l.classid = hi
          AND l.objid = lo AND l.objsubid = 1 AND l.granted
    );
    IF cardinality(holders) = 0 THEN
        safe := candidate;
        holders := NULL;
    END IF;
END
$$;
