//! Snapshots: taken every N events, used on load, ignored when taken under another state
//! shape or when they do not decode.

pub mod support;

use eskema::serde_json::json;
use eskema::store::Snapshot;
use eskema::{CacheConfig, CommandContext, Engine, EventStore, MemoryStore};
use support::*;

async fn history(engine: &Engine<MemoryStore>, deposits: usize) {
    engine
        .execute::<Account>(open("s1", "Ann", 0).into(), CommandContext::default())
        .await
        .expect("open");
    for _ in 0..deposits {
        engine
            .execute::<Account>(deposit("s1", 1).into(), CommandContext::default())
            .await
            .expect("deposit");
    }
}

fn uncached(mem: &MemoryStore) -> Engine<CountingStore<MemoryStore>> {
    Engine::new(CountingStore::new(mem.clone())).with_cache(CacheConfig::disabled())
}

#[tokio::test]
async fn a_snapshot_is_saved_every_n_events() {
    let mem = MemoryStore::new();
    let engine = Engine::new(mem.clone());
    history(&engine, SNAPSHOT_EVERY as usize - 2).await;
    assert_eq!(mem.load_snapshot("account-s1").await.expect("load"), None);

    history_more(&engine, 1).await; // version N
    let snap = mem
        .load_snapshot("account-s1")
        .await
        .expect("load")
        .expect("snapshot at N");
    assert_eq!(snap.version, SNAPSHOT_EVERY);
    assert_eq!(snap.state_hash, "0123456789abcdef");
    assert_eq!(snap.state["balance"], json!(SNAPSHOT_EVERY - 1));

    history_more(&engine, 5).await; // N + 5: still the snapshot at N
    let snap = mem
        .load_snapshot("account-s1")
        .await
        .expect("load")
        .expect("snapshot");
    assert_eq!(snap.version, SNAPSHOT_EVERY);
}

async fn history_more(engine: &Engine<MemoryStore>, deposits: usize) {
    for _ in 0..deposits {
        engine
            .execute::<Account>(deposit("s1", 1).into(), CommandContext::default())
            .await
            .expect("deposit");
    }
}

#[tokio::test]
async fn a_snapshot_is_used_on_load() {
    let mem = MemoryStore::new();
    history(&Engine::new(mem.clone()), SNAPSHOT_EVERY as usize + 2).await;
    // Doctor the snapshot: a state the events could not produce proves it was used.
    let mut snap = mem
        .load_snapshot("account-s1")
        .await
        .expect("load")
        .expect("snapshot");
    // (Deposits set the balance outright, so the owner is what carries the proof.)
    snap.state["owner"] = json!("from the snapshot");
    mem.save_snapshot(snap).await.expect("save");

    let engine = uncached(&mem);
    let loaded = engine.load::<Account>("s1").await.expect("load");
    assert_eq!(loaded.version, SNAPSHOT_EVERY + 3);
    assert_eq!(loaded.state.owner, "from the snapshot");
    assert_eq!(
        loaded.state.balance,
        SNAPSHOT_EVERY as i64 + 2,
        "plus the 3 newer events"
    );
    assert_eq!(Calls::get(&engine.store().calls.load_snapshot), 1);
}

#[tokio::test]
async fn a_snapshot_of_another_state_shape_is_ignored() {
    let mem = MemoryStore::new();
    history(&Engine::new(mem.clone()), 3).await;
    for (hash, state) in [
        (
            "ffffffffffffffff",
            json!({"opened": true, "owner": "X", "balance": 1_000, "currency": "EUR"}),
        ),
        ("0123456789abcdef", json!({"balance": "not a number"})),
    ] {
        mem.save_snapshot(Snapshot {
            stream_id: "account-s1".into(),
            version: 2,
            state_hash: hash.into(),
            state,
        })
        .await
        .expect("save");
        let loaded = uncached(&mem).load::<Account>("s1").await.expect("load");
        assert_eq!(loaded.version, 4);
        assert_eq!(
            loaded.state.balance, 3,
            "replayed from the events (hash {hash})"
        );
        assert_eq!(loaded.state.owner, "Ann");
    }
}
