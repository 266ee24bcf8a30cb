//! The event store contract: append with optimistic concurrency, read a stream, read all in
//! global order, snapshots, and command-id idempotency.
//!
//! Versions are 1-based: a stream's first event has `stream_version` 1, an empty stream is at
//! version 0. Global positions are 1-based and strictly increasing in commit order, so a
//! reader following "all from position N" never misses an event.

use std::future::Future;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

/// What the appender believes the stream's current version is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExpectedVersion {
    /// Append whatever the stream holds (no concurrency check).
    Any,
    /// The stream must not exist yet (version 0).
    NoStream,
    /// The stream must be exactly at this version (0 = empty).
    Exactly(u64),
}

impl ExpectedVersion {
    /// Whether a stream at `current` satisfies this expectation.
    pub fn matches(self, current: u64) -> bool {
        match self {
            ExpectedVersion::Any => true,
            ExpectedVersion::NoStream => current == 0,
            ExpectedVersion::Exactly(v) => current == v,
        }
    }
}

/// Tracing ids carried by every event of a command.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Metadata {
    /// The command that produced the event (idempotency key); `None` for raw appends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command_id: Option<Uuid>,
    /// The conversation this event belongs to (shared by a command and everything it causes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<Uuid>,
    /// The message (command or event id) that directly caused this event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub causation_id: Option<Uuid>,
    /// Anything else the application attaches (user id, request id, ...).
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub extra: serde_json::Map<String, Value>,
}

/// An event to append.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewEvent {
    /// UUID v7 (time-ordered), made by the appender.
    pub event_id: Uuid,
    pub event_type: String,
    pub event_version: u32,
    pub data: Value,
    pub metadata: Metadata,
}

impl NewEvent {
    /// A new event with a fresh UUID v7 id.
    pub fn new(
        event_type: impl Into<String>,
        event_version: u32,
        data: Value,
        metadata: Metadata,
    ) -> Self {
        NewEvent {
            event_id: Uuid::now_v7(),
            event_type: event_type.into(),
            event_version,
            data,
            metadata,
        }
    }
}

/// An event as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordedEvent {
    pub event_id: Uuid,
    pub stream_id: String,
    /// 1-based position in its stream.
    pub stream_version: u64,
    /// 1-based position in the whole store, increasing in commit order.
    pub position: u64,
    /// The type name it was stored under (possibly an old name, see `renamed_from`).
    pub event_type: String,
    /// The schema version it was stored with (possibly older than the code's).
    pub event_version: u32,
    pub data: Value,
    pub metadata: Metadata,
    pub created_at: DateTime<Utc>,
}

/// The result of an append.
#[derive(Debug, Clone, PartialEq)]
pub enum AppendOutcome {
    /// The events were written; here as stored.
    Appended(Vec<RecordedEvent>),
    /// The command id had been appended before: nothing was written, and these are the
    /// events the first append stored.
    Duplicate(Vec<RecordedEvent>),
}

impl AppendOutcome {
    pub fn events(&self) -> &[RecordedEvent] {
        match self {
            AppendOutcome::Appended(e) | AppendOutcome::Duplicate(e) => e,
        }
    }

    pub fn into_events(self) -> Vec<RecordedEvent> {
        match self {
            AppendOutcome::Appended(e) | AppendOutcome::Duplicate(e) => e,
        }
    }

    pub fn is_duplicate(&self) -> bool {
        matches!(self, AppendOutcome::Duplicate(_))
    }
}

/// What rehydrating an aggregate needs of a stored event, and no more: reading only this
/// spares the store and the client the ids, metadata and timestamps of every event.
#[derive(Debug, Clone, PartialEq)]
pub struct EventPayload {
    pub stream_version: u64,
    pub event_type: String,
    pub event_version: u32,
    pub data: Value,
}

impl From<RecordedEvent> for EventPayload {
    fn from(e: RecordedEvent) -> Self {
        EventPayload {
            stream_version: e.stream_version,
            event_type: e.event_type,
            event_version: e.event_version,
            data: e.data,
        }
    }
}

/// An aggregate's state at a stream version, to skip replaying older events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub stream_id: String,
    /// The stream version the state includes.
    pub version: u64,
    /// Hash of the state's field names and types when it was taken; a snapshot whose hash
    /// differs from the code's `Aggregate::STATE_HASH` is ignored, never mis-read.
    pub state_hash: String,
    pub state: Value,
}

