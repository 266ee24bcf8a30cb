//! The read side of [`MemoryStore`]: checkpoints with leases, live nodes, parked events,
//! process-manager state and the documents in-memory projections write, all behind one lock,
//! so a [`MemoryTx`] commits its writes and its checkpoint at once or not at all.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::sync::watch;

use super::MemoryStore;
use crate::read::store::{
    Checkpoint, FailedEvent, FailureOutcome, Fence, InstanceChange, Lease, NewFailure, Progress,
    ReadStore, UnitId, Watermark,
};
use crate::store::{EventStore, RecordedEvent, StoreError};

#[derive(Default)]
pub(super) struct ReadState {
    units: BTreeMap<UnitId, Unit>,
    nodes: BTreeMap<String, (Instant, Vec<String>)>,
    failures: BTreeMap<u64, FailedEvent>,
    last_failure_id: u64,
    instances: HashMap<(String, String), Value>,
    documents: BTreeMap<String, BTreeMap<String, Value>>,
}

struct Unit {
    checkpoint: Checkpoint,
    lease_until: Option<Instant>,
}

impl Unit {
    fn leased(&self, now: Instant) -> bool {
        self.checkpoint.owner.is_some() && self.lease_until.is_some_and(|t| t > now)
    }

    fn apply(&mut self, progress: &Progress) {
        let cp = &mut self.checkpoint;
        cp.position = progress.position;
        cp.suspect_until = progress.suspect_until;
        match &progress.attempt {
            Some((position, attempts, error)) => {
                cp.attempt_position = *position;
                cp.attempts = *attempts;
                cp.last_error = Some(error.clone());
                cp.last_error_at = Some(Utc::now());
            }
            None => {
                cp.attempt_position = 0;
                cp.attempts = 0;
            }
        }
        if cp.rebuild_until.is_some_and(|until| cp.position >= until) {
            cp.rebuild_until = None;
        }
        if cp
            .legacy
            .as_ref()
            .is_some_and(|old| old.iter().all(|&p| cp.position >= p))
        {
            cp.legacy = None;
        }
    }
}

fn lock(state: &Mutex<ReadState>) -> MutexGuard<'_, ReadState> {
    // Every change is made whole under the lock, so a poisoned lock guards consistent data.
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

fn fresh(partitions: u32, position: u64) -> Checkpoint {
    Checkpoint {
        partitions,
        position,
        legacy: None,
        suspect_until: position,
        attempt_position: 0,
        attempts: 0,
        stopped: None,
        last_error: None,
        last_error_at: None,
        owner: None,
        token: 0,
        rebuild_until: None,
    }
}

/// Staged writes to one document table.
#[derive(Debug, Default, Clone)]
struct Staged {
    cleared: bool,
    rows: BTreeMap<String, Option<Value>>,
}

/// The transaction an in-memory projection writes its read model in: named tables of JSON
/// documents by key. Reads see the transaction's own writes; nothing is visible to others
/// until the runtime commits it together with the projection's checkpoint, so a failed
/// batch leaves no trace. Read the committed documents with [`MemoryStore::document`].
pub struct MemoryTx {
    state: Arc<Mutex<ReadState>>,
    tables: BTreeMap<String, Staged>,
    failures: Vec<(UnitId, FailureOutcome, RecordedEvent, String, u32)>,
    removed_failures: Vec<u64>,
    instances: Vec<(String, InstanceChange)>,
    resets: Vec<(String, u64)>,
}

impl std::fmt::Debug for MemoryTx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryTx")
            .field("tables", &self.tables)
            .finish_non_exhaustive()
    }
}

impl MemoryTx {
    /// The document under `key` in `table`, as this transaction sees it.
    pub fn get<T: DeserializeOwned>(
        &self,
        table: &str,
        key: &str,
    ) -> Result<Option<T>, serde_json::Error> {
        let staged = self.tables.get(table);
        let value = match staged.and_then(|s| s.rows.get(key)) {
            Some(row) => row.clone(),
            None if staged.is_some_and(|s| s.cleared) => None,
            None => lock(&self.state)
                .documents
                .get(table)
                .and_then(|t| t.get(key))
                .cloned(),
        };
        value.map(serde_json::from_value).transpose()
    }

    /// Writes `value` under `key` in `table`.
    pub fn put<T: Serialize>(
        &mut self,
        table: &str,
        key: &str,
        value: &T,
    ) -> Result<(), serde_json::Error> {
        let value = serde_json::to_value(value)?;
        self.staged(table).rows.insert(key.to_string(), Some(value));
        Ok(())
    }

