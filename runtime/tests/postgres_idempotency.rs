//! Caller-supplied command ids through the engine on `PostgresStore`: a command that
//! decided nothing is recorded (its retry stays a no-op, in this process or another), and
//! a retry of an appended command is answered from its append, without a lookup first.

pub mod support;

mod postgres_support;

use eskema::{CommandContext, Engine, EventStore};
use support::*;
use uuid::Uuid;

#[tokio::test]
async fn a_no_op_under_a_supplied_id_stays_a_no_op_when_retried() {
    let Some(db) = postgres_support::test_db("no_op_under_a_supplied_id").await else {
        return;
    };
    let engine = Engine::new((*db.store).clone());
    open_a1(&engine).await;
    let ctx = CommandContext::with_command_id(Uuid::now_v7());
    let first = engine
        .execute::<Account>(change_owner("a1", "Ann").into(), ctx.clone())
        .await
        .expect("no-op");
    assert!(first.events.is_empty() && !first.duplicate);
    let recorded: i64 = sqlx::query_scalar("SELECT count(*) FROM commands WHERE command_id = $1")
        .bind(ctx.command_id)
        .fetch_one(&mut postgres_support::admin_connection(&db).await)
        .await
        .expect("commands");
    assert_eq!(
        recorded, 1,
        "a no-op has no event to carry its id: a commands row does"
    );
    engine
        .execute::<Account>(change_owner("a1", "Bob").into(), CommandContext::default())
        .await
        .expect("change");

    // The same engine (cached state) and a fresh one, as another process would be.
    let other = Engine::new((*db.store).clone());
    for engine in [&engine, &other] {
        let retry = engine
            .execute::<Account>(change_owner("a1", "Ann").into(), ctx.clone())
            .await
            .expect("retry");
        assert!(retry.duplicate, "a retry is answered, not run again");
        assert!(retry.recorded.is_empty());
        assert_eq!(retry.version, 2);
    }
    assert_eq!(
        db.store
            .stream_version("account-a1")
            .await
            .expect("version"),
        2
    );
    let state = other.load::<Account>("a1").await.expect("load").state;
    assert_eq!(state.owner, "Bob");
}

#[tokio::test]
async fn a_retried_command_is_answered_by_its_append() {
    let Some(db) = postgres_support::test_db("retried_command_answered_by_append").await else {
        return;
    };
    let engine = Engine::new((*db.store).clone());
    open_a1(&engine).await;
    let ctx = CommandContext::with_command_id(Uuid::now_v7());
    let first = engine
        .execute::<Account>(deposit("a1", 5).into(), ctx.clone())
        .await
        .expect("deposit");
    // Deposit again would succeed: only the recorded id stops it, from a cached engine and
    // from a fresh one.
    let other = Engine::new((*db.store).clone());
    for engine in [&engine, &other] {
        let retry = engine
            .execute::<Account>(deposit("a1", 5).into(), ctx.clone())
            .await
            .expect("retry");
        assert!(retry.duplicate);
        assert_eq!(retry.recorded, first.recorded);
        assert_eq!(retry.version, 2);
    }
    let state = other.load::<Account>("a1").await.expect("load").state;
    assert_eq!(state.balance, 15);
}
