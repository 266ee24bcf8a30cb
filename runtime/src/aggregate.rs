//! The traits generated code implements for aggregates, their commands and the per-context
//! router. Events have their own module, [`crate::event`].

use std::fmt::Debug;
use std::future::Future;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

pub use crate::engine::Loaded;
use crate::engine::{CommandContext, DispatchError, Engine, Outcome};
use crate::event::DomainEvent;
use crate::store::EventStore;
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
pub trait AggregateCommand: Validate + Debug + Clone + Send + Sync + 'static {
    /// The command's name, e.g. `OpenBankAccount`.
    fn name(&self) -> &'static str;
    /// The identity value, as it appears in the stream id.
    fn identity(&self) -> String;
}

/// The result of dispatching a context's command: its events, or why not.
pub type Dispatched<R> = Result<Outcome<<R as Router>::Event>, DispatchError<<R as Router>::Error>>;

/// A context's router (`bank::Router`): runs each command on its aggregate, and decodes
/// commands by name for `dispatch_json`.
pub trait Router: Send + Sync + 'static {
    /// The context name, e.g. `bank`.
    const CONTEXT: &'static str;
    /// Every command name this context routes, in schema order.
    const COMMANDS: &'static [&'static str];
    /// The context's command enum (`bank::Command`).
    type Command: Debug + Clone + Send + Sync + 'static;
    /// The context's event enum (`bank::Event`).
    type Event: DomainEvent;
    /// The context's domain error (`bank::Error`).
    type Error: std::error::Error + Clone + Send + Sync + 'static;

    /// Decodes `json` as the command called `name`; `None` when no command has that name.
    fn decode(name: &str, json: Value) -> Option<Result<Self::Command, serde_json::Error>>;

    /// Validates `command`, then runs it on its aggregate (load, execute, append).
    fn dispatch<S: EventStore>(
        engine: &Engine<S>,
        command: Self::Command,
        ctx: CommandContext,
    ) -> impl Future<Output = Dispatched<Self>> + Send;

    /// Decodes `json` as the command called `name` (bare, or qualified with this context:
    /// `bank.OpenBankAccount`), then [`Router::dispatch`]es it. An unknown name is
    /// [`DispatchError::UnknownCommand`]; JSON of the wrong shape (unknown fields included)
    /// is [`DispatchError::Decode`].
    fn dispatch_json<S: EventStore>(
        engine: &Engine<S>,
        name: &str,
        json: Value,
        ctx: CommandContext,
    ) -> impl Future<Output = Dispatched<Self>> + Send {
        async move {
            let bare = name
                .strip_prefix(Self::CONTEXT)
                .and_then(|rest| rest.strip_prefix('.'))
                .unwrap_or(name);
            match Self::decode(bare, json) {
                Some(Ok(command)) => Self::dispatch(engine, command, ctx).await,
                Some(Err(e)) => Err(DispatchError::Decode {
                    name: name.to_string(),
                    message: e.to_string(),
                }),
                None => Err(DispatchError::UnknownCommand {
                    name: name.to_string(),
                    known: Self::COMMANDS.join(", "),
                }),
            }
        }
    }
}

/// An executor's result as the aggregate's events: what generated `execute` returns.
#[doc(hidden)]
pub fn emitted<T, E: From<T>, Err>(result: Result<Vec<T>, Err>) -> Result<Vec<E>, Err> {
    // Popped and reversed rather than `into_iter().map(Into::into).collect()`: this is
    // compiled once per event type of the user's domain, and the iterator chain made the
    // compiler generate about 30 functions for each, where this loop needs 9.
    let mut events = result?;
    let mut out = Vec::with_capacity(events.len());
    while let Some(event) = events.pop() {
        out.push(E::from(event));
    }
    out.reverse();
    Ok(out)
}

/// Decodes `json` as command `C` into the context's command enum: what the arms of a
/// generated `Router::decode` call.
#[doc(hidden)]
pub fn decode_command<C: DeserializeOwned, T: From<C>>(
    json: Value,
) -> Option<Result<T, serde_json::Error>> {
    // Through the struct reader events are read with: one deserializer per type is compiled.
    match crate::object::from_object::<C>(&json) {
        Ok(command) => Some(Ok(T::from(command))),
        Err(e) => Some(Err(e)),
    }
}

/// Runs `command` on aggregate `A` and converts its outcome into the context's types: what
/// the arms of a generated `Router::dispatch` call.
#[doc(hidden)]
pub async fn execute<A, R, S>(
    engine: &Engine<S>,
    command: A::Command,
    ctx: CommandContext,
) -> Dispatched<R>
where
    A: Aggregate,
    R: Router,
    R::Event: From<A::Event>,
    R::Error: From<A::Error>,
    S: EventStore,
{
    engine
        .execute::<A>(command, ctx)
        .await
        .map(|outcome| outcome.map_events(Into::into))
        .map_err(|e| e.map_domain(Into::into))
}
