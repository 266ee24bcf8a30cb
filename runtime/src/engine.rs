//! The command pipeline: middleware `before` -> validate -> load (cache, or snapshot +
//! newer events, upcast) -> execute -> append with the expected version and the command id
//! (re-read and retry on conflict; a caller-supplied id that was appended before is
//! answered with the first result) -> apply, cache, snapshot -> middleware `after` ->
//! return. Every failure appends nothing.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use tracing::Instrument;
use uuid::Uuid;

use crate::aggregate::{Aggregate, AggregateCommand};
use crate::cache::{AggregateCache, CacheConfig};
use crate::event::DomainEvent;
use crate::middleware::{CommandInfo, DomainFailure, Middleware, OutcomeSummary, Rejection};
use crate::read::consistency::{Hub, Unconfirmed, WaitError};
use crate::store::{
    AppendOutcome, EventPayload, EventStore, ExpectedVersion, Metadata, NewEvent, RecordedEvent,
    StoreError,
};
use crate::upcast::UpcastError;
use crate::validate::{Validate, ValidationErrors};

/// How many events one read of a stream fetches: rehydration memory is bounded by this, not
/// by the stream's length (at most three pages are held: the one applied and the
/// [`PAGES_AHEAD`] being fetched). Fewer, bigger pages load faster: 5,000 loaded 100,000
/// events about 15% faster than 1,000 on the benchmark machine.
pub const READ_PAGE: usize = 5_000;

/// How many pages a load fetches ahead of the one it applies, on a multi-threaded runtime
/// (on a current-thread runtime, one). Two keep the server busy on the second while the
/// first is decoded: loading 100,000 events went from 430,000-570,000 to
/// 540,000-770,000 events/s on the benchmark machine. A load that ends early has read
/// one page past the end for nothing.
pub const PAGES_AHEAD: usize = 2;

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

/// A state and the stream version it includes, plus where it came from.
struct Working<A> {
    state: A,
    version: u64,
    /// From the aggregate cache: maybe stale, so never the last word on a decision.
    cached: bool,
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

    /// Rehydrates an aggregate as the store has it now: the cached state (or its snapshot,
    /// when the shape matches) brought up to date with every newer event, upcast, page by
    /// page.
    pub async fn load<A: Aggregate>(
        &self,
        identity: &str,
    ) -> Result<Loaded<A>, DispatchError<A::Error>> {
        let stream_id = A::stream_id(identity);
        let mut working = match self.cache.get::<A>(&stream_id) {
            Some((state, version)) => Working {
                state,
                version,
                cached: true,
            },
            None => self.load_fresh::<A>(&stream_id).await?,
        };
        if working.cached {
            self.catch_up(&stream_id, &mut working).await?;
        }
        Ok(Loaded {
            state: working.state,
            version: working.version,
        })
    }

    /// Snapshot (when its shape matches) plus every newer event, ignoring the cache.
    async fn load_fresh<A: Aggregate>(
        &self,
        stream_id: &str,
    ) -> Result<Working<A>, DispatchError<A::Error>> {
        let mut working = Working {
            state: A::default(),
            version: 0,
            cached: false,
        };
        if A::SNAPSHOT_EVERY.is_some()
            && let Some(snap) = self
                .store
                .load_snapshot(stream_id)
                .await
                .map_err(DispatchError::Store)?
        {
            if snap.state_hash != A::STATE_HASH {
                tracing::debug!(
                    stream_id,
                    found = snap.state_hash,
                    expected = A::STATE_HASH,
                    "snapshot of another state shape ignored"
                );
            } else {
                match A::deserialize(&snap.state) {
                    Ok(state) => {
                        working.state = state;
                        working.version = snap.version;
                    }
                    Err(e) => {
                        tracing::warn!(stream_id, error = %e, "snapshot does not decode; replaying the stream");
                    }
                }
            }
        }
        self.catch_up(stream_id, &mut working).await?;
        Ok(working)
    }

