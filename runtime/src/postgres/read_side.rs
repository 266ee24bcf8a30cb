//! The read side on Postgres ([`ReadStore`] for [`PostgresStore`]): the tables of the
//! `read_side` migration, a watermark that never makes appends wait, and fenced checkpoint
//! writes (every update of a unit checks its lease token in the same statement, so a
//! process that lost its lease cannot move the checkpoint, and its transaction rolls back).

use std::sync::LazyLock;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::Row;
use sqlx::postgres::PgRow;
use tokio::sync::watch;

use super::PostgresStore;
use super::progress::{self, PROGRESS_SQL, Update};
use super::rows::{decode_event, map_err, partition, to_i64, to_u32, to_u64};
use super::sql::EVENT_COLUMNS;
use crate::read::store::{
    Checkpoint, FailedEvent, FailureOutcome, Fence, InstanceChange, Lease, NewFailure, Progress,
    ReadStore, UnitId, Watermark,
};
use crate::store::{RecordedEvent, StoreError};

/// The previous watermark call's candidate and the appenders that held the "all" lock then.
#[derive(Debug, Default)]
pub(crate) struct Pending {
    candidate: i64,
    holders: Option<Vec<String>>,
    /// The highest safe position found so far (positions only grow).
    safe: u64,
    /// The safe position the last look ended at with appends in flight, since when looks
    /// have ended there, and whether a later look ended there too (so that looks really
    /// stopped, rather than none having come since).
    stuck: Option<Stuck>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stuck {
    at: u64,
    since: Instant,
    again: bool,
}

impl Pending {
    /// Whether the look after `after` must ask the lock holders: when `after` itself was
    /// not proven safe here, or when two looks or more have ended at the safe position
    /// with appends in flight over [`STUCK`] or longer. Under load looks are spaced by
    /// more than [`STUCK`], so the time since one look alone says nothing.
    fn needs_locks(&self, after: u64, now: Instant) -> bool {
        after > self.safe
            || self.stuck.is_some_and(|s| {
                s.again && s.at == self.safe && now.duration_since(s.since) >= STUCK
            })
    }

    /// Notes where a look ended.
    fn looked(&mut self, mark: Watermark, now: Instant) {
        self.stuck = match self.stuck {
            _ if !mark.pending => None,
            Some(s) if s.at == mark.safe => Some(Stuck { again: true, ..s }),
            _ => Some(Stuck {
                at: mark.safe,
                since: now,
                again: false,
            }),
        };
    }
}

/// How long looks read by contiguity alone while stuck at one position before they also
/// ask which appends hold the "all" lock: a position drawn by an append that rolled back
/// never appears, and only the lock holders can tell it from one still committing.
const STUCK: Duration = Duration::from_millis(10);

/// A look by contiguity (see [`PostgresStore::look_by_contiguity`]): the page after `$1`
/// (at most `$2` events) and the sequence's last value, on every row; one row with null
/// event columns when there are no events.
static CONTIGUOUS_LOOK_SQL: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT e.*, s.last FROM \
         (SELECT CASE WHEN is_called THEN last_value ELSE 0 END AS last \
          FROM event_position_seq) s \
         LEFT JOIN LATERAL (SELECT {EVENT_COLUMNS} FROM events WHERE position > $1 \
          ORDER BY position LIMIT $2) e ON true"
    )
});

