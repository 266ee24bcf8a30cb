-- Appends become one plain SQL statement (see APPEND_SQL in src/postgres/mod.rs) instead of
-- the plpgsql function append_events(): the expected version is checked against the
-- unique (stream_id, stream_version) index (max() lookup, then insert; a concurrent append
-- of the same version fails on the index), so no `streams` row is written per append.
-- The stream's version is max(stream_version) of its events; the `streams` table and the
-- function go. Processes of the previous release must be stopped before this runs.

DROP FUNCTION append_events(text, bigint, uuid, uuid[], text[], int[], jsonb[], jsonb[], uuid[],
                            uuid[]);
DROP TABLE streams;

-- Raised by the append statement when the stream is not at the expected version: an error,
-- not a result row, so the command-id row inserted earlier in the same statement rolls
-- back with it. DETAIL carries the actual version. Called only on that path.
CREATE FUNCTION version_conflict(actual bigint) RETURNS smallint
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    RAISE EXCEPTION 'stream is at version %', actual
        USING ERRCODE = 'ES409', DETAIL = actual::text;
END
$$;
