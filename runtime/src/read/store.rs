//! What the read side keeps in the store: per subscriber partition a checkpoint with its
//! lease (fencing token), the live processes, parked and skipped events, process-manager
//! state, and the transaction projections write in. [`crate::MemoryStore`] and
//! `PostgresStore` implement [`ReadStore`]; the subscription conformance suite checks both.

use std::future::Future;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;
use tokio::sync::watch;

use crate::store::{EventStore, RecordedEvent, StoreError};

/// One partition of one subscriber: the unit that is leased, checkpointed and run.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UnitId {
    /// The subscriber's id, `context.Name`.
    pub subscriber: String,
    pub partition: u32,
}

impl std::fmt::Display for UnitId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}#{}", self.subscriber, self.partition)
    }
}

/// A held lease: every checkpoint update carries its token and is refused once another
/// process has taken the unit over (the token grew), so a process that lost its lease
/// cannot move the checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lease {
    pub token: u64,
}

/// A unit's persisted state.
#[derive(Debug, Clone, PartialEq)]
pub struct Checkpoint {
    /// How many partitions the subscriber had when this row was written.
    pub partitions: u32,
    /// Every event at or before this position is handled, skipped on record or parked.
    pub position: u64,
    /// Checkpoints of the subscriber's previous partitioning, by old partition, while this
    /// unit is still before the highest of them: an event of a stream whose old partition
    /// had passed it is not handled again.
    pub legacy: Option<Vec<u64>>,
    /// Events up to here may have been handed to the handler without the checkpoint
    /// passing them: after a crash they are handled one at a time, each attempt counted.
    pub suspect_until: u64,
    /// The event whose failed attempts `attempts` counts (0: none).
    pub attempt_position: u64,
    pub attempts: u32,
    /// Stopped by the failure policy, with the error; stays stopped until resumed.
    pub stopped: Option<String>,
    pub last_error: Option<String>,
    pub last_error_at: Option<DateTime<Utc>>,
    /// The node holding the lease, if it has not expired.
    pub owner: Option<String>,
    pub token: u64,
    /// Set by a reset: the head position the rebuild runs to; cleared once reached.
    pub rebuild_until: Option<u64>,
}

/// A checkpoint update made outside a transaction (side-effect handlers, attempt counts).
#[derive(Debug, Clone, PartialEq)]
pub struct Progress {
    pub position: u64,
    pub suspect_until: u64,
    /// `(position, attempts, error)` of the event being retried; `None` clears it.
    pub attempt: Option<(u64, u32, String)>,
}

/// What [`ReadStore::safe_position`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Watermark {
    /// Every event up to here is committed or rolled back.
    pub safe: u64,
    /// Appends were in flight: asking again shortly will find more.
    pub pending: bool,
}

/// The checkpoint a transaction moves, and the lease that entitles it to.
#[derive(Debug, Clone, Copy)]
pub struct Fence<'a> {
    pub unit: &'a UnitId,
    pub lease: Lease,
    pub progress: &'a Progress,
}

/// What became of an event that every attempt failed on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureOutcome {
    /// In the dead-letter table: [`crate::read::ReadSide::replay`] hands it to the handler
    /// again.
    Parked,
    /// Recorded and passed by.
    Skipped,
}

impl FailureOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            FailureOutcome::Parked => "parked",
            FailureOutcome::Skipped => "skipped",
        }
    }
}

/// A parked or skipped event.
#[derive(Debug, Clone, PartialEq)]
pub struct FailedEvent {
    /// The record's id, for [`crate::read::ReadSide::replay`] and
    /// [`crate::read::ReadSide::dismiss`].
    pub id: u64,
    pub subscriber: String,
    pub partition: u32,
    pub outcome: FailureOutcome,
    pub event: RecordedEvent,
    pub error: String,
    pub attempts: u32,
    pub at: DateTime<Utc>,
}

/// The failure record to write, in the transaction that moves the checkpoint past it.
#[derive(Debug, Clone, PartialEq)]
pub struct NewFailure<'a> {
    pub unit: &'a UnitId,
    pub outcome: FailureOutcome,
    pub event: &'a RecordedEvent,
    pub error: &'a str,
    pub attempts: u32,
}

/// A process-manager instance's state to save (`None` deletes it), with the position of the
/// event that left it so.
#[derive(Debug, Clone, PartialEq)]
pub struct InstanceChange {
    pub instance: String,
    pub state: Option<Value>,
    pub position: u64,
}

/// The store side of subscriptions. Every method is atomic; every checkpoint write is
/// fenced by the lease token and returns `Ok(false)`, writing nothing, when the token is
/// no longer the unit's.
pub trait ReadStore: EventStore {
    /// An open transaction; dropped without [`ReadStore::commit`], it rolls back.
    type Tx: Send + 'static;
    /// What a projection writes its read model on, inside [`ReadStore::Tx`]:
    /// `sqlx::PgConnection` on Postgres, [`crate::memory::MemoryTx`] in memory.
    type Conn: ?Sized + Send;

    fn conn(tx: &mut Self::Tx) -> &mut Self::Conn;

    /// The highest position up to which every event is committed or rolled back, found
    /// without making appends wait.
    fn safe_position(&self) -> impl Future<Output = Result<Watermark, StoreError>> + Send;

