//! What an older deployment stored, as it stored it, for the tests of the one read path
//! (`stored_event_versions.rs` on memory, `stored_event_versions_postgres.rs` on Postgres).

use std::time::Duration;

use eskema::EventStore;
use eskema::read::{FailedEvent, ReadSide, ReadStore};
use eskema::serde_json::{Value, json};
use eskema::store::{ExpectedVersion, Metadata, NewEvent};
use eskema::uuid::Uuid;

pub const ACC: &str = "ACC000001";
pub const STREAM: &str = "bank-account-ACC000001";

/// `BankAccountOpened` as v1 stored it: no currency.
pub fn opened_v1(balance: i64) -> Value {
    json!({"account_number": ACC, "initial_balance": balance, "pin": "1111"})
}

/// `MoneyWithdrawn` as it was stored before the rename, under `CashWithdrawn`.
pub fn cash_withdrawn(withdrawal_id: Uuid, amount: i64, balance: i64) -> Value {
    json!({"account_number": ACC, "withdrawal_id": withdrawal_id, "amount": amount, "balance": balance})
}

/// Appends events to `stream` exactly as an older deployment wrote them: its type names,
/// its versions, its payloads; under `command_id` when given.
pub async fn store_raw<S: EventStore>(
    store: &S,
    stream: &str,
    events: &[(&str, u32, Value)],
    command_id: Option<Uuid>,
) {
    let events = events
        .iter()
        .map(|(event_type, version, data)| {
            NewEvent::new(*event_type, *version, data.clone(), Metadata::default())
        })
        .collect();
    store
        .append(stream, ExpectedVersion::Any, events, command_id)
        .await
        .expect("append the old events");
}

/// The account as the previous deployment left it: opened (v1, 80) and 30 withdrawn under
/// the old name (balance 50).
pub async fn old_account<S: EventStore>(store: &S) {
    store_raw(
        store,
        STREAM,
        &[
            ("BankAccountOpened", 1, opened_v1(80)),
            ("CashWithdrawn", 1, cash_withdrawn(Uuid::nil(), 30, 50)),
        ],
        None,
    )
    .await;
}

/// Waits (at most a minute) until `n` events are parked.
pub async fn parked<S: ReadStore>(read_side: &ReadSide<S>, n: usize) -> Vec<FailedEvent> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let failures = read_side.failures(None).await.expect("failures");
        if failures.len() >= n {
            return failures;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "only {} of {n} parked",
            failures.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
