//! Shared by every Postgres test: a store in its own, freshly made schema, dropped again when
//! the test ends (also when it fails), and one rule for a server that is not there.
//!
//! `DATABASE_URL` picks the server (default `postgres://postgres@127.0.0.1:5432/postgres`).
//! Unreachable: under `CI=true` the test fails; otherwise it says loudly that it was skipped
//! and passes, so `cargo test` works on a laptop without Postgres.

use std::sync::Arc;

use eskema::PostgresStore;
use eskema::StoreError;
use eskema::postgres::PostgresOptions;

pub const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

pub fn database_url() -> String {
    std::env::var("DATABASE_URL").unwrap_or_else(|_| DEFAULT_URL.to_string())
}

/// A store in a schema of its own; the schema is dropped on drop.
pub struct TestDb {
    pub store: Arc<PostgresStore>,
    pub url: String,
    pub schema: String,
}

/// Connects a fresh store, or `None` (skipped) when Postgres is unreachable outside CI.
pub async fn test_db(test: &str) -> Option<TestDb> {
    test_db_with(test, 10).await
}

/// [`test_db`] with a chosen pool size.
pub async fn test_db_with(test: &str, max_connections: u32) -> Option<TestDb> {
    test_db_options(test, |o| o.max_connections(max_connections)).await
}

/// [`test_db`] with options of the test's choosing (schema and URL are set for it).
pub async fn test_db_options(
    test: &str,
    options: impl FnOnce(PostgresOptions) -> PostgresOptions,
) -> Option<TestDb> {
    let url = database_url();
    let schema = format!("eskema_t_{}", uuid::Uuid::now_v7().simple());
    let builder = PostgresStore::builder(url.clone())
        .schema(schema.clone())
        .max_connections(10)
        .acquire_timeout(std::time::Duration::from_secs(5));
    let result = options(builder).connect().await;
    // Whatever happened, the schema may exist now: the guard removes it.
    let cleanup = DropSchema {
        url: url.clone(),
        schema: schema.clone(),
    };
    match result {
        Ok(store) => {
            std::mem::forget(cleanup);
            Some(TestDb {
                store: Arc::new(store),
                url,
                schema,
            })
        }
        Err(StoreError::Unavailable(message)) => {
            drop(cleanup);
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("{test}: Postgres is required under CI=true but unreachable: {message}");
            }
            // Straight to stderr: libtest captures eprintln!, and this must be seen.
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "\n*** SKIPPED {test}: Postgres unreachable ({message}).\n\
                 *** Start Postgres or set DATABASE_URL (default {DEFAULT_URL}) to run it;\n\
                 *** with CI=true this is a failure.\n"
            );
            None
        }
        Err(other) => {
            drop(cleanup);
            panic!("{test}: could not set up a test store: {other}");
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        drop(DropSchema {
            url: self.url.clone(),
            schema: self.schema.clone(),
        });
    }
}

struct DropSchema {
    url: String,
    schema: String,
}

impl Drop for DropSchema {
    /// Drop cannot await, and may run inside a runtime: a thread with its own runtime does it.
    fn drop(&mut self) {
        let url = self.url.clone();
        let schema = self.schema.clone();
        let done = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                use sqlx::Connection;
                if let Ok(mut conn) = sqlx::PgConnection::connect(&url).await {
                    let sql = format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE");
                    if let Err(e) = sqlx::query(&sql).execute(&mut conn).await {
                        eprintln!("could not drop test schema {schema}: {e}");
                    }
                }
            });
        });
        let _ = done.join();
    }
}

/// A plain connection to the test server (for admin work: locks, killing backends).
pub async fn admin_connection(db: &TestDb) -> sqlx::PgConnection {
    use sqlx::ConnectOptions;
    let options: sqlx::postgres::PgConnectOptions = db.url.parse().expect("valid DATABASE_URL");
    options
        .options([("search_path", db.schema.as_str())])
        .connect()
        .await
        .expect("admin connection")
}
