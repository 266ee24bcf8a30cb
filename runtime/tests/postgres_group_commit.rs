//! Group commit, made deterministic: the "all" advisory lock, held exclusively by the test,
//! stalls the one append that holds the store's only batch slot (`group_commit(1)`), so the
//! appends started meanwhile are known to queue and go out together once it is released.

mod postgres_locks;
mod postgres_support;

use postgres_locks::{backend_pid, wait_for_blocked, waiting_on};

use std::sync::Arc;
use std::time::Duration;

use eskema::store::{AppendOutcome, ExpectedVersion, Metadata, NewEvent};
use eskema::{EventStore, PostgresStore, StoreError};
use serde_json::json;
use sqlx::PgConnection;
use tokio::task::JoinHandle;
use uuid::Uuid;

/// Every append of a batch is judged on its own: a conflict and a duplicate sit beside
/// appends that land, and two appends to one stream never share a batch.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn each_append_of_a_batch_is_judged_on_its_own() {
    let Some(db) = one_slot_store("each_append_of_a_batch_is_judged").await else {
        return;
    };
    let store = db.store.clone();
    let command = Uuid::now_v7();
    let first = store
        .append(
            "dup",
            ExpectedVersion::NoStream,
            vec![event(0)],
            Some(command),
        )
        .await
        .expect("first append of the command")
        .into_events();
    store
        .append("late", ExpectedVersion::NoStream, vec![event(0)], None)
        .await
        .expect("late at version 1");

    let before = store.statements_sent();
    // `a` takes the only slot and waits on the lock; the others queue behind it.
    let (mut lock, a) = AllLock::stall(&db).await;
    let b1 = spawn_append(&store, "b", ExpectedVersion::Any, None);
    let b2 = spawn_append(&store, "b", ExpectedVersion::Any, None);
    let conflict = spawn_append(&store, "late", ExpectedVersion::Exactly(5), None);
    let duplicate = spawn_append(&store, "elsewhere", ExpectedVersion::Any, Some(command));
    tokio::time::sleep(Duration::from_millis(300)).await;
    lock.release().await;

    let a = a.await.expect("task").expect("a appends").into_events();
    assert_eq!(a[0].stream_version, 1);
    let mut b_versions = Vec::new();
    for b in [b1, b2] {
        let events = b.await.expect("task").expect("b appends").into_events();
        b_versions.push(events[0].stream_version);
    }
    b_versions.sort_unstable();
    assert_eq!(
        b_versions,
        vec![1, 2],
        "both appends to `b` land, one after the other"
    );
    match conflict.await.expect("task") {
        Err(StoreError::Conflict {
            stream_id, actual, ..
        }) => assert_eq!((stream_id.as_str(), actual), ("late", 1)),
        other => panic!("expected a conflict on `late`, got {other:?}"),
    }
    match duplicate.await.expect("task") {
        Ok(AppendOutcome::Duplicate(events)) => assert_eq!(events, first),
        other => panic!("expected the first append's answer, got {other:?}"),
    }
    // `a` alone; b, `late` and the duplicate together; the second `b`; then the lookup of
    // the duplicate's first answer.
    assert_eq!(store.statements_sent() - before, 4);
    assert_eq!(stream_len(&store, "late").await, 1);
    assert_eq!(stream_len(&store, "elsewhere").await, 0);
    assert_eq!(stream_len(&store, "dup").await, 1);
}

