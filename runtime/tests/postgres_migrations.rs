//! Upgrading a store in place: a schema written by the previous release (command ids in
//! `commands` rows) keeps answering duplicates after the migration that moves them onto
//! the events.

mod postgres_support;

use std::borrow::Cow;

use eskema::store::{AppendOutcome, ExpectedVersion, Metadata, NewEvent};
use eskema::{EventStore, PostgresStore};
use serde_json::json;
use sqlx::Connection;
use sqlx::migrate::Migrator;
use uuid::Uuid;

static ALL: Migrator = sqlx::migrate!("./migrations");

#[tokio::test]
async fn command_records_survive_the_move_onto_events() {
    let Some(db) = postgres_support::test_db("command_records_survive_the_move_onto_events").await
    else {
        return;
    };
    assert_eq!(db.store.stream_version("acc-1").await.expect("fresh"), 0);
    // Start the schema over with the previous release's migrations only.
    let mut admin = postgres_support::admin_connection(&db).await;
    let schema = &db.schema;
    sqlx::raw_sql(&format!(
        "DROP SCHEMA IF EXISTS \"{schema}\" CASCADE; CREATE SCHEMA \"{schema}\""
    ))
    .execute(&mut admin)
    .await
    .expect("reset schema");
    admin.close().await.expect("close");
    let mut old = postgres_support::admin_connection(&db).await;
    let previous = Migrator {
        migrations: Cow::Owned(ALL.migrations[..2].to_vec()),
        ..Migrator::DEFAULT
    };
    previous
        .run(&mut old)
        .await
        .expect("previous release's migrations");

    // What the previous release wrote: command A appended versions 1..2, version 3 came
    // without a command id, command B appended nothing.
    let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
    sqlx::raw_sql(&format!(
        "INSERT INTO events (position, event_id, stream_id, stream_version, event_type, \
             event_version, data, metadata) VALUES \
           (nextval('event_position_seq'), '{e1}', 'acc-1', 1, 'Opened', 1, '{{\"n\":1}}', '{{}}'), \
           (nextval('event_position_seq'), '{e2}', 'acc-1', 2, 'Deposited', 1, '{{\"n\":2}}', '{{}}'), \
           (nextval('event_position_seq'), '{e3}', 'acc-1', 3, 'Deposited', 1, '{{\"n\":3}}', '{{}}'); \
         INSERT INTO commands (command_id, stream_id, first_version, last_version) VALUES \
           ('{a}', 'acc-1', 1, 2), ('{b}', 'acc-1', 4, 3);",
        e1 = Uuid::now_v7(),
        e2 = Uuid::now_v7(),
        e3 = Uuid::now_v7(),
    ))
    .execute(&mut old)
    .await
    .expect("old rows");
    old.close().await.expect("close");

    // Connecting runs the new migration.
    let store = PostgresStore::builder(db.url.clone())
        .schema(schema.clone())
        .connect()
        .await
        .expect("upgrade");
    let found = store.find_command(a).await.expect("find").expect("A known");
    let versions: Vec<u64> = found.iter().map(|e| e.stream_version).collect();
    assert_eq!(versions, [1, 2], "A's events, and only those");
    assert_eq!(found[1].data, json!({ "n": 2 }));
    assert_eq!(store.find_command(b).await.expect("find"), Some(vec![]));
    assert_eq!(
        store.find_command(Uuid::now_v7()).await.expect("find"),
        None
    );

    let retry = NewEvent::new("Deposited", 1, json!({ "n": 9 }), Metadata::default());
    let outcome = store
        .append("acc-1", ExpectedVersion::Any, vec![retry.clone()], Some(a))
        .await
        .expect("retry of A");
    assert_eq!(outcome, AppendOutcome::Duplicate(found));
    let outcome = store
        .append("acc-1", ExpectedVersion::Any, vec![retry], Some(b))
        .await
        .expect("retry of B");
    assert_eq!(outcome, AppendOutcome::Duplicate(vec![]));
    assert_eq!(store.stream_version("acc-1").await.expect("version"), 3);

    let mut check = postgres_support::admin_connection(&db).await;
    let left: Vec<Uuid> = sqlx::query_scalar("SELECT command_id FROM commands")
        .fetch_all(&mut check)
        .await
        .expect("commands");
    assert_eq!(
        left,
        [b],
        "only the command that appended nothing keeps a row"
    );
}
