//! The SQL text of the event store's statements: the event columns every read selects, and
//! the append statements (a batch as arrays, and the one-event forms).

pub(super) const EVENT_COLUMNS: &str = "position, event_id, stream_id, stream_version, event_type, \
     event_version, data, metadata, created_at";

/// One append: one statement, hence one implicit transaction and one round trip.
///
/// `$1` stream, `$2` expected (-1 any, 0 no stream, n exactly n), `$3` command id or null,
/// `$4..$10` the batch as arrays, `$11` the schema's "all" advisory lock key.
///
/// Order inside the statement is forced by data dependencies: the shared advisory lock
/// (`lk`) is read by the duplicate check (`seen`), the command-row insert and, through
/// `chk`, by the event insert, so it is taken before any row lock and before any position
/// is drawn (see "No reader ever misses an event"). The duplicate check comes before the
/// version is judged, so a retried command is answered as a duplicate, not refused as a
/// conflict. A batch with events records its command id on its first event (`command_id`,
/// `command_events`), whose partial unique index makes a twin in flight wait until we
/// commit (it then fails on that index: a duplicate) or roll back (it goes ahead); an empty
/// batch has no event to carry the id and inserts a `commands` row instead. A version
/// mismatch calls `version_conflict()`, which raises, so a command row rolls back with the
/// statement. The head version comes from the unique `(stream_id, stream_version)` index;
/// an append racing us to the same version makes our insert fail on that index (a conflict,
/// see [`PostgresStore::append_once`]). `chk` is read through scalar sub-selects (init
/// plans, evaluated once before the scan), so the events are read straight off `unnest` in
/// array order and `nextval` hands out positions in version order.
///
/// [`PostgresStore::append_once`]: super::PostgresStore::append_once
pub(super) const APPEND_SQL: &str = "\
WITH lk AS (SELECT pg_advisory_xact_lock_shared($11) AS locked),
head AS (
    SELECT coalesce(max(e.stream_version), 0) AS v FROM events e WHERE e.stream_id = $1
),
seen AS (
    SELECT $3::uuid IS NOT NULL
           AND (EXISTS (SELECT FROM events e WHERE e.command_id = $3)
                OR EXISTS (SELECT FROM commands c WHERE c.command_id = $3)) AS dup
    FROM lk
),
cmd AS (
    INSERT INTO commands (command_id, stream_id, first_version, last_version)
    SELECT $3, $1, head.v + 1, head.v
    FROM lk, head, seen
    WHERE $3::uuid IS NOT NULL AND cardinality($4::uuid[]) = 0 AND NOT seen.dup
    ON CONFLICT (command_id) DO NOTHING
    RETURNING command_id
),
chk AS (
    SELECT CASE
               WHEN seen.dup THEN 1::smallint
               WHEN $3::uuid IS NOT NULL AND cardinality($4::uuid[]) = 0
                    AND NOT EXISTS (SELECT FROM cmd) THEN 1::smallint
               WHEN $2::bigint < 0 OR $2::bigint = head.v THEN 0::smallint
               ELSE version_conflict(head.v)
           END AS kind,
           head.v
    FROM lk, head, seen
),
ins AS (
    INSERT INTO events (position, event_id, stream_id, stream_version, event_type,
                        event_version, data, metadata, causation_id, correlation_id,
                        command_id, command_events)
    SELECT nextval('event_position_seq'), u.event_id, $1, (SELECT v FROM chk) + u.ord,
           u.event_type, u.event_version, u.data, u.metadata, u.causation_id,
           u.correlation_id,
           CASE WHEN u.ord = 1 THEN $3::uuid END,
           CASE WHEN u.ord = 1 AND $3::uuid IS NOT NULL THEN cardinality($4::uuid[]) END
    FROM unnest($4::uuid[], $5::text[], $6::int[], $7::jsonb[], $8::jsonb[], $9::uuid[],
                $10::uuid[])
         WITH ORDINALITY AS u(event_id, event_type, event_version, data, metadata,
                              causation_id, correlation_id, ord)
    WHERE (SELECT kind FROM chk) = 0
    RETURNING position, stream_version
)
SELECT chk.kind, chk.v AS actual_version,
       coalesce((SELECT array_agg(ins.position ORDER BY ins.stream_version) FROM ins),
                '{}') AS positions,
       now() AS created_at
FROM chk";

/// The one-event append statement, with `$duplicate` as the first arm of the `CASE`
/// that orders the checks: [`APPEND_ONE_SQL`] looks the command id up there,
/// [`APPEND_NEW_SQL`] does not.
macro_rules! append_one_sql {
    ($duplicate:literal) => {
        concat!(
            "\
INSERT INTO events (position, event_id, stream_id, stream_version, event_type, event_version,
                    data, metadata, causation_id, correlation_id, command_id, command_events)
SELECT nextval('event_position_seq'), $4, $1, head.v + 1, $5, $6, $7, $8, $9, $10,
       $3, CASE WHEN $3::uuid IS NOT NULL THEN 1 END
FROM (SELECT coalesce(max(e.stream_version), 0) AS v FROM events e WHERE e.stream_id = $1)
     AS head
WHERE pg_advisory_xact_lock_shared($11) IS NOT NULL
  AND CASE",
            $duplicate,
            "
          WHEN $2::bigint < 0 OR $2::bigint = head.v THEN true
          ELSE version_conflict(head.v) = 0
      END
RETURNING position, stream_version, created_at"
        )
    };
}

/// [`APPEND_SQL`] for the most common batch, one event: scalar parameters instead of
/// arrays, and no `seen`/`cmd`/`chk`/`unnest`/`array_agg` stages, which measurably costs
/// less server CPU per append. Same order of effects (lock, duplicate check, version check,
/// insert), the same `$n` meanings, but `$4..$10` are scalars; `CASE` fixes the order of
/// the checks. It returns no row for a command id already recorded, else the one appended
/// row.
///
/// No CTEs (cheaper than the lock as a CTE joined to `head`): the lock is a filter of the
/// one-row `head` subquery, so `nextval` (evaluated only for a row that passed every
/// filter) still runs under the lock; the test
/// `every_append_statement_draws_positions_only_under_the_all_lock` (in
/// `tests/postgres_group_commit.rs`) fails if it ever does not.
pub(super) const APPEND_ONE_SQL: &str = append_one_sql!(
    "
          WHEN $3::uuid IS NOT NULL
               AND (EXISTS (SELECT FROM events e WHERE e.command_id = $3)
                    OR EXISTS (SELECT FROM commands c WHERE c.command_id = $3)) THEN false"
);

/// [`APPEND_ONE_SQL`] without the two duplicate probes, for an append without a command
/// id and for [`EventStore::append_new_command`], whose id was made for this dispatch, so
/// no earlier append can hold it. The id is still recorded on the event, under the unique
/// `events_command_id_key`, which refuses a second record were the id ever reused.
/// Skipping the probes saves two index lookups (on `events` and on `commands`) per append,
/// work that can find nothing when the id cannot be a retry.
///
/// [`EventStore::append_new_command`]: crate::store::EventStore::append_new_command
pub(super) const APPEND_NEW_SQL: &str = append_one_sql!("");