/// A batch that loses a race with an append outside it rolls back whole, and each of its
/// appends is then sent alone: nothing lost, nothing written twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_batch_that_loses_a_race_falls_back_to_single_appends() {
    let Some(db) = one_slot_store("a_batch_that_loses_a_race").await else {
        return;
    };
    let store = db.store.clone();
    // Another writer holds version 1 of `raced`, not yet committed.
    let mut writer = postgres_locks::uncommitted_event(&db, Uuid::now_v7(), "raced").await;

    let before = store.statements_sent();
    let (mut lock, a) = AllLock::stall(&db).await;
    let b = spawn_append(&store, "b", ExpectedVersion::NoStream, None);
    let raced = spawn_append(&store, "raced", ExpectedVersion::Any, None);
    tokio::time::sleep(Duration::from_millis(300)).await;
    lock.release().await;
    // The batch {b, raced} now waits on the outside writer's version 1 of `raced`.
    let mut admin = postgres_support::admin_connection(&db).await;
    wait_for_blocked(&mut admin, writer.pid, 1).await;
    sqlx::query("COMMIT")
        .execute(&mut writer.conn)
        .await
        .expect("commit");

    assert_eq!(a.await.expect("task").expect("a").into_events().len(), 1);
    let b = b
        .await
        .expect("task")
        .expect("b appends alone")
        .into_events();
    assert_eq!(b[0].stream_version, 1);
    let raced = raced
        .await
        .expect("task")
        .expect("`Any` appends after the outside row")
        .into_events();
    assert_eq!(raced[0].stream_version, 2);
    // `a`; the batch that rolled back; `b` and `raced` alone.
    assert_eq!(store.statements_sent() - before, 4);
    let stored_b = store.read_stream("b", 1, 10).await.expect("read b");
    assert_eq!(stored_b, b, "the rolled-back batch left nothing behind");
}

/// One payload the server refuses (Postgres `jsonb` has no `\u0000`) fails its own append
/// only, not the batch it arrived in.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_bad_payload_fails_only_its_own_append() {
    let Some(db) = one_slot_store("a_bad_payload_fails_only_its_own").await else {
        return;
    };
    let store = db.store.clone();
    let (mut lock, a) = AllLock::stall(&db).await;
    let good = spawn_append(&store, "good", ExpectedVersion::NoStream, None);
    let bad = {
        let store = store.clone();
        tokio::spawn(async move {
            let event = NewEvent::new(
                "Noted",
                1,
                json!({ "text": "nul\u{0}" }),
                Metadata::default(),
            );
            store
                .append("bad", ExpectedVersion::NoStream, vec![event], None)
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    lock.release().await;
    a.await.expect("task").expect("a appends");
    let good = good
        .await
        .expect("task")
        .expect("the good neighbour appends");
    assert_eq!(good.events()[0].stream_version, 1);
    match bad.await.expect("task") {
        Err(StoreError::Backend(message)) => assert!(message.contains("Unicode"), "{message}"),
        other => panic!("expected the payload refused, got {other:?}"),
    }
    assert_eq!(stream_len(&store, "good").await, 1);
    assert_eq!(stream_len(&store, "bad").await, 0);
}

/// A batch whose connection dies fails every append in it, and none of them is written.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_batch_whose_connection_dies_fails_every_append_in_it() {
    let Some(db) = one_slot_store("a_batch_whose_connection_dies").await else {
        return;
    };
    let store = db.store.clone();
    let (mut lock, a) = AllLock::stall(&db).await;
    let b = spawn_append(&store, "b", ExpectedVersion::NoStream, None);
    let c = spawn_append(&store, "c", ExpectedVersion::NoStream, None);
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Kill `a`'s statement; the batch {b, c} goes out and waits on the lock; kill it too.
    lock.kill_blocked().await;
    assert!(a.await.expect("task").is_err(), "a's connection was killed");
    lock.wait_until_blocking().await;
    lock.kill_blocked().await;
    for (name, task) in [("b", b), ("c", c)] {
        match task.await.expect("task") {
            Err(StoreError::Unavailable(_)) => {}
            other => panic!("{name}: expected the batch's failure, got {other:?}"),
        }
    }
    lock.release().await;
    for stream in ["a", "b", "c"] {
        assert_eq!(stream_len(&store, stream).await, 0, "{stream} half-saved");
    }
    // The store still works.
    store
        .append("b", ExpectedVersion::NoStream, vec![event(2)], None)
        .await
        .expect("append after the failures");
}

/// Every append statement draws its positions only under the "all" lock: a position drawn
/// before it could commit after a reader holding the lock had moved past it (see
/// `postgres_gap_free.rs`). While the test holds the lock exclusively, each statement
/// (single append, batch, group) waits on it without having touched the sequence.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_append_statement_draws_positions_only_under_the_all_lock() {
    let Some(db) = one_slot_store("positions_under_the_all_lock").await else {
        return;
    };
    let store = db.store.clone();

    // A lone one-event append with a caller's command id (the single-append statement),
    // one with an id made for this dispatch (the statement without duplicate probes), and
    // a two-event append (the batch statement).
    let batches = [
        ("single", vec![event(1)], false),
        ("new-command", vec![event(1)], true),
        ("batch", vec![event(1), event(2)], false),
    ];
    for (stream, events, new_command) in batches {
        let mut lock = AllLock::hold(&db).await;
        let drawn = positions_drawn(&mut lock.admin).await;
        let append = {
            let store = store.clone();
            let (expected, id) = (ExpectedVersion::NoStream, Uuid::now_v7());
            tokio::spawn(async move {
                if new_command {
                    store.append_new_command(stream, expected, events, id).await
                } else {
                    store.append(stream, expected, events, Some(id)).await
                }
            })
        };
        lock.wait_until_blocking().await;
        assert_eq!(
            positions_drawn(&mut lock.admin).await,
            drawn,
            "the {stream} statement drew a position before taking the lock"
        );
        lock.release().await;
        append.await.expect("task").expect("append");
        assert!(positions_drawn(&mut lock.admin).await > drawn);
    }

    // The group statement: `a` holds the only slot and waits on the lock while `b` and `c`
    // queue; killing `a` sends {b, c} out together, and that statement waits too.
    let (mut lock, a) = AllLock::stall(&db).await;
    let b = spawn_append(&store, "b", ExpectedVersion::NoStream, None);
    let c = spawn_append(&store, "c", ExpectedVersion::NoStream, None);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let drawn = positions_drawn(&mut lock.admin).await;
    lock.kill_blocked().await;
    assert!(a.await.expect("task").is_err(), "a's connection was killed");
    lock.wait_until_blocking().await;
    assert_eq!(
        positions_drawn(&mut lock.admin).await,
        drawn,
        "the group statement drew positions before taking the lock"
    );
    let before = store.statements_sent();
    lock.release().await;
    for task in [b, c] {
        task.await.expect("task").expect("append");
    }
    assert_eq!(
        store.statements_sent() - before,
        0,
        "b and c were one statement, already sent"
    );
}

