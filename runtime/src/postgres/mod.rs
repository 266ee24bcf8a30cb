//! [`PostgresStore`]: the durable [`EventStore`] on Postgres (sqlx, tokio).
//!
//! # Layout
//!
//! Every table lives in one Postgres schema (default `eskema`), so several applications can
//! share a database. The embedded migrations (`runtime/migrations/`) are written without
//! schema names and every pooled connection starts with `search_path=<schema>` as a startup
//! parameter: no extra round trip per connection, the migrations and their `_sqlx_migrations`
//! ledger land in the chosen schema, and the SQL stays plain (no templating, so sqlx's
//! migration checksums stay valid whatever schema is chosen). The schema name is checked to
//! be a plain lower-case identifier, so it never needs quoting.
//!
//! # One round trip per append
//!
//! An append is one plain SQL statement (`APPEND_SQL`, CTEs, prepared once per connection
//! by sqlx) with the batch as arrays: one implicit transaction and one network round trip.
//! It takes the shared advisory lock, checks the command id (only when one is given),
//! reads the stream's head version off the unique `(stream_id, stream_version)` index,
//! checks the expected version and inserts every event with `UNNEST`. No per-stream row is
//! written: two appends racing for the same version both pass the check, and the loser's
//! insert fails on the unique index, which is the conflict (an `Any` append retries).
//! Pool connections are not pinged on acquire (`test_before_acquire(false)`), so a
//! steady-state append costs exactly one round trip. [`PostgresStore::statements_sent`]
//! counts the statements this store sent, so benchmarks can show it.
//!
//! # Group commit
//!
//! Under concurrency most of an append's cost is its commit and the statement's fixed cost,
//! not its row. One-event appends (the usual command) therefore queue, and at most
//! [`PostgresOptions::group_commit`] statements of them run at once, each carrying every
//! queued append it can (different streams and command ids, up to 64): one round trip and
//! one commit for all of them. Each append is still judged on its own inside the statement
//! (duplicate, expected version), so a neighbour's conflict never fails it; a lone appender
//! sends at once, with no waiting for company. See `group.rs` for the races and how a
//! batch that loses one falls back to single appends.
//!
//! # Generic plans
//!
//! Pool connections start with `plan_cache_mode=force_generic_plan`. The append statements
//! take arrays, whose lengths Postgres cannot see when it caches a plan, so it would plan
//! them afresh at every execution (measured: 0.3-0.4 ms of planning against 0.1 ms of
//! execution). Every statement of the store is an index lookup whose best plan does not
//! depend on its parameters, so the cached plan is always the right one. Queries of your own
//! on [`PostgresStore::pool`] get the setting too.
//!
//! # Idempotency
//!
//! A command id is recorded on the first event its append writes (`command_id`, plus
//! `command_events`, how many events it wrote), under a partial unique index: no extra row
//! per command. The append first checks whether the id is already recorded (then it is a
//! duplicate, answered with the first append's events), except for an id the engine made
//! for this very dispatch (`append_new_command`), which no earlier append can hold; a twin
//! racing from another process waits on the unique index until the first commits and then
//! fails on it, which is also reported as a duplicate. If the first rolls back, the second
//! goes ahead. A command that appended nothing has no event to carry its id and gets a row
//! in `commands`.
//!
//! One narrow case is not covered: two twins of one command id running at the same instant
//! where one decides to append nothing and the other appends events record in different
//! places, so both succeed. The events are still appended at most once; only the first
//! caller's answer (nothing) differs from what a retry now returns (the events).
//!
//! # No reader ever misses an event
//!
//! Positions come from a sequence, and concurrent transactions commit out of order: a reader
//! of "all from N" could see position 12 committed while 11 is still in flight, move on,
//! and skip 11 for ever. Known answers:
//!
//! - Commanded's EventStore serializes every append on the `$all` stream row: gap-free but
//!   one appender at a time for the whole store.
//! - Marten's async daemon keeps a "high-water mark" and waits a timeout on gaps, then
//!   assumes a gap is a rollback: concurrent, but a slow transaction can be skipped.
//! - Transaction-id ordering (`xid8` + `pg_snapshot_xmin`): concurrent and exact, but the
//!   order is by transaction, not by position, which breaks the "positions increase in commit
//!   order" contract readers rely on.
//!
//! We use a shared/exclusive advisory lock (one key per schema): every append takes it
//! *shared* before taking any position (appends stay concurrent with each other), and
//! [`EventStore::read_all`] first calls `safe_position()`, which takes it *exclusive* in its
//! own short statement, reads the sequence's last value S, and releases it when the statement
//! ends. Holding the exclusive lock proves that every append that drew a position <= S has
//! committed or rolled back; appends arriving meanwhile queue behind the reader and draw
//! positions > S. The reader then reads positions `<= S` with a new statement, whose
//! snapshot sees every one of them. The cost: two statements per `read_all` page, and appends
//! pause for the instant a reader holds the lock (it waits for in-flight appends, one
//! statement each, no client round trips inside). Streams need no such care: version n + 1
//! is only written by an append whose snapshot saw version n committed, so a stream's
//! versions commit in order.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::types::Json;
use sqlx::{ConnectOptions, Connection, Row};
use uuid::Uuid;