const CHECKPOINT_COLUMNS: &str = "subscriber, partition, partitions, position, legacy, \
     suspect_until, attempt_position, attempts, stopped, last_error, last_error_at, \
     CASE WHEN lease_until > now() THEN owner END AS owner, token, rebuild_until";

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn decode_checkpoint(row: &PgRow) -> Result<(UnitId, Checkpoint), StoreError> {
    let get_i64 = |c: &str| row.try_get::<i64, _>(c).map_err(map_err);
    let legacy: Option<Vec<i64>> = row.try_get("legacy").map_err(map_err)?;
    let rebuild: Option<i64> = row.try_get("rebuild_until").map_err(map_err)?;
    Ok((
        UnitId {
            subscriber: row.try_get("subscriber").map_err(map_err)?,
            partition: to_u32(row.try_get("partition").map_err(map_err)?)?,
        },
        Checkpoint {
            partitions: to_u32(row.try_get("partitions").map_err(map_err)?)?,
            position: to_u64(get_i64("position")?)?,
            legacy: legacy
                .map(|v| v.into_iter().map(to_u64).collect::<Result<Vec<_>, _>>())
                .transpose()?,
            suspect_until: to_u64(get_i64("suspect_until")?)?,
            attempt_position: to_u64(get_i64("attempt_position")?)?,
            attempts: to_u32(row.try_get("attempts").map_err(map_err)?)?,
            stopped: row.try_get("stopped").map_err(map_err)?,
            last_error: row.try_get("last_error").map_err(map_err)?,
            last_error_at: row.try_get("last_error_at").map_err(map_err)?,
            owner: row.try_get("owner").map_err(map_err)?,
            token: to_u64(get_i64("token")?)?,
            rebuild_until: rebuild.map(to_u64).transpose()?,
        },
    ))
}

/// The columns of [`EVENT_COLUMNS`]: `read_after_watermark` returns the watermark after
/// them.
const EVENT_COLUMN_COUNT: usize = 9;

/// The events of a look's rows, which carry the watermark after the event columns; the
/// one row of a look that found none has a null position.
fn events_of(rows: &[PgRow]) -> Result<Vec<RecordedEvent>, StoreError> {
    let mut events = Vec::with_capacity(rows.len());
    for row in rows {
        let position: Option<i64> = row.try_get(0).map_err(map_err)?;
        if position.is_some() {
            events.push(decode_event(row)?);
        }
    }
    Ok(events)
}

impl PostgresStore {
    /// Keeps what a `safe_watermark` call found (its `safe, candidate, holders` columns from
    /// index `at` of `row`) for the next call, and says what is safe now.
    fn settle(&self, row: &PgRow, at: usize) -> Result<Watermark, StoreError> {
        let safe: i64 = row.try_get(at).map_err(map_err)?;
        let next: i64 = row.try_get(at + 1).map_err(map_err)?;
        let next_holders: Option<Vec<String>> = row.try_get(at + 2).map_err(map_err)?;
        let mut p = self.lock_pending();
        p.safe = p.safe.max(to_u64(safe)?);
        let pending = next_holders.is_some() && to_u64(next)? > p.safe;
        p.candidate = next;
        p.holders = next_holders;
        Ok(Watermark {
            safe: p.safe,
            pending,
        })
    }

    /// The look of `safe_watermark()` and the page after `after` in one statement
    /// (`read_after_watermark()`): passes positions that rolled back, but scans
    /// `pg_locks`, which takes every partition of the lock table the appends need.
    async fn look_with_locks(
        &self,
        after: u64,
        limit: usize,
    ) -> Result<(Watermark, Vec<RecordedEvent>), StoreError> {
        let (candidate, holders, known) = {
            let p = self.lock_pending();
            (p.candidate, p.holders.clone(), p.safe)
        };
        self.count(1);
        let rows = sqlx::query("SELECT * FROM read_after_watermark($1, $2, $3, $4, $5)")
            .bind(candidate)
            .bind(holders)
            .bind(to_i64(after))
            .bind(to_i64(known))
            .bind(i32::try_from(limit).unwrap_or(i32::MAX))
            .fetch_all(&self.read_pool)
            .await
            .map_err(map_err)?;
        // Every row carries the watermark after the event columns; one row, with a null
        // position, when there is no event.
        let Some(first) = rows.first() else {
            return Err(StoreError::backend("read_after_watermark returned no row"));
        };
        let mut mark = self.settle(first, EVENT_COLUMN_COUNT)?;
        // What the page was read up to: another look may have moved the kept watermark
        // further meanwhile, and this page does not cover that.
        let found: i64 = first.try_get(EVENT_COLUMN_COUNT).map_err(map_err)?;
        mark.safe = to_u64(found)?.max(known);
        let events = events_of(&rows)?;
        Ok((mark, events))
    }

