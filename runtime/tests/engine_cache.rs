//! The aggregate cache: hits cost no read, stale entries are detected and never decide.

pub mod support;

use std::sync::atomic::Ordering;
use std::time::Duration;

use eskema::{CacheConfig, CommandContext, DispatchError, Engine, MemoryStore};
use support::*;

fn counting_engine(mem: &MemoryStore) -> Engine<CountingStore<MemoryStore>> {
    Engine::new(CountingStore::new(mem.clone()))
}

#[tokio::test]
async fn a_cached_aggregate_costs_one_append_and_no_read() {
    let engine = counting_engine(&MemoryStore::new());
    open_a1(&engine).await;
    let calls = &engine.store().calls;
    assert!(calls.reads() > 0, "the first command loads the stream");
    assert_eq!(engine.cached_aggregates(), 1);

    let reads = calls.reads();
    let appends = Calls::get(&calls.append);
    for _ in 0..3 {
        engine
            .execute::<Account>(deposit("a1", 5).into(), CommandContext::default())
            .await
            .expect("deposit");
    }
    assert_eq!(calls.reads(), reads, "no read on the cache-hit path");
    assert_eq!(Calls::get(&calls.append), appends + 3);
    assert_eq!(
        engine
            .load::<Account>("a1")
            .await
            .expect("load")
            .state
            .balance,
        25
    );
}

#[tokio::test]
async fn without_the_cache_every_command_reloads() {
    let engine = counting_engine(&MemoryStore::new()).with_cache(CacheConfig::disabled());
    open_a1(&engine).await;
    let before = Calls::get(&engine.store().calls.read_stream);
    engine
        .execute::<Account>(deposit("a1", 5).into(), CommandContext::default())
        .await
        .expect("deposit");
    assert_eq!(Calls::get(&engine.store().calls.read_stream), before + 1);
    assert_eq!(engine.cached_aggregates(), 0);
}

#[tokio::test]
async fn a_stale_cached_state_is_detected_and_the_command_retried() {
    let mem = MemoryStore::new();
    let a = counting_engine(&mem);
    let b = Engine::new(mem.clone());
    a.execute::<Account>(open("a1", "Ann", 10).into(), CommandContext::default())
        .await
        .expect("open");
    // Another process moves the stream past A's cached version 1.
    b.execute::<Account>(deposit("a1", 100).into(), CommandContext::default())
        .await
        .expect("deposit elsewhere");

    let appends = Calls::get(&a.store().calls.append);
    let out = a
        .execute::<Account>(deposit("a1", 1).into(), CommandContext::default())
        .await
        .expect("deposit");
    assert_eq!(out.version, 3);
    // Decided on the fresh state: 10 + 100 + 1, not 10 + 1.
    assert_eq!(
        out.events,
        vec![AccountEvent::from(MoneyDeposited {
            amount: 1,
            balance: 111
        })]
    );
    assert_eq!(
        Calls::get(&a.store().calls.append),
        appends + 2,
        "one refused append on the stale state, one on the fresh"
    );
    // The cache now holds the fresh state: the next command is a hit again.
    let reads = a.store().calls.reads();
    a.execute::<Account>(deposit("a1", 1).into(), CommandContext::default())
        .await
        .expect("deposit");
    assert_eq!(a.store().calls.reads(), reads);
}

#[tokio::test]
async fn a_stale_cached_state_never_refuses_a_command() {
    let mem = MemoryStore::new();
    let a = Engine::new(mem.clone()).with_max_attempts(1);
    let b = Engine::new(mem.clone());
    a.execute::<Account>(open("a1", "Ann", 10).into(), CommandContext::default())
        .await
        .expect("open");
    b.execute::<Account>(deposit("a1", 100).into(), CommandContext::default())
        .await
        .expect("deposit elsewhere");
    // A's cache says balance 10; the store says 110.
    let out = a
        .execute::<Account>(withdraw("a1", 50).into(), CommandContext::default())
        .await
        .expect("the fresh state covers it");
    assert_eq!(out.version, 3);
    assert_eq!(
        a.load::<Account>("a1").await.expect("load").state.balance,
        60
    );

    // A refusal on a current cached state stands.
    let err = a
        .execute::<Account>(withdraw("a1", 61).into(), CommandContext::default())
        .await
        .expect_err("too much");
    assert_eq!(err, DispatchError::Domain(AccountError::InsufficientFunds));
    assert_eq!(mem.len(), 3);
}

#[tokio::test]
async fn the_cache_is_bounded_by_count_and_idle_time() {
    let mem = MemoryStore::new();
    let engine = Engine::new(mem).with_cache(CacheConfig {
        capacity: 2,
        idle: Duration::from_secs(60),
    });
    for id in ["a", "b", "c"] {
        engine
            .execute::<Account>(open(id, "Ann", 1).into(), CommandContext::default())
            .await
            .expect("open");
    }
    assert_eq!(engine.cached_aggregates(), 2);

    let engine = counting_engine(&MemoryStore::new()).with_cache(CacheConfig {
        capacity: 10,
        idle: Duration::from_millis(30),
    });
    engine
        .execute::<Account>(open("a", "Ann", 1).into(), CommandContext::default())
        .await
        .expect("open");
    tokio::time::sleep(Duration::from_millis(60)).await;
    let before = engine.store().calls.read_stream.load(Ordering::SeqCst);
    engine
        .execute::<Account>(deposit("a", 1).into(), CommandContext::default())
        .await
        .expect("deposit");
    assert_eq!(
        engine.store().calls.read_stream.load(Ordering::SeqCst),
        before + 1,
        "an idle entry expired, so the stream was read"
    );
}

#[tokio::test]
async fn a_failed_command_leaves_the_cached_state_as_it_was() {
    let engine = counting_engine(&MemoryStore::new());
    open_a1(&engine).await;
    for cmd in [
        AccountCommand::from(withdraw("a1", 11)),
        AccountCommand::from(deposit("a1", 0)),
    ] {
        engine
            .execute::<Account>(cmd, CommandContext::default())
            .await
            .expect_err("refused");
    }
    let out = engine
        .execute::<Account>(withdraw("a1", 10).into(), CommandContext::default())
        .await
        .expect("withdraw");
    assert_eq!(out.version, 2);
    assert_eq!(
        out.events,
        vec![AccountEvent::from(MoneyWithdrawn {
            amount: 10,
            balance: 0
        })]
    );
}
