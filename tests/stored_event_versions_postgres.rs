//! The one read path on Postgres: events stored as an older deployment wrote them (a v1
//! `BankAccountOpened` without `currency`, a `MoneyWithdrawn` stored as `CashWithdrawn`)
//! read as today's types by a projection, and by a parked-event replay after the handler
//! failed on them. The memory-store version of every path is in `stored_event_versions.rs`.
//!
//! Each test makes a schema of its own and drops it; without a server the tests say they
//! were skipped and pass, unless `CI=true`.

mod old_events;
mod postgres;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use eskema::read::ReadSide;
use eskema::serde_json::{Value, json};
use eskema::sqlx::{self, PgConnection, PgPool};
use eskema::uuid::Uuid;
use eskema::{Engine, HandlerError, RecordedEvent};
use eskema_demo::bank::*;
use eskema_demo::logic::account_balances::BalancesTable;
use old_events::*;

/// `bank.AccountBalances` writing every decoded event it is handed into the table `seen`
/// (position, the handler method, the event as JSON); failing while `failing` is set.
#[derive(Debug, Clone, Default)]
struct Seen {
    failing: Arc<AtomicBool>,
}

impl Seen {
    async fn create(pool: &PgPool) {
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS seen (position bigint PRIMARY KEY, method text NOT NULL, event jsonb NOT NULL)",
        )
        .execute(pool)
        .await
        .expect("create seen");
    }

    /// Every row of `seen`, by position.
    async fn rows(pool: &PgPool) -> Vec<(i64, String, Value)> {
        sqlx::query_as("SELECT position, method, event FROM seen ORDER BY position")
            .fetch_all(pool)
            .await
            .expect("read seen")
    }

    async fn write(
        &self,
        conn: &mut PgConnection,
        method: &str,
        event: Value,
        recorded: &RecordedEvent,
    ) -> Result<(), HandlerError> {
        if self.failing.load(Ordering::SeqCst) {
            return Err(HandlerError::new("failing on purpose"));
        }
        sqlx::query("INSERT INTO seen (position, method, event) VALUES ($1, $2, $3)")
            .bind(i64::try_from(recorded.position).unwrap_or(i64::MAX))
            .bind(method)
            .bind(event)
            .execute(conn)
            .await?;
        Ok(())
    }
}

impl AccountBalancesHandler<PgConnection> for Seen {
    async fn on_bank_account_opened(
        &self,
        conn: &mut PgConnection,
        event: &BankAccountOpened,
        recorded: &RecordedEvent,
    ) -> Result<(), HandlerError> {
        let event = eskema::serde_json::to_value(event)?;
        self.write(conn, "on_bank_account_opened", event, recorded)
            .await
    }

    async fn on_money_deposited(
        &self,
        conn: &mut PgConnection,
        event: &MoneyDeposited,
        recorded: &RecordedEvent,
    ) -> Result<(), HandlerError> {
        let event = eskema::serde_json::to_value(event)?;
        self.write(conn, "on_money_deposited", event, recorded)
            .await
    }

    async fn on_money_withdrawn(
        &self,
        conn: &mut PgConnection,
        event: &MoneyWithdrawn,
        recorded: &RecordedEvent,
    ) -> Result<(), HandlerError> {
        let event = eskema::serde_json::to_value(event)?;
        self.write(conn, "on_money_withdrawn", event, recorded)
            .await
    }

    async fn reset(&self, conn: &mut PgConnection) -> Result<(), HandlerError> {
        sqlx::query("DELETE FROM seen").execute(conn).await?;
        Ok(())
    }
}

/// What `seen` must hold: position 1 the v1 event upcast (currency EUR), position 2 the
/// `CashWithdrawn` as a `MoneyWithdrawn`.
fn upcast_rows() -> Vec<(i64, String, Value)> {
    vec![
        (
            1,
            "on_bank_account_opened".into(),
            json!({"account_number": ACC, "initial_balance": 80, "currency": "EUR", "pin": "1111"}),
        ),
        (
            2,
            "on_money_withdrawn".into(),
            json!({"account_number": ACC, "withdrawal_id": Uuid::nil(), "amount": 30, "balance": 50}),
        ),
    ]
}

const SETTLE: Duration = Duration::from_secs(30);

#[tokio::test]
async fn a_projection_on_postgres_reads_old_versions_and_names() {
    let Some(db) = postgres::test_db("a_projection_on_postgres_reads_old_versions_and_names").await
    else {
        return;
    };
    old_account(&db.store).await;
    let engine = Engine::new(db.store.clone());
    let pool = db.store.pool().clone();
    Seen::create(&pool).await;
    let read_side = ReadSide::builder(&engine)
        .projection(AccountBalances, Seen::default())
        .start()
        .await
        .expect("read side");
    read_side
        .settle(SETTLE)
        .await
        .expect("settled, nothing parked");
    assert_eq!(Seen::rows(&pool).await, upcast_rows());
    read_side.shutdown().await;

    // The demo's own table, rebuilt from origin.
    let mut conn = pool.acquire().await.expect("connection");
    BalancesTable::create(&mut conn).await.expect("create");
    drop(conn);
    let read_side = ReadSide::builder(&engine)
        .projection(AccountBalances, BalancesTable)
        .start()
        .await
        .expect("read side");
    read_side
        .rebuild("AccountBalances")
        .await
        .expect("rebuild from origin");
    read_side.settle(SETTLE).await.expect("settled");
    let balance = BalancesTable::balance(&pool, ACC).await.expect("balance");
    assert_eq!(balance.map(|b| (b.balance, b.events)), Some((50, 2)));
    read_side.shutdown().await;
}

#[tokio::test]
async fn parked_old_events_on_postgres_are_replayed_through_the_upcast() {
    let Some(db) =
        postgres::test_db("parked_old_events_on_postgres_are_replayed_through_the_upcast").await
    else {
        return;
    };
    old_account(&db.store).await;
    let engine = Engine::new(db.store.clone());
    let pool = db.store.pool().clone();
    Seen::create(&pool).await;
    let seen = Seen::default();
    seen.failing.store(true, Ordering::SeqCst);
    let read_side = ReadSide::builder(&engine)
        .projection(AccountBalances, seen.clone())
        .start()
        .await
        .expect("read side");
    let failures = parked(&read_side, 2).await;
    let stored: Vec<(&str, u32)> = failures
        .iter()
        .map(|f| (f.event.event_type.as_str(), f.event.event_version))
        .collect();
    assert_eq!(
        stored,
        [("BankAccountOpened", 1), ("CashWithdrawn", 1)],
        "parked as stored: old version, old name"
    );
    assert!(Seen::rows(&pool).await.is_empty());

    seen.failing.store(false, Ordering::SeqCst);
    for failed in &failures {
        read_side.replay(failed.id).await.expect("replayed");
    }
    assert!(read_side.failures(None).await.expect("failures").is_empty());
    assert_eq!(Seen::rows(&pool).await, upcast_rows());
    read_side.shutdown().await;
}
