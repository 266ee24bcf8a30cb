//! For the demo's Postgres tests: a store in a schema of its own, dropped again when the test
//! ends (also when it fails), and one rule for a server that is not there: under `CI=true`
//! the test fails; otherwise it says loudly that it was skipped and passes.

use eskema::PostgresStore;
use eskema::StoreError;

pub const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

pub fn database_url() -> String {
    std::env::var("DATABASE_URL").unwrap_or_else(|_| DEFAULT_URL.to_string())
}

/// A store in a fresh schema; the schema is dropped on drop.
pub struct TestDb {
    pub store: PostgresStore,
    pub url: String,
    pub schema: String,
}

pub async fn test_db(test: &str) -> Option<TestDb> {
    let url = database_url();
    let schema = format!("eskema_t_{}", eskema::uuid::Uuid::now_v7().simple());
    let result = PostgresStore::builder(url.clone())
        .schema(schema.clone())
        .connect()
        .await;
    match result {
        Ok(store) => Some(TestDb { store, url, schema }),
        Err(StoreError::Unavailable(message)) => {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("{test}: Postgres is required under CI=true but unreachable: {message}");
            }
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "\n*** SKIPPED {test}: Postgres unreachable ({message}).\n\
                 *** Start Postgres or set DATABASE_URL (default {DEFAULT_URL}) to run it;\n\
                 *** with CI=true this is a failure.\n"
            );
            None
        }
        Err(other) => panic!("{test}: could not set up a test store: {other}"),
    }
}

impl Drop for TestDb {
    /// Drop cannot await, and runs inside a runtime: a thread with its own runtime does it.
    fn drop(&mut self) {
        let (url, schema) = (self.url.clone(), self.schema.clone());
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                use eskema::sqlx::Connection;
                if let Ok(mut conn) = eskema::sqlx::PgConnection::connect(&url).await {
                    let sql = format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE");
                    if let Err(e) = eskema::sqlx::query(&sql).execute(&mut conn).await {
                        eprintln!("could not drop test schema {schema}: {e}");
                    }
                }
            });
        })
        .join();
    }
}
