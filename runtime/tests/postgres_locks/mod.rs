//! Lock helpers for the Postgres tests that stall an append on purpose: an uncommitted row
//! for it to wait on, and polling for the backends waiting on a lock. Kept out of
//! `postgres_support` so test files that stall nothing do not compile them.

use crate::postgres_support::{TestDb, admin_connection};

/// An event row inserted in a transaction left open: an append that writes the same
/// `event_id`, or the same version of `stream`, waits on it until the test commits or rolls
/// back `conn` (or kills its backend, `pid`).
pub struct Uncommitted {
    pub conn: sqlx::PgConnection,
    pub pid: i32,
}

/// Opens [`Uncommitted`]: version 1 of `stream` with `event_id`, at position -1 (no store
/// append ever draws it).
pub async fn uncommitted_event(db: &TestDb, event_id: uuid::Uuid, stream: &str) -> Uncommitted {
    let mut conn = admin_connection(db).await;
    sqlx::query("BEGIN")
        .execute(&mut conn)
        .await
        .expect("begin");
    sqlx::query(
        "INSERT INTO events (position, event_id, stream_id, stream_version, event_type, \
         event_version, data, metadata) VALUES (-1, $1, $2, 1, 'Outside', 1, '{}', '{}')",
    )
    .bind(event_id)
    .bind(stream)
    .execute(&mut conn)
    .await
    .expect("uncommitted row");
    let pid = backend_pid(&mut conn).await;
    Uncommitted { conn, pid }
}

pub async fn backend_pid(conn: &mut sqlx::PgConnection) -> i32 {
    sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(conn)
        .await
        .expect("pid")
}

/// The backends waiting on a lock `blocker_pid` holds, now.
pub async fn waiting_on(admin: &mut sqlx::PgConnection, blocker_pid: i32) -> Vec<i32> {
    sqlx::query_scalar("SELECT pid FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))")
        .bind(blocker_pid)
        .fetch_all(admin)
        .await
        .expect("list the waiters")
}

/// Waits (up to 10 s) until at least `n` backends wait on a lock `blocker_pid` holds;
/// returns them.
pub async fn wait_for_blocked(
    admin: &mut sqlx::PgConnection,
    blocker_pid: i32,
    n: usize,
) -> Vec<i32> {
    for _ in 0..400 {
        let waiting = waiting_on(admin, blocker_pid).await;
        if waiting.len() >= n {
            return waiting;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("no append ever waited on the test's lock");
}
