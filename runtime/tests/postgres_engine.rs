//! The engine on `PostgresStore` with a hand-written aggregate: idempotent dispatch,
//! upcasting and renamed events on read, long streams rehydrated in pages, snapshots (and
//! snapshots of another state shape ignored), and concurrent commands on one aggregate.

mod postgres_support;

use std::sync::Arc;

use eskema::__private::{as_object, rename};
use eskema::aggregate::{Aggregate, AggregateCommand};
use eskema::event::AnyEvent;
use eskema::event::DomainEvent;
use eskema::store::{ExpectedVersion, Metadata, NewEvent, Snapshot};
use eskema::{CommandContext, Engine, EventStore, Validate, ValidationErrors};
use eskema::{Event, UpcastError};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct Counter {
    total: i64,
    adds: u64,
}

#[derive(Debug, Clone, Serialize)]
enum CounterCommand {
    Add { id: String, amount: i64 },
}

impl Validate for CounterCommand {
    fn validate_into(&self, prefix: &str, errors: &mut ValidationErrors) {
        let CounterCommand::Add { amount, .. } = self;
        if *amount == 0 {
            errors.push(
                format!("{prefix}amount"),
                "not_zero",
                "amount must not be 0",
            );
        }
    }
}

impl AggregateCommand for CounterCommand {
    fn name(&self) -> &'static str {
        "Add"
    }
    fn identity(&self) -> String {
        let CounterCommand::Add { id, .. } = self;
        id.clone()
    }
}

/// `Added` v2 `{amount}`; v1 was `{value}`; before that it was called `Incremented`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Added {
    amount: i64,
}