use crate::store::{
    AppendOutcome, EventPayload, EventStore, ExpectedVersion, Failure, Metadata, NewEvent,
    RecordedEvent, Snapshot, StoreError,
};

mod group;
mod notify;
mod read;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Grouped append statements running at once, unless chosen: see [`PostgresOptions::group_commit`].
const DEFAULT_GROUP_COMMIT: usize = 2;

/// The schema used when none is chosen.
pub const DEFAULT_SCHEMA: &str = "eskema";

const EVENT_COLUMNS: &str = "position, event_id, stream_id, stream_version, event_type, \
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
const APPEND_SQL: &str = "\
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
/// No CTEs: the lock is a filter of the one-row `head` subquery, so `nextval` (evaluated
/// only for a row that passed every filter) still runs under the lock; the test
/// `every_append_statement_draws_positions_only_under_the_all_lock` (in
/// `tests/postgres_group_commit.rs`) fails if it ever does not. With the lock as a
/// CTE joined to `head`, pgbench measured this statement at 79% of a raw insert's rate;
/// in this form, 82% (median of 6 alternating 5 s runs each, one connection).
const APPEND_ONE_SQL: &str = append_one_sql!(
    "
          WHEN $3::uuid IS NOT NULL
               AND (EXISTS (SELECT FROM events e WHERE e.command_id = $3)
                    OR EXISTS (SELECT FROM commands c WHERE c.command_id = $3)) THEN false"
);

/// [`APPEND_ONE_SQL`] without the two duplicate probes, for an append without a command
/// id and for [`EventStore::append_new_command`], whose id was made for this dispatch, so
/// no earlier append can hold it. The id is still recorded on the event, under the unique
/// `events_command_id_key`, which refuses a second record were the id ever reused. In
/// `store_bench`'s latency table (7 runs, one connection, commit included) an append with
/// the probes took 37-43 µs longer at the median than one with this statement, out of
/// 400-490 µs; with the probes, the engine's one-task row ran at 77-91% of raw (median
/// 82%, 12 runs), and without, at 82-89% (14 runs).
const APPEND_NEW_SQL: &str = append_one_sql!("");

/// The command id an append records, and whether the append looks it up first.
#[derive(Debug, Clone, Copy)]
enum CommandRecord {
    None,
    /// A caller's id: it may be a retry, so it is looked up before the version is checked.
    Given(Uuid),
    /// An id made for this dispatch ([`EventStore::append_new_command`]): only recorded.
    New(Uuid),
}

impl CommandRecord {
    fn id(self) -> Option<Uuid> {
        match self {
            CommandRecord::None => None,
            CommandRecord::Given(id) | CommandRecord::New(id) => Some(id),
        }
    }
}

/// SQLSTATE raised by `version_conflict()`; its DETAIL is the actual version.
const CONFLICT_STATE: &str = "ES409";

/// The unique index a racing append of the same stream version trips.
const STREAM_VERSION_KEY: &str = "events_stream_version_key";

/// The unique index on the command id recorded on a command's first event: violated by a
/// twin of a command that committed while we waited on it.
const COMMAND_ID_KEY: &str = "events_command_id_key";

/// How often an `ExpectedVersion::Any` append is retried after losing a race for the same
/// version: each loss means another append committed, so the store as a whole progresses.
const ANY_RETRIES: usize = 100;

/// How to connect: URL, schema, pool size. Made by [`PostgresStore::builder`].
#[derive(Debug, Clone)]
pub struct PostgresOptions {
    url: String,
    schema: String,
    max_connections: u32,
    acquire_timeout: Duration,
    group_commit: usize,
    notify: bool,
}