/// The last position the store's sequence handed out (0 before the first).
async fn positions_drawn(admin: &mut PgConnection) -> i64 {
    sqlx::query_scalar(
        "SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM event_position_seq",
    )
    .fetch_one(admin)
    .await
    .expect("sequence")
}

/// By default appends are grouped, with two batches in flight at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_default_store_groups_appends_that_arrive_together() {
    let Some(db) = postgres_support::test_db("a_default_store_groups_appends").await else {
        return;
    };
    let store = db.store.clone();
    let mut lock = AllLock::hold(&db).await;
    let before = store.statements_sent();
    // Two appends take the two slots and wait on the lock; ten more queue behind them.
    let first = [
        spawn_append(&store, "first-0", ExpectedVersion::NoStream, None),
        spawn_append(&store, "first-1", ExpectedVersion::NoStream, None),
    ];
    lock.wait_until_blocking_n(2).await;
    let queued: Vec<_> = (0..10)
        .map(|i| {
            spawn_append(
                &store,
                &format!("queued-{i}"),
                ExpectedVersion::NoStream,
                None,
            )
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    lock.release().await;
    for task in first.into_iter().chain(queued) {
        let events = task.await.expect("task").expect("append").into_events();
        assert_eq!(events[0].stream_version, 1);
    }
    assert_eq!(
        store.statements_sent() - before,
        3,
        "two lone appends, then one statement for the ten that queued"
    );
    let all = store.read_all(1, 100).await.expect("read_all");
    assert_eq!(all.len(), 12);
}

/// A runtime shut down while appends are queued drops them, and the process lives on: each
/// slot dropped with its task used to start a flusher on the closing runtime, which dropped
/// that task at once, whose slot started another, until the stack overflowed and the
/// process aborted.
#[test]
fn a_runtime_shut_down_with_appends_queued_drops_them() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let queued = runtime.block_on(async {
        let db = one_slot_store("a_runtime_shut_down_with_appends_queued").await?;
        // `a` holds the only slot, waiting on the lock; the others queue behind it.
        let (lock, a) = AllLock::stall(&db).await;
        let queued: Vec<_> = (0..8)
            .map(|i| spawn_append(&db.store, &format!("q{i}"), ExpectedVersion::Any, None))
            .collect();
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(!a.is_finished(), "`a` still waits on the lock");
        Some((db, lock, queued))
    });
    let Some((db, lock, queued)) = queued else {
        return;
    };
    runtime.shutdown_timeout(Duration::from_secs(10));
    for append in &queued {
        assert!(append.is_finished(), "a queued append's task is gone");
    }
    // The lock's connections and the schema are dropped on a runtime of their own.
    let cleanup = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    cleanup.block_on(async move {
        drop(lock);
        drop(db);
    });
}