impl Event for Added {
    const NAME: &'static str = "Added";
    const VERSION: u32 = 2;
    const RENAMED_FROM: &'static [&'static str] = &["Incremented"];

    fn upcast(version: u32, mut data: Value) -> Result<Value, UpcastError> {
        if version < 2 {
            rename(
                as_object(&mut data, Self::NAME, version)?,
                "value",
                "amount",
            );
        }
        Ok(data)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
enum CounterEvent {
    Added(Added),
}

impl DomainEvent for CounterEvent {
    fn as_event(&self) -> &dyn AnyEvent {
        let CounterEvent::Added(e) = self;
        e
    }
    fn from_stored(event_type: &str, version: u32, data: Value) -> Result<Self, UpcastError> {
        if !Added::is_stored_as(event_type) {
            return Err(UpcastError::unknown(event_type, "CounterEvent"));
        }
        Added::from_stored(version, data).map(CounterEvent::Added)
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
enum CounterError {
    #[error("the total may not go below zero")]
    Negative,
}

impl Aggregate for Counter {
    const NAME: &'static str = "Counter";
    const CONTEXT: &'static str = "test";
    const SNAPSHOT_EVERY: Option<u64> = Some(100);
    const STATE_HASH: &'static str = "counter:total=i64,adds=u64";
    type Command = CounterCommand;
    type Event = CounterEvent;
    type Error = CounterError;

    fn stream_id(identity: &str) -> String {
        format!("counter-{identity}")
    }
    fn execute(&self, command: &CounterCommand) -> Result<Vec<CounterEvent>, CounterError> {
        let CounterCommand::Add { amount, .. } = command;
        if self.total + amount < 0 {
            return Err(CounterError::Negative);
        }
        Ok(vec![CounterEvent::Added(Added { amount: *amount })])
    }
    fn apply(&mut self, event: &CounterEvent) {
        let CounterEvent::Added(Added { amount }) = event;
        self.total += amount;
        self.adds += 1;
    }
}

fn add(id: &str, amount: i64) -> CounterCommand {
    CounterCommand::Add {
        id: id.into(),
        amount,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dispatch_is_idempotent_and_validated() {
    let Some(db) = postgres_support::test_db("dispatch_is_idempotent_and_validated").await else {
        return;
    };
    let engine = Engine::new((*db.store).clone());
    let cid = Uuid::now_v7();
    let first = engine
        .execute::<Counter>(add("a", 5), CommandContext::with_command_id(cid))
        .await
        .expect("first");
    assert_eq!((first.version, first.duplicate), (1, false));
    let again = engine
        .execute::<Counter>(add("a", 5), CommandContext::with_command_id(cid))
        .await
        .expect("again");
    assert!(again.duplicate);
    assert_eq!(again.recorded, first.recorded);
    assert_eq!(again.events, vec![CounterEvent::Added(Added { amount: 5 })]);
    assert!(
        engine
            .execute::<Counter>(add("a", 0), CommandContext::default())
            .await
            .is_err_and(|e| e.validation().is_some())
    );
    assert!(matches!(
        engine
            .execute::<Counter>(add("a", -6), CommandContext::default())
            .await,
        Err(eskema::DispatchError::Domain(CounterError::Negative))
    ));
    let loaded = engine.load::<Counter>("a").await.expect("load");
    assert_eq!((loaded.state.total, loaded.version), (5, 1));
    assert_eq!(first.recorded[0].metadata.command_id, Some(cid));
    assert_eq!(first.recorded[0].metadata.correlation_id, Some(cid));
    // The tracing ids are also plain columns, for queries by correlation.
    let mut admin = postgres_support::admin_connection(&db).await;
    let (correlation, causation, version): (Option<Uuid>, Option<Uuid>, i32) = sqlx::query_as(
        "SELECT correlation_id, causation_id, event_version FROM events WHERE stream_id = 'counter-a'",
    )
    .fetch_one(&mut admin)
    .await
    .expect("row");
    assert_eq!((correlation, causation, version), (Some(cid), Some(cid), 2));
}

/// Two and a half pages of stored events (`READ_PAGE` each) in three shapes (old name, v1
/// payload, v2) rehydrate page by page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_streams_upcast_and_reload_in_pages() {
    let Some(db) = postgres_support::test_db("long_streams_upcast_and_reload_in_pages").await
    else {
        return;
    };
    let store = Arc::clone(&db.store);
    let stream = Counter::stream_id("long");
    let total = 2 * eskema::__private::READ_PAGE as u64 + eskema::__private::READ_PAGE as u64 / 2;
    assert_eq!(total % 500, 0);
    let mut expected_total = 0;
    for chunk in 0..total / 500 {
        let batch: Vec<NewEvent> = (0..500u64)
            .map(|i| {
                let n = (chunk * 500 + i) as i64;
                expected_total += n;
                match n % 3 {
                    0 => {
                        NewEvent::new("Incremented", 1, json!({ "value": n }), Metadata::default())
                    }
                    1 => NewEvent::new("Added", 1, json!({ "value": n }), Metadata::default()),
                    _ => NewEvent::new("Added", 2, json!({ "amount": n }), Metadata::default()),
                }
            })
            .collect();
        store
            .append(&stream, ExpectedVersion::Exactly(chunk * 500), batch, None)
            .await
            .expect("seed");
    }
    let before = store.statements_sent();
    let engine = Engine::new((*store).clone());
    let loaded = engine.load::<Counter>("long").await.expect("load");
    assert_eq!(loaded.version, total);
    assert_eq!(
        loaded.state,
        Counter {
            total: expected_total,
            adds: total
        }
    );
    // No snapshot (lookup: 1 statement), then two full pages and a half one, and perhaps
    // the page after it, fetched ahead before the half page ended the load.
    let sent = store.statements_sent() - before;
    assert!(
        (1 + 3..=1 + 3 + eskema::__private::PAGES_AHEAD as u64 - 1).contains(&sent),
        "{sent} statements"
    );

    // total -> total + 1 crosses no multiple of 100: no snapshot yet.
    let out = engine
        .execute::<Counter>(add("long", 1), CommandContext::default())
        .await
        .expect("execute");
    assert_eq!(out.version, total + 1);
    assert_eq!(store.load_snapshot(&stream).await.expect("snap"), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshots_of_another_shape_are_ignored() {
    let Some(db) = postgres_support::test_db("snapshots_of_another_shape_are_ignored").await else {
        return;
    };
    let engine = Engine::new((*db.store).clone());
    for _ in 0..150 {
        engine
            .execute::<Counter>(add("s", 2), CommandContext::default())
            .await
            .expect("execute");
    }
    let snap = db
        .store
        .load_snapshot("counter-s")
        .await
        .expect("load")
        .expect("snapshot");
    assert_eq!(snap.version, 100);
    assert_eq!(snap.state, json!({"total": 200, "adds": 100}));
    // A snapshot taken under another state shape, with a state that would mislead.
    db.store
        .save_snapshot(Snapshot {
            stream_id: "counter-s".into(),
            version: 150,
            state_hash: "counter:older-shape".into(),
            state: json!({"total": -1, "adds": 0}),
        })
        .await
        .expect("save");
    let loaded = engine.load::<Counter>("s").await.expect("load");
    assert_eq!(
        loaded.state,
        Counter {
            total: 300,
            adds: 150
        }
    );
    assert_eq!(loaded.version, 150);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_commands_on_one_aggregate_all_land_once() {
    let Some(db) = postgres_support::test_db("concurrent_commands_on_one_aggregate").await else {
        return;
    };
    let engine = Engine::new((*db.store).clone()).with_max_attempts(100);
    let mut tasks = tokio::task::JoinSet::new();
    for w in 0..8i64 {
        let engine = engine.clone();
        tasks.spawn(async move {
            for i in 0..10 {
                engine
                    .execute::<Counter>(add("hot", w * 10 + i + 1), CommandContext::default())
                    .await
                    .expect("execute");
            }
        });
    }
    while let Some(r) = tasks.join_next().await {
        r.expect("task");
    }
    let loaded = engine.load::<Counter>("hot").await.expect("load");
    assert_eq!(loaded.version, 80);
    assert_eq!(loaded.state.total, (1..=80).sum::<i64>());
}