impl PostgresOptions {
    /// The Postgres schema holding the store's tables (default `eskema`); created if missing.
    /// Must match `[a-z_][a-z0-9_]{0,62}`.
    pub fn schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = schema.into();
        self
    }

    /// The pool's size (default 10).
    pub fn max_connections(mut self, n: u32) -> Self {
        self.max_connections = n.max(1);
        self
    }

    /// How many grouped append statements may run at once (default 2); 0 turns grouping
    /// off. Concurrent one-event appends to different streams share one statement and one
    /// commit: see "Group commit" in the module docs. Fewer slots make bigger batches; on
    /// the benchmark machine (2 cores, 16 tasks) 2 slots gave the most appends per second.
    pub fn group_commit(mut self, slots: usize) -> Self {
        self.group_commit = slots;
        self
    }

    /// Whether appends made through this store wake readers in other processes with a
    /// notification (default on). It is sent after the append commits, once per burst of
    /// appends, on a connection of its own: appends never wait for it. Off, other
    /// processes find new events by polling.
    pub fn notify(mut self, on: bool) -> Self {
        self.notify = on;
        self
    }

    /// How long a call waits for a pooled connection, and `connect` for the server
    /// (default 10 s).
    pub fn acquire_timeout(mut self, timeout: Duration) -> Self {
        self.acquire_timeout = timeout;
        self
    }

    /// Connects, creates the schema if needed and runs the embedded migrations in it.
    ///
    /// An unreachable server is [`StoreError::Unavailable`] naming the URL, password hidden.
    pub async fn connect(self) -> Result<PostgresStore, StoreError> {
        let shown = redact_url(&self.url);
        if !valid_schema(&self.schema) {
            return Err(StoreError::backend(format!(
                "invalid schema name `{}`: use a lower-case identifier ([a-z_][a-z0-9_]*, at most 63 characters)",
                self.schema
            )));
        }
        let hide = |e: &dyn std::fmt::Display| hide_password(&e.to_string(), &self.url);
        let options: PgConnectOptions = self.url.parse().map_err(|e: sqlx::Error| {
            StoreError::unavailable(format!("invalid database URL {shown}: {}", hide(&e)))
        })?;
        let options = options
            .options([
                ("search_path", self.schema.as_str()),
                // See "Generic plans" in the module docs.
                ("plan_cache_mode", "force_generic_plan"),
            ])
            .application_name("eskema");
        // One direct connection first: an unreachable server fails at once with the real
        // cause (the pool would only report a timeout), and it creates the schema.
        let mut conn = tokio::time::timeout(self.acquire_timeout, options.connect())
            .await
            .map_err(|_| {
                StoreError::unavailable(format!(
                    "cannot connect to {shown}: timed out after {:?}",
                    self.acquire_timeout
                ))
            })?
            .map_err(|e| {
                StoreError::unavailable(format!("cannot connect to {shown}: {}", hide(&e)))
            })?;
        // CREATE SCHEMA IF NOT EXISTS can still fail when two processes race; serialize it.
        let mut tx = conn.begin().await.map_err(map_err)?;
        sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended('eskema.create_schema', 0))")
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        sqlx::query(&format!("CREATE SCHEMA IF NOT EXISTS \"{}\"", self.schema))
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        tx.commit().await.map_err(map_err)?;
        let _ = conn.close().await;

        let pool = PgPoolOptions::new()
            .max_connections(self.max_connections)
            .min_connections(0)
            .test_before_acquire(false)
            .acquire_timeout(self.acquire_timeout)
            .connect_with(options)
            .await
            .map_err(|e| {
                StoreError::unavailable(format!("cannot connect to {shown}: {}", hide(&e)))
            })?;

        MIGRATOR.run(&pool).await.map_err(|e| {
            StoreError::backend(format!(
                "migrating schema `{}` at {shown}: {}",
                self.schema,
                hide(&e)
            ))
        })?;
        // Computed once here (it depends only on the schema) and sent with every append.
        let all_lock_key: i64 = sqlx::query_scalar("SELECT all_lock_key()")
            .fetch_one(&pool)
            .await
            .map_err(map_err)?;
        tracing::debug!(url = %shown, schema = %self.schema, "event store ready");
        let wake = notify::Wake::new(&pool, &self.schema, self.notify);
        Ok(PostgresStore {
            wake,
            watermark: Arc::default(),
            pool,
            schema: self.schema,
            all_lock_key,
            statements: Arc::new(AtomicU64::new(0)),
            group: (self.group_commit > 0)
                .then(|| Arc::new(group::GroupCommit::new(self.group_commit))),
        })
    }
}

/// The Postgres event store. Cheap to clone (the pool and counters are shared).
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
    schema: String,
    /// `all_lock_key()` of the schema: the advisory lock appends take shared.
    all_lock_key: i64,
    statements: Arc<AtomicU64>,
    /// Grouping of one-event appends; `None` when turned off.
    group: Option<Arc<group::GroupCommit>>,
    /// Wakes readers after appends, here and (by notification) in other processes.
    wake: Arc<notify::Wake>,
    /// The read side's watermark between calls.
    watermark: Arc<std::sync::Mutex<read::Pending>>,
}

impl PostgresStore {
    /// Connects with the defaults: schema `eskema`, 10 connections.
    pub async fn connect(url: &str) -> Result<PostgresStore, StoreError> {
        PostgresStore::builder(url).connect().await
    }

    /// Options for [`PostgresOptions::connect`].
    pub fn builder(url: impl Into<String>) -> PostgresOptions {
        PostgresOptions {
            url: url.into(),
            schema: DEFAULT_SCHEMA.to_string(),
            max_connections: 10,
            acquire_timeout: Duration::from_secs(10),
            group_commit: DEFAULT_GROUP_COMMIT,
            notify: true,
        }
    }

