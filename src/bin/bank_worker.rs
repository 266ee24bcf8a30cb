//! Runs the demo's read side (`AccountBalances`, `Notifications`, `Withdrawal`) on Postgres
//! until it is stopped (Ctrl-C or SIGTERM: a clean stop, leases released at once). Start it
//! in several terminals: the handlers' partitions spread over the processes; kill one, and
//! the others take its units over once its leases expire.
//!
//! ```text
//! DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres cargo run --bin bank-worker
//! ```
//!
//! `ESKEMA_SCHEMA` picks the schema, `ESKEMA_NODE` the node name, `ESKEMA_LEASE_TTL_MS` and
//! `ESKEMA_TICK_MS` the lease lifetime and the coordination round (5000 and 1000 by
//! default).

use std::process::ExitCode;
use std::time::Duration;

use eskema::{Engine, PostgresStore};

fn millis(var: &str) -> Option<Duration> {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .map(Duration::from_millis)
}

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), String> {
    let url = std::env::var("DATABASE_URL")
        .map_err(|_| "set DATABASE_URL: the worker runs on Postgres".to_string())?;
    let schema = std::env::var("ESKEMA_SCHEMA")
        .unwrap_or_else(|_| eskema::postgres::DEFAULT_SCHEMA.to_string());
    let store = PostgresStore::builder(url.as_str())
        .schema(schema.as_str())
        .connect()
        .await
        .map_err(|e| e.to_string())?;
    let engine = Engine::new(store);
    let read_side = eskema_demo::read_side::on_postgres(&engine, |mut b| {
        if let Ok(node) = std::env::var("ESKEMA_NODE") {
            b = b.node(node);
        }
        if let Some(ttl) = millis("ESKEMA_LEASE_TTL_MS") {
            b = b.lease_ttl(ttl);
        }
        if let Some(tick) = millis("ESKEMA_TICK_MS") {
            b = b.tick(tick);
        }
        b
    })
    .await
    .map_err(|e| e.to_string())?;
    println!("ready {} (schema `{schema}`)", read_side.node());
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| e.to_string())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
    read_side.shutdown().await;
    println!("stopped");
    Ok(())
}
