//! The `EventStore` conformance suite on `PostgresStore`, each case in a schema of its own,
//! twice: with group commit (the default, `grouped::`) and without (`single::`), since
//! one-event appends take a different statement in each.
//!
//! Needs Postgres at `DATABASE_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`);
//! skipped with a loud message when unreachable, failed under `CI=true`.

#[macro_use]
mod conformance;
mod postgres_support;
pub mod support;

macro_rules! postgres_case {
    ($case:ident, $group_commit:expr) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn $case() {
            let db = match $group_commit {
                Some(slots) => {
                    postgres_support::test_db_options(stringify!($case), |o| o.group_commit(slots))
                        .await
                }
                None => postgres_support::test_db(stringify!($case)).await,
            };
            let Some(db) = db else {
                return;
            };
            conformance::$case(std::sync::Arc::clone(&db.store)).await;
            // The case's events live in its own schema, nowhere else.
            let mut admin = postgres_support::admin_connection(&db).await;
            let (table_schema, rows): (String, i64) =
                sqlx::query_as("SELECT current_schema()::text, (SELECT count(*) FROM events)")
                    .fetch_one(&mut admin)
                    .await
                    .expect("count events");
            assert_eq!(table_schema, db.schema);
            let mut read = 0;
            let mut next = 1;
            loop {
                let page = eskema::EventStore::read_all(&*db.store, next, 500)
                    .await
                    .expect("read_all");
                let Some(last) = page.last() else { break };
                next = last.position + 1;
                read += page.len();
            }
            assert_eq!(rows as usize, read);
        }
    };
}

/// The store as configured by default: one-event appends are grouped.
mod grouped {
    use super::*;
    macro_rules! case {
        ($case:ident) => {
            postgres_case!($case, None::<usize>);
        };
    }
    conformance_cases!(case);
}

/// Group commit off: every append is a statement of its own.
mod single {
    use super::*;
    macro_rules! case {
        ($case:ident) => {
            postgres_case!($case, Some(0));
        };
    }
    conformance_cases!(case);
}