    /// The schema the store's tables live in.
    pub fn schema(&self) -> &str {
        &self.schema
    }

    /// The pool (connections have `search_path` set to the store's schema, and generic
    /// plans forced: see "Generic plans" in the module docs).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// How many SQL statements (= network round trips) this store, and its clones, sent.
    pub fn statements_sent(&self) -> u64 {
        self.statements.load(Ordering::Relaxed)
    }

    fn count(&self, n: u64) {
        self.statements.fetch_add(n, Ordering::Relaxed);
    }

    fn lock_pending(&self) -> std::sync::MutexGuard<'_, read::Pending> {
        self.watermark
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Wakes readers after a committed append.
    fn woken(&self, outcome: &Result<AppendOutcome, StoreError>) {
        if let Ok(AppendOutcome::Appended(events)) = outcome
            && let Some(last) = events.last()
        {
            self.wake.appended(last.position);
        }
    }

    /// [`PostgresStore::append_once`] until it has an answer. `None` from it: a duplicate
    /// whose first append vanished (rolled back) between the two statements, or an `Any`
    /// append that lost a race for its version; both retry.
    async fn append_retrying(
        &self,
        stream_id: &str,
        expected: ExpectedVersion,
        events: &[NewEvent],
        command: CommandRecord,
    ) -> Result<AppendOutcome, StoreError> {
        for _ in 0..ANY_RETRIES {
            if let Some(outcome) = self
                .append_once(stream_id, expected, events, command)
                .await?
            {
                return Ok(outcome);
            }
        }
        let command_id = command.id();
        Err(StoreError::backend(format!(
            "append to `{stream_id}` (command id {command_id:?}) kept losing races after \
             {ANY_RETRIES} attempts"
        )))
    }

    /// One attempt.
    async fn append_once(
        &self,
        stream_id: &str,
        expected: ExpectedVersion,
        events: &[NewEvent],
        command: CommandRecord,
    ) -> Result<Option<AppendOutcome>, StoreError> {
        let command_id = command.id();
        let expected_sql: i64 = match expected {
            ExpectedVersion::Any => -1,
            ExpectedVersion::NoStream => 0,
            ExpectedVersion::Exactly(v) => i64::try_from(v)
                .map_err(|_| StoreError::backend(format!("expected version {v} out of range")))?,
        };
        let appended = match events {
            [one] => match self
                .group_append(stream_id, expected_sql, one, command_id)
                .await
            {
                Ok(Some(group::Turn::Alone(slot))) => {
                    let appended = self.append_one(stream_id, expected_sql, one, command).await;
                    drop(slot);
                    appended
                }
                Ok(Some(group::Turn::Verdict(reply))) => match reply {
                    group::Reply::Conflict(actual) => {
                        return Err(StoreError::Conflict {
                            stream_id: stream_id.to_string(),
                            expected,
                            actual,
                        });
                    }
                    group::Reply::Failed(e) => return Err(e),
                    group::Reply::Appended(appended) => Ok(Some(appended)),
                    group::Reply::Duplicate => Ok(None),
                    group::Reply::Alone => {
                        self.append_one(stream_id, expected_sql, one, command).await
                    }
                },
                // Grouping is off.
                Ok(None) => self.append_one(stream_id, expected_sql, one, command).await,
                Err(e) => Err(e),
            },
            _ => {
                self.append_batch(stream_id, expected_sql, events, command_id)
                    .await
            }
        };
        let appended = match appended {
            Ok(appended) => appended,
            Err(sqlx::Error::Database(db)) if db.code().as_deref() == Some(CONFLICT_STATE) => {
                let actual = db
                    .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
                    .and_then(|e| e.detail())
                    .and_then(|d| d.parse::<i64>().ok());
                let actual = match actual {
                    Some(v) => to_u64(v)?,
                    None => self.stream_version(stream_id).await?,
                };
                return Err(StoreError::Conflict {
                    stream_id: stream_id.to_string(),
                    expected,
                    actual,
                });
            }
            Err(sqlx::Error::Database(db)) if db.constraint() == Some(COMMAND_ID_KEY) => {
                // A twin of this command committed while we waited on its index entry.
                let Some(command_id) = command_id else {
                    return Err(StoreError::backend(
                        "command id index tripped without a command id",
                    ));
                };
                return Ok(self
                    .find_command(command_id)
                    .await?
                    .map(AppendOutcome::Duplicate));
            }
            Err(sqlx::Error::Database(db)) if db.constraint() == Some(STREAM_VERSION_KEY) => {
                // A twin of this command may have taken the version first (the stream
                // version index is checked before the command id index): a duplicate.
                if let Some(command_id) = command_id
                    && let Some(previous) = self.find_command(command_id).await?
                {
                    return Ok(Some(AppendOutcome::Duplicate(previous)));
                }
                // Another append took the version we computed and committed while we
                // waited on the index: `Any` tries again on the new head, the others lost.
                if expected == ExpectedVersion::Any {
                    return Ok(None);
                }
                return Err(StoreError::Conflict {
                    stream_id: stream_id.to_string(),
                    expected,
                    actual: self.stream_version(stream_id).await?,
                });
            }
            Err(e) => return Err(map_err(e)),
        };
        match appended {
            Some((first, positions, created_at)) => {
                if positions.len() != events.len() {
                    return Err(StoreError::backend(format!(
                        "append returned {} positions for {} events",
                        positions.len(),
                        events.len()
                    )));
                }
                let recorded = events
                    .iter()
                    .zip(positions)
                    .enumerate()
                    .map(|(i, (e, position))| RecordedEvent {
                        event_id: e.event_id,
                        stream_id: stream_id.to_string(),
                        stream_version: first + i as u64,
                        position,
                        event_type: e.event_type.clone(),
                        event_version: e.event_version,
                        data: e.data.clone(),
                        metadata: e.metadata.clone(),
                        created_at,
                    })
                    .collect();
                Ok(Some(AppendOutcome::Appended(recorded)))
            }
            None => {
                let Some(command_id) = command_id else {
                    return Err(StoreError::backend(
                        "duplicate reported without a command id",
                    ));
                };
                // None: the first append rolled back after we saw it; the caller retries.
                Ok(self
                    .find_command(command_id)
                    .await?
                    .map(AppendOutcome::Duplicate))
            }
        }
    }

