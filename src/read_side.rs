//! The demo's read side: the `AccountBalances` projection, the `Notifications` outbox and
//! the `Withdrawal` process manager, ready to start on either store.

use eskema::read::ReadSide;
use eskema::{Engine, MemoryStore};

use crate::bank;
use crate::logic::account_balances::BalancesInMemory;
use crate::logic::notifications::Outbox;

/// What starting can fail on.
pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// The read side on the in-memory store; the outbox collects the notifications.
pub async fn in_memory(
    engine: &Engine<MemoryStore>,
    outbox: Outbox,
) -> Result<ReadSide<MemoryStore>, Error> {
    Ok(ReadSide::builder(engine)
        .projection(bank::AccountBalances, BalancesInMemory)
        .handler(bank::Notifications, outbox)
        .process::<bank::Withdrawal>()
        .start()
        .await?)
}

/// The read side on Postgres (its tables are created first); `tune` sets the builder's
/// options (node name, lease lifetime, ...).
#[cfg(feature = "postgres")]
pub async fn on_postgres(
    engine: &Engine<eskema::PostgresStore>,
    tune: impl FnOnce(
        eskema::read::ReadSideBuilder<eskema::PostgresStore>,
    ) -> eskema::read::ReadSideBuilder<eskema::PostgresStore>,
) -> Result<ReadSide<eskema::PostgresStore>, Error> {
    use crate::logic::account_balances::BalancesTable;
    use crate::logic::notifications::OutboxTable;
    let pool = engine.store().pool();
    // Processes starting at once create the tables one after the other.
    let mut tx = pool.begin().await?;
    eskema::sqlx::query("SELECT pg_advisory_xact_lock(hashtext('eskema_demo.tables'))")
        .execute(&mut *tx)
        .await?;
    BalancesTable::create(&mut tx).await?;
    OutboxTable::create(&mut tx).await?;
    tx.commit().await?;
    let outbox = OutboxTable::new(pool);
    let builder = ReadSide::builder(engine)
        .projection(bank::AccountBalances, BalancesTable)
        .handler(bank::Notifications, outbox)
        .process::<bank::Withdrawal>();
    Ok(tune(builder).start().await?)
}