    /// Applies every event after `working.version`, page by page. Returns how many there
    /// were (0 means the state was current).
    ///
    /// While a full page is decoded and applied, the next one is already being fetched
    /// (a stream's versions are contiguous, so where it starts is known), which hides the
    /// round trip and the server's work behind the decoding. On a multi-threaded runtime
    /// the next [`PAGES_AHEAD`] pages are fetched on tasks of their own, so their rows are
    /// also decoded on another core meanwhile; on a current-thread runtime the next page's
    /// fetch is joined with the applying instead.
    async fn catch_up<A: Aggregate>(
        &self,
        stream_id: &str,
        working: &mut Working<A>,
    ) -> Result<usize, DispatchError<A::Error>> {
        let mut applied = 0;
        let parallel = tokio::runtime::Handle::try_current()
            .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
        let mut page = self
            .store
            .read_stream_payloads(stream_id, working.version + 1, READ_PAGE)
            .await
            .map_err(DispatchError::Store)?;
        // Fetches in flight, oldest first, each for the page after the one before it.
        let mut ahead: VecDeque<AbortOnDrop> = VecDeque::new();
        loop {
            let n = page.len();
            let next_from = page.last().map(|r| r.stream_version + 1);
            match next_from {
                Some(from) if n >= READ_PAGE => {
                    let next = if parallel {
                        // On tasks of their own the next pages are fetched, and their rows
                        // decoded, on another core while this one applies the page; two
                        // ahead, so the server is already on the second while the first
                        // is decoded.
                        let mut start = ahead.len() as u64 * READ_PAGE as u64 + from;
                        while ahead.len() < PAGES_AHEAD {
                            ahead.push_back(AbortOnDrop(tokio::spawn({
                                let store = Arc::clone(&self.store);
                                let stream_id = stream_id.to_string();
                                async move {
                                    store
                                        .read_stream_payloads(&stream_id, start, READ_PAGE)
                                        .await
                                }
                            })));
                            start += READ_PAGE as u64;
                        }
                        apply_page(page, working)?;
                        match ahead.pop_front() {
                            Some(fetch) => fetch.join().await,
                            None => Ok(Vec::new()),
                        }
                    } else {
                        let (next, done) = tokio::join!(
                            self.store.read_stream_payloads(stream_id, from, READ_PAGE),
                            async { apply_page(page, working) }
                        );
                        done?;
                        next
                    };
                    applied += n;
                    page = next.map_err(DispatchError::Store)?;
                    if page.first().is_some_and(|e| e.stream_version != from) {
                        return Err(DispatchError::Store(StoreError::backend(format!(
                            "stream `{stream_id}` read from version {from} began at {}",
                            page.first().map_or(0, |e| e.stream_version)
                        ))));
                    }
                }
                _ => {
                    // Fetches still in flight are past the end: dropping them aborts them.
                    drop(ahead);
                    apply_page(page, working)?;
                    applied += n;
                    if applied > 0 {
                        working.cached = false;
                    }
                    return Ok(applied);
                }
            }
        }
    }

    /// Validates, executes and appends one command of aggregate `A`, with the middleware
    /// around it.
    pub async fn execute<A: Aggregate>(
        &self,
        command: A::Command,
        mut ctx: CommandContext,
    ) -> Result<Outcome<A::Event>, DispatchError<A::Error>> {
        let supplied_id = ctx.command_id;
        let eventual = ctx.eventual;
        let command_id = *ctx.command_id.get_or_insert_with(Uuid::now_v7);
        let mut info = CommandInfo {
            context: A::CONTEXT,
            aggregate: A::NAME,
            command: command.name(),
            stream_id: A::stream_id(&command.identity()),
            command_id,
        };
        let span = tracing::debug_span!(
            "eskema.dispatch",
            context = A::CONTEXT,
            aggregate = A::NAME,
            command = info.command,
            stream_id = %info.stream_id,
            command_id = %command_id,
        );
        async move {
            let result = match self.before(&mut info, &mut ctx) {
                Ok(()) => {
                    // A middleware may have set the id: then it is the caller's, and may
                    // be a retry.
                    let supplied = supplied_id.is_some() || ctx.command_id != Some(command_id);
                    self.run::<A>(&command, &info, ctx, supplied).await
                }
                Err(rejection) => Err(DispatchError::Rejected(rejection.0)),
            };
            match &result {
                Ok(outcome) => {
                    tracing::debug!(
                        version = outcome.version,
                        events = outcome.recorded.len(),
                        duplicate = outcome.duplicate,
                        "command dispatched"
                    );
                    let summary = OutcomeSummary {
                        stream_id: &outcome.stream_id,
                        version: outcome.version,
                        recorded: &outcome.recorded,
                        duplicate: outcome.duplicate,
                    };
                    for m in self.middleware.iter().rev() {
                        m.after(&info, &summary);
                    }
                }
                Err(error) => {
                    match error {
                        DispatchError::Store(_) | DispatchError::Upcast(_) => {
                            tracing::warn!(%error, "command failed");
                        }
                        _ => tracing::debug!(%error, "command failed"),
                    }
                    if !self.middleware.is_empty() {
                        let typed = error
                            .clone()
                            .map_domain(|e| std::sync::Arc::new(e) as DomainFailure);
                        for m in self.middleware.iter().rev() {
                            m.on_failure(&info, &typed);
                        }
                    }
                }
            }
            match result {
                Ok(outcome) if !eventual && !outcome.recorded.is_empty() => {
                    self.confirm(outcome).await
                }
                other => other,
            }
        }
        .instrument(span)
        .await
    }