/// Why a store call failed. Its `source` is the backend's own error, when there is one.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum StoreError {
    /// The stream was not at the expected version: someone else appended first.
    Conflict {
        stream_id: String,
        expected: ExpectedVersion,
        actual: u64,
    },
    /// The store could not be reached (the URL is shown with its password hidden).
    Unavailable(Failure),
    /// Anything else the backend reported; nothing was written.
    Backend(Failure),
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::Conflict {
                stream_id,
                expected,
                actual,
            } => write!(
                f,
                "concurrency conflict on stream `{stream_id}`: expected {expected:?}, found version {actual}"
            ),
            StoreError::Unavailable(failure) => write!(f, "event store unreachable: {failure}"),
            StoreError::Backend(failure) => write!(f, "event store error: {failure}"),
        }
    }
}

impl std::error::Error for StoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.cause()
            .map(|c| c as &(dyn std::error::Error + 'static))
    }
}

impl StoreError {
    /// [`StoreError::Backend`] with a message and no underlying error.
    pub fn backend(message: impl Into<String>) -> Self {
        StoreError::Backend(Failure::new(message))
    }

    /// [`StoreError::Unavailable`] with a message and no underlying error.
    pub fn unavailable(message: impl Into<String>) -> Self {
        StoreError::Unavailable(Failure::new(message))
    }

    /// The backend's own error under this one (`sqlx::Error` on Postgres), to tell a unique
    /// violation or a lost connection apart: `err.cause().and_then(|c|
    /// c.downcast_ref::<sqlx::Error>())`.
    pub fn cause(&self) -> Option<&(dyn std::error::Error + Send + Sync + 'static)> {
        match self {
            StoreError::Unavailable(f) | StoreError::Backend(f) => f.cause.as_deref(),
            StoreError::Conflict { .. } => None,
        }
    }
}

/// What a store reports when a call fails: a message for people and, when the backend
/// raised one, its error (the `source` of the chain), shared so that the error stays
/// `Clone`. Reads as its message (`failure.contains("..")`); two failures are equal when
/// their messages are.
#[derive(Debug, Clone)]
pub struct Failure {
    message: String,
    cause: Option<std::sync::Arc<dyn std::error::Error + Send + Sync>>,
}

impl Failure {
    /// A failure with no underlying error.
    pub fn new(message: impl Into<String>) -> Self {
        Failure {
            message: message.into(),
            cause: None,
        }
    }

    /// A failure caused by the backend's `cause`.
    pub fn caused_by(
        message: impl Into<String>,
        cause: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Failure {
            message: message.into(),
            cause: Some(std::sync::Arc::new(cause)),
        }
    }

    pub fn message(&self) -> &str {
        &self.message
    }
}

impl std::ops::Deref for Failure {
    type Target = str;