    /// One page of a stream: `sql` takes the stream id, the first version and the limit,
    /// and `decode` turns each row into what the caller reads.
    async fn stream_page<T>(
        &self,
        sql: &str,
        stream_id: &str,
        from_version: u64,
        limit: usize,
        decode: fn(&PgRow) -> Result<T, StoreError>,
    ) -> Result<Vec<T>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        self.count(1);
        let rows = sqlx::query(sql)
            .bind(stream_id)
            .bind(to_i64(from_version))
            .bind(to_i64(limit as u64))
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
        rows.iter().map(decode).collect()
    }

    /// One event through the group commit: `None` when grouping is off.
    async fn group_append(
        &self,
        stream_id: &str,
        expected: i64,
        event: &NewEvent,
        command_id: Option<Uuid>,
    ) -> Result<Option<group::Turn>, sqlx::Error> {
        let Some(group) = &self.group else {
            return Ok(None);
        };
        if let Some(slot) = group.try_alone(self) {
            return Ok(Some(group::Turn::Alone(slot)));
        }
        // Refused here, before queueing, so it cannot fail a batch.
        event_version(event)?;
        let request = group::Request {
            stream_id: stream_id.to_string(),
            expected,
            command_id,
            event: event.clone(),
            metadata: metadata_json(&event.metadata)?,
        };
        Ok(Some(group.submit(self, request).await))
    }

    /// One event through [`APPEND_ONE_SQL`], or [`APPEND_NEW_SQL`] when there is no id to
    /// look up: `None` for a duplicate command id, else the first version, the positions
    /// and the commit time.
    async fn append_one(
        &self,
        stream_id: &str,
        expected: i64,
        event: &NewEvent,
        command: CommandRecord,
    ) -> Result<Option<Appended>, sqlx::Error> {
        let metadata = metadata_json(&event.metadata)?;
        self.count(1);
        let sql = match command {
            CommandRecord::Given(_) => APPEND_ONE_SQL,
            CommandRecord::New(_) | CommandRecord::None => APPEND_NEW_SQL,
        };
        let row = sqlx::query(sql)
            .bind(stream_id)
            .bind(expected)
            .bind(command.id())
            .bind(event.event_id)
            .bind(event.event_type.as_str())
            .bind(event_version(event)?)
            .bind(&event.data)
            .bind(metadata)
            .bind(event.metadata.causation_id)
            .bind(event.metadata.correlation_id)
            .bind(self.all_lock_key)
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let position: i64 = row.try_get("position")?;
        let version: i64 = row.try_get("stream_version")?;
        let created_at: DateTime<Utc> = row.try_get("created_at")?;
        Ok(Some((
            row_u64(version)?,
            vec![row_u64(position)?],
            created_at,
        )))
    }

    /// Any other batch (also an empty one) through [`APPEND_SQL`].
    async fn append_batch(
        &self,
        stream_id: &str,
        expected: i64,
        events: &[NewEvent],
        command_id: Option<Uuid>,
    ) -> Result<Option<Appended>, sqlx::Error> {
        let metadata = events
            .iter()
            .map(|e| metadata_json(&e.metadata))
            .collect::<Result<Vec<_>, _>>()?;
        let mut columns = EventColumns::with_capacity(events.len());
        for (event, metadata) in events.iter().zip(&metadata) {
            columns.push(event, metadata)?;
        }
        self.count(1);
        let query = sqlx::query(APPEND_SQL)
            .bind(stream_id)
            .bind(expected)
            .bind(command_id);
        let row = columns
            .bind(query)
            .bind(self.all_lock_key)
            .fetch_one(&self.pool)
            .await?;
        let kind: i16 = row.try_get("kind")?;
        match kind {
            0 => {
                let head: i64 = row.try_get("actual_version")?;
                let positions: Vec<i64> = row.try_get("positions")?;
                let created_at: DateTime<Utc> = row.try_get("created_at")?;
                Ok(Some((
                    row_u64(head)? + 1,
                    positions
                        .into_iter()
                        .map(row_u64)
                        .collect::<Result<Vec<_>, _>>()?,
                    created_at,
                )))
            }
            1 => Ok(None),
            other => Err(sqlx::Error::Protocol(format!(
                "the append statement returned unknown kind {other}"
            ))),
        }
    }
}