    /// Waits for the strong handlers that take the outcome's events.
    async fn confirm<E, D>(&self, outcome: Outcome<E>) -> Result<Outcome<E>, DispatchError<D>> {
        match self
            .hub
            .confirm(&outcome.recorded, self.consistency_timeout)
            .await
        {
            Ok(()) => Ok(outcome),
            Err(lagging) => {
                tracing::warn!(
                    position = outcome.position,
                    lagging = lagging.len(),
                    "strong handlers did not confirm a committed command"
                );
                Err(DispatchError::Unconfirmed(Box::new(Unconfirmed {
                    stream_id: outcome.stream_id,
                    version: outcome.version,
                    position: outcome.position,
                    recorded: outcome.recorded,
                    lagging,
                })))
            }
        }
    }

    fn before(&self, info: &mut CommandInfo, ctx: &mut CommandContext) -> Result<(), Rejection> {
        for m in self.middleware.iter() {
            m.before(info, ctx)?;
            if let Some(id) = ctx.command_id {
                info.command_id = id;
            }
        }
        Ok(())
    }

    /// The pipeline proper. `supplied`: the command id came from outside, so it may be a
    /// retry of a command already appended (a fresh v7 id cannot be).
    ///
    /// A supplied id is not looked up before deciding, which would cost every command a
    /// round trip for the rare retry. A retry is answered where its first append shows:
    /// the append itself checks the id before the version, a refusal looks the id up
    /// before it is returned, and a no-op is appended empty, which records the id or
    /// answers the retry.
    async fn run<A: Aggregate>(
        &self,
        command: &A::Command,
        info: &CommandInfo,
        ctx: CommandContext,
        supplied: bool,
    ) -> Result<Outcome<A::Event>, DispatchError<A::Error>> {
        command.validate().map_err(DispatchError::Validation)?;
        let stream_id = info.stream_id.as_str();
        let command_id = info.command_id;
        let metadata = Metadata {
            command_id: Some(command_id),
            correlation_id: Some(ctx.correlation_id.unwrap_or(command_id)),
            causation_id: Some(ctx.causation_id.unwrap_or(command_id)),
            extra: ctx.extra,
        };
        let mut working = match self.cache.get::<A>(stream_id) {
            Some((state, version)) => {
                tracing::trace!(version, "aggregate cache hit");
                Working {
                    state,
                    version,
                    cached: true,
                }
            }
            None => {
                tracing::trace!("aggregate cache miss");
                self.load_fresh::<A>(stream_id).await?
            }
        };
        let mut attempts = 0;
        loop {
            let events = match working.state.execute(command) {
                Ok(events) => events,
                Err(error) => {
                    // A refusal must rest on the stream as stored: re-check a cached state.
                    if working.cached && self.catch_up(stream_id, &mut working).await? > 0 {
                        tracing::debug!("cached aggregate was stale; re-deciding");
                        continue;
                    }
                    // A concurrent twin with the same id may have won meanwhile, and its
                    // events caused the refusal: answer as a duplicate.
                    if supplied && let Some(previous) = self.find_command::<A>(command_id).await? {
                        return duplicate_outcome::<A>(stream_id, previous, working.version);
                    }
                    return Err(DispatchError::Domain(error));
                }
            };
            // A no-op under a supplied id goes on to an empty append, which records the id
            // (a retry is then answered with this no-op, even once the command would have
            // an effect) or answers it as a duplicate of the first call. Without an id
            // nothing can retry it: it only has to rest on the stream as stored.
            if events.is_empty() && !supplied {
                if working.cached && self.catch_up(stream_id, &mut working).await? > 0 {
                    continue;
                }
                return Ok(Outcome {
                    stream_id: stream_id.to_string(),
                    version: working.version,
                    position: 0,
                    events,
                    recorded: Vec::new(),
                    duplicate: false,
                });
            }
            let new_events = events
                .iter()
                .map(|e| storable::<A>(e, &metadata))
                .collect::<Result<Vec<_>, _>>()?;
            let expected = if working.version == 0 {
                ExpectedVersion::NoStream
            } else {
                ExpectedVersion::Exactly(working.version)
            };
            if !working.cached {
                attempts += 1;
            }
            // An id made for this dispatch cannot be a retry (attempts before this one
            // conflicted and wrote nothing): the store may skip looking it up.
            let appended = if supplied {
                self.store
                    .append(stream_id, expected, new_events, Some(command_id))
                    .await
            } else {
                self.store
                    .append_new_command(stream_id, expected, new_events, command_id)
                    .await
            };
            match appended {
                Ok(AppendOutcome::Appended(recorded)) => {
                    let before = working.version;
                    let mut state = working.state;
                    for e in &events {
                        state.apply(e);
                    }
                    let version = recorded.last().map_or(before, |r| r.stream_version);
                    self.maybe_snapshot::<A>(stream_id, &state, before, version)
                        .await;
                    self.cache.put(stream_id, state, version);
                    return Ok(Outcome {
                        stream_id: stream_id.to_string(),
                        version,
                        position: recorded.last().map_or(0, |r| r.position),
                        events,
                        recorded,
                        duplicate: false,
                    });
                }
                Ok(AppendOutcome::Duplicate(previous)) => {
                    return duplicate_outcome::<A>(stream_id, previous, working.version);
                }
                Err(StoreError::Conflict { actual, .. }) => {
                    if working.cached {
                        tracing::debug!(
                            cached = working.version,
                            actual,
                            "cached aggregate was stale; reloading"
                        );
                        self.cache.invalidate::<A>(stream_id, working.version);
                    } else if attempts >= self.max_attempts {
                        return Err(DispatchError::Conflict {
                            stream_id: stream_id.to_string(),
                            attempts,
                        });
                    } else {
                        tracing::debug!(attempts, actual, "concurrency conflict; retrying");
                    }
                    // The events up to `working.version` cannot change: reading only the
                    // newer ones is a full reload at the cost of a short read.
                    working.cached = false;
                    self.catch_up(stream_id, &mut working).await?;
                }
                Err(e) => return Err(DispatchError::Store(e)),
            }
        }
    }

