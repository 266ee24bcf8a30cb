//! The command pipeline: validate -> load (snapshot + newer events, upcast) -> execute ->
//! append with the expected version (retry on conflict) -> apply -> return.

use std::sync::Arc;

use serde::Serialize;
use uuid::Uuid;

use crate::aggregate::{Aggregate, AggregateCommand, DomainEvent};
use crate::store::{
    AppendOutcome, EventStore, ExpectedVersion, Metadata, NewEvent, RecordedEvent, StoreError,
};
use crate::upcast::UpcastError;
use crate::validate::{Validate, ValidationErrors};

/// How many events one read of a stream fetches: rehydration memory is bounded by this, not
/// by the stream's length.
pub const READ_PAGE: usize = 1_000;

/// Ids and metadata a caller attaches to a command.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CommandContext {
    /// Idempotency key: dispatching the same id twice appends once; the second call gets the
    /// first call's events. A fresh UUID v7 when `None`.
    pub command_id: Option<Uuid>,
    /// Defaults to the command id.
    pub correlation_id: Option<Uuid>,
    /// Defaults to the command id.
    pub causation_id: Option<Uuid>,
    /// Copied into every event's metadata.
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl CommandContext {
    pub fn with_command_id(command_id: Uuid) -> Self {
        CommandContext {
            command_id: Some(command_id),
            ..Default::default()
        }
    }
}

/// What a successful dispatch returns.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome<E> {
    pub stream_id: String,
    /// The stream's version after the command.
    pub version: u64,
    /// The events the command produced, typed.
    pub events: Vec<E>,
    /// The same events as stored (ids, positions, metadata).
    pub recorded: Vec<RecordedEvent>,
    /// True when the command id had been dispatched before and nothing was appended.
    pub duplicate: bool,
}

impl<E> Outcome<E> {
    /// Converts the typed events, e.g. from an aggregate's event enum to its context's.
    pub fn map_events<F>(self, f: impl FnMut(E) -> F) -> Outcome<F> {
        Outcome {
            stream_id: self.stream_id,
            version: self.version,
            events: self.events.into_iter().map(f).collect(),
            recorded: self.recorded,
            duplicate: self.duplicate,
        }
    }
}

/// Why a dispatch failed. Nothing was appended in every case.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DispatchError<E> {
    /// The command broke its validation rules; every violation is listed.
    #[error("invalid command: {0}")]
    Validation(ValidationErrors),
    /// The executor refused the command.
    #[error("command rejected: {0}")]
    Domain(E),
    /// Other writers kept moving the stream; gave up after this many attempts.
    #[error("concurrency conflict on `{stream_id}` persisted after {attempts} attempts")]
    Conflict { stream_id: String, attempts: u32 },
    /// A stored event could not be read as a current event.
    #[error(transparent)]
    Upcast(UpcastError),
    #[error(transparent)]
    Store(StoreError),
    /// `dispatch_json` got a name no command has.
    #[error("unknown command `{name}`; known: {known}")]
    UnknownCommand { name: String, known: String },
    /// `dispatch_json` got JSON that is not the command's shape.
    #[error("command `{name}` could not be decoded: {message}")]
    Decode { name: String, message: String },
}

impl<E> DispatchError<E> {
    /// Wraps the domain error, e.g. into a context's error enum.
    pub fn map_domain<F>(self, f: impl FnOnce(E) -> F) -> DispatchError<F> {
        match self {
            DispatchError::Validation(v) => DispatchError::Validation(v),
            DispatchError::Domain(e) => DispatchError::Domain(f(e)),
            DispatchError::Conflict {
                stream_id,
                attempts,
            } => DispatchError::Conflict {
                stream_id,
                attempts,
            },
            DispatchError::Upcast(e) => DispatchError::Upcast(e),
            DispatchError::Store(e) => DispatchError::Store(e),
            DispatchError::UnknownCommand { name, known } => {
                DispatchError::UnknownCommand { name, known }
            }
            DispatchError::Decode { name, message } => DispatchError::Decode { name, message },
        }
    }

    /// The violations, when this is a validation error.
    pub fn validation(&self) -> Option<&ValidationErrors> {
        match self {
            DispatchError::Validation(v) => Some(v),
            _ => None,
        }
    }
}

/// An aggregate loaded from the store.
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded<A> {
    pub state: A,
    /// The stream version the state includes (0 for a new stream).
    pub version: u64,
}

/// Runs commands against a store. Cheap to clone; share one per process.
pub struct Engine<S> {
    store: Arc<S>,
    max_attempts: u32,
}

impl<S> Clone for Engine<S> {
    fn clone(&self) -> Self {
        Engine {
            store: Arc::clone(&self.store),
            max_attempts: self.max_attempts,
        }
    }
}

impl<S: EventStore> Engine<S> {
    pub fn new(store: S) -> Self {
        Engine {
            store: Arc::new(store),
            max_attempts: 5,
        }
    }

    /// How often a command is re-run on a fresh load after a concurrency conflict (default 5).
    pub fn with_max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    pub fn store(&self) -> &S {
        &self.store
    }

