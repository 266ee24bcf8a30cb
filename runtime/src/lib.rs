//! eskema: the runtime for event-sourced domains generated from YAML by `eskema-codegen`.
//!
//! The generated code implements the traits in [`aggregate`] and calls the helpers in
//! [`validate`] and [`upcast`]; an [`Engine`] runs commands against an [`EventStore`]
//! ([`MemoryStore`] embedded, `PostgresStore` behind the `postgres` feature).
//!
//! Generated code names only this crate: everything it needs is re-exported here, so a
//! user's `Cargo.toml` lists `eskema` and (as a build dependency) `eskema-codegen`.

pub mod aggregate;
pub mod cache;
pub mod engine;
pub mod memory;
pub mod middleware;
#[cfg(feature = "postgres")]
pub mod postgres;
pub mod read;
pub mod store;
pub mod testing;
pub mod upcast;
pub mod validate;

pub use aggregate::{Aggregate, AggregateCommand, DomainEvent, Router};
pub use cache::CacheConfig;
pub use engine::{CommandContext, DispatchError, Engine, Loaded, Outcome};
pub use memory::{MemoryStore, MemoryTx};
pub use middleware::{CommandInfo, Middleware, OutcomeSummary, Rejection};
#[cfg(feature = "postgres")]
pub use postgres::PostgresStore;
pub use read::{HandlerError, ReadSide};
pub use store::{
    AppendOutcome, EventPayload, EventStore, ExpectedVersion, Metadata, NewEvent, RecordedEvent,
    Snapshot, StoreError,
};
pub use testing::{AggregateTestExt, SubscriberTestExt};
pub use upcast::UpcastError;
pub use validate::{Validate, ValidationErrors, Violation};

// Re-exports for generated code and for users, so both name one version of each crate.
pub use chrono;
pub use rust_decimal;
pub use serde;
pub use serde_json;
#[cfg(feature = "postgres")]
pub use sqlx;
pub use uuid;

/// Not public API: used by generated code only.
#[doc(hidden)]
pub mod __private {
    pub use regex::Regex;
    pub use std::sync::LazyLock;

    use crate::store::RecordedEvent;
    use crate::upcast::UpcastError;

    /// Decodes a stored event for a subscriber: straight from the stored payload when it is
    /// at the `current` version (no copy of the payload), else through `from_stored` (the
    /// event type's future-version check and upcast chain).
    pub fn decode_stored<T: serde::de::DeserializeOwned>(
        recorded: &RecordedEvent,
        current: u32,
        from_stored: fn(u32, serde_json::Value) -> Result<T, UpcastError>,
    ) -> Result<T, UpcastError> {
        if recorded.event_version == current {
            T::deserialize(&recorded.data).map_err(|e| UpcastError::Decode {
                event_type: recorded.event_type.clone(),
                version: current,
                message: e.to_string(),
            })
        } else {
            from_stored(recorded.event_version, recorded.data.clone())
        }
    }
}

/// Includes the code `eskema-codegen` generated for one context as `pub mod <context>`.
///
/// `eskema::include_domain!("bank")` expands to
/// `include!(concat!(env!("OUT_DIR"), "/bank.rs"))`; the generated file holds the
/// `pub mod bank { .. }` item itself, so its docs travel with it. Contexts that reference
/// each other (`atm.WithdrawalInitiated`) must be included side by side in the same module.
/// `eskema::include_domain!()` includes every context and the whole-domain router
/// (`domain::dispatch_json`).
#[macro_export]
macro_rules! include_domain {
    () => {
        include!(concat!(env!("OUT_DIR"), "/eskema_domain.rs"));
    };
    ($context:literal) => {
        include!(concat!(env!("OUT_DIR"), "/", $context, ".rs"));
    };
}