    fn deref(&self) -> &str {
        &self.message
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.cause
            .as_deref()
            .map(|c| c as &(dyn std::error::Error + 'static))
    }
}

impl PartialEq for Failure {
    fn eq(&self, other: &Self) -> bool {
        self.message == other.message
    }
}

impl From<String> for Failure {
    fn from(message: String) -> Self {
        Failure::new(message)
    }
}

impl From<&str> for Failure {
    fn from(message: &str) -> Self {
        Failure::new(message)
    }
}

/// The storage contract every store implements, and the conformance suite checks.
///
/// Every method is atomic: an append writes all its events or none.
pub trait EventStore: Send + Sync + 'static {
    /// Appends `events` to `stream_id` if the stream is at `expected`.
    ///
    /// With a `command_id` that was appended before, writes nothing and returns
    /// [`AppendOutcome::Duplicate`] with the first append's events (checked before the
    /// version, so a retried command is answered, not refused as a conflict).
    fn append(
        &self,
        stream_id: &str,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
        command_id: Option<Uuid>,
    ) -> impl Future<Output = Result<AppendOutcome, StoreError>> + Send;

    /// [`EventStore::append`] for a command whose id was made for this dispatch (the engine
    /// does this when the caller gave none): the id is recorded as usual, but it cannot have
    /// been appended before, so a store may skip looking it up. That lookup is most of what
    /// an idempotent append costs beyond a plain insert; a store still refuses a second
    /// record of the id rather than write it twice. Call it only with such an id: an id
    /// that could be a retry must go through `append`. The default is `append`.
    fn append_new_command(
        &self,
        stream_id: &str,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
        command_id: Uuid,
    ) -> impl Future<Output = Result<AppendOutcome, StoreError>> + Send {
        self.append(stream_id, expected, events, Some(command_id))
    }

    /// Up to `limit` events of a stream with `stream_version >= from_version`, in order.
    ///
    /// Fewer than `limit` (with `limit > 0`) means the stream has no more events: readers
    /// stop paging there, so a store must not return short pages in the middle.
    fn read_stream(
        &self,
        stream_id: &str,
        from_version: u64,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<RecordedEvent>, StoreError>> + Send;

    /// [`EventStore::read_stream`], but only what rehydration needs of each event (the
    /// engine loads aggregates with it): a store can read and decode less. The default
    /// reads whole events and keeps that part.
    fn read_stream_payloads(
        &self,
        stream_id: &str,
        from_version: u64,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<EventPayload>, StoreError>> + Send {
        async move {
            let events = self.read_stream(stream_id, from_version, limit).await?;
            Ok(events.into_iter().map(EventPayload::from).collect())
        }
    }

    /// Up to `limit` events with `position >= from_position`, in position order; as for
    /// [`EventStore::read_stream`], a short page means there is nothing more (yet).
    fn read_all(
        &self,
        from_position: u64,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<RecordedEvent>, StoreError>> + Send;

    /// The stream's current version (0 when it does not exist).
    fn stream_version(
        &self,
        stream_id: &str,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// The events a command id appended, if it was appended.
    fn find_command(
        &self,
        command_id: Uuid,
    ) -> impl Future<Output = Result<Option<Vec<RecordedEvent>>, StoreError>> + Send;

    /// Stores the stream's snapshot, replacing the stored one unless that one is newer and
    /// of the same state shape (a slow process must not set a snapshot back; a snapshot of
    /// a new shape always wins, since the old one is unusable to the new code).
    fn save_snapshot(
        &self,
        snapshot: Snapshot,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The stream's latest snapshot, if any.
    fn load_snapshot(
        &self,
        stream_id: &str,
    ) -> impl Future<Output = Result<Option<Snapshot>, StoreError>> + Send;
}

/// A shared store is a store: several engines (or an engine and a projection reader) can
/// hold one `Arc` of the same store.
impl<S: EventStore> EventStore for std::sync::Arc<S> {
    fn append(
        &self,
        stream_id: &str,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
        command_id: Option<Uuid>,
    ) -> impl Future<Output = Result<AppendOutcome, StoreError>> + Send {
        (**self).append(stream_id, expected, events, command_id)
    }

    fn append_new_command(
        &self,
        stream_id: &str,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
        command_id: Uuid,
    ) -> impl Future<Output = Result<AppendOutcome, StoreError>> + Send {
        (**self).append_new_command(stream_id, expected, events, command_id)
    }

    fn read_stream(
        &self,
        stream_id: &str,
        from_version: u64,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<RecordedEvent>, StoreError>> + Send {
        (**self).read_stream(stream_id, from_version, limit)
    }

    fn read_stream_payloads(
        &self,
        stream_id: &str,
        from_version: u64,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<EventPayload>, StoreError>> + Send {
        (**self).read_stream_payloads(stream_id, from_version, limit)
    }

    fn read_all(
        &self,
        from_position: u64,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<RecordedEvent>, StoreError>> + Send {
        (**self).read_all(from_position, limit)
    }

    fn stream_version(
        &self,
        stream_id: &str,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send {
        (**self).stream_version(stream_id)
    }

    fn find_command(
        &self,
        command_id: Uuid,
    ) -> impl Future<Output = Result<Option<Vec<RecordedEvent>>, StoreError>> + Send {
        (**self).find_command(command_id)
    }

    fn save_snapshot(
        &self,
        snapshot: Snapshot,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        (**self).save_snapshot(snapshot)
    }

    fn load_snapshot(
        &self,
        stream_id: &str,
    ) -> impl Future<Output = Result<Option<Snapshot>, StoreError>> + Send {
        (**self).load_snapshot(stream_id)
    }
}