    /// Deletes the document under `key` in `table`.
    pub fn delete(&mut self, table: &str, key: &str) {
        self.staged(table).rows.insert(key.to_string(), None);
    }

    /// Deletes every document of `table` (what a projection's `reset` usually does).
    pub fn clear(&mut self, table: &str) {
        let staged = self.staged(table);
        staged.cleared = true;
        staged.rows.clear();
    }

    fn staged(&mut self, table: &str) -> &mut Staged {
        self.tables.entry(table.to_string()).or_default()
    }
}

impl MemoryStore {
    /// A transaction over the store's documents, for a test of a projection: it sees the
    /// committed documents and its own writes; nothing it writes is ever committed.
    pub fn transaction(&self) -> MemoryTx {
        MemoryTx {
            state: Arc::clone(&self.read),
            tables: BTreeMap::new(),
            failures: Vec::new(),
            removed_failures: Vec::new(),
            instances: Vec::new(),
            resets: Vec::new(),
        }
    }

    /// A committed document of an in-memory projection (see [`MemoryTx`]).
    pub fn document<T: DeserializeOwned>(
        &self,
        table: &str,
        key: &str,
    ) -> Result<Option<T>, serde_json::Error> {
        let value = lock(&self.read)
            .documents
            .get(table)
            .and_then(|t| t.get(key))
            .cloned();
        value.map(serde_json::from_value).transpose()
    }

    /// Every committed document of `table`, by key.
    pub fn documents<T: DeserializeOwned>(
        &self,
        table: &str,
    ) -> Result<BTreeMap<String, T>, serde_json::Error> {
        let rows = lock(&self.read)
            .documents
            .get(table)
            .cloned()
            .unwrap_or_default();
        rows.into_iter()
            .map(|(k, v)| Ok((k, serde_json::from_value(v)?)))
            .collect()
    }

    fn state(&self) -> MutexGuard<'_, ReadState> {
        lock(&self.read)
    }
}

impl ReadStore for MemoryStore {
    type Tx = MemoryTx;
    type Conn = MemoryTx;

    fn conn(tx: &mut MemoryTx) -> &mut MemoryTx {
        tx
    }

    /// Appends happen whole under the store's lock: every position is committed.
    async fn safe_position(&self) -> Result<Watermark, StoreError> {
        Ok(Watermark {
            safe: self.len() as u64,
            pending: false,
        })
    }

    async fn read_between(
        &self,
        after: u64,
        until: u64,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        if until <= after {
            return Ok(Vec::new());
        }
        let room = usize::try_from(until - after).unwrap_or(usize::MAX);
        self.read_all(after + 1, limit.min(room)).await
    }

    fn appended(&self) -> watch::Receiver<u64> {
        self.watch_position()
    }

    async fn register(
        &self,
        subscriber: &str,
        partitions: u32,
        start: u64,
    ) -> Result<(), StoreError> {
        let mut state = self.state();
        let existing: Vec<(UnitId, u64, u32)> = state
            .units
            .iter()
            .filter(|(id, _)| id.subscriber == subscriber)
            .map(|(id, u)| (id.clone(), u.checkpoint.position, u.checkpoint.partitions))
            .collect();
        let same = !existing.is_empty()
            && existing.len() == partitions as usize
            && existing.iter().all(|(_, _, p)| *p == partitions);
        if same {
            return Ok(());
        }
        let (legacy, from) = if existing.is_empty() {
            (None, start)
        } else {
            let old: Vec<u64> = existing.iter().map(|(_, p, _)| *p).collect();
            let lowest = old.iter().copied().min().unwrap_or(0);
            // Tokens keep growing across the change, so no old lease stays valid.
            (Some(old), lowest)
        };
        let token = state
            .units
            .iter()
            .filter(|(id, _)| id.subscriber == subscriber)
            .map(|(_, u)| u.checkpoint.token)
            .max()
            .map_or(0, |t| t + 1);
        state.units.retain(|id, _| id.subscriber != subscriber);
        for partition in 0..partitions {
            let mut checkpoint = fresh(partitions, from);
            // From one old partition there is nothing to skip past the lowest checkpoint.
            checkpoint.legacy = legacy.clone().filter(|old| old.len() > 1);
            checkpoint.token = token;
            state.units.insert(
                UnitId {
                    subscriber: subscriber.to_string(),
                    partition,
                },
                Unit {
                    checkpoint,
                    lease_until: None,
                },
            );
        }
        Ok(())
    }