    /// The page after `after`, kept up to its first missing position: positions are
    /// unique, so once every position up to P is in a snapshot, none up to P can commit
    /// later, whatever is still in flight. Under load, where nearly every look finds a
    /// run of new events, a look costs what a plain read of them does; a position that
    /// rolled back stops these looks, and [`PostgresStore::look_with_locks`] passes it.
    async fn look_by_contiguity(
        &self,
        after: u64,
        limit: usize,
    ) -> Result<(Watermark, Vec<RecordedEvent>), StoreError> {
        let known = self.lock_pending().safe;
        self.count(1);
        let rows = sqlx::query(&CONTIGUOUS_LOOK_SQL)
            .bind(to_i64(after))
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .fetch_all(&self.read_pool)
            .await
            .map_err(map_err)?;
        let Some(first) = rows.first() else {
            return Err(StoreError::backend("the contiguous look returned no row"));
        };
        let last: i64 = first.try_get(EVENT_COLUMN_COUNT).map_err(map_err)?;
        let mut events = events_of(&rows)?;
        // In order whatever plan the join got (a sorted run costs one pass).
        events.sort_by_key(|e| e.position);
        // Everything up to what was proven safe before, then the unbroken run after it
        // (`after <= known`: see the caller).
        let mut safe = known;
        let kept = events
            .iter()
            .take_while(|e| {
                if e.position <= safe {
                    return true;
                }
                let next = e.position == safe + 1;
                if next {
                    safe = e.position;
                }
                next
            })
            .count();
        events.truncate(kept);
        let mut p = self.lock_pending();
        p.safe = p.safe.max(safe);
        Ok((
            Watermark {
                safe,
                pending: to_u64(last)? > safe,
            },
            events,
        ))
    }

    /// Failure records joined with their events, `filter` over `f` with `$1` the
    /// subscriber and `$2..$3` a position range.
    async fn failures_where(
        &self,
        filter: &str,
        subscriber: Option<&str>,
        first: i64,
        last: i64,
    ) -> Result<Vec<FailedEvent>, StoreError> {
        self.count(1);
        let columns = EVENT_COLUMNS
            .split(", ")
            .map(|c| format!("e.{}", c.trim()))
            .collect::<Vec<_>>()
            .join(", ");
        let rows = sqlx::query(&format!(
            "SELECT {columns}, f.id, f.subscriber, f.partition, f.outcome, f.error, f.attempts, f.at \
             FROM failed_events f JOIN events e ON e.position = f.position \
             WHERE ({filter}) AND $2::bigint <= f.position AND f.position <= $3::bigint \
             ORDER BY f.id"
        ))
        .bind(subscriber)
        .bind(first)
        .bind(last)
        .fetch_all(&self.read_pool)
        .await
        .map_err(map_err)?;
        rows.iter()
            .map(|row| {
                let outcome: String = row.try_get("outcome").map_err(map_err)?;
                Ok(FailedEvent {
                    id: to_u64(row.try_get("id").map_err(map_err)?)?,
                    subscriber: row.try_get("subscriber").map_err(map_err)?,
                    partition: to_u32(row.try_get("partition").map_err(map_err)?)?,
                    outcome: if outcome == "parked" {
                        FailureOutcome::Parked
                    } else {
                        FailureOutcome::Skipped
                    },
                    event: decode_event(row)?,
                    error: row.try_get("error").map_err(map_err)?,
                    attempts: to_u32(row.try_get("attempts").map_err(map_err)?)?,
                    at: row.try_get("at").map_err(map_err)?,
                })
            })
            .collect()
    }
}

impl ReadStore for PostgresStore {
    type Tx = sqlx::Transaction<'static, sqlx::Postgres>;
    type Conn = sqlx::PgConnection;

    fn conn(tx: &mut Self::Tx) -> &mut sqlx::PgConnection {
        tx
    }

    /// One `safe_watermark()` call: the previous call's candidate becomes safe once the
    /// appends in flight then are done; never waits on the "all" lock.
    async fn safe_position(&self) -> Result<Watermark, StoreError> {
        let (candidate, holders) = {
            let p = self.lock_pending();
            (p.candidate, p.holders.clone())
        };
        self.count(1);
        let row = sqlx::query("SELECT safe, candidate, holders FROM safe_watermark($1, $2)")
            .bind(candidate)
            .bind(holders)
            .fetch_one(&self.read_pool)
            .await
            .map_err(map_err)?;
        self.settle(&row, 0)
    }

