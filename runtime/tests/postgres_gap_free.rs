//! The gap-free guarantee, made deterministic: an append that drew its positions but has
//! not committed holds back every reader of "all", so the later, already committed append
//! is never delivered ahead of it. `read_all` waits for it; the read side's watermark only
//! looks, and never makes appends wait.

mod postgres_locks;
mod postgres_support;

use std::time::Duration;

use eskema::EventStore;
use eskema::read::ReadStore;
use eskema::store::{ExpectedVersion, Metadata, NewEvent};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reader_waits_for_an_in_flight_append_with_smaller_positions() {
    let Some(db) = postgres_support::test_db("reader_waits_for_an_in_flight_append").await else {
        return;
    };
    let store = db.store.clone();
    let Stalled {
        mut blocker,
        slow,
        mut admin,
        fast,
    } = stall_then_append(&db, "slow").await;
    // The hazard is real: a plain query now sees the later event alone.
    let visible: Vec<i64> =
        sqlx::query_scalar("SELECT position FROM events WHERE position > 0 ORDER BY position")
            .fetch_all(&mut admin)
            .await
            .expect("plain read");
    assert_eq!(visible, vec![fast[0].position as i64]);

    // read_all does not return it ahead of the in-flight append: it waits.
    let mut reader = {
        let store = store.clone();
        tokio::spawn(async move { store.read_all(1, 100).await })
    };
    assert!(
        tokio::time::timeout(Duration::from_millis(400), &mut reader)
            .await
            .is_err(),
        "read_all must wait while a smaller position is in flight"
    );

    sqlx::query("ROLLBACK")
        .execute(&mut blocker.conn)
        .await
        .expect("release");
    let slow = slow
        .await
        .expect("task")
        .expect("slow append")
        .into_events();
    let read = tokio::time::timeout(Duration::from_secs(10), reader)
        .await
        .expect("reader finishes once the append commits")
        .expect("task")
        .expect("read_all");
    assert!(slow[1].position < fast[0].position);
    let expected: Vec<_> = slow.into_iter().chain(fast).collect();
    assert_eq!(
        read, expected,
        "every event, in position order, none skipped"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_watermark_holds_back_at_an_in_flight_append_without_blocking_appends() {
    let Some(db) = postgres_support::test_db("the_watermark_holds_back").await else {
        return;
    };
    let store = db.store.clone();
    let before = settled_event(&store).await;

    let Stalled {
        mut blocker,
        slow,
        fast,
        ..
    } = stall_then_append(&db, "slow").await;

    // Asked again and again, it answers at once and stays before the in-flight positions.
    for _ in 0..20 {
        let mark = tokio::time::timeout(Duration::from_secs(2), store.safe_position())
            .await
            .expect("the watermark never waits")
            .expect("watermark");
        assert_eq!(mark.safe, before[0].position, "passed an in-flight append");
        assert!(mark.pending);
        // The look and the read in one call stop at the same place: the fast append, past
        // the in-flight positions, is not read yet.
        let (mark, page) = store
            .safe_position_and_read(0, 1_000)
            .await
            .expect("look and read");
        assert_eq!(
            mark.safe, before[0].position,
            "read past an in-flight append"
        );
        assert_eq!(page, before);
        // And appends go on meanwhile (behind read_all's exclusive lock they would queue).
        tokio::time::timeout(
            Duration::from_secs(2),
            store.append(
                &format!("more-{}", uuid::Uuid::now_v7()),
                ExpectedVersion::NoStream,
                vec![event(4)],
                None,
            ),
        )
        .await
        .expect("an append waited on the watermark")
        .expect("append");
    }

    sqlx::query("ROLLBACK")
        .execute(&mut blocker.conn)
        .await
        .expect("release");
    let slow = slow
        .await
        .expect("task")
        .expect("slow append")
        .into_events();
    let head = store.read_all(1, 1_000).await.expect("read_all");
    let last = head.last().expect("events").position;
    let mut mark = store.safe_position().await.expect("watermark");
    for _ in 0..100 {
        if mark.safe >= last {
            break;
        }
        mark = store.safe_position().await.expect("watermark");
    }
    assert_eq!(mark.safe, last);
    let read = store
        .read_between(before[0].position, mark.safe, 1_000)
        .await
        .expect("read");
    assert!(slow[1].position < fast[0].position);
    assert_eq!(
        &read[..3],
        &[slow[0].clone(), slow[1].clone(), fast[0].clone()]
    );
    let (mark, page) = store
        .safe_position_and_read(before[0].position, 2)
        .await
        .expect("look and read");
    assert_eq!(mark.safe, last);
    assert_eq!(page, &read[..2], "a page of at most the limit, in order");
}

/// A position drawn by an append that rolled back never appears. Looks read by contiguity
/// (every position up to the safe one present), so they stop before it; once they have
/// been stuck there a moment, they ask which appends hold the "all" lock, and pass it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_watermark_passes_positions_an_append_rolled_back() {
    let Some(db) = postgres_support::test_db("the_watermark_passes_rolled_back").await else {
        return;
    };
    let store = db.store.clone();
    let before = settled_event(&store).await;

    let Stalled {
        mut blocker,
        slow,
        fast,
        ..
    } = stall_then_append(&db, "doomed").await;
    let (mark, page) = store
        .safe_position_and_read(before[0].position, 1_000)
        .await
        .expect("look and read");
    assert_eq!(
        mark.safe, before[0].position,
        "read past an in-flight append"
    );
    assert!(mark.pending);
    assert!(page.is_empty());

    // The blocker's row commits: the doomed append's event id is taken, and it rolls back
    // with the positions it drew.
    sqlx::query("COMMIT")
        .execute(&mut blocker.conn)
        .await
        .expect("commit");
    let outcome = slow.await.expect("task");
    assert!(outcome.is_err(), "the doomed append failed: {outcome:?}");
    let all = store.read_all(1, 1_000).await.expect("read_all");
    assert_eq!(all, [before.clone(), fast.clone()].concat());
    assert!(
        fast[0].position > before[0].position + 1,
        "the doomed append's positions are a gap"
    );

    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let (mark, page) = loop {
        let (mark, page) = store
            .safe_position_and_read(before[0].position, 1_000)
            .await
            .expect("look and read");
        if mark.safe >= fast[0].position || std::time::Instant::now() > deadline {
            break (mark, page);
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    };
    assert_eq!(
        mark.safe, fast[0].position,
        "stuck before a rolled-back position"
    );
    assert!(!mark.pending);
    assert_eq!(page, fast);
}

/// One event appended, and the watermark seen settled at it.
async fn settled_event(store: &eskema::PostgresStore) -> Vec<eskema::store::RecordedEvent> {
    let before = store
        .append("before", ExpectedVersion::NoStream, vec![event(0)], None)
        .await
        .expect("append")
        .into_events();
    let settled = store.safe_position().await.expect("watermark");
    assert_eq!((settled.safe, settled.pending), (before[0].position, false));
    before
}

type Appended = Result<eskema::store::AppendOutcome, eskema::store::StoreError>;

/// An append to `stream` stalled after it drew its positions (on its second row's event
/// id, which `blocker` holds uncommitted), and a later append that committed meanwhile.
struct Stalled {
    blocker: postgres_locks::Uncommitted,
    slow: tokio::task::JoinHandle<Appended>,
    admin: sqlx::PgConnection,
    fast: Vec<eskema::store::RecordedEvent>,
}

async fn stall_then_append(db: &postgres_support::TestDb, stream: &'static str) -> Stalled {
    let store = db.store.clone();
    let batch = vec![event(1), event(2)];
    let blocker = postgres_locks::uncommitted_event(db, batch[1].event_id, "blocker").await;
    let slow = {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .append(stream, ExpectedVersion::NoStream, batch, None)
                .await
        })
    };
    let mut admin = postgres_support::admin_connection(db).await;
    postgres_locks::wait_for_blocked(&mut admin, blocker.pid, 1).await;
    // A later append commits first, with larger positions.
    let fast = store
        .append("fast", ExpectedVersion::NoStream, vec![event(3)], None)
        .await
        .expect("fast append")
        .into_events();
    Stalled {
        blocker,
        slow,
        admin,
        fast,
    }
}

fn event(n: u64) -> NewEvent {
    NewEvent::new("Noted", 1, json!({ "n": n }), Metadata::default())
}
