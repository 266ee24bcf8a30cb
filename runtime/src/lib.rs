//! eskema: the runtime for event-sourced domains generated from YAML by `eskema-codegen`.
//!
//! What you write against:
//!
//! | to ... | use |
//! |---|---|
//! | run commands | [`Engine`] with [`CommandContext`]; it returns an [`Outcome`] or a [`DispatchError`] |
//! | store events | [`MemoryStore`] (embedded), `PostgresStore` (feature `postgres`), or your own [`EventStore`] |
//! | run handlers, projections and process managers | [`ReadSide`]; handlers return [`HandlerError`]; projections in memory write on [`MemoryTx`] |
//! | read stored events | [`RecordedEvent`]; [`Event`] decodes one (`MoneyDeposited::from_recorded`) |
//! | check commands yourself | [`Validate`], [`ValidationErrors`], [`Violation`] |
//! | test logic without a store | [`AggregateTestExt`], [`SubscriberTestExt`] |
//! | tune | [`CacheConfig`]; [`middleware`] for auth, logging, metrics |
//! | include the generated code | [`include_domain!`] |
//!
//! The traits the generated code implements are in [`aggregate`] and [`event`] (and the
//! read side's in [`read`]); [`store`] has what a store implementation needs. Generated code
//! names only this crate: the crates its types use are re-exported here (`uuid`, `chrono`,
//! `rust_decimal`, `serde`, `serde_json`, `sqlx`), so your `Cargo.toml` lists `eskema` and
//! (as a build dependency) `eskema-codegen`.

pub mod aggregate;
mod cache;
mod engine;
pub mod event;
mod memory;
pub mod middleware;
mod object;
#[cfg(feature = "postgres")]
pub mod postgres;
pub mod read;
pub mod store;
pub mod testing;
mod upcast;
mod validate;

pub use cache::CacheConfig;
pub use engine::{CommandContext, DispatchError, Engine, Outcome};
pub use event::Event;
pub use memory::{MemoryStore, MemoryTx};
#[cfg(feature = "postgres")]
pub use postgres::PostgresStore;
pub use read::{HandlerError, ReadSide};
pub use store::{EventStore, RecordedEvent, StoreError};
pub use testing::{AggregateTestExt, SubscriberTestExt};
pub use upcast::UpcastError;
pub use validate::{Validate, ValidationErrors, Violation};

// The crates whose types generated code puts in your structs, re-exported so that your code
// and the generated code name one version of each.
pub use chrono;
pub use rust_decimal;
pub use serde;
pub use serde_json;
#[cfg(feature = "postgres")]
pub use sqlx;
pub use uuid;

/// Not public API: what generated code calls and nothing else should.
#[doc(hidden)]
pub mod __private {
    pub use regex::Regex;
    pub use std::sync::LazyLock;

    pub use crate::__dispatch_fns as dispatch_fns;
    pub use crate::aggregate::{decode_command, emitted, execute};
    pub use crate::engine::{PAGES_AHEAD, READ_PAGE};
    pub use crate::event::{decode, decode_recorded};
    pub use crate::read::subscriber::{recorded, unknown};
    pub use crate::upcast::{add_json, as_object, remove, rename};
    pub use crate::validate::Check;
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

/// `From` impls for enums whose variants wrap one value each: `Enum { A, B(path::B) }` makes
/// `From<A> for Enum` (a variant without a type wraps the type of its own name) and
/// `From<path::B> for Enum`; `Enum { V: [T, U] }` converts `T` and `U` through the variant's
/// own `From` (`V(From::from(t))`); `To from From { A, B }` converts an enum into one with the
/// same variants among others. Generated code only.
#[doc(hidden)]
#[macro_export]
macro_rules! __from_variants {
    (@ty $variant:ident) => { $variant };
    (@ty $variant:ident $ty:ty) => { $ty };
    ($enum:ident from $from:ident { $($variant:ident),* $(,)? }) => {
        impl ::core::convert::From<$from> for $enum {
            fn from(value: $from) -> Self {
                match value {
                    $($from::$variant(e) => Self::$variant(e),)*
                }
            }
        }
    };
    ($enum:ident { $($variant:ident $(($ty:ty))?),* $(,)? }) => {
        $(
            impl ::core::convert::From<$crate::__from_variants!(@ty $variant $($ty)?)> for $enum {
                fn from(value: $crate::__from_variants!(@ty $variant $($ty)?)) -> Self {
                    Self::$variant(value)
                }
            }
        )*
    };
    ($enum:ident { $($variant:ident: [$($ty:ty),* $(,)?]),* $(,)? }) => {
        $($(
            impl ::core::convert::From<$ty> for $enum {
                fn from(value: $ty) -> Self {
                    Self::$variant(::core::convert::From::from(value))
                }
            }
        )*)*
    };
}

/// A context's dispatch functions, `dispatch`, `dispatch_with`, `dispatch_json` and
/// `dispatch_json_with`, over its `Router`: what every generated context module declares.
/// Generated code only.
#[doc(hidden)]
#[macro_export]
macro_rules! __dispatch_fns {
    ($router:ident, $command:ident) => {
        /// Validates `command`, then runs it on its aggregate (load, execute, append), with a
        /// fresh command id. See [`dispatch_with`] to pass ids and metadata.
        pub async fn dispatch<S: $crate::EventStore>(
            engine: &$crate::Engine<S>,
            command: impl Into<$command>,
        ) -> $crate::aggregate::Dispatched<$router> {
            dispatch_with(engine, command, $crate::CommandContext::default()).await
        }

        /// [`dispatch`] with a [`CommandContext`]($crate::CommandContext): a command id makes
        /// the dispatch idempotent; correlation and causation ids and extra metadata go into
        /// every event.
        pub async fn dispatch_with<S: $crate::EventStore>(
            engine: &$crate::Engine<S>,
            command: impl Into<$command>,
            ctx: $crate::CommandContext,
        ) -> $crate::aggregate::Dispatched<$router> {
            <$router as $crate::aggregate::Router>::dispatch(engine, command.into(), ctx).await
        }

        /// Decodes `json` as the command called `name` (bare, or `context.Command`), then
        /// [`dispatch`]es it. An unknown name is `DispatchError::UnknownCommand`; JSON of the
        /// wrong shape (unknown fields included) is `DispatchError::Decode`.
        pub async fn dispatch_json<S: $crate::EventStore>(
            engine: &$crate::Engine<S>,
            name: &str,
            json: $crate::serde_json::Value,
        ) -> $crate::aggregate::Dispatched<$router> {
            dispatch_json_with(engine, name, json, $crate::CommandContext::default()).await
        }

        /// [`dispatch_json`] with a [`CommandContext`]($crate::CommandContext).
        pub async fn dispatch_json_with<S: $crate::EventStore>(
            engine: &$crate::Engine<S>,
            name: &str,
            json: $crate::serde_json::Value,
            ctx: $crate::CommandContext,
        ) -> $crate::aggregate::Dispatched<$router> {
            <$router as $crate::aggregate::Router>::dispatch_json(engine, name, json, ctx).await
        }
    };
}
