//! The traits generated code implements: aggregates, their commands and events, and the
//! per-context router.

use std::fmt::Debug;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::upcast::UpcastError;
use crate::validate::Validate;

/// An event-sourced aggregate: its state struct, generated from `state:`, implements this
/// (through the user's `<Aggregate>Logic` impl).
pub trait Aggregate:
    Default + Clone + Debug + Serialize + DeserializeOwned + Send + Sync + 'static
{
    /// The aggregate's name in the schema, e.g. `BankAccount`.
    const NAME: &'static str;
    /// The context (schema file) it belongs to, e.g. `bank`.
    const CONTEXT: &'static str;
    /// Take a snapshot every this many events (`snapshot_every:`).
    const SNAPSHOT_EVERY: Option<u64>;
    /// Hash of the state's field names and types: snapshots taken under another shape are
    /// ignored.
    const STATE_HASH: &'static str;

    type Command: AggregateCommand;
    type Event: DomainEvent;
    type Error: std::error::Error + Clone + Send + Sync + 'static;

    /// Stream id for an identity value: `stream_prefix` + identity.
    fn stream_id(identity: &str) -> String;

    /// Runs the executor of `command` on the current state. Pure: no I/O, no mutation.
    fn execute(&self, command: &Self::Command) -> Result<Vec<Self::Event>, Self::Error>;

    /// Runs the applier of `event`.
    fn apply(&mut self, event: &Self::Event);
}

/// A command enum of one aggregate (`BankAccountCommand`).
pub trait AggregateCommand: Validate + Debug + Clone + Serialize + Send + Sync + 'static {
    /// The command's name, e.g. `OpenBankAccount`.
    fn name(&self) -> &'static str;
    /// The identity value, as it appears in the stream id.
    fn identity(&self) -> String;
}

/// An event enum of one aggregate (`BankAccountEvent`), or of a context (`Event`).
pub trait DomainEvent: Debug + Clone + PartialEq + Serialize + Send + Sync + 'static {
    /// The current type name, e.g. `BankAccountOpened`.
    fn event_type(&self) -> &'static str;
    /// The current schema version of this event type.
    fn event_version(&self) -> u32;
    /// The payload to store: the event struct's JSON, without the enum tag.
    fn to_data(&self) -> Value;
    /// Decodes a stored event: resolves `renamed_from`, runs the upcasters from
    /// `event_version` up to the current version, then deserializes.
    fn from_stored(event_type: &str, event_version: u32, data: Value) -> Result<Self, UpcastError>;
}

/// Deserializes an upcast payload into an event struct, mapping serde's error.
pub fn decode_event<T: DeserializeOwned>(
    event_type: &str,
    version: u32,
    data: Value,
) -> Result<T, UpcastError> {
    serde_json::from_value(data).map_err(|e| UpcastError::Decode {
        event_type: event_type.to_string(),
        version,
        message: e.to_string(),
    })
}

/// A context's router (`bank::Router`): decodes commands by name, for `dispatch_json`.
pub trait Router: Send + Sync + 'static {
    /// The context name, e.g. `bank`.
    const CONTEXT: &'static str;
    /// Every command name this context routes, in schema order.
    const COMMANDS: &'static [&'static str];
    /// The context's command enum (`bank::Command`).
    type Command: Validate + Debug + Clone + Send + Sync + 'static;

    /// Decodes `json` as the command called `name`; `None` when no command has that name.
    fn decode(name: &str, json: Value) -> Option<Result<Self::Command, serde_json::Error>>;
}