    /// [`ReadStore::safe_position`], then the events after `after` up to the safe
    /// position it returns (at most `limit`): a store that can do both in one round trip
    /// overrides it (under load, a look that finds new events is always followed by their
    /// read). The returned watermark is the one the events were read up to.
    fn safe_position_and_read(
        &self,
        after: u64,
        limit: usize,
    ) -> impl Future<Output = Result<(Watermark, Vec<RecordedEvent>), StoreError>> + Send {
        async move {
            let mark = self.safe_position().await?;
            let events = self.read_between(after, mark.safe, limit).await?;
            Ok((mark, events))
        }
    }

    /// Events with `after < position <= until`, in order, at most `limit`.
    fn read_between(
        &self,
        after: u64,
        until: u64,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<RecordedEvent>, StoreError>> + Send;

    /// Changes whenever events may have been appended (by this process at once; by other
    /// processes through the store's notifications). A hint: readers poll as well.
    fn appended(&self) -> watch::Receiver<u64>;

    /// Creates the subscriber's units that do not exist yet, at `start`. When the stored
    /// units have another partition count, replaces them with `partitions` new ones that
    /// start at the lowest old checkpoint and remember the old ones ([`Checkpoint::legacy`]);
    /// the old units' leases are void.
    fn register(
        &self,
        subscriber: &str,
        partitions: u32,
        start: u64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Records that `node` (described by `info`, e.g. host and pid) is alive for `ttl` and
    /// runs `subscribers`; returns every live node with the subscribers it runs, sorted.
    fn heartbeat(
        &self,
        node: &str,
        info: &str,
        subscribers: &[String],
        ttl: Duration,
    ) -> impl Future<Output = Result<Vec<(String, Vec<String>)>, StoreError>> + Send;

    /// Forgets `node` (a clean shutdown), so its units are reassigned at once.
    fn leave(&self, node: &str) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Takes the unit's lease for `node` when it is free or expired, with a new token.
    fn acquire(
        &self,
        unit: &UnitId,
        node: &str,
        ttl: Duration,
    ) -> impl Future<Output = Result<Option<Lease>, StoreError>> + Send;

    /// Extends these leases of `node`; for each, whether it is still held.
    fn renew(
        &self,
        leases: &[(UnitId, Lease)],
        node: &str,
        ttl: Duration,
    ) -> impl Future<Output = Result<Vec<bool>, StoreError>> + Send;

    /// Gives the lease up at once (another node may take it immediately).
    fn release(
        &self,
        unit: &UnitId,
        lease: Lease,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The units of `subscriber` (of every subscriber when `None`), in order.
    fn checkpoints(
        &self,
        subscriber: Option<&str>,
    ) -> impl Future<Output = Result<Vec<(UnitId, Checkpoint)>, StoreError>> + Send;

    /// Moves the checkpoint outside a transaction (fenced).
    fn save_progress(
        &self,
        unit: &UnitId,
        lease: Lease,
        progress: &Progress,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Stops the unit before `position` with `error` (fenced); it stays stopped, in every
    /// process, until [`ReadStore::resume`].
    fn stop(
        &self,
        unit: &UnitId,
        lease: Lease,
        position: u64,
        error: &str,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Clears the stopped state and the attempt count of every unit of `subscriber`.
    fn resume(&self, subscriber: &str) -> impl Future<Output = Result<(), StoreError>> + Send;

    fn begin(&self) -> impl Future<Output = Result<Self::Tx, StoreError>> + Send;

    /// Commits `tx`; with a fence, first moves that unit's checkpoint in it. `Ok(false)`:
    /// fenced, everything in `tx` rolled back.
    fn commit(
        &self,
        tx: Self::Tx,
        fence: Option<Fence<'_>>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Records a parked or skipped event in `tx`.
    fn record_failure(
        &self,
        tx: &mut Self::Tx,
        failure: &NewFailure<'_>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Parked and skipped events of `subscriber` (all when `None`), oldest first.
    fn failures(
        &self,
        subscriber: Option<&str>,
    ) -> impl Future<Output = Result<Vec<FailedEvent>, StoreError>> + Send;

    /// The parked and skipped events of `subscriber` with positions in `first..=last`.
    fn failures_between(
        &self,
        subscriber: &str,
        first: u64,
        last: u64,
    ) -> impl Future<Output = Result<Vec<FailedEvent>, StoreError>> + Send;

    /// Deletes a failure record in `tx`; whether it existed.
    fn remove_failure(
        &self,
        tx: &mut Self::Tx,
        id: u64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// A process-manager instance's saved state.
    fn load_instance(
        &self,
        process: &str,
        instance: &str,
    ) -> impl Future<Output = Result<Option<Value>, StoreError>> + Send;

    /// Saves (or deletes) instance states in `tx`.
    fn save_instances(
        &self,
        tx: &mut Self::Tx,
        process: &str,
        changes: &[InstanceChange],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// In `tx`: every unit of `subscriber` back to position 0 with `rebuild_until = head`,
    /// leases void (tokens grow, so a process still running it is fenced out), attempts
    /// and stopped state cleared; its process-manager instances deleted.
    fn reset(
        &self,
        tx: &mut Self::Tx,
        subscriber: &str,
        head: u64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// When the event at `position` was stored.
    fn stored_at(
        &self,
        position: u64,
    ) -> impl Future<Output = Result<Option<DateTime<Utc>>, StoreError>> + Send;
}
