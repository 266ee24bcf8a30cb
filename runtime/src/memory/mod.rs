//! The embedded event store: everything in process memory, for tests, demos and
//! single-process tools. It keeps the same promises as the Postgres store (atomic appends,
//! 1-based versions and positions, expected-version checks, command-id idempotency,
//! snapshots), so code tested against it behaves the same in production.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use chrono::Utc;
use tokio::sync::watch;
use uuid::Uuid;

use crate::store::{
    AppendOutcome, EventStore, ExpectedVersion, NewEvent, RecordedEvent, Snapshot, StoreError,
};

mod read;

pub use read::MemoryTx;

/// An in-memory [`EventStore`]. Clones share one store, so several engines (standing in
/// for several processes) can race on the same streams.
///
/// An append of no events checks the expected version and writes no event, but remembers
/// the command id (as Postgres does), so a retry is answered `Duplicate(vec![])`.
#[derive(Clone)]
pub struct MemoryStore {
    inner: Arc<RwLock<Inner>>,
    head: Arc<watch::Sender<u64>>,
    /// Checkpoints, leases, parked events, process state and read-model documents.
    read: Arc<std::sync::Mutex<read::ReadState>>,
}

#[derive(Default)]
struct Inner {
    /// Every event in commit order: position `p` is at index `p - 1`.
    all: Vec<RecordedEvent>,
    /// Per stream, the indices into `all` of its events, in stream order.
    streams: HashMap<String, Vec<usize>>,
    /// Per command id, the indices into `all` of the events it appended.
    commands: HashMap<Uuid, Vec<usize>>,
    /// Event ids already stored: an id is unique across the store, as in Postgres.
    event_ids: HashSet<Uuid>,
    snapshots: HashMap<String, Snapshot>,
}

impl Default for MemoryStore {
    fn default() -> Self {
        MemoryStore {
            inner: Arc::default(),
            head: Arc::new(watch::Sender::new(0)),
            read: Arc::default(),
        }
    }
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = self.read();
        f.debug_struct("MemoryStore")
            .field("events", &inner.all.len())
            .field("streams", &inner.streams.len())
            .field("snapshots", &inner.snapshots.len())
            .finish()
    }
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// The global position of the latest event (0 when empty), updated after every append.
    /// A cheap live feed: a reader waits on `changed()` and then reads all from its
    /// checkpoint, instead of polling.
    pub fn watch_position(&self) -> watch::Receiver<u64> {
        self.head.subscribe()
    }

    /// How many events the store holds.
    pub fn len(&self) -> usize {
        self.read().all.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    // A panic while holding the lock cannot leave a half-written append behind (every check
    // runs before the first write), so a poisoned lock still guards consistent data.
    fn read(&self) -> RwLockReadGuard<'_, Inner> {
        self.inner.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(PoisonError::into_inner)
    }

    fn append_now(
        &self,
        stream_id: &str,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
        command_id: Option<Uuid>,
    ) -> Result<AppendOutcome, StoreError> {
        let mut inner = self.write();
        if let Some(id) = command_id
            && let Some(indices) = inner.commands.get(&id)
        {
            let previous = indices.iter().map(|&i| inner.all[i].clone()).collect();
            return Ok(AppendOutcome::Duplicate(previous));
        }
        let current = inner.streams.get(stream_id).map_or(0, |s| s.len() as u64);
        if !expected.matches(current) {
            return Err(StoreError::Conflict {
                stream_id: stream_id.to_string(),
                expected,
                actual: current,
            });
        }
        let mut batch_ids = HashSet::with_capacity(events.len());
        for e in &events {
            if inner.event_ids.contains(&e.event_id) || !batch_ids.insert(e.event_id) {
                return Err(StoreError::backend(format!(
                    "duplicate event id {}",
                    e.event_id
                )));
            }
        }
        if events.is_empty() {
            // Like Postgres: the command is remembered, so a retry is answered as a duplicate.
            if let Some(id) = command_id {
                inner.commands.insert(id, Vec::new());
            }
            return Ok(AppendOutcome::Appended(Vec::new()));
        }

        let created_at = Utc::now();
        let first_index = inner.all.len();
        let mut recorded = Vec::with_capacity(events.len());
        for (offset, e) in events.into_iter().enumerate() {
            let event = RecordedEvent {
                event_id: e.event_id,
                stream_id: stream_id.to_string(),
                stream_version: current + offset as u64 + 1,
                position: (first_index + offset) as u64 + 1,
                event_type: e.event_type,
                event_version: e.event_version,
                data: e.data,
                metadata: e.metadata,
                created_at,
            };
            inner.event_ids.insert(event.event_id);
            inner.all.push(event.clone());
            recorded.push(event);
        }
        let indices: Vec<usize> = (first_index..inner.all.len()).collect();
        inner
            .streams
            .entry(stream_id.to_string())
            .or_default()
            .extend_from_slice(&indices);
        if let Some(id) = command_id {
            inner.commands.insert(id, indices);
        }
        let head = inner.all.len() as u64;
        drop(inner);
        // Appends may finish their notification out of order; the feed only moves forward.
        self.head.send_if_modified(|current| {
            let moved = head > *current;
            if moved {
                *current = head;
            }
            moved
        });
        Ok(AppendOutcome::Appended(recorded))
    }
}

impl EventStore for MemoryStore {
    async fn append(
        &self,
        stream_id: &str,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
        command_id: Option<Uuid>,
    ) -> Result<AppendOutcome, StoreError> {
        self.append_now(stream_id, expected, events, command_id)
    }

    async fn read_stream(
        &self,
        stream_id: &str,
        from_version: u64,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let inner = self.read();
        let Some(indices) = inner.streams.get(stream_id) else {
            return Ok(Vec::new());
        };
        let skip = usize::try_from(from_version.saturating_sub(1)).unwrap_or(usize::MAX);
        Ok(indices
            .iter()
            .skip(skip)
            .take(limit)
            .map(|&i| inner.all[i].clone())
            .collect())
    }

    async fn read_all(
        &self,
        from_position: u64,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let inner = self.read();
        let skip = usize::try_from(from_position.saturating_sub(1)).unwrap_or(usize::MAX);
        Ok(inner.all.iter().skip(skip).take(limit).cloned().collect())
    }

    async fn stream_version(&self, stream_id: &str) -> Result<u64, StoreError> {
        Ok(self
            .read()
            .streams
            .get(stream_id)
            .map_or(0, |s| s.len() as u64))
    }

    async fn find_command(
        &self,
        command_id: Uuid,
    ) -> Result<Option<Vec<RecordedEvent>>, StoreError> {
        let inner = self.read();
        Ok(inner
            .commands
            .get(&command_id)
            .map(|indices| indices.iter().map(|&i| inner.all[i].clone()).collect()))
    }

    async fn save_snapshot(&self, snapshot: Snapshot) -> Result<(), StoreError> {
        let mut inner = self.write();
        let keep_stored = inner.snapshots.get(&snapshot.stream_id).is_some_and(|old| {
            old.version > snapshot.version && old.state_hash == snapshot.state_hash
        });
        if !keep_stored {
            inner.snapshots.insert(snapshot.stream_id.clone(), snapshot);
        }
        Ok(())
    }

    async fn load_snapshot(&self, stream_id: &str) -> Result<Option<Snapshot>, StoreError> {
        Ok(self.read().snapshots.get(stream_id).cloned())
    }
}