    async fn heartbeat(
        &self,
        node: &str,
        _info: &str,
        subscribers: &[String],
        ttl: Duration,
    ) -> Result<Vec<(String, Vec<String>)>, StoreError> {
        let mut state = self.state();
        let now = Instant::now();
        state
            .nodes
            .insert(node.to_string(), (now + ttl, subscribers.to_vec()));
        state.nodes.retain(|_, (until, _)| *until > now);
        Ok(state
            .nodes
            .iter()
            .map(|(n, (_, subs))| (n.clone(), subs.clone()))
            .collect())
    }

    async fn leave(&self, node: &str) -> Result<(), StoreError> {
        self.state().nodes.remove(node);
        Ok(())
    }

    async fn acquire(
        &self,
        unit: &UnitId,
        node: &str,
        ttl: Duration,
    ) -> Result<Option<Lease>, StoreError> {
        let mut state = self.state();
        let now = Instant::now();
        let Some(u) = state.units.get_mut(unit) else {
            return Ok(None);
        };
        if u.leased(now) {
            return Ok(None);
        }
        u.checkpoint.token += 1;
        u.checkpoint.owner = Some(node.to_string());
        u.lease_until = Some(now + ttl);
        Ok(Some(Lease {
            token: u.checkpoint.token,
        }))
    }

    async fn renew(
        &self,
        leases: &[(UnitId, Lease)],
        node: &str,
        ttl: Duration,
    ) -> Result<Vec<bool>, StoreError> {
        let mut state = self.state();
        let now = Instant::now();
        Ok(leases
            .iter()
            .map(|(unit, lease)| match state.units.get_mut(unit) {
                Some(u)
                    if u.checkpoint.token == lease.token
                        && u.checkpoint.owner.as_deref() == Some(node) =>
                {
                    u.lease_until = Some(now + ttl);
                    true
                }
                _ => false,
            })
            .collect())
    }

    async fn release(&self, unit: &UnitId, lease: Lease) -> Result<(), StoreError> {
        let mut state = self.state();
        if let Some(u) = state.units.get_mut(unit)
            && u.checkpoint.token == lease.token
        {
            u.checkpoint.owner = None;
            u.lease_until = None;
        }
        Ok(())
    }

    async fn checkpoints(
        &self,
        subscriber: Option<&str>,
    ) -> Result<Vec<(UnitId, Checkpoint)>, StoreError> {
        let state = self.state();
        let now = Instant::now();
        Ok(state
            .units
            .iter()
            .filter(|(id, _)| subscriber.is_none_or(|s| id.subscriber == s))
            .map(|(id, u)| {
                let mut checkpoint = u.checkpoint.clone();
                if !u.leased(now) {
                    checkpoint.owner = None;
                }
                (id.clone(), checkpoint)
            })
            .collect())
    }

