-- eskema event store. Every name here is unqualified: PostgresStore runs this with
-- `search_path` set to the store's schema (default `eskema`), so each schema holds one
-- independent store and `_sqlx_migrations` ledger.

-- Global positions. Only append_events() calls nextval, always while holding the shared
-- "all" advisory lock (see read_all_events()).
CREATE SEQUENCE event_position_seq AS bigint START 1 CACHE 1;

CREATE TABLE streams (
    stream_id text PRIMARY KEY,
    version   bigint NOT NULL CHECK (version >= 0)
);

CREATE TABLE events (
    position       bigint PRIMARY KEY,              -- read all in order
    event_id       uuid NOT NULL,
    stream_id      text NOT NULL,
    stream_version bigint NOT NULL CHECK (stream_version >= 1),
    event_type     text NOT NULL,
    event_version  int NOT NULL,
    data           jsonb NOT NULL,
    metadata       jsonb NOT NULL,
    causation_id   uuid,
    correlation_id uuid,
    created_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT events_stream_version_key UNIQUE (stream_id, stream_version)  -- read a stream
);

CREATE UNIQUE INDEX events_event_id_key ON events (event_id);
CREATE INDEX events_correlation_id_idx ON events (correlation_id) WHERE correlation_id IS NOT NULL;

-- One row per appended command id: the versions it wrote (last_version < first_version when
-- the command wrote nothing).
CREATE TABLE commands (
    command_id    uuid PRIMARY KEY,
    stream_id     text NOT NULL,
    first_version bigint NOT NULL,
    last_version  bigint NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE snapshots (
    stream_id  text PRIMARY KEY,
    version    bigint NOT NULL,
    state_hash text NOT NULL,
    state      jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- The advisory lock key guarding position allocation, one per schema.
CREATE FUNCTION all_lock_key() RETURNS bigint
LANGUAGE sql STABLE AS $$ SELECT hashtextextended('eskema.all.' || current_schema(), 0) $$;

-- Appends a batch in one statement (one round trip, one transaction).
--
-- p_expected: -1 = any, 0 = no stream, n > 0 = exactly n.
-- Returns one row: kind 0 = appended (first_version, positions in version order, created_at),
-- 1 = duplicate command id (nothing written; the caller reads the first append's events),
-- 2 = conflict (actual_version).
CREATE FUNCTION append_events(
    p_stream_id   text,
    p_expected    bigint,
    p_command_id  uuid,
    p_event_ids   uuid[],
    p_types       text[],
    p_versions    int[],
    p_data        jsonb[],
    p_metadata    jsonb[],
    p_causation   uuid[],
    p_correlation uuid[],
    OUT kind smallint,
    OUT actual_version bigint,
    OUT first_version bigint,
    OUT positions bigint[],
    OUT created_at timestamptz
)
LANGUAGE plpgsql AS $$
DECLARE
    n bigint := coalesce(array_length(p_event_ids, 1), 0);
    v_new bigint;
BEGIN
    created_at := now();
    -- Before taking any position (and before any other lock, so a reader waiting for the
    -- exclusive lock never sits in a wait cycle with us).
    PERFORM pg_advisory_xact_lock_shared(all_lock_key());

    -- The idempotency record comes first, so a retried command is answered, not refused as
    -- a conflict. A concurrent append of the same id makes us wait on the unique index
    -- until it commits (then: duplicate) or rolls back (then: we go ahead).
    IF p_command_id IS NOT NULL THEN
        INSERT INTO commands (command_id, stream_id, first_version, last_version)
        VALUES (p_command_id, p_stream_id, 0, -1)
        ON CONFLICT (command_id) DO NOTHING;
        IF NOT FOUND THEN
            kind := 1;
            RETURN;
        END IF;
    END IF;

    IF n = 0 THEN
        SELECT s.version INTO actual_version FROM streams s WHERE s.stream_id = p_stream_id;
        actual_version := coalesce(actual_version, 0);
        IF p_expected >= 0 AND p_expected <> actual_version THEN
            DELETE FROM commands WHERE command_id = p_command_id;
            kind := 2;
            RETURN;
        END IF;
        UPDATE commands SET first_version = actual_version + 1, last_version = actual_version
        WHERE command_id = p_command_id;
        kind := 0;
        first_version := actual_version + 1;
        positions := '{}';
        RETURN;
    END IF;

    -- The stream row serializes appenders of one stream; READ COMMITTED re-checks the
    -- WHERE against the latest committed version after waiting.
    IF p_expected < 0 THEN
        INSERT INTO streams AS s (stream_id, version) VALUES (p_stream_id, n)
        ON CONFLICT (stream_id) DO UPDATE SET version = s.version + n
        RETURNING s.version INTO v_new;
    ELSIF p_expected = 0 THEN
        INSERT INTO streams AS s (stream_id, version) VALUES (p_stream_id, n)
        ON CONFLICT (stream_id) DO UPDATE SET version = n WHERE s.version = 0
        RETURNING s.version INTO v_new;
    ELSE
        UPDATE streams s SET version = s.version + n
        WHERE s.stream_id = p_stream_id AND s.version = p_expected
        RETURNING s.version INTO v_new;
    END IF;

    IF v_new IS NULL THEN
        SELECT s.version INTO actual_version FROM streams s WHERE s.stream_id = p_stream_id;
        actual_version := coalesce(actual_version, 0);
        DELETE FROM commands WHERE command_id = p_command_id;
        kind := 2;
        RETURN;
    END IF;

    first_version := v_new - n + 1;
    IF p_command_id IS NOT NULL THEN
        UPDATE commands SET first_version = v_new - n + 1, last_version = v_new
        WHERE command_id = p_command_id;
    END IF;

    -- WITH ORDINALITY feeds rows in array order, so nextval hands out increasing positions
    -- with increasing stream versions.
    WITH ins AS (
        INSERT INTO events (position, event_id, stream_id, stream_version, event_type,
                            event_version, data, metadata, causation_id, correlation_id,
                            created_at)
        SELECT nextval('event_position_seq'), u.event_id, p_stream_id, v_new - n + u.ord,
               u.event_type, u.event_version, u.data, u.metadata, u.causation_id,
               u.correlation_id, created_at
        FROM unnest(p_event_ids, p_types, p_versions, p_data, p_metadata, p_causation,
                    p_correlation)
             WITH ORDINALITY AS u(event_id, event_type, event_version, data, metadata,
                                  causation_id, correlation_id, ord)
        RETURNING events.position, events.stream_version
    )
    SELECT array_agg(ins.position ORDER BY ins.stream_version) INTO positions FROM ins;
    kind := 0;
END
$$;

-- The highest position no in-flight append can still fill in below.
--
-- Waiting for the exclusive "all" lock means every appender that took a position before
-- now has committed or rolled back; appenders arriving meanwhile queue behind us and take
-- larger positions. Call it as its own statement (autocommit): the transaction-scoped lock
-- is released when the statement ends, so appends stall only for the instant of reading
-- the sequence, and a cancelled call can never leak the lock. The caller then reads
-- positions <= the result with a new statement, whose snapshot sees all of them.
CREATE FUNCTION safe_position() RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    s bigint;
BEGIN
    PERFORM pg_advisory_xact_lock(all_lock_key());
    SELECT CASE WHEN is_called THEN last_value ELSE 0 END INTO s FROM event_position_seq;
    RETURN s;
END
$$;
