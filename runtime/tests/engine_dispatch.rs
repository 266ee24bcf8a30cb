//! Dispatch journeys on the in-memory store: reload, validation, domain errors,
//! idempotency, upcasting on read, paging, and giving up on endless conflicts.

pub mod support;

use eskema::serde_json::json;
use eskema::store::{AppendOutcome, ExpectedVersion, Metadata, NewEvent, Snapshot};
use eskema::uuid::Uuid;
use eskema::{
    CacheConfig, CommandContext, DispatchError, Engine, EventStore, MemoryStore, RecordedEvent,
    StoreError, UpcastError,
};
use support::*;

fn engine() -> Engine<MemoryStore> {
    Engine::new(MemoryStore::new())
}

#[tokio::test]
async fn dispatch_then_reload_gives_the_same_state() {
    let engine = engine();
    let opened = engine
        .execute::<Account>(open("a1", "Ann", 100).into(), CommandContext::default())
        .await
        .expect("open");
    assert_eq!(opened.stream_id, "account-a1");
    assert_eq!(opened.version, 1);
    assert!(!opened.duplicate);
    assert_eq!(
        opened.events,
        vec![AccountEvent::from(AccountOpened {
            account_id: "a1".into(),
            owner: "Ann".into(),
            initial: 100,
            currency: "EUR".into(),
        })]
    );
    let command_id = opened.recorded[0].metadata.command_id.expect("command id");
    assert_eq!(opened.recorded[0].metadata.correlation_id, Some(command_id));
    assert_eq!(opened.recorded[0].event_version, 2);

    let deposited = engine
        .execute::<Account>(deposit("a1", 50).into(), CommandContext::default())
        .await
        .expect("deposit");
    assert_eq!(deposited.version, 2);
    let withdrawn = engine
        .execute::<Account>(withdraw("a1", 30).into(), CommandContext::default())
        .await
        .expect("withdraw");
    assert_eq!(withdrawn.version, 3);
    assert_eq!(withdrawn.recorded[0].position, 3);

    let loaded = engine.load::<Account>("a1").await.expect("load");
    assert_eq!(loaded.version, 3);
    assert_eq!(loaded.state.balance, 120);

    // Another engine (no shared cache) reads the same from the store alone.
    let other = Engine::new(engine.store().clone()).with_cache(CacheConfig::disabled());
    let reloaded = other.load::<Account>("a1").await.expect("load");
    assert_eq!(reloaded, loaded);
}

#[tokio::test]
async fn every_validation_error_is_reported_and_nothing_is_appended() {
    let engine = engine();
    let err = engine
        .execute::<Account>(open("", "", -5).into(), CommandContext::default())
        .await
        .expect_err("invalid");
    let violations = err.validation().expect("validation error");
    assert_eq!(violations.len(), 3, "{violations}");
    assert!(violations.has("account_id", "required"));
    assert!(violations.has("owner", "required"));
    assert!(violations.has("initial", "min"));
    assert!(engine.store().is_empty());
}

#[tokio::test]
async fn a_domain_error_appends_nothing() {
    let engine = engine();
    let err = engine
        .execute::<Account>(deposit("a1", 5).into(), CommandContext::default())
        .await
        .expect_err("not opened");
    assert_eq!(err, DispatchError::Domain(AccountError::NotOpened));
    assert!(engine.store().is_empty());

    open_a1(&engine).await;
    let err = engine
        .execute::<Account>(withdraw("a1", 11).into(), CommandContext::default())
        .await
        .expect_err("too much");
    assert_eq!(err, DispatchError::Domain(AccountError::InsufficientFunds));
    assert_eq!(engine.store().len(), 1);
    assert_eq!(
        engine
            .load::<Account>("a1")
            .await
            .expect("load")
            .state
            .balance,
        10
    );
}

