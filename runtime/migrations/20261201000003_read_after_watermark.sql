-- The read side's look and the page it reads next, in one statement: under load nearly
-- every look finds new events and was followed by a read of them, two round trips per look
-- per process (read_bench).
--
-- Returns the events after p_after up to the safe position (at most p_limit, in order),
-- each row carrying the watermark that safe_watermark(p_candidate, p_holders) found; one
-- row with null event columns when there are none. p_known is the highest safe position
-- the caller found before: positions only grow, so the page goes up to it even when this
-- look could not prove more.
--
-- The events are read by a statement of their own, after the watermark's: it takes its
-- snapshot after the lock holders were seen gone, and a holder's commit is visible before
-- its lock is released, so every event up to the safe position is in that snapshot. (One
-- SELECT joining the two would read the events with a snapshot taken before the look.)
CREATE FUNCTION read_after_watermark(p_candidate bigint, p_holders text[], p_after bigint,
                                     p_known bigint, p_limit integer)
RETURNS TABLE ("position" bigint, event_id uuid, stream_id text, stream_version bigint,
               event_type text, event_version integer, data jsonb, metadata jsonb,
               created_at timestamptz, w_safe bigint, w_candidate bigint,
               w_holders text[])
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    w record;
BEGIN
    SELECT * INTO w FROM safe_watermark(p_candidate, p_holders);
    RETURN QUERY
        SELECT e."position", e.event_id, e.stream_id, e.stream_version, e.event_type,
               e.event_version, e.data, e.metadata, e.created_at,
               w.safe, w.candidate, w.holders
        FROM events e
        WHERE e."position" > p_after AND e."position" <= greatest(w.safe, p_known)
        ORDER BY e."position"
        LIMIT p_limit;
    IF NOT FOUND THEN
        RETURN QUERY SELECT NULL::bigint, NULL::uuid, NULL::text, NULL::bigint, NULL::text,
            NULL::integer, NULL::jsonb, NULL::jsonb, NULL::timestamptz,
            w.safe, w.candidate, w.holders;
    END IF;
END
$$;