    /// Rehydrates an aggregate: its snapshot (when its shape matches), then every newer
    /// event, upcast, page by page.
    pub async fn load<A: Aggregate>(
        &self,
        identity: &str,
    ) -> Result<Loaded<A>, DispatchError<A::Error>> {
        let stream_id = A::stream_id(identity);
        let mut loaded = Loaded {
            state: A::default(),
            version: 0,
        };
        if A::SNAPSHOT_EVERY.is_some()
            && let Some(snap) = self
                .store
                .load_snapshot(&stream_id)
                .await
                .map_err(DispatchError::Store)?
            && snap.state_hash == A::STATE_HASH
            && let Ok(state) = serde_json::from_value::<A>(snap.state)
        {
            loaded = Loaded {
                state,
                version: snap.version,
            };
        }
        loop {
            let page = self
                .store
                .read_stream(&stream_id, loaded.version + 1, READ_PAGE)
                .await
                .map_err(DispatchError::Store)?;
            let n = page.len();
            for recorded in page {
                let event = A::Event::from_stored(
                    &recorded.event_type,
                    recorded.event_version,
                    recorded.data,
                )
                .map_err(DispatchError::Upcast)?;
                loaded.state.apply(&event);
                loaded.version = recorded.stream_version;
            }
            if n < READ_PAGE {
                return Ok(loaded);
            }
        }
    }

    /// Validates, executes and appends one command of aggregate `A`.
    pub async fn execute<A: Aggregate>(
        &self,
        command: A::Command,
        ctx: CommandContext,
    ) -> Result<Outcome<A::Event>, DispatchError<A::Error>> {
        command.validate().map_err(DispatchError::Validation)?;
        let command_id = ctx.command_id.unwrap_or_else(Uuid::now_v7);
        let stream_id = A::stream_id(&command.identity());
        if let Some(previous) = self
            .store
            .find_command(command_id)
            .await
            .map_err(DispatchError::Store)?
        {
            return duplicate_outcome::<A>(stream_id, previous);
        }
        let metadata = Metadata {
            command_id: Some(command_id),
            correlation_id: Some(ctx.correlation_id.unwrap_or(command_id)),
            causation_id: Some(ctx.causation_id.unwrap_or(command_id)),
            extra: ctx.extra,
        };
        let mut attempts = 0;
        loop {
            attempts += 1;
            let Loaded { mut state, version } = self.load::<A>(&command.identity()).await?;
            let events = state.execute(&command).map_err(DispatchError::Domain)?;
            let new_events = events
                .iter()
                .map(|e| {
                    NewEvent::new(
                        e.event_type(),
                        e.event_version(),
                        e.to_data(),
                        metadata.clone(),
                    )
                })
                .collect();
            let expected = if version == 0 {
                ExpectedVersion::NoStream
            } else {
                ExpectedVersion::Exactly(version)
            };
            match self
                .store
                .append(&stream_id, expected, new_events, Some(command_id))
                .await
            {
                Ok(AppendOutcome::Appended(recorded)) => {
                    for e in &events {
                        state.apply(e);
                    }
                    let new_version = recorded.last().map_or(version, |r| r.stream_version);
                    self.maybe_snapshot::<A>(&stream_id, &state, version, new_version)
                        .await;
                    return Ok(Outcome {
                        stream_id,
                        version: new_version,
                        events,
                        recorded,
                        duplicate: false,
                    });
                }
                Ok(AppendOutcome::Duplicate(previous)) => {
                    return duplicate_outcome::<A>(stream_id, previous);
                }
                Err(StoreError::Conflict { .. }) if attempts < self.max_attempts => {
                    tracing::debug!(
                        stream_id,
                        attempts,
                        "concurrency conflict, retrying on a fresh load"
                    );
                }
                Err(StoreError::Conflict { .. }) => {
                    return Err(DispatchError::Conflict {
                        stream_id,
                        attempts,
                    });
                }
                Err(e) => return Err(DispatchError::Store(e)),
            }
        }
    }

    /// Saves a snapshot when the append crossed a multiple of `SNAPSHOT_EVERY`. A failure
    /// only costs a longer load next time, so it is logged, not returned.
    async fn maybe_snapshot<A: Aggregate>(
        &self,
        stream_id: &str,
        state: &A,
        before: u64,
        after: u64,
    ) {
        let Some(every) = A::SNAPSHOT_EVERY.filter(|n| *n > 0) else {
            return;
        };
        if before / every == after / every {
            return;
        }
        let state_json = match serde_json::to_value(state) {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!(stream_id, error = %e, "snapshot not taken: state does not serialize");
                return;
            }
        };
        let snapshot = crate::store::Snapshot {
            stream_id: stream_id.to_string(),
            version: after,
            state_hash: A::STATE_HASH.to_string(),
            state: state_json,
        };
        if let Err(e) = self.store.save_snapshot(snapshot).await {
            tracing::warn!(stream_id, error = %e, "snapshot not saved");
        }
    }
}

fn duplicate_outcome<A: Aggregate>(
    stream_id: String,
    previous: Vec<RecordedEvent>,
) -> Result<Outcome<A::Event>, DispatchError<A::Error>> {
    let events = previous
        .iter()
        .map(|r| A::Event::from_stored(&r.event_type, r.event_version, r.data.clone()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(DispatchError::Upcast)?;
    let stream_id = previous.first().map_or(stream_id, |r| r.stream_id.clone());
    let version = previous.last().map_or(0, |r| r.stream_version);
    Ok(Outcome {
        stream_id,
        version,
        events,
        recorded: previous,
        duplicate: true,
    })
}

/// Serializes a value for storage; used by generated `to_data`.
pub fn to_json<T: Serialize>(value: &T) -> serde_json::Value {
    // Generated event structs hold only JSON-representable types with string map keys, so
    // this cannot fail; a Null would be caught by the event's own decode on read.
    serde_json::to_value(value).unwrap_or(serde_json::Value::Null)
}
