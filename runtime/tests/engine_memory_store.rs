//! The MemoryStore keeps the EventStore contract of store.rs.

pub mod support;

use eskema::serde_json::json;
use eskema::store::{AppendOutcome, ExpectedVersion, Metadata, NewEvent, Snapshot};
use eskema::uuid::Uuid;
use eskema::{EventStore, MemoryStore, StoreError};

fn events(n: usize) -> Vec<NewEvent> {
    (0..n)
        .map(|i| NewEvent::new("E", 1, json!({ "i": i }), Metadata::default()))
        .collect()
}

#[tokio::test]
async fn versions_and_positions_are_one_based() {
    let store = MemoryStore::new();
    let a = store
        .append("a", ExpectedVersion::NoStream, events(2), None)
        .await
        .expect("append");
    let b = store
        .append("b", ExpectedVersion::Exactly(0), events(1), None)
        .await
        .expect("append");
    let a2 = store
        .append("a", ExpectedVersion::Exactly(2), events(1), None)
        .await
        .expect("append");
    let versions = |o: &AppendOutcome| -> Vec<(u64, u64)> {
        o.events()
            .iter()
            .map(|e| (e.stream_version, e.position))
            .collect()
    };
    assert_eq!(versions(&a), vec![(1, 1), (2, 2)]);
    assert_eq!(versions(&b), vec![(1, 3)]);
    assert_eq!(versions(&a2), vec![(3, 4)]);
    assert_eq!(store.stream_version("a").await.expect("v"), 3);
    assert_eq!(store.stream_version("none").await.expect("v"), 0);
    assert_eq!(a.events()[0].stream_id, "a");
    assert_eq!(a.events()[1].data, json!({ "i": 1 }));
}

#[tokio::test]
async fn a_wrong_expected_version_is_a_conflict_that_writes_nothing() {
    let store = MemoryStore::new();
    store
        .append("a", ExpectedVersion::NoStream, events(2), None)
        .await
        .expect("append");
    for expected in [
        ExpectedVersion::NoStream,
        ExpectedVersion::Exactly(1),
        ExpectedVersion::Exactly(3),
    ] {
        let err = store
            .append("a", expected, events(1), None)
            .await
            .expect_err("conflict");
        assert_eq!(
            err,
            StoreError::Conflict {
                stream_id: "a".into(),
                expected,
                actual: 2
            }
        );
    }
    assert_eq!(store.len(), 2);
    store
        .append("a", ExpectedVersion::Any, events(1), None)
        .await
        .expect("any");
    assert_eq!(store.stream_version("a").await.expect("v"), 3);
}

#[tokio::test]
async fn a_known_command_id_is_answered_before_the_version_check() {
    let store = MemoryStore::new();
    let id = Uuid::now_v7();
    let first = store
        .append("a", ExpectedVersion::NoStream, events(2), Some(id))
        .await
        .expect("append");
    // Stale expected version, but the id was appended: a duplicate, not a conflict.
    let again = store
        .append("a", ExpectedVersion::NoStream, events(2), Some(id))
        .await
        .expect("duplicate");
    assert!(again.is_duplicate());
    assert_eq!(again.events(), first.events());
    assert_eq!(store.len(), 2);
    assert_eq!(
        store.find_command(id).await.expect("find"),
        Some(first.into_events())
    );
    assert_eq!(
        store.find_command(Uuid::now_v7()).await.expect("find"),
        None
    );
}

#[tokio::test]
async fn reads_page_by_version_and_position() {
    let store = MemoryStore::new();
    store
        .append("a", ExpectedVersion::NoStream, events(5), None)
        .await
        .expect("append");
    store
        .append("b", ExpectedVersion::NoStream, events(2), None)
        .await
        .expect("append");
    let page = store.read_stream("a", 2, 2).await.expect("read");
    assert_eq!(
        page.iter().map(|e| e.stream_version).collect::<Vec<_>>(),
        vec![2, 3]
    );
    let rest = store.read_stream("a", 4, 100).await.expect("read");
    assert_eq!(
        rest.iter().map(|e| e.stream_version).collect::<Vec<_>>(),
        vec![4, 5]
    );
    assert!(
        store
            .read_stream("a", 6, 10)
            .await
            .expect("read")
            .is_empty()
    );
    assert!(
        store
            .read_stream("zzz", 1, 10)
            .await
            .expect("read")
            .is_empty()
    );
    let all = store.read_all(5, 10).await.expect("all");
    assert_eq!(
        all.iter()
            .map(|e| (e.position, e.stream_id.as_str()))
            .collect::<Vec<_>>(),
        vec![(5, "a"), (6, "b"), (7, "b")]
    );
    assert_eq!(store.read_all(0, 2).await.expect("all").len(), 2);
}

#[tokio::test]
async fn a_reused_event_id_is_refused_and_nothing_written() {
    let store = MemoryStore::new();
    let batch = events(1);
    store
        .append("a", ExpectedVersion::Any, batch.clone(), None)
        .await
        .expect("append");
    let mut twice = events(1);
    twice.extend(batch);
    let err = store
        .append("b", ExpectedVersion::Any, twice, None)
        .await
        .expect_err("duplicate id");
    assert!(matches!(err, StoreError::Backend(_)), "{err:?}");
    assert_eq!(store.len(), 1);
}

#[tokio::test]
async fn snapshots_are_replaced_and_clones_share_the_store() {
    let store = MemoryStore::new();
    let clone = store.clone();
    for version in [3, 6] {
        clone
            .save_snapshot(Snapshot {
                stream_id: "a".into(),
                version,
                state_hash: "h".into(),
                state: json!({ "v": version }),
            })
            .await
            .expect("save");
    }
    let snap = store.load_snapshot("a").await.expect("load").expect("some");
    assert_eq!(snap.version, 6);
    assert_eq!(store.load_snapshot("b").await.expect("load"), None);
    clone
        .append("a", ExpectedVersion::Any, events(1), None)
        .await
        .expect("append");
    assert_eq!(store.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_appends_get_unique_gapless_positions() {
    let store = MemoryStore::new();
    let mut head = store.watch_position();
    let mut tasks = Vec::new();
    for t in 0..8 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..25 {
                store
                    .append(
                        &format!("s{}", t % 3),
                        ExpectedVersion::Any,
                        events(2),
                        None,
                    )
                    .await
                    .expect("append");
            }
        }));
    }
    for task in tasks {
        task.await.expect("task");
    }
    let all = store.read_all(1, 1_000).await.expect("all");
    assert_eq!(all.len(), 400);
    assert!(
        all.iter()
            .enumerate()
            .all(|(i, e)| e.position == i as u64 + 1)
    );
    for s in ["s0", "s1", "s2"] {
        let stream = store.read_stream(s, 1, 1_000).await.expect("read");
        assert!(
            stream
                .iter()
                .enumerate()
                .all(|(i, e)| e.stream_version == i as u64 + 1)
        );
    }
    assert!(head.has_changed().expect("sender alive"));
    assert_eq!(*head.borrow_and_update(), 400);
}
