//! Group commit: concurrent one-event appends to different streams share one statement.
//!
//! Most appends carry one event (a one-event command, a cached aggregate). Under load each
//! is a statement and a commit of its own, and the commit (a WAL flush) plus the statement's
//! fixed cost is most of what an append costs. Here appends queue; at most `slots` batch
//! statements run at once, and each takes every queued append it can (up to [`MAX_BATCH`],
//! at most one per stream and per command id) into one [`GROUP_SQL`] statement: one round
//! trip and one commit for all of them. A lone appender never waits for company: with a free
//! slot and nobody else queued, its append goes out at once, from its own task and with the
//! single-append statement, exactly as without grouping.
//!
//! Each append in a batch is judged on its own inside the statement (duplicate command id,
//! expected version), so one append's conflict does not fail its neighbours. What can still
//! fail the statement as a whole: a race with an append outside the batch (the unique index
//! on `(stream_id, stream_version)` or on the command id, or a deadlock between two
//! batches, though rows are sorted by stream id to make that unlikely), or one payload the
//! server refuses (a `\u0000` in `jsonb`). The statement then rolled back entirely and
//! every member is told to append on its own ([`Reply::Alone`]), which reports the race or
//! the bad payload exactly as an ungrouped append would, to its own caller only. A lost
//! connection is every member's failure: nothing of the batch was written, or, if the
//! connection died during the commit, the outcome is as unknown as it is for a lone append.
//!
//! Batches are sent from spawned tasks, so a caller that gives up (its future dropped)
//! never cancels its neighbours' appends (its own may still be written, as an ungrouped
//! append may be once its statement is sent).

use std::cell::Cell;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::Row;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot};
use uuid::Uuid;

use super::PostgresStore;
use super::append::{Appended, EventColumns};
use super::rows::{map_err, row_u64};
use crate::store::{NewEvent, StoreError};

/// The most appends one statement carries.
pub(super) const MAX_BATCH: usize = 64;

/// A batch of one-event appends: every `$1..$10` is an array with one element per append,
/// `$11` the schema's "all" advisory lock key (see the module docs of `postgres`).
///
/// The same effects in the same order as `APPEND_ONE_SQL`, per append: the shared lock
/// first (every row of `req` is a row of `lk` joined to the input, and the head and
/// duplicate checks are evaluated per joined row), then the duplicate check, the version
/// check, and the insert of the appends that passed. Nothing raises: each input row comes
/// back with its verdict, in input order.
const GROUP_SQL: &str = "\
WITH lk AS (SELECT pg_advisory_xact_lock_shared($11) AS locked),
req AS (
    SELECT r.i, r.stream_id, r.expected, r.command_id, r.event_id, r.event_type,
           r.event_version, r.data, r.metadata, r.causation_id, r.correlation_id,
           (SELECT coalesce(max(e.stream_version), 0) FROM events e
            WHERE e.stream_id = r.stream_id) AS head,
           r.command_id IS NOT NULL
           AND ((SELECT 1 FROM events e WHERE e.command_id = r.command_id LIMIT 1) IS NOT NULL
                OR (SELECT 1 FROM commands c WHERE c.command_id = r.command_id LIMIT 1)
                   IS NOT NULL) AS dup
    FROM lk,
         unnest($1::text[], $2::bigint[], $3::uuid[], $4::uuid[], $5::text[], $6::int[],
                $7::jsonb[], $8::jsonb[], $9::uuid[], $10::uuid[])
         WITH ORDINALITY AS r(stream_id, expected, command_id, event_id, event_type,
                              event_version, data, metadata, causation_id, correlation_id, i)
),
ins AS (
    INSERT INTO events (position, event_id, stream_id, stream_version, event_type,
                        event_version, data, metadata, causation_id, correlation_id,
                        command_id, command_events)
    SELECT nextval('event_position_seq'), event_id, stream_id, head + 1, event_type,
           event_version, data, metadata, causation_id, correlation_id, command_id,
           CASE WHEN command_id IS NOT NULL THEN 1 END
    FROM req
    WHERE NOT dup AND (expected < 0 OR expected = head)
    RETURNING stream_id, position, created_at
)
SELECT req.i, req.dup, req.head, ins.position, ins.created_at
FROM req LEFT JOIN ins ON ins.stream_id = req.stream_id
ORDER BY req.i";

/// One queued append of one event.
pub(super) struct Request {
    pub stream_id: String,
    /// -1 any, 0 no stream, n exactly n (as in `APPEND_SQL`).
    pub expected: i64,
    pub command_id: Option<Uuid>,
    pub event: NewEvent,
    /// The event's metadata as JSON.
    pub metadata: Value,
}

