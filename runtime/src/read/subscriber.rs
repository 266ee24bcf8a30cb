//! The traits generated code implements for each handler and process manager: the schema's
//! [`Spec`], how to decode its events, and how to hand them to the user's trait. The
//! behaviour (reading, checkpoints, retries, leases) is the runtime's; these declare only
//! what differs per subscriber.

use std::fmt;
use std::future::Future;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::engine::{CommandContext, DispatchError, Engine};
use crate::read::spec::Spec;
use crate::store::{EventStore, RecordedEvent};
use crate::upcast::UpcastError;

/// Why a handler or process manager could not handle an event. The runtime retries the
/// event as its failure policy says; the checkpoint never passes it until it is handled,
/// skipped on record or parked.
///
/// Any error converts into it with `?`, keeping the error as its source.
pub struct HandlerError {
    message: String,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl HandlerError {
    /// An error with this message and no source.
    pub fn new(message: impl fmt::Display) -> Self {
        HandlerError {
            message: message.to_string(),
            source: None,
        }
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    /// The error this one was converted from, if any.
    pub fn source(&self) -> Option<&(dyn std::error::Error + Send + Sync + 'static)> {
        self.source.as_deref()
    }
}

impl<E: std::error::Error + Send + Sync + 'static> From<E> for HandlerError {
    fn from(error: E) -> Self {
        HandlerError {
            message: error.to_string(),
            source: Some(Box::new(error)),
        }
    }
}

impl fmt::Display for HandlerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Debug for HandlerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HandlerError")
            .field("message", &self.message)
            .field("source", &self.source)
            .finish()
    }
}

/// A handler or process manager of the schema (generated: one per `handlers:` and
/// `process_managers:` entry).
pub trait Subscription: Send + Sync + 'static {
    /// The enum of the events it takes, in the order of [`Spec::events`].
    type Event: Send + Sync + fmt::Debug + 'static;
    const SPEC: Spec;

    /// Decodes (upcasting) a stored event that matched `SPEC.events[index]`.
    fn decode(index: usize, recorded: &RecordedEvent) -> Result<Self::Event, UpcastError>;

    /// The index of the event's key in `SPEC.events`, and its payload as stored: what the
    /// test helpers make stored events from.
    fn encode(event: &Self::Event) -> (usize, serde_json::Value);
}

/// What a handler's method returns: the future of its result, `Send` so that the read side
/// may run it on any thread. Implement the method as an `async fn`.
pub trait Handled: Future<Output = Result<(), HandlerError>> + Send {}

impl<F: Future<Output = Result<(), HandlerError>> + Send> Handled for F {}

/// Hands an event of `Self` to the side-effect handler `H` (generated for every type that
/// implements the handler's trait).
pub trait Deliver<H>: Subscription {
    fn deliver(
        handler: &H,
        event: &Self::Event,
        recorded: &RecordedEvent,
    ) -> impl Future<Output = Result<(), HandlerError>> + Send;
}

/// Hands an event of `Self` to the projection `H`, which writes its read model on `C`, the
/// store's transaction (generated for every type that implements the handler's trait).
pub trait Project<H, C: ?Sized>: Subscription {
    fn project(
        handler: &H,
        conn: &mut C,
        event: &Self::Event,
        recorded: &RecordedEvent,
    ) -> impl Future<Output = Result<(), HandlerError>> + Send;

    /// Empties the read model, for a rebuild from origin.
    fn reset(handler: &H, conn: &mut C) -> impl Future<Output = Result<(), HandlerError>> + Send;
}

/// A process manager: its state struct (generated from `state:`) implements this through the
/// user's `<Process>Process` trait. One instance lives per value of the `identity` field.
pub trait ProcessManager:
    Subscription + Default + Clone + fmt::Debug + Serialize + DeserializeOwned
{
    /// The commands it may dispatch (the generated `<Process>Dispatch` enum).
    type Command: Commands;

    /// The instance `event` belongs to: its identity field, as a string.
    fn instance(event: &Self::Event) -> String;

    /// Updates the state for `event` and returns the commands to dispatch. Must depend on
    /// the state and the event only: after a crash the event is handled again and must ask
    /// for the same commands, which then have the same ids and are not run twice.
    fn handle(
        &mut self,
        event: &Self::Event,
        recorded: &RecordedEvent,
    ) -> Result<Vec<Self::Command>, HandlerError>;
}

/// The commands a process manager dispatches, across contexts (generated).
pub trait Commands: Send + Sync + Clone + fmt::Debug + PartialEq + 'static {
    /// `context.Command`.
    fn command_name(&self) -> &'static str;

    /// Dispatches the command through its context's router. The domain error is rendered to
    /// its message (contexts differ in their error types).
    fn dispatch<S: EventStore>(
        self,
        engine: &Engine<S>,
        ctx: CommandContext,
    ) -> impl Future<Output = Result<Vec<RecordedEvent>, DispatchError<String>>> + Send;
}

/// The error of a generated `Subscription::decode` for an event index it does not know.
#[doc(hidden)]
pub fn unknown<S: Subscription>(recorded: &RecordedEvent) -> crate::UpcastError {
    crate::UpcastError::unknown(&recorded.event_type, &S::SPEC.id().replace('.', "::"))
}

/// A dispatched command's outcome as a process manager records it: the events, or the
/// error with the domain error rendered to its message.
#[doc(hidden)]
pub fn recorded<E, F: fmt::Display>(
    result: Result<crate::Outcome<E>, DispatchError<F>>,
) -> Result<Vec<RecordedEvent>, DispatchError<String>> {
    result
        .map(|outcome| outcome.recorded)
        .map_err(|e| e.map_domain(|d| d.to_string()))
}
