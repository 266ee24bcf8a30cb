//! Many writers on one aggregate: conflict retries lose no update, and concurrent
//! duplicates of one command id append once.

pub mod support;

use std::sync::Arc;
use std::time::Duration;

use eskema::store::{AppendOutcome, ExpectedVersion, NewEvent, Snapshot};
use eskema::uuid::Uuid;
use eskema::{CommandContext, Engine, EventStore, MemoryStore, RecordedEvent, StoreError};
use support::*;

/// Delays every append, so tasks that read together append on the same stale version.
struct SlowAppends(Arc<CountingStore<MemoryStore>>);

impl EventStore for SlowAppends {
    async fn append(
        &self,
        stream_id: &str,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
        command_id: Option<Uuid>,
    ) -> Result<AppendOutcome, StoreError> {
        tokio::time::sleep(Duration::from_millis(2)).await;
        self.0.append(stream_id, expected, events, command_id).await
    }
    async fn read_stream(
        &self,
        stream_id: &str,
        from_version: u64,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        self.0.read_stream(stream_id, from_version, limit).await
    }
    async fn read_all(&self, from: u64, limit: usize) -> Result<Vec<RecordedEvent>, StoreError> {
        self.0.read_all(from, limit).await
    }
    async fn stream_version(&self, stream_id: &str) -> Result<u64, StoreError> {
        self.0.stream_version(stream_id).await
    }
    async fn find_command(&self, id: Uuid) -> Result<Option<Vec<RecordedEvent>>, StoreError> {
        self.0.find_command(id).await
    }
    async fn save_snapshot(&self, snapshot: Snapshot) -> Result<(), StoreError> {
        self.0.save_snapshot(snapshot).await
    }
    async fn load_snapshot(&self, stream_id: &str) -> Result<Option<Snapshot>, StoreError> {
        self.0.load_snapshot(stream_id).await
    }
}

const TASKS: usize = 16;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_concurrent_writers_lose_no_update() {
    let mem = MemoryStore::new();
    let counting = Arc::new(CountingStore::new(mem.clone()));
    // Two engines stand in for two processes; each task conflicts at most once per other
    // task's success, so TASKS attempts always suffice.
    let engines = [
        Engine::new(SlowAppends(Arc::clone(&counting))).with_max_attempts(TASKS as u32),
        Engine::new(SlowAppends(Arc::clone(&counting))).with_max_attempts(TASKS as u32),
    ];
    engines[0]
        .execute::<Account>(open("hot", "Ann", 0).into(), CommandContext::default())
        .await
        .expect("open");

    let mut tasks = Vec::new();
    for i in 0..TASKS {
        let engine = engines[i % 2].clone();
        tasks.push(tokio::spawn(async move {
            engine
                .execute::<Account>(deposit("hot", 10).into(), CommandContext::default())
                .await
        }));
    }
    let mut versions = Vec::new();
    for task in tasks {
        let outcome = task.await.expect("task").expect("every deposit succeeds");
        versions.push(outcome.version);
    }
    versions.sort_unstable();
    let expected: Vec<u64> = (2..=TASKS as u64 + 1).collect();
    assert_eq!(versions, expected, "each deposit got its own version");

    let loaded = engines[1].load::<Account>("hot").await.expect("load");
    assert_eq!(loaded.version, TASKS as u64 + 1);
    assert_eq!(loaded.state.balance, 10 * TASKS as i64);
    assert_eq!(mem.len(), TASKS + 1);
    // The retries really happened: more appends were tried than succeeded.
    assert!(
        Calls::get(&counting.calls.append) > TASKS + 1,
        "appends: {}",
        Calls::get(&counting.calls.append)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_duplicates_of_one_command_id_append_once() {
    let mem = MemoryStore::new();
    let engine = Engine::new(mem.clone());
    engine
        .execute::<Account>(open("dup", "Ann", 0).into(), CommandContext::default())
        .await
        .expect("open");
    let ctx = CommandContext::with_command_id(Uuid::now_v7());
    let mut tasks = Vec::new();
    for i in 0..8 {
        // Half the tasks on a second engine, whose cache starts empty.
        let engine = if i % 2 == 0 {
            engine.clone()
        } else {
            Engine::new(mem.clone())
        };
        let ctx = ctx.clone();
        tasks.push(tokio::spawn(async move {
            engine
                .execute::<Account>(deposit("dup", 7).into(), ctx)
                .await
        }));
    }
    let mut firsts = 0;
    let mut recorded = Vec::new();
    for task in tasks {
        let outcome = task.await.expect("task").expect("answered");
        if !outcome.duplicate {
            firsts += 1;
        }
        recorded.push(outcome.recorded);
    }
    assert_eq!(firsts, 1, "exactly one dispatch appended");
    assert!(
        recorded.windows(2).all(|w| w[0] == w[1]),
        "all saw the same events"
    );
    assert_eq!(mem.len(), 2);
    assert_eq!(
        engine
            .load::<Account>("dup")
            .await
            .expect("load")
            .state
            .balance,
        7
    );
}