#[tokio::test]
async fn the_same_command_id_twice_appends_once_and_answers_the_first_result() {
    let engine = engine();
    let ctx = CommandContext::with_command_id(Uuid::now_v7());
    let first = engine
        .execute::<Account>(open("a1", "Ann", 10).into(), ctx.clone())
        .await
        .expect("first");
    // Re-running OpenAccount would be refused (already open): the id answers first.
    let second = engine
        .execute::<Account>(open("a1", "Ann", 10).into(), ctx.clone())
        .await
        .expect("second");
    assert!(!first.duplicate);
    assert!(second.duplicate);
    assert_eq!(second.events, first.events);
    assert_eq!(second.recorded, first.recorded);
    assert_eq!(second.version, 1);
    assert_eq!(engine.store().len(), 1);

    let ctx = CommandContext::with_command_id(Uuid::now_v7());
    let d1 = engine
        .execute::<Account>(deposit("a1", 5).into(), ctx.clone())
        .await
        .expect("deposit");
    let d2 = engine
        .execute::<Account>(deposit("a1", 5).into(), ctx)
        .await
        .expect("retry");
    assert!(d2.duplicate);
    assert_eq!(d2.recorded, d1.recorded);
    assert_eq!(
        engine
            .load::<Account>("a1")
            .await
            .expect("load")
            .state
            .balance,
        15
    );
}

#[tokio::test]
async fn a_command_id_is_never_looked_up_before_deciding() {
    let engine = Engine::new(CountingStore::new(MemoryStore::new()));
    let calls = &engine.store().calls;
    let opened = open_a1(&engine).await;
    assert_eq!(Calls::get(&calls.find_command), 0);
    // The id the engine made went through the append that may skip its lookup.
    assert_eq!(Calls::get(&calls.append_new_command), 1);
    engine
        .execute::<Account>(
            deposit("a1", 1).into(),
            CommandContext::with_command_id(Uuid::now_v7()),
        )
        .await
        .expect("deposit");
    assert_eq!(
        Calls::get(&calls.find_command),
        0,
        "a supplied id is checked by the append itself"
    );
    assert_eq!(
        Calls::get(&calls.append_new_command),
        1,
        "a supplied id may be a retry"
    );
    assert_eq!(Calls::get(&calls.append), 2);
    // The made id was recorded all the same: sent again, it is answered as a duplicate.
    let made = opened.recorded[0].metadata.command_id.expect("command id");
    let again = engine
        .execute::<Account>(
            open("a1", "Ann", 10).into(),
            CommandContext::with_command_id(made),
        )
        .await
        .expect("duplicate");
    assert!(again.duplicate);
    assert_eq!(again.recorded, opened.recorded);
    assert_eq!(engine.store().inner.len(), 2);
}

#[tokio::test]
async fn a_no_op_under_a_supplied_id_is_recorded_so_its_retry_stays_a_no_op() {
    let engine = engine();
    open_a1(&engine).await;
    let ctx = CommandContext::with_command_id(Uuid::now_v7());
    let first = engine
        .execute::<Account>(change_owner("a1", "Ann").into(), ctx.clone())
        .await
        .expect("no-op");
    assert!(first.events.is_empty());
    assert!(!first.duplicate);
    assert_eq!(first.version, 1);
    engine
        .execute::<Account>(change_owner("a1", "Bob").into(), CommandContext::default())
        .await
        .expect("change");
    // Now the same command would change the owner back; as a retry it must not.
    let retry = engine
        .execute::<Account>(change_owner("a1", "Ann").into(), ctx)
        .await
        .expect("retry");
    assert!(retry.duplicate);
    assert!(retry.events.is_empty() && retry.recorded.is_empty());
    assert_eq!(retry.version, 2, "the version this call saw");
    assert_eq!(engine.store().len(), 2);
    let state = engine.load::<Account>("a1").await.expect("load").state;
    assert_eq!(state.owner, "Bob");
}

fn raw(event_type: &str, version: u32, data: eskema::serde_json::Value) -> NewEvent {
    NewEvent::new(event_type, version, data, Metadata::default())
}

