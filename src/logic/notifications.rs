//! The `Notifications` handler: a message to the account holder for every withdrawal. A
//! side effect, so delivered at least once: the outbox keys each message by the event's
//! global position, so a redelivered event is not sent twice.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use eskema::{HandlerError, RecordedEvent};

use crate::bank::*;

/// The message for a withdrawal.
pub fn message(event: &MoneyWithdrawn) -> String {
    format!(
        "{}: {} withdrawn, balance {}",
        event.account_number, event.amount, event.balance
    )
}

/// `Notifications` in memory: the messages, by the position of their event.
#[derive(Debug, Clone, Default)]
pub struct Outbox {
    sent: Arc<Mutex<BTreeMap<u64, String>>>,
}

impl Outbox {
    /// Every message, in the order of their events.
    pub fn messages(&self) -> Vec<String> {
        self.sent
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .cloned()
            .collect()
    }
}

impl NotificationsHandler for Outbox {
    async fn on_money_withdrawn(
        &self,
        event: &MoneyWithdrawn,
        recorded: &RecordedEvent,
    ) -> Result<(), HandlerError> {
        self.sent
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(recorded.position)
            .or_insert_with(|| message(event));
        Ok(())
    }
}

#[cfg(feature = "postgres")]
pub use on_postgres::OutboxTable;

#[cfg(feature = "postgres")]
mod on_postgres {
    use eskema::sqlx::{self, PgPool};
    use eskema::{HandlerError, RecordedEvent};

    use super::message;
    use crate::bank::*;

    /// `Notifications` on Postgres: the table `notifications`, one row per withdrawal event
    /// (its position is the key), counting deliveries; `sent_seq` numbers first deliveries
    /// in the order they happened.
    #[derive(Debug, Clone)]
    pub struct OutboxTable {
        pool: PgPool,
    }

    impl OutboxTable {
        /// The outbox writing on `pool`.
        pub fn new(pool: &PgPool) -> OutboxTable {
            OutboxTable { pool: pool.clone() }
        }

        /// Creates the table if needed (the demo's stand-in for a migration).
        pub async fn create(conn: &mut eskema::sqlx::PgConnection) -> Result<(), sqlx::Error> {
            sqlx::query(
                "CREATE TABLE IF NOT EXISTS notifications (
                     position bigint PRIMARY KEY,
                     stream_id text NOT NULL,
                     stream_version bigint NOT NULL,
                     message text NOT NULL,
                     deliveries int NOT NULL DEFAULT 1,
                     sent_seq bigserial
                 )",
            )
            .execute(conn)
            .await?;
            Ok(())
        }
    }

    impl NotificationsHandler for OutboxTable {
        async fn on_money_withdrawn(
            &self,
            event: &MoneyWithdrawn,
            recorded: &RecordedEvent,
        ) -> Result<(), HandlerError> {
            sqlx::query(
                "INSERT INTO notifications (position, stream_id, stream_version, message)
                 VALUES ($1, $2, $3, $4)
                 ON CONFLICT (position) DO UPDATE SET deliveries = notifications.deliveries + 1",
            )
            .bind(i64::try_from(recorded.position).unwrap_or(i64::MAX))
            .bind(&recorded.stream_id)
            .bind(i64::try_from(recorded.stream_version).unwrap_or(i64::MAX))
            .bind(message(event))
            .execute(&self.pool)
            .await?;
            Ok(())
        }
    }
}