/// What became of one append of a batch.
pub(super) enum Reply {
    Appended(Appended),
    /// The command id was already recorded: nothing written.
    Duplicate,
    /// The stream was at this version, not the expected one: nothing written.
    Conflict(u64),
    /// The server refused the batch's statement (a race lost to an append outside it, a
    /// payload it cannot store) and it rolled back: append alone.
    Alone,
    Failed(StoreError),
}

/// What [`GroupCommit::submit`] gives back.
pub(super) enum Turn {
    /// The append went out in a batch.
    Verdict(Reply),
    /// Nobody else is waiting: send the append alone while holding this slot. Dropping the
    /// slot (also when the caller gives up mid-way) lets the queue move on.
    Alone(Slot),
}

struct Queued {
    request: Request,
    ticket: u64,
    reply: oneshot::Sender<Reply>,
}

/// The queue and the slots: shared by every clone of a store.
#[derive(Debug)]
pub(super) struct GroupCommit {
    queue: Mutex<Queue>,
    slots: Arc<Semaphore>,
}

#[derive(Default)]
struct Queue {
    waiting: VecDeque<Queued>,
    next_ticket: u64,
}

impl std::fmt::Debug for Queue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Queue")
            .field("waiting", &self.waiting.len())
            .finish()
    }
}

thread_local! {
    /// Set while [`GroupCommit::kick`] spawns a flusher on this thread.
    static SPAWNING: Cell<bool> = const { Cell::new(false) };
}

/// Marks this thread as spawning a flusher until dropped.
struct Spawning;

impl Spawning {
    fn enter() -> Spawning {
        SPAWNING.set(true);
        Spawning
    }
}

impl Drop for Spawning {
    fn drop(&mut self) {
        SPAWNING.set(false);
    }
}

/// A held slot: dropping it frees the slot and starts a flusher for anything queued
/// meanwhile, so no append is left waiting with no one to send it.
pub(super) struct Slot {
    permit: Option<OwnedSemaphorePermit>,
    store: PostgresStore,
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Some(permit) = self.permit.take() {
            drop(permit);
            if let Some(group) = &self.store.group {
                group.kick(&self.store);
            }
        }
    }
}

impl GroupCommit {
    /// `slots`: how many batch statements may run at once.
    pub(super) fn new(slots: usize) -> GroupCommit {
        GroupCommit {
            queue: Mutex::new(Queue::default()),
            slots: Arc::new(Semaphore::new(slots.max(1))),
        }
    }

    /// Queues `request` and waits for its verdict, or, when it is the only append waiting
    /// and a slot is free, hands the slot back: the caller sends it alone, with the cheaper
    /// single-append statement, and drops the slot when done.
    pub(super) async fn submit(&self, store: &PostgresStore, request: Request) -> Turn {
        let (reply, verdict) = oneshot::channel();
        let ticket = {
            let mut queue = self.lock();
            let ticket = queue.next_ticket;
            queue.next_ticket += 1;
            queue.waiting.push_back(Queued {
                request,
                ticket,
                reply,
            });
            ticket
        };
        if let Some(slot) = self.try_slot(store) {
            let batch = self.take_batch();
            match batch.as_slice() {
                [] => drop(slot),
                [only] if only.ticket == ticket => return Turn::Alone(slot),
                _ => {
                    tokio::spawn(flush(slot, batch));
                }
            }
        }
        Turn::Verdict(verdict.await.unwrap_or_else(|_| {
            Reply::Failed(StoreError::backend(
                "the batch carrying this append was abandoned",
            ))
        }))
    }

    /// A slot to send an append alone, if nothing is queued and a slot is free: the common
    /// case without load, which then costs no queueing and no copy of the event.
    pub(super) fn try_alone(&self, store: &PostgresStore) -> Option<Slot> {
        if !self.lock().waiting.is_empty() {
            return None;
        }
        self.try_slot(store)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        // The queue holds no invariant a panicking holder could break half-way.
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn try_slot(&self, store: &PostgresStore) -> Option<Slot> {
        let permit = self.slots.clone().try_acquire_owned().ok()?;
        Some(Slot {
            permit: Some(permit),
            store: store.clone(),
        })
    }

    /// Starts a flusher if appends are queued and a slot is free.
    fn kick(&self, store: &PostgresStore) {
        // A runtime that is shutting down drops a new task at once, inside `spawn`, and
        // with it the task's slot, whose drop comes back here: the runtime takes no more
        // tasks, so there is nothing to start (and starting one would recurse until the
        // stack overflows).
        if SPAWNING.get() || self.lock().waiting.is_empty() {
            return;
        }
        let Some(mut slot) = self.try_slot(store) else {
            return;
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                let _spawning = Spawning::enter();
                runtime.spawn(flush(slot, Vec::new()));
            }
            // No runtime (a store dropped outside one): nobody can be waiting on a reply.
            Err(_) => drop(slot.permit.take()),
        }
    }

