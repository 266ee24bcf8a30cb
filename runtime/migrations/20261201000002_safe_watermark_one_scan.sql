-- safe_watermark() with one scan of pg_locks instead of two. A scan of pg_locks takes every
-- partition of the lock table at once, and appends need those partitions for the "all"
-- lock, so each scan costs the appends: under load the readers' looks were about half of
-- what live readers cost the writers (read_bench).
--
-- Same contract as before (see 20261201000001_read_side.sql). The one scan is read after
-- the sequence, so its holders are the new candidate's; whether the previous candidate's
-- holders are gone may be asked at any later moment, so the same scan answers it: a
-- transaction that held the lock holds it until it ends, and a virtual transaction id is
-- never reused by a later transaction of the same backend.
CREATE OR REPLACE FUNCTION safe_watermark(p_candidate bigint, p_holders text[],
                                          OUT safe bigint, OUT candidate bigint,
                                          OUT holders text[])
LANGUAGE plpgsql AS $$
DECLARE
    k  bigint := all_lock_key();
    hi oid := ((k >> 32) & 4294967295)::oid;
    lo oid := (k & 4294967295)::oid;
    db oid := (SELECT d.oid FROM pg_database d WHERE d.datname = current_database());
BEGIN
    safe := 0;
    SELECT CASE WHEN s.is_called THEN s.last_value ELSE 0 END INTO candidate
    FROM event_position_seq s;
    holders := ARRAY(
        SELECT l.virtualtransaction FROM pg_locks l
        WHERE l.locktype = 'advisory' AND l.database = db AND l.classid = hi
          AND l.objid = lo AND l.objsubid = 1 AND l.granted
    );
    IF p_holders IS NOT NULL AND NOT (p_holders && holders) THEN
        safe := p_candidate;
    END IF;
    IF cardinality(holders) = 0 THEN
        safe := candidate;
        holders := NULL;
    END IF;
END
$$;