#[tokio::test]
async fn old_versions_and_old_type_names_are_upcast_on_read() {
    let store = MemoryStore::new();
    store
        .append(
            "account-old",
            ExpectedVersion::NoStream,
            vec![
                raw(
                    "AccountOpened",
                    1,
                    json!({"account_id": "old", "owner": "Bob", "initial": 40}),
                ),
                raw("CashWithdrawn", 1, json!({"amount": 15, "balance": 25})),
            ],
            None,
        )
        .await
        .expect("append");
    let engine = Engine::new(store);
    let loaded = engine.load::<Account>("old").await.expect("load");
    assert_eq!(loaded.version, 2);
    assert_eq!(loaded.state.currency, "EUR");
    assert_eq!(loaded.state.balance, 25);
    // And the engine keeps working on top of upcast history.
    let out = engine
        .execute::<Account>(withdraw("old", 5).into(), CommandContext::default())
        .await
        .expect("withdraw");
    assert_eq!(out.version, 3);
    assert_eq!(out.recorded[0].event_type, "MoneyWithdrawn");
}

#[tokio::test]
async fn an_event_from_newer_code_is_an_upcast_error_not_a_guess() {
    let store = MemoryStore::new();
    store
        .append(
            "account-new",
            ExpectedVersion::NoStream,
            vec![raw(
                "AccountOpened",
                3,
                json!({"account_id": "new", "owner": "Cy", "initial": 1, "currency": "EUR"}),
            )],
            None,
        )
        .await
        .expect("append");
    let engine = Engine::new(store);
    let err = engine
        .execute::<Account>(deposit("new", 1).into(), CommandContext::default())
        .await
        .expect_err("future version");
    assert!(
        matches!(
            err,
            DispatchError::Upcast(UpcastError::FutureVersion { version: 3, .. })
        ),
        "{err:?}"
    );
    assert_eq!(engine.store().len(), 1);
}

/// On a current-thread runtime a load fetches one page ahead (joined with applying).
#[tokio::test]
async fn a_stream_longer_than_a_page_loads_page_by_page() {
    // Full, full, half: the short page ends the load.
    long_stream_loads(3..=3).await;
}

/// On a multi-threaded runtime a load fetches `PAGES_AHEAD` pages ahead on tasks of its
/// own; the one past the end may or may not be sent before the load ends and aborts it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_longer_than_a_page_loads_with_pages_fetched_ahead() {
    long_stream_loads(3..=3 + eskema::__private::PAGES_AHEAD - 1).await;
}

async fn long_stream_loads(reads: std::ops::RangeInclusive<usize>) {
    let mem = MemoryStore::new();
    let count = 2 * eskema::__private::READ_PAGE + 500;
    let mut events = vec![raw(
        "AccountOpened",
        2,
        json!({"account_id": "big", "owner": "Di", "initial": 0, "currency": "EUR"}),
    )];
    for i in 1..count {
        events.push(raw("MoneyDeposited", 1, json!({"amount": 1, "balance": i})));
    }
    mem.append("account-big", ExpectedVersion::NoStream, events, None)
        .await
        .expect("append");
    let engine = Engine::new(CountingStore::new(mem)).with_cache(CacheConfig::disabled());
    let loaded = engine.load::<Account>("big").await.expect("load");
    assert_eq!(loaded.version, count as u64);
    assert_eq!(loaded.state.balance, count as i64 - 1);
    let sent = Calls::get(&engine.store().calls.read_stream);
    assert!(reads.contains(&sent), "{sent} reads, expected {reads:?}");
}

/// A store where every append finds someone else got there first.
struct AlwaysConflicting(CountingStore<MemoryStore>);

impl EventStore for AlwaysConflicting {
    async fn append(
        &self,
        stream_id: &str,
        expected: ExpectedVersion,
        _events: Vec<NewEvent>,
        _command_id: Option<Uuid>,
    ) -> Result<AppendOutcome, StoreError> {
        self.0
            .calls
            .append
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Err(StoreError::Conflict {
            stream_id: stream_id.to_string(),
            expected,
            actual: 99,
        })
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

#[tokio::test]
async fn endless_conflicts_give_up_after_max_attempts() {
    let engine =
        Engine::new(AlwaysConflicting(CountingStore::new(MemoryStore::new()))).with_max_attempts(3);
    let err = engine
        .execute::<Account>(open("a1", "Ann", 1).into(), CommandContext::default())
        .await
        .expect_err("conflict");
    assert_eq!(
        err,
        DispatchError::Conflict {
            stream_id: "account-a1".into(),
            attempts: 3
        }
    );
    assert_eq!(Calls::get(&engine.store().0.calls.append), 3);
    assert_eq!(engine.cached_aggregates(), 0);
}
