//! The command pipeline: middleware `before` -> validate -> load (cache, or snapshot +
//! newer events, upcast) -> execute -> append with the expected version and the command id
//! (re-read and retry on conflict; a caller-supplied id that was appended before is
//! answered with the first result) -> apply, cache, snapshot -> middleware `after` ->
//! return. Every failure appends nothing.

use std::sync::Arc;
use std::time::Duration;

use uuid::Uuid;

use crate::cache::{AggregateCache, CacheConfig};
use crate::middleware::Middleware;
use crate::read::consistency::{Hub, Unconfirmed, WaitError};
use crate::store::{EventStore, RecordedEvent, StoreError};
use crate::upcast::UpcastError;
use crate::validate::ValidationErrors;

mod load;
mod pipeline;

pub use load::{PAGES_AHEAD, READ_PAGE};

/// See [`Engine::with_consistency_timeout`].
const DEFAULT_CONSISTENCY_TIMEOUT: Duration = Duration::from_secs(5);

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
    /// Return as soon as the events are committed, without waiting for the engine's
    /// `consistency: strong` handlers (process managers dispatch this way).
    pub eventual: bool,
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
    /// The global position of the command's last event (0 when it appended none): what
    /// [`Engine::wait_for`] takes for read-your-writes elsewhere.
    pub position: u64,
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
            position: self.position,
            events: self.events.into_iter().map(f).collect(),
            recorded: self.recorded,
            duplicate: self.duplicate,
        }
    }
}

/// Why a dispatch failed. Nothing was appended in every case but
/// [`DispatchError::Unconfirmed`], where everything was.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
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
    /// A middleware refused the command (authorization, rate limit, ...).
    #[error("command refused: {0}")]
    Rejected(String),
    /// The executor produced an event that would not read back as itself from storage
    /// (e.g. an `f64` field holding NaN or infinity, which JSON stores as `null`). Storing
    /// it would make the stream unloadable, so nothing was appended.
    #[error("event `{event_type}` cannot be stored faithfully: {message}")]
    Unstorable { event_type: String, message: String },
    /// `dispatch_json` got a name no command has.
    #[error("unknown command `{name}`; known: {known}")]
    UnknownCommand { name: String, known: String },
    /// `dispatch_json` got JSON that is not the command's shape.
    #[error("command `{name}` could not be decoded: {message}")]
    Decode { name: String, message: String },
    /// The events ARE committed, but a `consistency: strong` handler that takes them did not
    /// confirm them in time, or failed on them: which one, and how far it got, is inside.
    /// Retrying the command with the same id is answered as a duplicate.
    #[error("{0}")]
    Unconfirmed(Box<Unconfirmed>),
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
            DispatchError::Rejected(reason) => DispatchError::Rejected(reason),
            DispatchError::Unstorable {
                event_type,
                message,
            } => DispatchError::Unstorable {
                event_type,
                message,
            },
            DispatchError::UnknownCommand { name, known } => {
                DispatchError::UnknownCommand { name, known }
            }
            DispatchError::Decode { name, message } => DispatchError::Decode { name, message },
            DispatchError::Unconfirmed(u) => DispatchError::Unconfirmed(u),
        }
    }

    /// Whether the command's events were committed despite the error (only
    /// [`DispatchError::Unconfirmed`]).
    pub fn is_committed(&self) -> bool {
        matches!(self, DispatchError::Unconfirmed(_))
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

/// Runs commands against a store. Cheap to clone (clones share the store, the aggregate
/// cache and the middleware); share one per process.
pub struct Engine<S> {
    store: Arc<S>,
    max_attempts: u32,
    cache: Arc<AggregateCache>,
    middleware: Arc<Vec<Arc<dyn Middleware>>>,
    /// Subscribers attached by read sides: what strong consistency waits for.
    hub: Arc<Hub>,
    consistency_timeout: Duration,
}

impl<S> Clone for Engine<S> {
    fn clone(&self) -> Self {
        Engine {
            store: Arc::clone(&self.store),
            max_attempts: self.max_attempts,
            cache: Arc::clone(&self.cache),
            middleware: Arc::clone(&self.middleware),
            hub: Arc::clone(&self.hub),
            consistency_timeout: self.consistency_timeout,
        }
    }
}

impl<S> std::fmt::Debug for Engine<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("max_attempts", &self.max_attempts)
            .field("cache", &self.cache.config())
            .field("middleware", &self.middleware.len())
            .finish_non_exhaustive()
    }
}

impl<S: EventStore> Engine<S> {
    /// An engine with the default aggregate cache ([`CacheConfig::default`]), no middleware
    /// and 5 attempts per command.
    pub fn new(store: S) -> Self {
        Engine {
            store: Arc::new(store),
            max_attempts: 5,
            cache: Arc::new(AggregateCache::new(CacheConfig::default())),
            middleware: Arc::new(Vec::new()),
            hub: Arc::new(Hub::default()),
            consistency_timeout: DEFAULT_CONSISTENCY_TIMEOUT,
        }
    }

    /// How long a dispatch waits for the strong handlers that take its events before it
    /// returns [`DispatchError::Unconfirmed`] (default 5 s).
    pub fn with_consistency_timeout(mut self, timeout: Duration) -> Self {
        self.consistency_timeout = timeout;
        self
    }

    /// Waits until each handler or process manager named in `names` (`Name` or
    /// `context.Name`, attached to this engine by a read side that runs or observes it) has
    /// processed the event at `position` in all its partitions: read-your-writes for a
    /// position a dispatch returned ([`Outcome::position`]), here or in another process.
    pub async fn wait_for(
        &self,
        position: u64,
        names: &[&str],
        timeout: Duration,
    ) -> Result<(), WaitError> {
        self.hub.wait_for(position, names, timeout).await
    }

    pub(crate) fn hub(&self) -> &Hub {
        &self.hub
    }

    pub(crate) fn store_arc(&self) -> Arc<S> {
        Arc::clone(&self.store)
    }

    /// How many times a command may be appended on a freshly read state before a
    /// concurrency conflict is returned (default 5, at least 1). A conflict caused by a
    /// stale cached state does not count: it only means the cache was behind.
    pub fn with_max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// Replaces the aggregate cache with an empty one of this size
    /// ([`CacheConfig::disabled`] turns caching off).
    pub fn with_cache(mut self, config: CacheConfig) -> Self {
        self.cache = Arc::new(AggregateCache::new(config));
        self
    }

    /// Adds a middleware; `before` hooks run in the order they were added.
    pub fn with_middleware(mut self, middleware: impl Middleware) -> Self {
        Arc::make_mut(&mut self.middleware).push(Arc::new(middleware));
        self
    }

    pub fn store(&self) -> &S {
        &self.store
    }

    /// How many aggregates the cache holds now.
    pub fn cached_aggregates(&self) -> usize {
        self.cache.len()
    }

    /// Empties the aggregate cache (e.g. after editing the store behind the engine's back).
    pub fn clear_cache(&self) {
        self.cache.clear();
    }
}