impl EventStore for PostgresStore {
    /// An empty batch writes no event but still checks `expected` (a mismatch is a
    /// conflict) and records the command id, so a retry is answered `Duplicate(vec![])`.
    async fn append(
        &self,
        stream_id: &str,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
        command_id: Option<Uuid>,
    ) -> Result<AppendOutcome, StoreError> {
        let command = command_id.map_or(CommandRecord::None, CommandRecord::Given);
        let outcome = self
            .append_retrying(stream_id, expected, &events, command)
            .await;
        self.woken(&outcome);
        outcome
    }

    /// A one-event append skips the duplicate probes (`APPEND_NEW_SQL`); a grouped or
    /// bigger one runs the same statement as [`EventStore::append`].
    async fn append_new_command(
        &self,
        stream_id: &str,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
        command_id: Uuid,
    ) -> Result<AppendOutcome, StoreError> {
        let outcome = self
            .append_retrying(stream_id, expected, &events, CommandRecord::New(command_id))
            .await;
        self.woken(&outcome);
        outcome
    }

    async fn read_stream(
        &self,
        stream_id: &str,
        from_version: u64,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE stream_id = $1 AND stream_version >= $2 \
             ORDER BY stream_version LIMIT $3"
        );
        self.stream_page(&sql, stream_id, from_version, limit, decode_event)
            .await
    }

    /// Four columns instead of nine: no ids, metadata or timestamps to send and decode.
    async fn read_stream_payloads(
        &self,
        stream_id: &str,
        from_version: u64,
        limit: usize,
    ) -> Result<Vec<EventPayload>, StoreError> {
        self.stream_page(
            "SELECT stream_version, event_type, event_version, data FROM events \
             WHERE stream_id = $1 AND stream_version >= $2 ORDER BY stream_version LIMIT $3",
            stream_id,
            from_version,
            limit,
            decode_payload,
        )
        .await
    }

    async fn read_all(
        &self,
        from_position: u64,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        // Its own statement: the exclusive lock it waits for is released when it ends.
        self.count(1);
        let safe: i64 = sqlx::query_scalar("SELECT safe_position()")
            .fetch_one(&self.pool)
            .await
            .map_err(map_err)?;
        if to_u64(safe)? < from_position {
            return Ok(Vec::new());
        }
        self.count(1);
        let rows = sqlx::query(&format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE position >= $1 AND position <= $2 \
             ORDER BY position LIMIT $3"
        ))
        .bind(to_i64(from_position))
        .bind(safe)
        .bind(to_i64(limit as u64))
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter().map(decode_event).collect()
    }

    async fn stream_version(&self, stream_id: &str) -> Result<u64, StoreError> {
        self.count(1);
        let v: i64 = sqlx::query_scalar(
            "SELECT coalesce(max(stream_version), 0) FROM events WHERE stream_id = $1",
        )
        .bind(stream_id)
        .fetch_one(&self.pool)
        .await
        .map_err(map_err)?;
        to_u64(v)
    }

    async fn find_command(
        &self,
        command_id: Uuid,
    ) -> Result<Option<Vec<RecordedEvent>>, StoreError> {
        self.count(1);
        // A command's events start at the event carrying its id; a command that wrote
        // nothing has a `commands` row instead (one row with null event columns).
        let rows = sqlx::query(
            "SELECT e.position, e.event_id, e.stream_id, e.stream_version, e.event_type, \
                    e.event_version, e.data, e.metadata, e.created_at \
             FROM events f JOIN events e ON e.stream_id = f.stream_id \
                  AND e.stream_version >= f.stream_version \
                  AND e.stream_version < f.stream_version + f.command_events \
             WHERE f.command_id = $1 \
             UNION ALL \
             SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL \
             FROM commands c WHERE c.command_id = $1 \
             ORDER BY 4",
        )
        .bind(command_id)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        if rows.is_empty() {
            return Ok(None);
        }
        let mut events = Vec::with_capacity(rows.len());
        for row in &rows {
            let position: Option<i64> = row.try_get("position").map_err(map_err)?;
            if position.is_some() {
                events.push(decode_event(row)?);
            }
        }
        Ok(Some(events))
    }

    async fn save_snapshot(&self, snapshot: Snapshot) -> Result<(), StoreError> {
        self.count(1);
        sqlx::query(
            "INSERT INTO snapshots (stream_id, version, state_hash, state) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (stream_id) DO UPDATE SET version = EXCLUDED.version, \
             state_hash = EXCLUDED.state_hash, state = EXCLUDED.state, created_at = now() \
             WHERE snapshots.version <= EXCLUDED.version \
             OR snapshots.state_hash <> EXCLUDED.state_hash",
        )
        .bind(&snapshot.stream_id)
        .bind(to_i64(snapshot.version))
        .bind(&snapshot.state_hash)
        .bind(&snapshot.state)
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn load_snapshot(&self, stream_id: &str) -> Result<Option<Snapshot>, StoreError> {
        self.count(1);
        let row = sqlx::query(
            "SELECT stream_id, version, state_hash, state FROM snapshots WHERE stream_id = $1",
        )
        .bind(stream_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        row.map(|row| {
            Ok(Snapshot {
                stream_id: row.try_get("stream_id").map_err(map_err)?,
                version: to_u64(row.try_get("version").map_err(map_err)?)?,
                state_hash: row.try_get("state_hash").map_err(map_err)?,
                state: row.try_get("state").map_err(map_err)?,
            })
        })
        .transpose()
    }
}

/// What an append wrote: first stream version, positions in version order, commit time.
type Appended = (u64, Vec<u64>, DateTime<Utc>);

type PgQuery<'q> = sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>;

/// The per-event columns of appended events as parallel arrays, for `unnest`: `$4..$10` of
/// [`APPEND_SQL`] and of the group statement alike.
struct EventColumns<'a> {
    ids: Vec<Uuid>,
    types: Vec<&'a str>,
    versions: Vec<i32>,
    data: Vec<&'a Value>,
    metadata: Vec<&'a Value>,
    causation: Vec<Option<Uuid>>,
    correlation: Vec<Option<Uuid>>,
}

