-- Event payloads and metadata are stored as `json` (their text), no longer `jsonb`.
--
-- The store never looks inside a payload: it writes each once and reads it whole, and every
-- read side reads every event. Sending a `jsonb` value means printing it as text again
-- (escape_json and friends were about 40% of a read-side look's server time in a profile of
-- read_bench's throughput row); a `json` value is sent as stored. COPY in binary format of
-- 200,000 events took 175 ms from `jsonb` columns and 90 ms from `json` ones on the
-- machine the README names.
--
-- Appends still bind `jsonb` parameters: the server parses and checks each payload as before
-- (a `\u0000` is still refused) and stores its canonical text, so what a reader gets back is
-- byte for byte what it got from `jsonb`. Queries of your own that use `jsonb`-only operators
-- on these columns (`@>`, `?`) need a `::jsonb` cast now; `->` and `->>` work on both.
--
-- The ALTER rewrites the events table once, holding an exclusive lock while it does.

ALTER TABLE events ALTER COLUMN data TYPE json, ALTER COLUMN metadata TYPE json;

-- The look returns the columns as they are now.
DROP FUNCTION read_after_watermark(bigint, text[], bigint, bigint, integer);
CREATE FUNCTION read_after_watermark(p_candidate bigint, p_holders text[], p_after bigint,
                                     p_known bigint, p_limit integer)
RETURNS TABLE ("position" bigint, event_id uuid, stream_id text, stream_version bigint,
               event_type text, event_version integer, data json, metadata json,
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
            NULL::integer, NULL::json, NULL::json, NULL::timestamptz,
            w.safe, w.candidate, w.holders;
    END IF;
END
$$;
