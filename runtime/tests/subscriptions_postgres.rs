//! The subscription conformance suite on `PostgresStore`, each case in a schema of its own.
//!
//! Needs Postgres at `DATABASE_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`);
//! skipped with a loud message when unreachable, failed under `CI=true`.

#[macro_use]
mod subscriptions;
mod postgres_support;
pub mod support;

use std::collections::BTreeMap;

use eskema::PostgresStore;
use eskema::read::HandlerError;
use sqlx::Row;

use support::read::Kv;

impl Kv for sqlx::PgConnection {
    async fn add(&mut self, key: &str, by: i64) -> Result<(), HandlerError> {
        sqlx::query(
            "INSERT INTO totals (key, total) VALUES ($1, $2) \
             ON CONFLICT (key) DO UPDATE SET total = totals.total + EXCLUDED.total",
        )
        .bind(key)
        .bind(by)
        .execute(&mut *self)
        .await?;
        Ok(())
    }

    async fn clear(&mut self) -> Result<(), HandlerError> {
        sqlx::query("DELETE FROM totals")
            .execute(&mut *self)
            .await?;
        Ok(())
    }
}

impl subscriptions::TestStore for PostgresStore {
    /// The `totals` table the Postgres `Totals` projection wrote.
    async fn totals(&self) -> BTreeMap<String, i64> {
        sqlx::query("SELECT key, total FROM totals")
            .fetch_all(self.pool())
            .await
            .expect("totals")
            .iter()
            .map(|r| (r.get("key"), r.get("total")))
            .collect()
    }
}

macro_rules! postgres_case {
    ($case:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn $case() {
            let Some(db) = postgres_support::test_db(stringify!($case)).await else {
                return;
            };
            sqlx::query("CREATE TABLE totals (key text PRIMARY KEY, total bigint NOT NULL)")
                .execute(db.store.pool())
                .await
                .expect("create the read model's table");
            subscriptions::$case((*db.store).clone()).await;
            // Everything the case wrote is in its own schema: no other case saw it.
            let mut admin = postgres_support::admin_connection(&db).await;
            let (schema, checkpoints): (String, i64) =
                sqlx::query_as("SELECT current_schema()::text, (SELECT count(*) FROM checkpoints)")
                    .fetch_one(&mut admin)
                    .await
                    .expect("count checkpoints");
            assert_eq!(schema, db.schema);
            assert!(checkpoints > 0, "the case registered no subscriber");
        }
    };
}

subscription_cases!(postgres_case);
