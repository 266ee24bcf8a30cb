//! Checkpoint writes of one process's side-effect handlers, batched: the handlers of a
//! process read the same pages at the same moments, so their periodic saves arrive
//! together, and one statement writes them all (each row still fenced by its own lease
//! token) instead of one statement, and one commit, per handler.
//!
//! Group commit, as appends have it: the first save to arrive spawns a writer task,
//! which lets the runtime run the other handlers first (they enqueue theirs), then
//! writes whatever is queued; saves that arrive during a write go in the next one. The
//! writer is a task of its own, so a handler that stops waiting (its process shutting
//! down) never takes the others' saves with it.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};

use sqlx::PgPool;
use tokio::sync::oneshot;

use super::rows::{map_err, partition, to_i64, to_u32};
use crate::read::store::{Lease, Progress, UnitId};
use crate::store::StoreError;

/// How many times the writer yields to the runtime before a write, so that handlers woken
/// by the same page queue their saves first.
const GATHER_YIELDS: usize = 4;

/// Moves the checkpoints of the units in the arrays (`$1..$8`: subscriber, partition,
/// token, position, suspect until, attempt position, attempt count, error; the attempt
/// columns null for none) whose row still holds the given token; returns the units moved.
/// A rebuild's target and the old partitioning's checkpoints are forgotten once passed.
/// `$also` is one more condition.
macro_rules! progress_sql {
    ($also:literal) => {
        concat!(
            "\
UPDATE checkpoints c SET position = v.position, suspect_until = v.suspect_until,
    attempt_position = coalesce(v.attempt_position, 0), attempts = coalesce(v.attempts, 0),
    last_error = CASE WHEN v.attempt_position IS NULL THEN c.last_error ELSE v.error END,
    last_error_at = CASE WHEN v.attempt_position IS NULL THEN c.last_error_at ELSE now() END,
    rebuild_until = CASE WHEN c.rebuild_until <= v.position THEN NULL ELSE c.rebuild_until END,
    legacy = CASE WHEN v.position >= (SELECT max(x) FROM unnest(c.legacy) x) THEN NULL
        ELSE c.legacy END,
    updated_at = now()
FROM unnest($1::text[], $2::int[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[],
            $7::int[], $8::text[])
    AS v(subscriber, partition, token, position, suspect_until, attempt_position, attempts,
         error)
WHERE c.subscriber = v.subscriber AND c.partition = v.partition AND c.token = v.token",
            $also,
            "\nRETURNING c.subscriber, c.partition"
        )
    };
}

/// The checkpoint a projection's or process manager's transaction moves (one unit).
pub(super) const PROGRESS_SQL: &str = progress_sql!("");

/// [`PROGRESS_SQL`] committed without waiting for the log flush (outside a transaction):
/// a side-effect handler's checkpoint lost to a server crash only means events handed over
/// again, which at-least-once delivery allows.
const PROGRESS_ASYNC_SQL: &str =
    progress_sql!("\n  AND set_config('synchronous_commit', 'off', true) IS NOT NULL");

/// One unit's checkpoint update, waiting for the next write.
pub(super) struct Update {
    pub unit: UnitId,
    pub lease: Lease,
    pub progress: Progress,
}

/// The statement for `updates` (unit, lease, progress), bound.
pub(super) fn bind<'a>(
    sql: &str,
    updates: impl IntoIterator<Item = (&'a UnitId, Lease, &'a Progress)>,
) -> sqlx::query::Query<'_, sqlx::Postgres, sqlx::postgres::PgArguments> {
    let mut subscribers = Vec::new();
    let mut partitions = Vec::new();
    let mut tokens = Vec::new();
    let mut positions = Vec::new();
    let mut suspects = Vec::new();
    let mut attempt_positions = Vec::new();
    let mut attempts = Vec::new();
    let mut errors = Vec::new();
    for (unit, lease, progress) in updates {
        subscribers.push(unit.subscriber.clone());
        partitions.push(partition(unit.partition));
        tokens.push(to_i64(lease.token));
        positions.push(to_i64(progress.position));
        suspects.push(to_i64(progress.suspect_until));
        let (p, n, e) = match &progress.attempt {
            Some((p, n, e)) => (
                Some(to_i64(*p)),
                Some(i32::try_from(*n).unwrap_or(i32::MAX)),
                Some(e.clone()),
            ),
            None => (None, None, None),
        };
        attempt_positions.push(p);
        attempts.push(n);
        errors.push(e);
    }
    sqlx::query(sql)
        .bind(subscribers)
        .bind(partitions)
        .bind(tokens)
        .bind(positions)
        .bind(suspects)
        .bind(attempt_positions)
        .bind(attempts)
        .bind(errors)
}