/// The schema's "all" advisory lock, held exclusively on a connection of the test's own.
struct AllLock {
    conn: PgConnection,
    admin: PgConnection,
    key: i64,
    pid: i32,
}

/// A store with one batch slot, in a schema of its own.
async fn one_slot_store(test: &str) -> Option<postgres_support::TestDb> {
    postgres_support::test_db_options(test, |o| o.group_commit(1)).await
}

impl AllLock {
    /// Holds the lock and starts an append to stream `a`, which takes the store's (only)
    /// batch slot and waits on the lock.
    async fn stall(
        db: &postgres_support::TestDb,
    ) -> (AllLock, JoinHandle<Result<AppendOutcome, StoreError>>) {
        let mut lock = AllLock::hold(db).await;
        let a = spawn_append(&db.store, "a", ExpectedVersion::NoStream, None);
        lock.wait_until_blocking().await;
        (lock, a)
    }

    async fn hold(db: &postgres_support::TestDb) -> AllLock {
        let mut conn = postgres_support::admin_connection(db).await;
        let key: i64 = sqlx::query_scalar("SELECT all_lock_key()")
            .fetch_one(&mut conn)
            .await
            .expect("lock key");
        sqlx::query("SELECT pg_advisory_lock($1)")
            .bind(key)
            .execute(&mut conn)
            .await
            .expect("take the lock");
        let pid = backend_pid(&mut conn).await;
        let admin = postgres_support::admin_connection(db).await;
        AllLock {
            conn,
            admin,
            key,
            pid,
        }
    }

    async fn wait_until_blocking(&mut self) {
        self.wait_until_blocking_n(1).await;
    }

    async fn wait_until_blocking_n(&mut self, n: usize) {
        wait_for_blocked(&mut self.admin, self.pid, n).await;
    }

    /// Terminates every backend waiting on the lock now. The waiters are listed first and
    /// killed after: killed in the same query, a statement that starts waiting while the
    /// query runs (the batch a killed append's slot lets out) could be killed with them.
    async fn kill_blocked(&mut self) {
        for pid in waiting_on(&mut self.admin, self.pid).await {
            sqlx::query("SELECT pg_terminate_backend($1)")
                .bind(pid)
                .execute(&mut self.admin)
                .await
                .expect("terminate");
        }
    }

    async fn release(&mut self) {
        sqlx::query("SELECT pg_advisory_unlock($1)")
            .bind(self.key)
            .execute(&mut self.conn)
            .await
            .expect("release the lock");
    }
}

async fn stream_len(store: &PostgresStore, stream: &str) -> usize {
    store.read_stream(stream, 1, 100).await.expect("read").len()
}

fn event(n: u64) -> NewEvent {
    NewEvent::new("Noted", 1, json!({ "n": n }), Metadata::default())
}

fn spawn_append(
    store: &Arc<PostgresStore>,
    stream: &str,
    expected: ExpectedVersion,
    command_id: Option<Uuid>,
) -> JoinHandle<Result<AppendOutcome, StoreError>> {
    let store = store.clone();
    let stream = stream.to_string();
    tokio::spawn(async move {
        store
            .append(&stream, expected, vec![event(1)], command_id)
            .await
    })
}
