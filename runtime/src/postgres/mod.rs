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
//! them afresh at every execution, and planning a statement this short costs more than
//! running it. Every statement of the store is an index lookup whose best plan does not
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
//!
//! [`EventStore`]: crate::store::EventStore
//! [`EventStore::read_all`]: crate::store::EventStore::read_all

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use sqlx::postgres::PgPool;

mod append;
mod connect;
mod event_store;
mod group;
mod notify;
mod progress;
mod read_side;
mod rows;
mod sql;

pub use connect::{DEFAULT_SCHEMA, PostgresOptions, redact_url};

/// The Postgres event store. Cheap to clone (the pool and counters are shared).
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
    /// What the read side sends, on at most [`connect::READ_SIDE_CONNECTIONS`]
    /// connections of its own, opened on first use: looks, checkpoint saves,
    /// registration, leases, heartbeats, and what status, stop, resume and the lists of
    /// failed events read and write. Handlers' transactions and reads, and the pages of
    /// a catch-up or rebuild (which overlap a projection's writes), stay on `pool`. The
    /// read side's work never waits behind commands for a connection, and ten units
    /// starting at once do not leave ten open.
    read_pool: PgPool,
    schema: String,
    /// `all_lock_key()` of the schema: the advisory lock appends take shared.
    all_lock_key: i64,
    statements: Arc<AtomicU64>,
    /// Grouping of one-event appends; `None` when turned off.
    group: Option<Arc<group::GroupCommit>>,
    /// Wakes readers after appends, here and (by notification) in other processes.
    wake: Arc<notify::Wake>,
    /// The read side's watermark between calls.
    watermark: Arc<std::sync::Mutex<read_side::Pending>>,
    /// Side-effect handlers' checkpoint saves, batched.
    progress: Arc<progress::Batcher>,
}

impl PostgresStore {
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

    fn lock_pending(&self) -> std::sync::MutexGuard<'_, read_side::Pending> {
        self.watermark
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