    async fn save_progress(
        &self,
        unit: &UnitId,
        lease: Lease,
        progress: &Progress,
    ) -> Result<bool, StoreError> {
        let mut state = self.state();
        match state.units.get_mut(unit) {
            Some(u) if u.checkpoint.token == lease.token => {
                u.apply(progress);
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn stop(
        &self,
        unit: &UnitId,
        lease: Lease,
        position: u64,
        error: &str,
    ) -> Result<bool, StoreError> {
        let mut state = self.state();
        match state.units.get_mut(unit) {
            Some(u) if u.checkpoint.token == lease.token => {
                u.checkpoint.position = position;
                u.checkpoint.stopped = Some(error.to_string());
                u.checkpoint.last_error = Some(error.to_string());
                u.checkpoint.last_error_at = Some(Utc::now());
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn resume(&self, subscriber: &str) -> Result<(), StoreError> {
        let mut state = self.state();
        for (_, u) in state
            .units
            .iter_mut()
            .filter(|(id, _)| id.subscriber == subscriber)
        {
            u.checkpoint.stopped = None;
            u.checkpoint.attempts = 0;
            u.checkpoint.attempt_position = 0;
        }
        Ok(())
    }

    async fn begin(&self) -> Result<MemoryTx, StoreError> {
        Ok(self.transaction())
    }

    async fn commit(&self, tx: MemoryTx, fence: Option<Fence<'_>>) -> Result<bool, StoreError> {
        let mut state = self.state();
        if let Some(fence) = &fence {
            match state.units.get(fence.unit) {
                Some(u) if u.checkpoint.token == fence.lease.token => {}
                _ => return Ok(false),
            }
        }
        apply_tx(&mut state, tx);
        if let Some(fence) = fence
            && let Some(u) = state.units.get_mut(fence.unit)
        {
            u.apply(fence.progress);
        }
        Ok(true)
    }

    async fn record_failure(
        &self,
        tx: &mut MemoryTx,
        failure: &NewFailure<'_>,
    ) -> Result<(), StoreError> {
        tx.failures.push((
            failure.unit.clone(),
            failure.outcome,
            failure.event.clone(),
            failure.error.to_string(),
            failure.attempts,
        ));
        Ok(())
    }

    async fn failures(&self, subscriber: Option<&str>) -> Result<Vec<FailedEvent>, StoreError> {
        Ok(self
            .state()
            .failures
            .values()
            .filter(|f| subscriber.is_none_or(|s| f.subscriber == s))
            .cloned()
            .collect())
    }

    async fn failures_between(
        &self,
        subscriber: &str,
        first: u64,
        last: u64,
    ) -> Result<Vec<FailedEvent>, StoreError> {
        Ok(self
            .state()
            .failures
            .values()
            .filter(|f| f.subscriber == subscriber && (first..=last).contains(&f.event.position))
            .cloned()
            .collect())
    }

    async fn remove_failure(&self, tx: &mut MemoryTx, id: u64) -> Result<bool, StoreError> {
        let exists = self.state().failures.contains_key(&id);
        if exists {
            tx.removed_failures.push(id);
        }
        Ok(exists)
    }

    async fn load_instance(
        &self,
        process: &str,
        instance: &str,
    ) -> Result<Option<Value>, StoreError> {
        Ok(self
            .state()
            .instances
            .get(&(process.to_string(), instance.to_string()))
            .cloned())
    }

    async fn save_instances(
        &self,
        tx: &mut MemoryTx,
        process: &str,
        changes: &[InstanceChange],
    ) -> Result<(), StoreError> {
        tx.instances
            .extend(changes.iter().map(|c| (process.to_string(), c.clone())));
        Ok(())
    }

    async fn reset(
        &self,
        tx: &mut MemoryTx,
        subscriber: &str,
        head: u64,
    ) -> Result<(), StoreError> {
        tx.resets.push((subscriber.to_string(), head));
        Ok(())
    }

    async fn stored_at(&self, position: u64) -> Result<Option<DateTime<Utc>>, StoreError> {
        let page = self.read_all(position, 1).await?;
        Ok(page
            .first()
            .filter(|e| e.position == position)
            .map(|e| e.created_at))
    }
}

/// Applies a transaction's staged writes; the caller holds the lock and has checked the fence.
fn apply_tx(state: &mut ReadState, tx: MemoryTx) {
    for (subscriber, head) in tx.resets {
        for (_, u) in state
            .units
            .iter_mut()
            .filter(|(id, _)| id.subscriber == subscriber)
        {
            let cp = &mut u.checkpoint;
            *cp = Checkpoint {
                token: cp.token + 1,
                rebuild_until: (head > 0).then_some(head),
                ..fresh(cp.partitions, 0)
            };
            u.lease_until = None;
        }
        state
            .instances
            .retain(|(process, _), _| *process != subscriber);
    }
    for (table, staged) in tx.tables {
        let rows = state.documents.entry(table).or_default();
        if staged.cleared {
            rows.clear();
        }
        for (key, value) in staged.rows {
            match value {
                Some(v) => rows.insert(key, v),
                None => rows.remove(&key),
            };
        }
    }
    for id in tx.removed_failures {
        state.failures.remove(&id);
    }
    for (unit, outcome, event, error, attempts) in tx.failures {
        state.last_failure_id += 1;
        let id = state.last_failure_id;
        state.failures.insert(
            id,
            FailedEvent {
                id,
                subscriber: unit.subscriber,
                partition: unit.partition,
                outcome,
                event,
                error,
                attempts,
                at: Utc::now(),
            },
        );
    }
    for (process, change) in tx.instances {
        let key = (process, change.instance);
        match change.state {
            Some(state_json) => state.instances.insert(key, state_json),
            None => state.instances.remove(&key),
        };
    }
}
