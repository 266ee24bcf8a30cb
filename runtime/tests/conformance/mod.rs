//! The `EventStore` conformance suite: generic checks every store must pass.
//!
//! Each case is an async function taking a fresh, empty store. A store's test file runs every
//! case with `conformance_cases!(its_macro)`, where `its_macro!(case)` expands to one
//! `#[tokio::test]` that builds a fresh store and calls `conformance::case(store).await`.
//!
//! Contract decisions this suite pins down:
//! - an empty batch writes nothing, still checks the expected version (a mismatch is a
//!   conflict) and records its command id (a retry gets `Duplicate(vec![])`);
//! - a command id is checked before the expected version;
//! - `ExpectedVersion::Exactly(0)` means the same as `NoStream`;
//! - JSON strings may hold any Unicode scalar except U+0000 (Postgres `jsonb` refuses it).

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use eskema::aggregate::Aggregate;

use eskema::store::{AppendOutcome, EventPayload, ExpectedVersion, Metadata, NewEvent, Snapshot};
use eskema::{EventStore, RecordedEvent, StoreError};
use serde_json::json;
use uuid::Uuid;

/// Every case, for `$m!(case)`.
#[macro_export]
macro_rules! conformance_cases {
    ($m:ident) => {
        $m!(appends_and_reads_in_order);
        $m!(read_stream_from_version);
        $m!(payloads_are_the_stream_read_short);
        $m!(expected_version_conflicts);
        $m!(concurrent_appenders_one_wins_per_version);
        $m!(command_ids_are_idempotent);
        $m!(new_command_ids_are_recorded);
        $m!(concurrent_duplicate_commands_append_once);
        $m!(read_stream_in_pages);
        $m!(read_all_in_pages_strictly_increasing);
        $m!(concurrent_reader_sees_every_event_once);
        $m!(snapshots_replace_and_load);
        $m!(unicode_and_large_payloads);
        $m!(awkward_stream_ids);
        $m!(empty_batches);
        $m!(metadata_round_trips);
        $m!(upcasting_and_renames_apply_on_read);
    };
}

fn event(n: u64) -> NewEvent {
    NewEvent::new("Counted", 1, json!({ "n": n }), Metadata::default())
}

fn events(from: u64, count: u64) -> Vec<NewEvent> {
    (from..from + count).map(event).collect()
}

fn stream() -> String {
    format!("s-{}", Uuid::now_v7().simple())
}

async fn append_ok<S: EventStore>(
    store: &S,
    stream_id: &str,
    expected: ExpectedVersion,
    events: Vec<NewEvent>,
) -> Vec<RecordedEvent> {
    match store.append(stream_id, expected, events, None).await {
        Ok(AppendOutcome::Appended(r)) => r,
        other => panic!("append to {stream_id:?} at {expected:?}: {other:?}"),
    }
}

async fn read_all_from<S: EventStore>(store: &S, from: u64) -> Vec<RecordedEvent> {
    let mut out = Vec::new();
    let mut next = from;
    loop {
        let page = store.read_all(next, 100).await.expect("read_all");
        let Some(last) = page.last() else {
            return out;
        };
        next = last.position + 1;
        out.extend(page);
    }
}

