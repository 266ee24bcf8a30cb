//! The read side: handlers, projections and process managers that run by themselves, on
//! one process or several sharing one store.
//!
//! Start a [`ReadSide`] with the subscribers a process runs; it registers them in the store,
//! attaches them to the engine (so `consistency: strong` is waited for), and keeps them
//! running:
//!
//! - **Reading.** One reader per process, in global order, from each subscriber's
//!   checkpoint; woken by the store when events are appended (in-process on
//!   [`crate::MemoryStore`], LISTEN/NOTIFY across processes on Postgres), polling as a
//!   fallback. The safe head it reads up to never passes an event that may still commit
//!   with a smaller position.
//! - **Delivery.** Side-effect handlers get every event at least once, with its global
//!   position as an idempotency key. Projections write their read model in the transaction
//!   that moves their checkpoint, one transaction per batch: exactly once. Process managers
//!   dispatch commands whose ids derive from the event, then save their state with the
//!   checkpoint: a redelivered event re-dispatches the same ids, which are no-ops.
//! - **Failure.** An event whose handler fails is retried as the schema's `on_failure` says,
//!   then the subscriber stops, skips it on record, or parks it (listable, replayable). A
//!   crash while handling counts as an attempt: events in flight at a crash are handled one
//!   at a time afterwards, each attempt written down first, so a poison event cannot loop
//!   for ever. The checkpoint never passes an event that was neither handled, skipped on
//!   record, nor parked.
//! - **Many processes.** Each unit (a subscriber, or one of its `partitions`) runs in one
//!   process at a time, under a lease whose token every checkpoint write checks in the
//!   same transaction; leases are renewed apart from handler work, and units are dealt over
//!   the live processes and move when one joins, leaves or dies.

pub mod consistency;
mod deliver;
mod feed;
pub mod process;
mod side;
pub mod spec;
pub mod store;
pub mod subscriber;
mod worker;

pub use consistency::{LagReason, Lagging, Unconfirmed, WaitError};
pub use process::Planned;
pub use side::{ReadError, ReadSide, ReadSideBuilder, Rebuild, UnitStatus};
pub use spec::{Consistency, EventKey, Exhausted, FailurePolicy, Kind, Role, Spec, StartFrom};
pub use store::{Checkpoint, FailedEvent, FailureOutcome, ReadStore, UnitId};
pub use subscriber::{
    Commands, Deliver, Handled, HandlerError, ProcessManager, Project, Subscription,
};

/// Resolves once `stop` turns true (or its sender is gone).
pub(crate) async fn stopped(stop: &mut tokio::sync::watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}