    async fn find_command<A: Aggregate>(
        &self,
        command_id: Uuid,
    ) -> Result<Option<Vec<RecordedEvent>>, DispatchError<A::Error>> {
        self.store
            .find_command(command_id)
            .await
            .map_err(DispatchError::Store)
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

/// Upcasts, decodes and applies a page of stored events to `working`.
fn apply_page<A: Aggregate>(
    page: Vec<EventPayload>,
    working: &mut Working<A>,
) -> Result<(), DispatchError<A::Error>> {
    for recorded in page {
        let event =
            A::Event::from_stored(&recorded.event_type, recorded.event_version, recorded.data)
                .map_err(DispatchError::Upcast)?;
        working.state.apply(&event);
        working.version = recorded.stream_version;
    }
    Ok(())
}

/// The event as it will be stored. An event whose type may not read back as itself
/// ([`crate::Event::CHECK_ROUND_TRIP`]: a NaN or infinite float becomes `null`) is decoded
/// first, and refused if it differs, before anything is written, instead of leaving a
/// stream no one can load. Other events skip the check: nothing in them can fail it.
fn storable<A: Aggregate>(
    event: &A::Event,
    metadata: &Metadata,
) -> Result<NewEvent, DispatchError<A::Error>> {
    let data = event.to_data();
    if event.as_event().check_round_trip() {
        let unstorable = |message: String| DispatchError::Unstorable {
            event_type: event.event_type().to_string(),
            message,
        };
        match A::Event::from_stored(event.event_type(), event.event_version(), data.clone()) {
            Ok(back) if back == *event => {}
            Ok(_) => {
                return Err(unstorable(
                    "it reads back with different values (a NaN or infinite float?)".to_string(),
                ));
            }
            Err(e) => return Err(unstorable(e.to_string())),
        }
    }
    Ok(NewEvent::new(
        event.event_type(),
        event.event_version(),
        data,
        metadata.clone(),
    ))
}

/// The first call's events as this call's outcome. A first call that appended nothing
/// left no version behind: `known` (the version this call saw) stands in for it.
fn duplicate_outcome<A: Aggregate>(
    stream_id: &str,
    previous: Vec<RecordedEvent>,
    known: u64,
) -> Result<Outcome<A::Event>, DispatchError<A::Error>> {
    let events = previous
        .iter()
        .map(|r| A::Event::from_stored(&r.event_type, r.event_version, r.data.clone()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(DispatchError::Upcast)?;
    let stream_id = previous
        .first()
        .map_or_else(|| stream_id.to_string(), |r| r.stream_id.clone());
    let version = previous.last().map_or(known, |r| r.stream_version);
    Ok(Outcome {
        stream_id,
        version,
        position: previous.last().map_or(0, |r| r.position),
        events,
        recorded: previous,
        duplicate: true,
    })
}

/// A spawned page fetch, aborted if the load waiting for it is dropped.
struct AbortOnDrop(tokio::task::JoinHandle<Result<Vec<EventPayload>, StoreError>>);

impl AbortOnDrop {
    async fn join(mut self) -> Result<Vec<EventPayload>, StoreError> {
        match (&mut self.0).await {
            Ok(page) => page,
            Err(e) => Err(StoreError::backend(format!(
                "reading the stream failed: {e}"
            ))),
        }
    }
}

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