pub async fn appends_and_reads_in_order<S: EventStore>(store: Arc<S>) {
    let s = stream();
    let new = events(1, 3);
    let ids: Vec<Uuid> = new.iter().map(|e| e.event_id).collect();
    let recorded = append_ok(&*store, &s, ExpectedVersion::NoStream, new).await;
    assert_eq!(recorded.len(), 3);
    assert_eq!(
        recorded
            .iter()
            .map(|e| e.stream_version)
            .collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    assert_eq!(recorded.iter().map(|e| e.event_id).collect::<Vec<_>>(), ids);
    assert!(recorded.windows(2).all(|w| w[0].position < w[1].position));
    assert!(recorded[0].position >= 1);

    let more = append_ok(&*store, &s, ExpectedVersion::Exactly(3), events(4, 2)).await;
    assert_eq!(more[0].stream_version, 4);
    assert!(more[0].position > recorded[2].position);

    let read = store.read_stream(&s, 1, 100).await.expect("read");
    let expected: Vec<RecordedEvent> = recorded.into_iter().chain(more).collect();
    assert_eq!(
        read, expected,
        "read_stream returns the events as append recorded them"
    );
    assert_eq!(read[4].data, json!({"n": 5}));
    assert_eq!(read[0].event_type, "Counted");
    assert_eq!(store.stream_version(&s).await.expect("version"), 5);
    assert_eq!(read_all_from(&*store, 1).await, expected);
}

pub async fn read_stream_from_version<S: EventStore>(store: Arc<S>) {
    let s = stream();
    append_ok(&*store, &s, ExpectedVersion::NoStream, events(1, 5)).await;
    let tail = store.read_stream(&s, 4, 100).await.expect("read");
    assert_eq!(
        tail.iter().map(|e| e.stream_version).collect::<Vec<_>>(),
        vec![4, 5]
    );
    assert!(
        store
            .read_stream(&s, 6, 100)
            .await
            .expect("read")
            .is_empty()
    );
    assert_eq!(store.read_stream(&s, 0, 2).await.expect("read").len(), 2);
    let missing = stream();
    assert!(
        store
            .read_stream(&missing, 1, 10)
            .await
            .expect("read")
            .is_empty()
    );
    assert_eq!(store.stream_version(&missing).await.expect("version"), 0);
}

/// `read_stream_payloads` pages exactly as `read_stream` does and carries the same
/// versions, types, versions of the event schema and data.
pub async fn payloads_are_the_stream_read_short<S: EventStore>(store: Arc<S>) {
    let s = stream();
    let mut batch = events(1, 7);
    batch[2] = NewEvent::new(
        "Renamed",
        3,
        json!({ "a": [1, 2], "ü": "✓" }),
        Metadata::default(),
    );
    append_ok(&*store, &s, ExpectedVersion::NoStream, batch).await;
    for (from, limit) in [(1, 100), (3, 2), (0, 3), (7, 5), (8, 5), (2, 0)] {
        let full: Vec<EventPayload> = store
            .read_stream(&s, from, limit)
            .await
            .expect("read")
            .into_iter()
            .map(EventPayload::from)
            .collect();
        let short = store
            .read_stream_payloads(&s, from, limit)
            .await
            .expect("read payloads");
        assert_eq!(short, full, "from {from}, limit {limit}");
    }
    let third = &store.read_stream_payloads(&s, 3, 1).await.expect("read")[0];
    assert_eq!(
        (
            third.stream_version,
            third.event_type.as_str(),
            third.event_version
        ),
        (3, "Renamed", 3)
    );
    assert!(
        store
            .read_stream_payloads(&stream(), 1, 10)
            .await
            .expect("missing stream")
            .is_empty()
    );
}

pub async fn expected_version_conflicts<S: EventStore>(store: Arc<S>) {
    let s = stream();
    // Exactly(n > 0) on a missing stream.
    let err = store
        .append(&s, ExpectedVersion::Exactly(2), events(1, 1), None)
        .await;
    assert_eq!(
        err,
        Err(StoreError::Conflict {
            stream_id: s.clone(),
            expected: ExpectedVersion::Exactly(2),
            actual: 0
        })
    );
    // Exactly(0) is NoStream.
    append_ok(&*store, &s, ExpectedVersion::Exactly(0), events(1, 2)).await;
    // NoStream on an existing stream.
    let err = store
        .append(&s, ExpectedVersion::NoStream, events(3, 1), None)
        .await;
    assert_eq!(
        err,
        Err(StoreError::Conflict {
            stream_id: s.clone(),
            expected: ExpectedVersion::NoStream,
            actual: 2
        })
    );
    // Exactly(wrong), both behind and ahead.
    for wrong in [1, 3] {
        let err = store
            .append(&s, ExpectedVersion::Exactly(wrong), events(3, 1), None)
            .await;
        assert_eq!(
            err,
            Err(StoreError::Conflict {
                stream_id: s.clone(),
                expected: ExpectedVersion::Exactly(wrong),
                actual: 2
            })
        );
    }
    // A refused append wrote nothing, and its command id stays free.
    let cid = Uuid::now_v7();
    assert!(matches!(
        store
            .append(&s, ExpectedVersion::Exactly(7), events(3, 1), Some(cid))
            .await,
        Err(StoreError::Conflict { .. })
    ));
    assert_eq!(store.find_command(cid).await.expect("find"), None);
    assert_eq!(store.stream_version(&s).await.expect("version"), 2);
    assert_eq!(store.read_stream(&s, 1, 100).await.expect("read").len(), 2);
    // Any always goes, and the command id can now be used.
    let r = match store
        .append(&s, ExpectedVersion::Any, events(3, 1), Some(cid))
        .await
    {
        Ok(AppendOutcome::Appended(r)) => r,
        other => panic!("{other:?}"),
    };
    assert_eq!(r[0].stream_version, 3);
    let r = append_ok(&*store, &stream(), ExpectedVersion::Any, events(1, 1)).await;
    assert_eq!(r[0].stream_version, 1);
}

pub async fn concurrent_appenders_one_wins_per_version<S: EventStore>(store: Arc<S>) {
    let s = stream();
    let writers = 8;
    for version in 0..5u64 {
        let mut tasks = tokio::task::JoinSet::new();
        for w in 0..writers {
            let store = Arc::clone(&store);
            let s = s.clone();
            tasks.spawn(async move {
                store
                    .append(
                        &s,
                        ExpectedVersion::Exactly(version),
                        events(version * 100 + w, 2),
                        None,
                    )
                    .await
            });
        }
        let mut wins = 0;
        while let Some(r) = tasks.join_next().await {
            match r.expect("task") {
                Ok(AppendOutcome::Appended(_)) => wins += 1,
                Err(StoreError::Conflict { actual, .. }) => {
                    assert!(actual > version, "a loser saw the winner's version")
                }
                other => panic!("{other:?}"),
            }
        }
        // Each round appends 2 events, so the stream moves 0, 2, 4...: only even
        // expectations can win; odd ones all conflict.
        let expected_wins = usize::from(version % 2 == 0);
        assert_eq!(wins, expected_wins, "round expecting version {version}");
    }
    let all = store.read_stream(&s, 1, 100).await.expect("read");
    assert_eq!(
        all.iter().map(|e| e.stream_version).collect::<Vec<_>>(),
        (1..=6).collect::<Vec<_>>()
    );
}

pub async fn command_ids_are_idempotent<S: EventStore>(store: Arc<S>) {
    let s = stream();
    let cid = Uuid::now_v7();
    assert_eq!(store.find_command(cid).await.expect("find"), None);
    let first = match store
        .append(&s, ExpectedVersion::NoStream, events(1, 2), Some(cid))
        .await
    {
        Ok(AppendOutcome::Appended(r)) => r,
        other => panic!("{other:?}"),
    };
    // Same id again, with a now-wrong expected version and other events: answered, not
    // refused, and nothing written.
    let again = store
        .append(&s, ExpectedVersion::NoStream, events(10, 3), Some(cid))
        .await
        .expect("duplicate is not an error");
    assert_eq!(again, AppendOutcome::Duplicate(first.clone()));
    assert!(again.is_duplicate());
    // Even when sent to another stream.
    let elsewhere = store
        .append(&stream(), ExpectedVersion::Any, events(20, 1), Some(cid))
        .await
        .expect("duplicate");
    assert_eq!(elsewhere, AppendOutcome::Duplicate(first.clone()));
    assert_eq!(store.stream_version(&s).await.expect("version"), 2);
    assert_eq!(store.find_command(cid).await.expect("find"), Some(first));
    assert_eq!(read_all_from(&*store, 1).await.len(), 2);
}

/// `append_new_command` (an id made for this dispatch) records the id like `append`: a
/// later `append` of it is a duplicate; a conflict records nothing; and an id reused by
/// mistake is still never recorded twice.
pub async fn new_command_ids_are_recorded<S: EventStore>(store: Arc<S>) {
    for count in [1, 3] {
        let s = stream();
        let cid = Uuid::now_v7();
        let refused = store
            .append_new_command(&s, ExpectedVersion::Exactly(4), events(1, count), cid)
            .await;
        assert!(
            matches!(refused, Err(StoreError::Conflict { actual: 0, .. })),
            "{refused:?}"
        );
        assert_eq!(store.find_command(cid).await.expect("find"), None);
        let first = match store
            .append_new_command(&s, ExpectedVersion::NoStream, events(1, count), cid)
            .await
        {
            Ok(AppendOutcome::Appended(r)) => r,
            other => panic!("{other:?}"),
        };
        assert_eq!(first.len() as u64, count);
        assert_eq!(
            store.find_command(cid).await.expect("find"),
            Some(first.clone())
        );
        let again = store
            .append(&s, ExpectedVersion::Any, events(10, 1), Some(cid))
            .await
            .expect("duplicate");
        assert_eq!(again, AppendOutcome::Duplicate(first.clone()));
        // Misuse: the same id "new" again, with the right expected version.
        let reused = store
            .append_new_command(&s, ExpectedVersion::Exactly(count), events(20, count), cid)
            .await
            .expect("a reused id is answered");
        assert_eq!(reused, AppendOutcome::Duplicate(first));
        assert_eq!(store.stream_version(&s).await.expect("version"), count);
    }
}

pub async fn concurrent_duplicate_commands_append_once<S: EventStore>(store: Arc<S>) {
    // Even rounds: 3-event batches with `Any`; odd rounds: one event with `NoStream`, so
    // the losers may also trip over the winner's stream version first.
    for round in 0..6 {
        let s = stream();
        let cid = Uuid::now_v7();
        let (count, expected) = if round % 2 == 0 {
            (3, ExpectedVersion::Any)
        } else {
            (1, ExpectedVersion::NoStream)
        };
        let mut tasks = tokio::task::JoinSet::new();
        for w in 0..8 {
            let store = Arc::clone(&store);
            let s = s.clone();
            tasks.spawn(async move {
                store
                    .append(&s, expected, events(w * 10, count), Some(cid))
                    .await
            });
        }
        let mut appended = Vec::new();
        let mut duplicates = Vec::new();
        while let Some(r) = tasks.join_next().await {
            match r.expect("task").expect("append") {
                AppendOutcome::Appended(e) => appended.push(e),
                AppendOutcome::Duplicate(e) => duplicates.push(e),
            }
        }
        assert_eq!(appended.len(), 1, "exactly one append wins");
        assert_eq!(duplicates.len(), 7);
        for d in &duplicates {
            assert_eq!(d, &appended[0], "duplicates get the winner's events");
        }
        assert_eq!(store.stream_version(&s).await.expect("version"), count);
    }
}

pub async fn read_stream_in_pages<S: EventStore>(store: Arc<S>) {
    let s = stream();
    append_ok(&*store, &s, ExpectedVersion::NoStream, events(1, 25)).await;
    let mut seen = Vec::new();
    let mut pages = Vec::new();
    let mut next = 1;
    loop {
        let page = store.read_stream(&s, next, 10).await.expect("read");
        pages.push(page.len());
        let Some(last) = page.last() else { break };
        next = last.stream_version + 1;
        seen.extend(page.iter().map(|e| e.data["n"].as_u64().unwrap_or(0)));
    }
    assert_eq!(pages, vec![10, 10, 5, 0]);
    assert_eq!(seen, (1..=25).collect::<Vec<_>>());
    assert!(store.read_stream(&s, 1, 0).await.expect("read").is_empty());
}

pub async fn read_all_in_pages_strictly_increasing<S: EventStore>(store: Arc<S>) {
    let (a, b, c) = (stream(), stream(), stream());
    let mut expected = Vec::new();
    for round in 0..6 {
        for s in [&a, &b, &c] {
            expected.extend(append_ok(&*store, s, ExpectedVersion::Any, events(round, 2)).await);
        }
    }
    let mut got = Vec::new();
    let mut next = 1;
    loop {
        let page = store.read_all(next, 7).await.expect("read_all");
        assert!(page.len() <= 7);
        let Some(last) = page.last() else { break };
        next = last.position + 1;
        got.extend(page);
    }
    assert!(got.windows(2).all(|w| w[0].position < w[1].position));
    assert_eq!(got, expected);
    // From the middle: exactly the tail.
    let mid = expected[10].position;
    let tail = read_all_from(&*store, mid).await;
    assert_eq!(tail, expected[10..].to_vec());
    assert!(store.read_all(1, 0).await.expect("read_all").is_empty());
    assert!(
        store
            .read_all(expected[35].position + 1, 10)
            .await
            .expect("read_all")
            .is_empty()
    );
}

/// The gap-free guarantee: appenders on many streams (and one shared stream) race a reader
/// following "all"; the reader sees each event exactly once, in position order.
pub async fn concurrent_reader_sees_every_event_once<S: EventStore>(store: Arc<S>) {
    let appenders = 6u64;
    let appends_each = 40u64;
    let shared = stream();
    let mut tasks = tokio::task::JoinSet::new();
    for w in 0..appenders {
        let store = Arc::clone(&store);
        let shared = shared.clone();
        tasks.spawn(async move {
            let own = stream();
            let mut ids = Vec::new();
            for i in 0..appends_each {
                let batch = events(w * 1000 + i, 1 + i % 3);
                ids.extend(batch.iter().map(|e| e.event_id));
                let target = if i % 4 == 0 { &shared } else { &own };
                store
                    .append(target, ExpectedVersion::Any, batch, None)
                    .await
                    .expect("append");
                if i % 7 == 0 {
                    tokio::task::yield_now().await;
                }
            }
            ids
        });
    }
    let reader = {
        let store = Arc::clone(&store);
        let total: u64 = (0..appends_each).map(|i| 1 + i % 3).sum::<u64>() * appenders;
        tokio::spawn(async move {
            let mut seen = Vec::new();
            let mut next = 1;
            let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
            while (seen.len() as u64) < total && tokio::time::Instant::now() < deadline {
                let page = store.read_all(next, 13).await.expect("read_all");
                match page.last() {
                    Some(last) => next = last.position + 1,
                    None => tokio::task::yield_now().await,
                }
                seen.extend(page);
            }
            seen
        })
    };
    let mut written = HashSet::new();
    while let Some(ids) = tasks.join_next().await {
        written.extend(ids.expect("appender"));
    }
    let seen = reader.await.expect("reader");
    assert!(
        seen.windows(2).all(|w| w[0].position < w[1].position),
        "positions strictly increasing"
    );
    let seen_ids: Vec<Uuid> = seen.iter().map(|e| e.event_id).collect();
    let unique: HashSet<Uuid> = seen_ids.iter().copied().collect();
    assert_eq!(unique.len(), seen_ids.len(), "no event seen twice");
    let missed = written.difference(&unique).count();
    let extra = unique.difference(&written).count();
    assert_eq!(
        (missed, extra),
        (0, 0),
        "the follower missed {missed} of {} events (and saw {extra} unknown ones)",
        written.len()
    );
    // The follower saw the same sequence a reader after the fact sees.
    assert_eq!(read_all_from(&*store, 1).await, seen);
    // Per stream, versions are gap-free and in order.
    let mut per_stream: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
    for e in &seen {
        per_stream
            .entry(&e.stream_id)
            .or_default()
            .push(e.stream_version);
    }
    for (s, versions) in per_stream {
        assert_eq!(
            versions,
            (1..=versions.len() as u64).collect::<Vec<_>>(),
            "stream {s}"
        );
    }
}

pub async fn snapshots_replace_and_load<S: EventStore>(store: Arc<S>) {
    let s = stream();
    assert_eq!(store.load_snapshot(&s).await.expect("load"), None);
    let first = Snapshot {
        stream_id: s.clone(),
        version: 5,
        state_hash: "h1".into(),
        state: json!({"balance": 10, "name": "Zoë"}),
    };
    store.save_snapshot(first.clone()).await.expect("save");
    assert_eq!(
        store.load_snapshot(&s).await.expect("load"),
        Some(first.clone())
    );
    let second = Snapshot {
        stream_id: s.clone(),
        version: 10,
        state_hash: "h2".into(),
        state: json!({"balance": 20, "tags": ["a", "b"]}),
    };
    store.save_snapshot(second.clone()).await.expect("save");
    assert_eq!(
        store.load_snapshot(&s).await.expect("load"),
        Some(second.clone())
    );
    // A slower writer's older snapshot of the same shape does not set it back...
    let older = Snapshot {
        version: 7,
        ..second.clone()
    };
    store.save_snapshot(older).await.expect("save");
    assert_eq!(store.load_snapshot(&s).await.expect("load"), Some(second));
    // ...but one of a new state shape replaces it, whatever its version.
    let new_shape = Snapshot {
        version: 8,
        state_hash: "h3".into(),
        ..first
    };
    store.save_snapshot(new_shape.clone()).await.expect("save");
    assert_eq!(
        store.load_snapshot(&s).await.expect("load"),
        Some(new_shape)
    );
    assert_eq!(store.load_snapshot(&stream()).await.expect("load"), None);
}

pub async fn unicode_and_large_payloads<S: EventStore>(store: Arc<S>) {
    let s = stream();
    let text = "Zoë Ñandú 東京 مرحبا 🦀🏳️‍🌈 e\u{301} \"quoted\" back\\slash \t\n tab";
    let big = "x🦀".repeat(200_000); // 1 MB of UTF-8 (5 bytes per repetition)
    assert!(big.len() >= 1_000_000);
    let new = vec![
        NewEvent::new(
            "Ünïcödé🦀",
            3,
            json!({ "text": text, "nested": {"ключ": [text]} }),
            Metadata::default(),
        ),
        NewEvent::new("Big", 1, json!({ "blob": big }), Metadata::default()),
    ];
    let recorded = append_ok(&*store, &s, ExpectedVersion::NoStream, new.clone()).await;
    let read = store.read_stream(&s, 1, 10).await.expect("read");
    assert_eq!(read, recorded);
    assert_eq!(read[0].event_type, "Ünïcödé🦀");
    assert_eq!(read[0].event_version, 3);
    assert_eq!(read[0].data, new[0].data);
    assert_eq!(read[1].data["blob"].as_str().map(str::len), Some(big.len()));
    assert_eq!(read[1].data, new[1].data);
}

pub async fn awkward_stream_ids<S: EventStore>(store: Arc<S>) {
    let ids = [
        "it's \"quoted\"",
        "with spaces  and\ttabs",
        r"back\slash\\ and \n literal",
        "emoji-🦀-👩‍💻",
        "semi;colon -- comment /* */ %_ like",
        "Ünïcödé/ñ",
    ];
    for (i, id) in ids.iter().enumerate() {
        let r = append_ok(&*store, id, ExpectedVersion::NoStream, events(i as u64, 2)).await;
        assert_eq!(r[0].stream_id, *id);
    }
    for (i, id) in ids.iter().enumerate() {
        let read = store.read_stream(id, 1, 10).await.expect("read");
        assert_eq!(read.len(), 2, "{id:?}");
        assert!(read.iter().all(|e| e.stream_id == *id));
        assert_eq!(read[0].data, json!({"n": i}));
        assert_eq!(store.stream_version(id).await.expect("version"), 2);
        store
            .save_snapshot(Snapshot {
                stream_id: id.to_string(),
                version: 2,
                state_hash: "h".into(),
                state: json!({"i": i}),
            })
            .await
            .expect("snapshot");
        assert_eq!(
            store
                .load_snapshot(id)
                .await
                .expect("load")
                .map(|s| s.state),
            Some(json!({"i": i}))
        );
    }
    // A prefix or a LIKE pattern is not the stream.
    assert!(
        store
            .read_stream("it's", 1, 10)
            .await
            .expect("read")
            .is_empty()
    );
    assert!(
        store
            .read_stream("%", 1, 10)
            .await
            .expect("read")
            .is_empty()
    );
    let all = read_all_from(&*store, 1).await;
    let names: HashSet<&str> = all.iter().map(|e| e.stream_id.as_str()).collect();
    assert_eq!(names, ids.iter().copied().collect());
}

pub async fn empty_batches<S: EventStore>(store: Arc<S>) {
    let s = stream();
    // Nothing written, version checked.
    assert_eq!(
        store.append(&s, ExpectedVersion::Any, vec![], None).await,
        Ok(AppendOutcome::Appended(vec![]))
    );
    assert_eq!(
        store
            .append(&s, ExpectedVersion::NoStream, vec![], None)
            .await,
        Ok(AppendOutcome::Appended(vec![]))
    );
    assert!(matches!(
        store
            .append(&s, ExpectedVersion::Exactly(3), vec![], None)
            .await,
        Err(StoreError::Conflict { actual: 0, .. })
    ));
    append_ok(&*store, &s, ExpectedVersion::NoStream, events(1, 2)).await;
    assert_eq!(
        store
            .append(&s, ExpectedVersion::Exactly(2), vec![], None)
            .await,
        Ok(AppendOutcome::Appended(vec![]))
    );
    assert!(matches!(
        store
            .append(&s, ExpectedVersion::NoStream, vec![], None)
            .await,
        Err(StoreError::Conflict { actual: 2, .. })
    ));
    // A command that emitted nothing is still remembered.
    let cid = Uuid::now_v7();
    assert_eq!(
        store
            .append(&s, ExpectedVersion::Exactly(2), vec![], Some(cid))
            .await,
        Ok(AppendOutcome::Appended(vec![]))
    );
    assert_eq!(store.find_command(cid).await.expect("find"), Some(vec![]));
    assert_eq!(
        store
            .append(&s, ExpectedVersion::Exactly(2), events(5, 1), Some(cid))
            .await,
        Ok(AppendOutcome::Duplicate(vec![]))
    );
    assert_eq!(store.stream_version(&s).await.expect("version"), 2);
    assert_eq!(read_all_from(&*store, 1).await.len(), 2);
}

pub async fn metadata_round_trips<S: EventStore>(store: Arc<S>) {
    let s = stream();
    let cid = Uuid::now_v7();
    let mut extra = serde_json::Map::new();
    extra.insert("user".into(), json!("zoë"));
    extra.insert(
        "request".into(),
        json!({"ip": "::1", "tags": [1, 2.5, null, true]}),
    );
    let metadata = Metadata {
        command_id: Some(cid),
        correlation_id: Some(Uuid::now_v7()),
        causation_id: Some(Uuid::now_v7()),
        extra,
    };
    let new = vec![
        NewEvent::new("A", 1, json!({}), metadata.clone()),
        NewEvent::new("B", 2, json!(null), Metadata::default()),
    ];
    let recorded = match store
        .append(&s, ExpectedVersion::NoStream, new, Some(cid))
        .await
    {
        Ok(AppendOutcome::Appended(r)) => r,
        other => panic!("{other:?}"),
    };
    assert_eq!(recorded[0].metadata, metadata);
    assert_eq!(recorded[1].metadata, Metadata::default());
    assert_eq!(recorded[1].data, json!(null));
    assert_eq!(store.read_stream(&s, 1, 10).await.expect("read"), recorded);
    assert_eq!(read_all_from(&*store, 1).await, recorded);
    assert_eq!(store.find_command(cid).await.expect("find"), Some(recorded));
}

/// Events stored by older code (a v1 payload, an old type name) load through the engine
/// as current events, on every store: upcasting happens on read, never in the store.
pub async fn upcasting_and_renames_apply_on_read<S: EventStore>(store: Arc<S>) {
    use crate::support::Account;
    let id = format!("u{}", Uuid::now_v7().simple());
    let v1_opened = NewEvent::new(
        "AccountOpened",
        1,
        json!({ "account_id": id, "owner": "Zoë 🦀", "initial": 100 }),
        Metadata::default(),
    );
    let old_name = NewEvent::new(
        "CashWithdrawn",
        1,
        json!({ "amount": 30, "balance": 70 }),
        Metadata::default(),
    );
    append_ok(
        &*store,
        &Account::stream_id(&id),
        ExpectedVersion::NoStream,
        vec![v1_opened, old_name],
    )
    .await;
    let engine = eskema::Engine::new(Arc::clone(&store));
    let loaded = engine.load::<Account>(&id).await.expect("load");
    assert_eq!(loaded.version, 2);
    assert_eq!(
        loaded.state.currency, "EUR",
        "the v1 -> v2 upcast adds the currency"
    );
    assert_eq!(loaded.state.owner, "Zoë 🦀");
    assert_eq!(
        loaded.state.balance, 70,
        "CashWithdrawn loads as MoneyWithdrawn"
    );
    // The stored rows themselves are untouched.
    let stored = store
        .read_stream(&Account::stream_id(&id), 1, 10)
        .await
        .expect("read");
    assert_eq!(stored[0].event_version, 1);
    assert_eq!(stored[1].event_type, "CashWithdrawn");
}