/// The units a [`PROGRESS_SQL`] statement moved.
pub(super) fn moved(rows: &[sqlx::postgres::PgRow]) -> Result<HashSet<UnitId>, StoreError> {
    use sqlx::Row;
    rows.iter()
        .map(|row| {
            let subscriber: String = row.try_get(0).map_err(map_err)?;
            let stored: i32 = row.try_get(1).map_err(map_err)?;
            Ok(UnitId {
                subscriber,
                partition: to_u32(stored)?,
            })
        })
        .collect()
}

type Waiter = oneshot::Sender<Result<bool, StoreError>>;

#[derive(Default)]
struct Queue {
    updates: Vec<(Update, Waiter)>,
    /// A writer task is running: it will take what is queued.
    writing: bool,
}

/// The saves waiting for the next write (see the module docs).
#[derive(Default)]
pub(crate) struct Batcher {
    queue: Mutex<Queue>,
}

impl std::fmt::Debug for Batcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let q = self.lock();
        f.debug_struct("Batcher")
            .field("queued", &q.updates.len())
            .field("writing", &q.writing)
            .finish()
    }
}

impl Batcher {
    /// Saves `update` outside a transaction, with whatever other saves are waiting:
    /// `Ok(false)` when the unit's lease token is no longer the one given (fenced).
    pub(super) async fn save(
        self: &Arc<Self>,
        pool: &PgPool,
        statements: &Arc<std::sync::atomic::AtomicU64>,
        update: Update,
    ) -> Result<bool, StoreError> {
        let (tx, rx) = oneshot::channel();
        let spawn = {
            let mut q = self.lock();
            q.updates.push((update, tx));
            !std::mem::replace(&mut q.writing, true)
        };
        if spawn {
            let (me, pool, statements) = (Arc::clone(self), pool.clone(), Arc::clone(statements));
            tokio::spawn(async move { me.write_all(&pool, &statements).await });
        }
        rx.await
            .unwrap_or_else(|_| Err(StoreError::backend("the checkpoint writer ended")))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Writes batches until the queue is empty, then ends (the next save spawns another).
    async fn write_all(&self, pool: &PgPool, statements: &std::sync::atomic::AtomicU64) {
        let mut guard = Writing(self, false);
        for _ in 0..GATHER_YIELDS {
            tokio::task::yield_now().await;
        }
        loop {
            let batch = {
                let mut q = self.lock();
                if q.updates.is_empty() {
                    q.writing = false;
                    guard.1 = true;
                    return;
                }
                // One update per unit per statement (a unit saved twice waits for the
                // next): an UPDATE ... FROM moves a row once, whatever it joins.
                let mut seen = HashSet::new();
                let (now, later): (Vec<_>, Vec<_>) = std::mem::take(&mut q.updates)
                    .into_iter()
                    .partition(|(u, _)| seen.insert(u.unit.clone()));
                q.updates = later;
                now
            };
            statements.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let updates = batch.iter().map(|(u, _)| (&u.unit, u.lease, &u.progress));
            let result = bind(PROGRESS_ASYNC_SQL, updates)
                .fetch_all(pool)
                .await
                .map_err(map_err)
                .and_then(|rows| moved(&rows));
            for (update, waiter) in batch {
                let answer = match &result {
                    Ok(moved) => Ok(moved.contains(&update.unit)),
                    Err(e) => Err(e.clone()),
                };
                // A handler that stopped waiting has nothing to be told.
                let _ = waiter.send(answer);
            }
        }
    }
}

/// Clears the writing flag, and fails what is queued, should the writer be dropped midway
/// (its runtime shutting down): the next save then spawns a writer again.
struct Writing<'a>(&'a Batcher, bool);

impl Drop for Writing<'_> {
    fn drop(&mut self) {
        if !self.1 {
            let mut q = self.0.lock();
            q.writing = false;
            q.updates.clear();
        }
    }
}