impl<'a> EventColumns<'a> {
    fn with_capacity(n: usize) -> Self {
        EventColumns {
            ids: Vec::with_capacity(n),
            types: Vec::with_capacity(n),
            versions: Vec::with_capacity(n),
            data: Vec::with_capacity(n),
            metadata: Vec::with_capacity(n),
            causation: Vec::with_capacity(n),
            correlation: Vec::with_capacity(n),
        }
    }

    /// `metadata`: the event's metadata as JSON (see [`metadata_json`]).
    fn push(&mut self, event: &'a NewEvent, metadata: &'a Value) -> Result<(), sqlx::Error> {
        self.ids.push(event.event_id);
        self.types.push(event.event_type.as_str());
        self.versions.push(event_version(event)?);
        self.data.push(&event.data);
        self.metadata.push(metadata);
        self.causation.push(event.metadata.causation_id);
        self.correlation.push(event.metadata.correlation_id);
        Ok(())
    }

    /// Binds the seven arrays, in column order, as the query's next parameters.
    fn bind<'q>(&'q self, query: PgQuery<'q>) -> PgQuery<'q> {
        query
            .bind(&self.ids[..])
            .bind(&self.types[..])
            .bind(&self.versions[..])
            .bind(&self.data[..])
            .bind(&self.metadata[..])
            .bind(&self.causation[..])
            .bind(&self.correlation[..])
    }
}

fn metadata_json(metadata: &Metadata) -> Result<Value, sqlx::Error> {
    serde_json::to_value(metadata).map_err(|e| sqlx::Error::Encode(Box::new(e)))
}

fn event_version(event: &NewEvent) -> Result<i32, sqlx::Error> {
    i32::try_from(event.event_version).map_err(|e| sqlx::Error::Encode(Box::new(e)))
}

/// Columns by index, in [`EVENT_COLUMNS`] order (a name lookup per column per row shows
/// in long reads), and the metadata decoded straight from its bytes.
fn decode_event(row: &PgRow) -> Result<RecordedEvent, StoreError> {
    let Json(metadata): Json<Metadata> = row.try_get(7).map_err(map_err)?;
    let event_version: i32 = row.try_get(5).map_err(map_err)?;
    Ok(RecordedEvent {
        position: to_u64(row.try_get(0).map_err(map_err)?)?,
        event_id: row.try_get(1).map_err(map_err)?,
        stream_id: row.try_get(2).map_err(map_err)?,
        stream_version: to_u64(row.try_get(3).map_err(map_err)?)?,
        event_type: row.try_get(4).map_err(map_err)?,
        event_version: to_version(event_version)?,
        data: row.try_get(6).map_err(map_err)?,
        metadata,
        created_at: row.try_get(8).map_err(map_err)?,
    })
}