    /// The next batch: queued appends in order, skipping (and leaving queued) any whose
    /// stream or command id is already in the batch.
    fn take_batch(&self) -> Vec<Queued> {
        let mut queue = self.lock();
        let mut batch: Vec<Queued> = Vec::new();
        let mut kept = VecDeque::new();
        while let Some(q) = queue.waiting.pop_front() {
            if batch.len() == MAX_BATCH {
                queue.waiting.push_front(q);
                break;
            }
            let clash = batch.iter().any(|b| {
                b.request.stream_id == q.request.stream_id
                    || (q.request.command_id.is_some()
                        && b.request.command_id == q.request.command_id)
            });
            if clash {
                kept.push_back(q);
            } else {
                batch.push(q);
            }
        }
        while let Some(q) = kept.pop_back() {
            queue.waiting.push_front(q);
        }
        batch
    }
}

/// Sends `first` (if any), then batch after batch until the queue is empty.
async fn flush(slot: Slot, first: Vec<Queued>) {
    let Some(group) = slot.store.group.clone() else {
        return;
    };
    let mut batch = first;
    loop {
        if !batch.is_empty() {
            run(&slot.store, batch).await;
        }
        batch = group.take_batch();
        if batch.is_empty() {
            return;
        }
    }
}

/// Sends one batch and answers every member.
async fn run(store: &PostgresStore, mut batch: Vec<Queued>) {
    // One order of index entries for every batch, so two batches never wait on each other
    // crosswise.
    batch.sort_by(|a, b| a.request.stream_id.cmp(&b.request.stream_id));
    let verdicts = match send(store, &batch).await {
        Ok(verdicts) => verdicts,
        Err(e) => {
            // The server refused the statement: it rolled back, so each append can safely be
            // tried alone, where only a bad one (a race lost, a payload Postgres refuses)
            // fails. A lost connection is everyone's failure: whether the commit happened
            // is unknown, and trying again could write twice.
            let alone = matches!(
                &e,
                sqlx::Error::Database(db)
                    if !db.code().is_some_and(|c| c.starts_with("08") || c.starts_with("57"))
            );
            let error = map_err(e);
            batch
                .iter()
                .map(|_| {
                    if alone {
                        Reply::Alone
                    } else {
                        Reply::Failed(error.clone())
                    }
                })
                .collect()
        }
    };
    for (queued, verdict) in batch.into_iter().zip(verdicts) {
        // The caller may have given up; its append is decided all the same.
        let _ = queued.reply.send(verdict);
    }
}

async fn send(store: &PostgresStore, batch: &[Queued]) -> Result<Vec<Reply>, sqlx::Error> {
    let n = batch.len();
    let mut streams = Vec::with_capacity(n);
    let mut expected = Vec::with_capacity(n);
    let mut commands = Vec::with_capacity(n);
    let mut columns = EventColumns::with_capacity(n);
    for Queued { request: r, .. } in batch {
        streams.push(r.stream_id.as_str());
        expected.push(r.expected);
        commands.push(r.command_id);
        columns.push(&r.event, &r.metadata)?;
    }
    store.count(1);
    let query = sqlx::query(GROUP_SQL)
        .bind(&streams[..])
        .bind(&expected[..])
        .bind(&commands[..]);
    let rows = columns
        .bind(query)
        .bind(store.all_lock_key)
        .fetch_all(&store.pool)
        .await?;
    if rows.len() != n {
        return Err(sqlx::Error::Protocol(format!(
            "the group append returned {} rows for {n} appends",
            rows.len()
        )));
    }
    rows.iter()
        .map(|row| {
            let dup: bool = row.try_get("dup")?;
            let head: i64 = row.try_get("head")?;
            let position: Option<i64> = row.try_get("position")?;
            let created_at: Option<DateTime<Utc>> = row.try_get("created_at")?;
            Ok(match (dup, position, created_at) {
                (true, _, _) => Reply::Duplicate,
                (false, Some(position), Some(created_at)) => {
                    Reply::Appended((row_u64(head)? + 1, vec![row_u64(position)?], created_at))
                }
                (false, _, _) => Reply::Conflict(row_u64(head)?),
            })
        })
        .collect()
}
