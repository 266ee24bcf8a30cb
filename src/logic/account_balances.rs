//! The `AccountBalances` projection: every account's balance, kept up to date by the read
//! side, exactly once per event. In memory its rows are documents of the transaction the
//! read side hands it ([`BalancesInMemory`]); on Postgres, a table written in the same
//! transaction that moves its checkpoint ([`BalancesTable`]).

use eskema::{HandlerError, MemoryStore, MemoryTx, RecordedEvent};

use crate::bank::*;

/// The document table [`BalancesInMemory`] writes.
pub const TABLE: &str = "account_balances";

/// One account's row.
#[derive(Debug, Clone, PartialEq, Eq, eskema::serde::Serialize, eskema::serde::Deserialize)]
#[serde(crate = "eskema::serde")]
pub struct Balance {
    pub balance: i64,
    /// Events applied to this row: each once, so it equals the account's events.
    pub events: u64,
}

/// `AccountBalances` on the in-memory store.
#[derive(Debug, Clone, Copy, Default)]
pub struct BalancesInMemory;

impl BalancesInMemory {
    /// The committed balance of `account`.
    pub fn balance(store: &MemoryStore, account: &str) -> Option<Balance> {
        store.document(TABLE, account).ok().flatten()
    }

    fn set(tx: &mut MemoryTx, account: &str, balance: i64) -> Result<(), HandlerError> {
        let events = tx.get::<Balance>(TABLE, account)?.map_or(0, |b| b.events);
        tx.put(
            TABLE,
            account,
            &Balance {
                balance,
                events: events + 1,
            },
        )?;
        Ok(())
    }
}

impl AccountBalancesHandler<MemoryTx> for BalancesInMemory {
    async fn on_bank_account_opened(
        &self,
        tx: &mut MemoryTx,
        event: &BankAccountOpened,
        _recorded: &RecordedEvent,
    ) -> Result<(), HandlerError> {
        Self::set(tx, &event.account_number, event.initial_balance)
    }

    async fn on_money_deposited(
        &self,
        tx: &mut MemoryTx,
        event: &MoneyDeposited,
        _recorded: &RecordedEvent,
    ) -> Result<(), HandlerError> {
        Self::set(tx, &event.account_number, event.balance)
    }

    async fn on_money_withdrawn(
        &self,
        tx: &mut MemoryTx,
        event: &MoneyWithdrawn,
        _recorded: &RecordedEvent,
    ) -> Result<(), HandlerError> {
        Self::set(tx, &event.account_number, event.balance)
    }

    async fn reset(&self, tx: &mut MemoryTx) -> Result<(), HandlerError> {
        tx.clear(TABLE);
        Ok(())
    }
}

#[cfg(feature = "postgres")]
pub use on_postgres::BalancesTable;

#[cfg(feature = "postgres")]
mod on_postgres {
    use eskema::sqlx::{self, PgConnection, PgPool};
    use eskema::{HandlerError, RecordedEvent};

    use super::Balance;
    use crate::bank::*;

    /// `AccountBalances` on Postgres: the table `account_balances`, in the store's schema.
    #[derive(Debug, Clone, Copy, Default)]
    pub struct BalancesTable;

    impl BalancesTable {
        /// Creates the table if it is not there (the demo's stand-in for a migration).
        pub async fn create(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
            sqlx::query(
                "CREATE TABLE IF NOT EXISTS account_balances (
                     account_number text PRIMARY KEY,
                     balance bigint NOT NULL,
                     events bigint NOT NULL
                 )",
            )
            .execute(conn)
            .await?;
            Ok(())
        }

        /// The committed balance of `account`.
        pub async fn balance(pool: &PgPool, account: &str) -> Result<Option<Balance>, sqlx::Error> {
            let row: Option<(i64, i64)> = sqlx::query_as(
                "SELECT balance, events FROM account_balances WHERE account_number = $1",
            )
            .bind(account)
            .fetch_optional(pool)
            .await?;
            Ok(row.map(|(balance, events)| Balance {
                balance,
                events: u64::try_from(events).unwrap_or(0),
            }))
        }

        async fn set(
            conn: &mut PgConnection,
            account: &str,
            balance: i64,
        ) -> Result<(), HandlerError> {
            sqlx::query(
                "INSERT INTO account_balances (account_number, balance, events) VALUES ($1, $2, 1)
                 ON CONFLICT (account_number) DO UPDATE
                 SET balance = EXCLUDED.balance, events = account_balances.events + 1",
            )
            .bind(account)
            .bind(balance)
            .execute(conn)
            .await?;
            Ok(())
        }
    }

    impl AccountBalancesHandler<PgConnection> for BalancesTable {
        async fn on_bank_account_opened(
            &self,
            conn: &mut PgConnection,
            event: &BankAccountOpened,
            _recorded: &RecordedEvent,
        ) -> Result<(), HandlerError> {
            Self::set(conn, &event.account_number, event.initial_balance).await
        }

        async fn on_money_deposited(
            &self,
            conn: &mut PgConnection,
            event: &MoneyDeposited,
            _recorded: &RecordedEvent,
        ) -> Result<(), HandlerError> {
            Self::set(conn, &event.account_number, event.balance).await
        }

        async fn on_money_withdrawn(
            &self,
            conn: &mut PgConnection,
            event: &MoneyWithdrawn,
            _recorded: &RecordedEvent,
        ) -> Result<(), HandlerError> {
            Self::set(conn, &event.account_number, event.balance).await
        }

        async fn reset(&self, conn: &mut PgConnection) -> Result<(), HandlerError> {
            sqlx::query("DELETE FROM account_balances")
                .execute(conn)
                .await?;
            Ok(())
        }
    }
}