    /// Reads by contiguity while that proves enough (see `look_by_contiguity`), and asks
    /// the lock holders only when looks have stopped at one position for `STUCK`.
    async fn safe_position_and_read(
        &self,
        after: u64,
        limit: usize,
    ) -> Result<(Watermark, Vec<RecordedEvent>), StoreError> {
        let stuck = self.lock_pending().needs_locks(after, Instant::now());
        let (mark, events) = if stuck {
            self.look_with_locks(after, limit).await?
        } else {
            self.look_by_contiguity(after, limit).await?
        };
        self.lock_pending().looked(mark, Instant::now());
        Ok((mark, events))
    }

    async fn read_between(
        &self,
        after: u64,
        until: u64,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        if until <= after || limit == 0 {
            return Ok(Vec::new());
        }
        self.count(1);
        let rows = sqlx::query(&format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE position > $1 AND position <= $2 \
             ORDER BY position LIMIT $3"
        ))
        .bind(to_i64(after))
        .bind(to_i64(until))
        .bind(to_i64(limit as u64))
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter().map(decode_event).collect()
    }

    fn appended(&self) -> watch::Receiver<u64> {
        self.wake.subscribe(&self.pool)
    }

    async fn register(
        &self,
        subscriber: &str,
        partitions: u32,
        start: u64,
    ) -> Result<(), StoreError> {
        let mut tx = self.read_pool.begin().await.map_err(map_err)?;
        // Two processes starting at once register one after the other.
        sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended('eskema.register.' || $1, 0))")
            .bind(subscriber)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        let rows = sqlx::query(
            "SELECT partition, partitions, position, token FROM checkpoints \
             WHERE subscriber = $1 ORDER BY partition",
        )
        .bind(subscriber)
        .fetch_all(&mut *tx)
        .await
        .map_err(map_err)?;
        let mut old: Vec<(u32, u32, i64, i64)> = Vec::with_capacity(rows.len());
        for row in &rows {
            old.push((
                to_u32(row.try_get("partition").map_err(map_err)?)?,
                to_u32(row.try_get("partitions").map_err(map_err)?)?,
                row.try_get("position").map_err(map_err)?,
                row.try_get("token").map_err(map_err)?,
            ));
        }
        let same = old.len() == partitions as usize
            && old
                .iter()
                .enumerate()
                .all(|(i, o)| o.0 == i as u32 && o.1 == partitions);
        if !same {
            let (from, legacy, token) = if old.is_empty() {
                (to_i64(start), None, 0)
            } else {
                let positions: Vec<i64> = old.iter().map(|o| o.2).collect();
                let lowest = positions.iter().copied().min().unwrap_or(0);
                let token = old.iter().map(|o| o.3).max().unwrap_or(0) + 1;
                tracing::warn!(
                    subscriber,
                    from = old.len(),
                    to = partitions,
                    "the partition count changed: new partitions start at the lowest old checkpoint and skip what the old ones had passed"
                );
                (lowest, (positions.len() > 1).then_some(positions), token)
            };
            sqlx::query("DELETE FROM checkpoints WHERE subscriber = $1")
                .bind(subscriber)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
            sqlx::query(
                "INSERT INTO checkpoints (subscriber, partition, partitions, position, legacy, \
                 suspect_until, token) \
                 SELECT $1, p, $2, $3, $4, $3, $5 FROM generate_series(0, $2 - 1) p",
            )
            .bind(subscriber)
            .bind(partition(partitions))
            .bind(from)
            .bind(legacy)
            .bind(token)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        }
        tx.commit().await.map_err(map_err)
    }

    async fn heartbeat(
        &self,
        node: &str,
        info: &str,
        subscribers: &[String],
        ttl: Duration,
    ) -> Result<Vec<(String, Vec<String>)>, StoreError> {
        self.count(1);
        let rows = sqlx::query(
            "WITH up AS (
                 INSERT INTO nodes (node, info, subscribers, heartbeat_until)
                 VALUES ($1, $2, $3, now() + $4 * interval '1 millisecond')
                 ON CONFLICT (node) DO UPDATE SET info = EXCLUDED.info,
                     subscribers = EXCLUDED.subscribers, heartbeat_until = EXCLUDED.heartbeat_until
                 RETURNING node, subscribers
             ), gone AS (
                 DELETE FROM nodes WHERE heartbeat_until < now() - interval '1 hour'
             )
             SELECT node, subscribers FROM up
             UNION ALL
             SELECT node, subscribers FROM nodes WHERE heartbeat_until > now() AND node <> $1
             ORDER BY 1",
        )
        .bind(node)
        .bind(info)
        .bind(subscribers)
        .bind(millis(ttl))
        .fetch_all(&self.read_pool)
        .await
        .map_err(map_err)?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("node").map_err(map_err)?,
                    r.try_get("subscribers").map_err(map_err)?,
                ))
            })
            .collect()
    }

    async fn leave(&self, node: &str) -> Result<(), StoreError> {
        self.count(1);
        sqlx::query("DELETE FROM nodes WHERE node = $1")
            .bind(node)
            .execute(&self.read_pool)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn acquire(
        &self,
        unit: &UnitId,
        node: &str,
        ttl: Duration,
    ) -> Result<Option<Lease>, StoreError> {
        self.count(1);
        let token: Option<i64> = sqlx::query_scalar(
            "UPDATE checkpoints SET owner = $3, token = token + 1,
                 lease_until = now() + $4 * interval '1 millisecond', updated_at = now()
             WHERE subscriber = $1 AND partition = $2
               AND (owner IS NULL OR lease_until IS NULL OR lease_until < now())
             RETURNING token",
        )
        .bind(&unit.subscriber)
        .bind(partition(unit.partition))
        .bind(node)
        .bind(millis(ttl))
        .fetch_optional(&self.read_pool)
        .await
        .map_err(map_err)?;
        Ok(token.map(to_u64).transpose()?.map(|token| Lease { token }))
    }

    async fn renew(
        &self,
        leases: &[(UnitId, Lease)],
        node: &str,
        ttl: Duration,
    ) -> Result<Vec<bool>, StoreError> {
        let subscribers: Vec<&str> = leases.iter().map(|(u, _)| u.subscriber.as_str()).collect();
        let partitions: Vec<i32> = leases.iter().map(|(u, _)| partition(u.partition)).collect();
        let tokens: Vec<i64> = leases.iter().map(|(_, l)| to_i64(l.token)).collect();
        self.count(1);
        let rows = sqlx::query(
            "UPDATE checkpoints c SET lease_until = now() + $5 * interval '1 millisecond'
             FROM unnest($1::text[], $2::int[], $3::bigint[]) AS u(subscriber, partition, token)
             WHERE c.subscriber = u.subscriber AND c.partition = u.partition
               AND c.token = u.token AND c.owner = $4
             RETURNING c.subscriber, c.partition",
        )
        .bind(&subscribers)
        .bind(&partitions)
        .bind(&tokens)
        .bind(node)
        .bind(millis(ttl))
        .fetch_all(&self.read_pool)
        .await
        .map_err(map_err)?;
        let mut renewed = Vec::with_capacity(rows.len());
        for row in &rows {
            let s: String = row.try_get(0).map_err(map_err)?;
            let p: i32 = row.try_get(1).map_err(map_err)?;
            renewed.push((s, to_u32(p)?));
        }
        Ok(leases
            .iter()
            .map(|(u, _)| {
                renewed
                    .iter()
                    .any(|(s, p)| *s == u.subscriber && *p == u.partition)
            })
            .collect())
    }

    async fn release(&self, unit: &UnitId, lease: Lease) -> Result<(), StoreError> {
        self.count(1);
        sqlx::query(
            "UPDATE checkpoints SET owner = NULL, lease_until = NULL
             WHERE subscriber = $1 AND partition = $2 AND token = $3",
        )
        .bind(&unit.subscriber)
        .bind(partition(unit.partition))
        .bind(to_i64(lease.token))
        .execute(&self.read_pool)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn checkpoints(
        &self,
        subscriber: Option<&str>,
    ) -> Result<Vec<(UnitId, Checkpoint)>, StoreError> {
        self.count(1);
        let rows = sqlx::query(&format!(
            "SELECT {CHECKPOINT_COLUMNS} FROM checkpoints \
             WHERE $1::text IS NULL OR subscriber = $1 ORDER BY subscriber, partition"
        ))
        .bind(subscriber)
        .fetch_all(&self.read_pool)
        .await
        .map_err(map_err)?;
        rows.iter().map(decode_checkpoint).collect()
    }

    async fn save_progress(
        &self,
        unit: &UnitId,
        lease: Lease,
        progress: &Progress,
    ) -> Result<bool, StoreError> {
        let update = Update {
            unit: unit.clone(),
            lease,
            progress: progress.clone(),
        };
        self.progress
            .save(&self.read_pool, &self.statements, update)
            .await
    }

    async fn stop(
        &self,
        unit: &UnitId,
        lease: Lease,
        position: u64,
        error: &str,
    ) -> Result<bool, StoreError> {
        self.count(1);
        let done = sqlx::query(
            "UPDATE checkpoints SET position = $4, suspect_until = $4, stopped = $5,
                 last_error = $5, last_error_at = now(), updated_at = now()
             WHERE subscriber = $1 AND partition = $2 AND token = $3",
        )
        .bind(&unit.subscriber)
        .bind(partition(unit.partition))
        .bind(to_i64(lease.token))
        .bind(to_i64(position))
        .bind(error)
        .execute(&self.read_pool)
        .await
        .map_err(map_err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn resume(&self, subscriber: &str) -> Result<(), StoreError> {
        self.count(1);
        sqlx::query(
            "UPDATE checkpoints SET stopped = NULL, attempts = 0, attempt_position = 0,
                 updated_at = now()
             WHERE subscriber = $1",
        )
        .bind(subscriber)
        .execute(&self.read_pool)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn begin(&self) -> Result<Self::Tx, StoreError> {
        self.count(1);
        self.pool.begin().await.map_err(map_err)
    }

    async fn commit(&self, mut tx: Self::Tx, fence: Option<Fence<'_>>) -> Result<bool, StoreError> {
        if let Some(fence) = fence {
            self.count(1);
            let rows = progress::bind(PROGRESS_SQL, [(fence.unit, fence.lease, fence.progress)])
                .fetch_all(&mut *tx)
                .await
                .map_err(map_err)?;
            if progress::moved(&rows)?.is_empty() {
                // Dropping it rolls back everything the batch wrote.
                return Ok(false);
            }
        }
        self.count(1);
        tx.commit().await.map_err(map_err)?;
        Ok(true)
    }

    async fn record_failure(
        &self,
        tx: &mut Self::Tx,
        failure: &NewFailure<'_>,
    ) -> Result<(), StoreError> {
        self.count(1);
        sqlx::query(
            "INSERT INTO failed_events (subscriber, partition, outcome, position, error, attempts)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&failure.unit.subscriber)
        .bind(partition(failure.unit.partition))
        .bind(failure.outcome.as_str())
        .bind(to_i64(failure.event.position))
        .bind(failure.error)
        .bind(i32::try_from(failure.attempts).unwrap_or(i32::MAX))
        .execute(&mut **tx)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn failures(&self, subscriber: Option<&str>) -> Result<Vec<FailedEvent>, StoreError> {
        self.failures_where(
            "$1::text IS NULL OR f.subscriber = $1",
            subscriber,
            0,
            i64::MAX,
        )
        .await
    }

    async fn failures_between(
        &self,
        subscriber: &str,
        first: u64,
        last: u64,
    ) -> Result<Vec<FailedEvent>, StoreError> {
        self.failures_where(
            "f.subscriber = $1 AND f.position BETWEEN $2 AND $3",
            Some(subscriber),
            to_i64(first),
            to_i64(last),
        )
        .await
    }

    async fn remove_failure(&self, tx: &mut Self::Tx, id: u64) -> Result<bool, StoreError> {
        self.count(1);
        let done = sqlx::query("DELETE FROM failed_events WHERE id = $1")
            .bind(to_i64(id))
            .execute(&mut **tx)
            .await
            .map_err(map_err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn load_instance(
        &self,
        process: &str,
        instance: &str,
    ) -> Result<Option<Value>, StoreError> {
        self.count(1);
        sqlx::query_scalar(
            "SELECT state FROM process_instances WHERE process = $1 AND instance = $2",
        )
        .bind(process)
        .bind(instance)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)
    }

    async fn save_instances(
        &self,
        tx: &mut Self::Tx,
        process: &str,
        changes: &[InstanceChange],
    ) -> Result<(), StoreError> {
        let (mut keep, mut states, mut positions, mut gone) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for change in changes {
            match &change.state {
                Some(state) => {
                    keep.push(change.instance.as_str());
                    states.push(state);
                    positions.push(to_i64(change.position));
                }
                None => gone.push(change.instance.as_str()),
            }
        }
        if !keep.is_empty() {
            self.count(1);
            sqlx::query(
                "INSERT INTO process_instances (process, instance, state, position)
                 SELECT $1, u.instance, u.state, u.position
                 FROM unnest($2::text[], $3::jsonb[], $4::bigint[]) AS u(instance, state, position)
                 ON CONFLICT (process, instance) DO UPDATE SET state = EXCLUDED.state,
                     position = EXCLUDED.position, updated_at = now()",
            )
            .bind(process)
            .bind(&keep)
            .bind(&states)
            .bind(&positions)
            .execute(&mut **tx)
            .await
            .map_err(map_err)?;
        }
        if !gone.is_empty() {
            self.count(1);
            sqlx::query("DELETE FROM process_instances WHERE process = $1 AND instance = ANY($2)")
                .bind(process)
                .bind(&gone)
                .execute(&mut **tx)
                .await
                .map_err(map_err)?;
        }
        Ok(())
    }

    async fn reset(
        &self,
        tx: &mut Self::Tx,
        subscriber: &str,
        head: u64,
    ) -> Result<(), StoreError> {
        self.count(2);
        sqlx::query(
            "UPDATE checkpoints SET position = 0, suspect_until = 0, attempt_position = 0,
                 attempts = 0, stopped = NULL, legacy = NULL, owner = NULL, lease_until = NULL,
                 token = token + 1, rebuild_until = NULLIF($2, 0), updated_at = now()
             WHERE subscriber = $1",
        )
        .bind(subscriber)
        .bind(to_i64(head))
        .execute(&mut **tx)
        .await
        .map_err(map_err)?;
        sqlx::query("DELETE FROM process_instances WHERE process = $1")
            .bind(subscriber)
            .execute(&mut **tx)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn stored_at(&self, position: u64) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.count(1);
        sqlx::query_scalar("SELECT created_at FROM events WHERE position = $1")
            .bind(to_i64(position))
            .fetch_optional(&self.read_pool)
            .await
            .map_err(map_err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending_at(safe: u64) -> Pending {
        Pending {
            safe,
            ..Pending::default()
        }
    }

    fn mark(safe: u64, pending: bool) -> Watermark {
        Watermark { safe, pending }
    }

    #[test]
    fn looks_spaced_under_load_keep_reading_by_contiguity() {
        let start = Instant::now();
        let mut p = pending_at(10);
        p.looked(mark(10, true), start);
        // The next look comes 40 ms later: no look has ended at 10 since, so nothing says
        // the looks stopped there.
        assert!(!p.needs_locks(10, start + Duration::from_millis(40)));
        p.safe = 50;
        p.looked(mark(50, true), start + Duration::from_millis(40));
        assert!(!p.needs_locks(50, start + Duration::from_millis(80)));
    }

    #[test]
    fn looks_that_end_twice_at_one_position_ask_the_lock_holders_after_stuck() {
        let start = Instant::now();
        let mut p = pending_at(10);
        p.looked(mark(10, true), start);
        p.looked(mark(10, true), start + Duration::from_millis(2));
        assert!(!p.needs_locks(10, start + Duration::from_millis(5)));
        assert!(p.needs_locks(10, start + STUCK));
        // Once past it, or with nothing in flight, contiguity again.
        p.safe = 11;
        p.looked(mark(11, true), start + STUCK);
        assert!(!p.needs_locks(11, start + STUCK * 3));
        p.looked(mark(11, false), start + STUCK * 3);
        assert_eq!(p.stuck, None);
    }

    #[test]
    fn a_look_from_beyond_what_was_proven_here_asks_the_lock_holders() {
        let p = pending_at(10);
        assert!(p.needs_locks(11, Instant::now()));
        assert!(!p.needs_locks(10, Instant::now()));
    }
}
