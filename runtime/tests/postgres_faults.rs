//! Faults: an unreachable server, a connection killed in the middle of a batch append, and
//! two stores sharing one database.

mod postgres_locks;
mod postgres_support;

use std::time::Duration;

use eskema::store::{AppendOutcome, ExpectedVersion, Metadata, NewEvent};
use eskema::{EventStore, PostgresStore, StoreError};
use serde_json::json;
use uuid::Uuid;

#[tokio::test]
async fn unreachable_server_is_unavailable_naming_the_url_without_password() {
    let started = std::time::Instant::now();
    let err = PostgresStore::builder("postgres://app:s3cret@127.0.0.1:1/shop")
        .acquire_timeout(Duration::from_secs(3))
        .connect()
        .await
        .expect_err("nothing listens on port 1");
    let StoreError::Unavailable(message) = &err else {
        panic!("expected Unavailable, got {err:?}");
    };
    assert!(
        message.contains("postgres://app:***@127.0.0.1:1/shop"),
        "{message}"
    );
    assert!(!err.to_string().contains("s3cret"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[tokio::test]
async fn invalid_schema_names_are_refused_before_connecting() {
    for bad in ["Upper", "a-b", "x\"; drop table events; --", "", "1abc"] {
        let err = PostgresStore::builder("postgres://nobody@127.0.0.1:1/none")
            .schema(bad)
            .connect()
            .await
            .expect_err("invalid schema");
        assert!(
            matches!(&err, StoreError::Backend(m) if m.contains("invalid schema name")),
            "{bad:?}: {err:?}"
        );
    }
}

/// The appending backend is terminated while it is inside the batch: the rows it already
/// inserted (and its stream and command records) must vanish, the caller gets an error, and
/// the store keeps working.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_killed_mid_batch_leaves_nothing_half_saved() {
    let Some(db) =
        postgres_support::test_db("connection_killed_mid_batch_leaves_nothing_half_saved").await
    else {
        return;
    };
    let store = db.store.clone();
    let s = "account-1";
    store
        .append(s, ExpectedVersion::NoStream, vec![event(0)], None)
        .await
        .expect("first event");

    let batch: Vec<NewEvent> = (1..=2000).map(event).collect();
    let ids: Vec<Uuid> = batch.iter().map(|e| e.event_id).collect();
    let last_id = ids[ids.len() - 1];
    let cid = Uuid::now_v7();

    // A blocker holds the batch's last event id in an open transaction: the append inserts
    // 1,999 rows and then waits on the unique index, mid-batch.
    let mut blocker = postgres_locks::uncommitted_event(&db, last_id, "blocker").await;

    let appending = {
        let store = store.clone();
        let batch = batch.clone();
        tokio::spawn(async move {
            store
                .append(s, ExpectedVersion::Exactly(1), batch, Some(cid))
                .await
        })
    };

    let mut admin = postgres_support::admin_connection(&db).await;
    let victim = postgres_locks::wait_for_blocked(&mut admin, blocker.pid, 1).await[0];
    // It really is mid-batch: its stream update and first rows exist, uncommitted.
    let (state, waiting): (String, Option<String>) =
        sqlx::query_as("SELECT state, wait_event_type FROM pg_stat_activity WHERE pid = $1")
            .bind(victim)
            .fetch_one(&mut admin)
            .await
            .expect("activity");
    assert_eq!(
        (state.as_str(), waiting.as_deref()),
        ("active", Some("Lock"))
    );
    let killed: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1)")
        .bind(victim)
        .fetch_one(&mut admin)
        .await
        .expect("terminate");
    assert!(killed);

    let result = tokio::time::timeout(Duration::from_secs(20), appending)
        .await
        .expect("append returns after the kill")
        .expect("task");
    assert!(
        matches!(result, Err(StoreError::Unavailable(_))),
        "the caller is told the append failed: {result:?}"
    );
    sqlx::query("ROLLBACK")
        .execute(&mut blocker.conn)
        .await
        .expect("rollback");

    // Nothing of the batch survived.
    let saved: i64 = sqlx::query_scalar("SELECT count(*) FROM events WHERE event_id = ANY($1)")
        .bind(&ids[..])
        .fetch_one(&mut admin)
        .await
        .expect("count");
    assert_eq!(saved, 0);
    assert_eq!(store.stream_version(s).await.expect("version"), 1);
    assert_eq!(store.read_stream(s, 1, 5000).await.expect("read").len(), 1);
    assert_eq!(store.find_command(cid).await.expect("find"), None);

    // The store still works (the pool replaced the dead connection): the same command
    // now goes through, whole.
    let retried = store
        .append(s, ExpectedVersion::Exactly(1), batch, Some(cid))
        .await
        .expect("retry after the fault");
    let AppendOutcome::Appended(recorded) = retried else {
        panic!("expected a fresh append");
    };
    assert_eq!(recorded.len(), 2000);
    assert_eq!(store.stream_version(s).await.expect("version"), 2001);
}

#[tokio::test]
async fn two_schemas_in_one_database_are_independent_stores() {
    let Some(a) = postgres_support::test_db("two_schemas_a").await else {
        return;
    };
    let Some(b) = postgres_support::test_db("two_schemas_b").await else {
        return;
    };
    assert_ne!(a.store.schema(), b.store.schema());
    a.store
        .append(
            "shared-name",
            ExpectedVersion::NoStream,
            vec![event(1), event(2)],
            None,
        )
        .await
        .expect("a");
    let in_b = b
        .store
        .append(
            "shared-name",
            ExpectedVersion::NoStream,
            vec![event(3)],
            None,
        )
        .await
        .expect("b: the stream is new here");
    assert_eq!(in_b.events()[0].stream_version, 1);
    assert_eq!(in_b.events()[0].position, 1, "positions are per store");
    assert_eq!(a.store.stream_version("shared-name").await.expect("a"), 2);
    assert_eq!(b.store.read_all(1, 10).await.expect("b").len(), 1);
    // Reconnecting to an existing schema re-runs no migration and sees the data.
    let again = PostgresStore::builder(a.url.clone())
        .schema(a.schema.clone())
        .connect()
        .await
        .expect("reconnect");
    assert_eq!(again.stream_version("shared-name").await.expect("again"), 2);
}

fn event(n: u64) -> NewEvent {
    NewEvent::new(
        "Deposited",
        1,
        json!({ "n": n, "pad": "x".repeat(200) }),
        Metadata::default(),
    )
}

/// A unique violation keeps its cause: the database error and its SQLSTATE are reachable
/// through `StoreError::cause` and the standard `source` chain, not only as text.
#[tokio::test]
async fn a_unique_violation_is_reachable_as_the_database_error() {
    let Some(db) =
        postgres_support::test_db("a_unique_violation_is_reachable_as_the_database_error").await
    else {
        return;
    };
    let first = NewEvent::new("Opened", 1, json!({}), Metadata::default());
    let mut again = NewEvent::new("Opened", 1, json!({}), Metadata::default());
    again.event_id = first.event_id;
    db.store
        .append("account-1", ExpectedVersion::NoStream, vec![first], None)
        .await
        .expect("first append");
    let err = db
        .store
        .append("account-2", ExpectedVersion::NoStream, vec![again], None)
        .await
        .expect_err("the event id is taken");
    assert!(matches!(err, StoreError::Backend(_)), "{err:?}");
    let sqlx_error = err
        .cause()
        .and_then(|c| c.downcast_ref::<sqlx::Error>())
        .unwrap_or_else(|| panic!("no sqlx::Error under {err:?}"));
    let code = sqlx_error
        .as_database_error()
        .and_then(|d| d.code())
        .map(|c| c.to_string());
    assert_eq!(code.as_deref(), Some("23505"), "{sqlx_error:?}");
    assert!(std::error::Error::source(&err).is_some());
    // Nothing of the second append was written.
    let all = db.store.read_all(0, 10).await.expect("read");
    assert_eq!(all.len(), 1);
}

/// A stored event version below zero (a table edited by hand; the column has no check) is
/// reported as an error when read, not silently read as version 0.
#[tokio::test]
async fn a_negative_stored_event_version_is_an_error_not_zero() {
    let Some(db) =
        postgres_support::test_db("a_negative_stored_event_version_is_an_error_not_zero").await
    else {
        return;
    };
    let event = NewEvent::new("Opened", 1, json!({}), Metadata::default());
    db.store
        .append("account-1", ExpectedVersion::NoStream, vec![event], None)
        .await
        .expect("append");
    sqlx::query("UPDATE events SET event_version = -1")
        .execute(db.store.pool())
        .await
        .expect("edit the table by hand");
    let err = db
        .store
        .read_stream("account-1", 0, 10)
        .await
        .expect_err("a negative version must not read");
    assert!(
        matches!(&err, StoreError::Backend(m) if m.contains("negative event version -1")),
        "{err:?}"
    );
}