/// The columns of [`EventStore::read_stream_payloads`], by index.
fn decode_payload(row: &PgRow) -> Result<EventPayload, StoreError> {
    let event_version: i32 = row.try_get(2).map_err(map_err)?;
    Ok(EventPayload {
        stream_version: to_u64(row.try_get(0).map_err(map_err)?)?,
        event_type: row.try_get(1).map_err(map_err)?,
        event_version: to_version(event_version)?,
        data: row.try_get(3).map_err(map_err)?,
    })
}

/// Versions and positions are never negative (table checks and a 1-based sequence); one
/// that is (a table edited by hand) is an error, not a silent 0.
fn to_u64(v: i64) -> Result<u64, StoreError> {
    u64::try_from(v)
        .map_err(|_| StoreError::backend(format!("negative version or position {v} in the store")))
}

/// [`to_u64`] where sqlx's error is the currency (inside a transaction's closure).
fn row_u64(v: i64) -> Result<u64, sqlx::Error> {
    u64::try_from(v).map_err(|e| sqlx::Error::Decode(Box::new(e)))
}

/// An event version as stored (an `int`), which the table's check keeps positive.
fn to_version(v: i32) -> Result<u32, StoreError> {
    u32::try_from(v)
        .map_err(|_| StoreError::backend(format!("negative event version {v} in the store")))
}

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// Lost connections and pool exhaustion are `Unavailable`; everything else is `Backend`.
fn map_err(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Io(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => {
            StoreError::Unavailable(Failure::caused_by(e.to_string(), e))
        }
        sqlx::Error::Database(db)
            if db
                .code()
                .is_some_and(|c| c.starts_with("08") || c.starts_with("57")) =>
        {
            StoreError::Unavailable(Failure::caused_by(e.to_string(), e))
        }
        _ => StoreError::Backend(Failure::caused_by(e.to_string(), e)),
    }
}

fn valid_schema(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some('a'..='z' | '_'))
        && name.len() <= 63
        && chars.all(|c| matches!(c, 'a'..='z' | '0'..='9' | '_'))
}

/// The URL with its password replaced by `***` (in the user-info part and in a `password=`
/// query parameter), for error messages and logs.
pub fn redact_url(url: &str) -> String {
    let mut out = url.to_string();
    if let Some(scheme_end) = out.find("://") {
        let rest_start = scheme_end + 3;
        let authority_end = out[rest_start..]
            .find(['/', '?'])
            .map_or(out.len(), |i| rest_start + i);
        if let Some(at) = out[rest_start..authority_end].rfind('@') {
            let userinfo_end = rest_start + at;
            if let Some(colon) = out[rest_start..userinfo_end].find(':') {
                out.replace_range(rest_start + colon + 1..userinfo_end, "***");
            }
        }
    }
    if let Some(q) = out.find('?') {
        let (base, query) = out.split_at(q + 1);
        let query = query
            .split('&')
            .map(|kv| {
                if kv.starts_with("password=") {
                    "password=***".to_string()
                } else {
                    kv.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join("&");
        out = format!("{base}{query}");
    }
    out
}

/// Removes the URL's password from a driver message, in case the driver echoed it.
fn hide_password(message: &str, url: &str) -> String {
    let mut out = message.replace(url, &redact_url(url));
    if let Some(password) = password_of(url)
        && !password.is_empty()
    {
        out = out.replace(&password, "***");
    }
    out
}

fn password_of(url: &str) -> Option<String> {
    let rest = &url[url.find("://")? + 3..];
    let authority = &rest[..rest.find(['/', '?']).unwrap_or(rest.len())];
    let userinfo = &authority[..authority.rfind('@')?];
    Some(userinfo[userinfo.find(':')? + 1..].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_hidden() {
        assert_eq!(
            redact_url("postgres://app:s3cret@db.example:5432/prod"),
            "postgres://app:***@db.example:5432/prod"
        );
        assert_eq!(
            redact_url("postgres://app@db/prod?sslmode=disable&password=s3cret"),
            "postgres://app@db/prod?sslmode=disable&password=***"
        );
        assert_eq!(redact_url("postgres://db/prod"), "postgres://db/prod");
        assert_eq!(
            hide_password(
                "failed for postgres://a:pw%40x@h/d: pw%40x",
                "postgres://a:pw%40x@h/d"
            ),
            "failed for postgres://a:***@h/d: ***"
        );
    }

    #[test]
    fn schema_names_are_plain_identifiers() {
        assert!(valid_schema("eskema"));
        assert!(valid_schema("_app_2"));
        assert!(!valid_schema("Eskema"));
        assert!(!valid_schema("2app"));
        assert!(!valid_schema("a\"; DROP"));
        assert!(!valid_schema(""));
        assert!(!valid_schema(&"a".repeat(64)));
    }
}
