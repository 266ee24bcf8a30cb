//! [`ReadSide`]: runs a process's handlers, projections and process managers, sharing the
//! store with any number of other processes.
//!
//! A coordinator task keeps this process's node alive in the store, renews the leases it
//! holds (on its own schedule, never inside a handler's work), hands units it should no
//! longer run to the process that should, and takes the free units assigned to it: each
//! subscriber's partitions are dealt round-robin over the live nodes that run it. A worker
//! task runs each unit it holds (see `worker.rs`); one feed reads the events for all of them.

use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::Utc;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use crate::engine::Engine;
use crate::read::consistency::{Entry, FromStore, Remote, UnitState, WaitError};
use crate::read::deliver::{Deliverer, Effect, Process, Projection, UnitCx};
use crate::read::feed::Feed;
use crate::read::spec::{Spec, StartFrom};
use crate::read::store::{FailedEvent, FailureOutcome, Lease, ReadStore, UnitId};
use crate::read::subscriber::{Deliver, ProcessManager, Project, Subscription};
use crate::read::worker::{Exit, Request, Worker};
use crate::store::StoreError;

/// Why a read-side operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    #[error("no subscriber `{0}` runs in this read side")]
    Unknown(String),
    #[error("subscriber `{0}` is added twice")]
    Duplicate(String),
    #[error("no parked event with id {0}")]
    NoSuchEvent(u64),
    #[error("event {id} was skipped, not parked: only parked events are replayed")]
    NotParked { id: u64 },
    /// The unit runs in another process (or none holds it now): replay it there.
    #[error("{unit} runs in {}, not here; replay it there", owner.as_deref().unwrap_or("no process at the moment"))]
    NotHere { unit: UnitId, owner: Option<String> },
    #[error("the subscriber failed again: {0}")]
    Failed(String),
    #[error("emptying the read model failed: {0}")]
    Reset(String),
    #[error(transparent)]
    Wait(#[from] WaitError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// See [`ReadSideBuilder::read_every`].
const DEFAULT_READ_EVERY: Duration = Duration::from_millis(2);

/// How a read side runs; see the builder's methods.
#[derive(Debug, Clone)]
struct Options {
    node: Option<String>,
    lease_ttl: Duration,
    tick: Duration,
    page_size: usize,
    poll: Duration,
    read_every: Duration,
    flush_every: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            node: None,
            lease_ttl: Duration::from_secs(5),
            tick: Duration::from_secs(1),
            page_size: 1_000,
            poll: Duration::from_millis(500),
            read_every: DEFAULT_READ_EVERY,
            flush_every: Duration::from_millis(200),
        }
    }
}

/// Collects the subscribers one process runs; [`ReadSideBuilder::start`] starts them.
pub struct ReadSideBuilder<S: ReadStore> {
    engine: Engine<S>,
    subscribers: Vec<Arc<dyn Deliverer<S>>>,
    observed: Vec<Spec>,
    options: Options,
}

impl<S: ReadStore> ReadSideBuilder<S> {
    /// Runs the side-effect handler `handler` of the schema's handler `subscriber` (the
    /// generated unit struct of the same name, e.g. `bank::Notifications`).
    pub fn handler<T, H>(mut self, subscriber: T, handler: H) -> Self
    where
        T: Deliver<H>,
        H: Send + Sync + 'static,
    {
        let _ = subscriber;
        self.subscribers.push(Arc::new(Effect::<T, H> {
            handler,
            of: PhantomData,
        }));
        self
    }

    /// Runs the projection `handler` of the schema's handler `subscriber`, which writes its
    /// read model on the store's transaction (`sqlx::PgConnection` on Postgres,
    /// [`crate::memory::MemoryTx`] in memory).
    pub fn projection<T, H>(mut self, subscriber: T, handler: H) -> Self
    where
        T: Project<H, S::Conn>,
        H: Send + Sync + 'static,
    {
        let _ = subscriber;
        self.subscribers.push(Arc::new(Projection::<T, H> {
            handler,
            of: PhantomData,
        }));
        self
    }

    /// Runs the process manager whose state is `P` (e.g. `bank::Withdrawal`).
    pub fn process<P: ProcessManager>(mut self) -> Self {
        self.subscribers
            .push(Arc::new(Process::<P> { of: PhantomData }));
        self
    }

    /// Attaches a subscriber that other processes run: a strong one is then waited for by
    /// this engine's dispatches, and [`Engine::wait_for`] can name it.
    pub fn observe<T: Subscription>(mut self) -> Self {
        self.observed.push(T::SPEC);
        self
    }

    /// This process's name in the store (default: `<pid>-<random>`). A stable name lets a
    /// restarted process take its leases back at once instead of after they expire.
    pub fn node(mut self, name: impl Into<String>) -> Self {
        self.options.node = Some(name.into());
        self
    }

    /// How long a lease lasts without renewal (default 5 s): a process killed without a
    /// word is taken over within this plus one [`ReadSideBuilder::tick`].
    pub fn lease_ttl(mut self, ttl: Duration) -> Self {
        self.options.lease_ttl = ttl;
        self
    }

    /// How often leases are renewed and units rebalanced (default 1 s; keep it well under
    /// the lease's lifetime).
    pub fn tick(mut self, tick: Duration) -> Self {
        self.options.tick = tick;
        self
    }

    /// Events read at a time, and so the most a transactional batch holds (default 1,000).
    pub fn page_size(mut self, events: usize) -> Self {
        self.options.page_size = events.max(1);
        self
    }

    /// How often the store is asked for new events when no notification came (default
    /// 500 ms).
    pub fn poll_interval(mut self, poll: Duration) -> Self {
        self.options.poll = poll;
        self
    }

    /// The shortest time between two looks for new events (default 2 ms), stretched up to
    /// twenty times that while many events arrive per look (200 or more). A look costs the
    /// store a statement that competes with appends; under load one look serves every
    /// event appended since the last, and after a quiet spell the first append is looked
    /// for at once. Looks are also at least twice as far apart as they take, so that on a
    /// store short of CPU the readers back off. Longer saves the store work, shorter saves
    /// latency: past about ten new events per millisecond of this interval (5,000 events/s
    /// at 2 ms), a longer spacing finds more events, which stretches it further, and looks
    /// settle at the full twenty times.
    pub fn read_every(mut self, every: Duration) -> Self {
        self.options.read_every = every;
        self
    }

    /// Registers every subscriber in the store (new ones at `origin` or the current head),
    /// attaches them to the engine and starts the coordinator.
    pub async fn start(self) -> Result<ReadSide<S>, ReadError> {
        let ReadSideBuilder {
            engine,
            subscribers,
            observed,
            options,
        } = self;
        let mut ids: Vec<String> = Vec::new();
        for spec in subscribers
            .iter()
            .map(|d| d.spec())
            .chain(observed.iter().copied())
        {
            let id = spec.id();
            if ids.contains(&id) {
                return Err(ReadError::Duplicate(id));
            }
            ids.push(id);
        }
        let store = engine.store_arc();
        let feed = Arc::new(Feed::new(Arc::clone(&store), options.page_size));
        let head = feed.refresh().await?;
        let mut subs = Vec::new();
        for deliverer in subscribers {
            let spec = deliverer.spec();
            let start = match spec.start_from {
                StartFrom::Origin => 0,
                StartFrom::Current => head,
            };
            store.register(&spec.id(), spec.partitions, start).await?;
            let units = (0..spec.partitions)
                .map(|_| Arc::new(watch::Sender::new(UnitState::default())))
                .collect();
            subs.push(Sub {
                deliverer,
                spec,
                units,
            });
        }
        let remote: Arc<dyn Remote> = Arc::new(FromStore(Arc::clone(&store)));
        for sub in &subs {
            engine.hub().attach(Entry {
                spec: sub.spec,
                units: sub.units.iter().map(|u| u.subscribe()).collect(),
                remote: Arc::clone(&remote),
            });
        }
        for spec in &observed {
            engine.hub().attach(Entry {
                spec: *spec,
                units: (0..spec.partitions)
                    .map(|_| watch::channel(UnitState::default()).1)
                    .collect(),
                remote: Arc::clone(&remote),
            });
        }
        let node = options.node.clone().unwrap_or_else(|| {
            let random = uuid::Uuid::now_v7().simple().to_string();
            format!("{}-{}", std::process::id(), &random[random.len() - 8..])
        });
        let (stop, _) = watch::channel(false);
        let inner = Arc::new(Inner {
            engine,
            store,
            feed,
            node,
            options,
            subs,
            observed,
            attached: ids,
            stop,
            running: Mutex::new(HashMap::new()),
            round_now: tokio::sync::Notify::new(),
        });
        let head_task = tokio::spawn({
            let inner = Arc::clone(&inner);
            let stop = inner.stop.subscribe();
            async move {
                let o = &inner.options;
                inner.feed.run_head(o.poll, o.read_every, stop).await
            }
        });
        let coordinator = tokio::spawn({
            let inner = Arc::clone(&inner);
            async move { inner.coordinate().await }
        });
        Ok(ReadSide {
            inner,
            tasks: Mutex::new(vec![head_task, coordinator]),
        })
    }
}

/// A subscriber this process runs.
struct Sub<S: ReadStore> {
    deliverer: Arc<dyn Deliverer<S>>,
    spec: Spec,
    units: Vec<Arc<watch::Sender<UnitState>>>,
}

/// A unit this process holds.
struct Running {
    lease: Lease,
    stop: watch::Sender<bool>,
    requests: mpsc::Sender<Request>,
    task: JoinHandle<Exit>,
}

struct Inner<S: ReadStore> {
    engine: Engine<S>,
    store: Arc<S>,
    feed: Arc<Feed<S>>,
    node: String,
    options: Options,
    subs: Vec<Sub<S>>,
    /// Subscribers other processes run, attached for strong consistency and status.
    observed: Vec<Spec>,
    /// Ids of everything attached to the engine (run and observed), to detach at the end.
    attached: Vec<String>,
    stop: watch::Sender<bool>,
    running: Mutex<HashMap<UnitId, Running>>,
    /// Starts a coordination round now rather than at the next tick (a unit became free
    /// here: after a rebuild, or when a worker ended by itself).
    round_now: tokio::sync::Notify,
}

/// One unit's state, as [`ReadSide::status`] reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct UnitStatus {
    /// `context.Name`.
    pub subscriber: String,
    pub partition: u32,
    pub partitions: u32,
    /// Every event up to here is handled, skipped on record or parked.
    pub position: u64,
    /// The store's safe head.
    pub head: u64,
    /// `head - position`: events still to read (of every type).
    pub lag_events: u64,
    /// How long ago the oldest event it has not reached was stored (0 when caught up).
    pub lag_seconds: f64,
    /// The process running it, if any holds its lease.
    pub owner: Option<String>,
    pub parked: usize,
    pub skipped: usize,
    /// Stopped by its failure policy, with the error.
    pub stopped: Option<String>,
    pub last_error: Option<String>,
    /// Failed attempts at the event it is on.
    pub attempts: u32,
    /// While a rebuild runs: the head it runs to.
    pub rebuild_until: Option<u64>,
}

/// A rebuild that was started or resumed by [`ReadSide::rebuild`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rebuild {
    /// The head position the rebuild runs to.
    pub target: u64,
    /// An earlier, unfinished rebuild was resumed rather than started again.
    pub resumed: bool,
}

/// The handlers, projections and process managers of one process, running. Dropping it
/// stops them without releasing their leases (other processes take over when they expire);
/// [`ReadSide::shutdown`] stops them cleanly.
pub struct ReadSide<S: ReadStore> {
    inner: Arc<Inner<S>>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl<S: ReadStore> std::fmt::Debug for ReadSide<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadSide")
            .field("node", &self.inner.node)
            .field(
                "subscribers",
                &self
                    .inner
                    .subs
                    .iter()
                    .map(|s| s.spec.id())
                    .collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl<S: ReadStore> ReadSide<S> {
    /// A read side for `engine`'s store; add subscribers, then [`ReadSideBuilder::start`].
    pub fn builder(engine: &Engine<S>) -> ReadSideBuilder<S> {
        ReadSideBuilder {
            engine: engine.clone(),
            subscribers: Vec::new(),
            observed: Vec::new(),
            options: Options::default(),
        }
    }

    /// This process's name in the store.
    pub fn node(&self) -> &str {
        &self.inner.node
    }

    /// Every unit of the subscribers this read side runs: checkpoint, head, lag, owner,
    /// parked and skipped counts, last error.
    pub async fn status(&self) -> Result<Vec<UnitStatus>, ReadError> {
        let inner = &self.inner;
        let head = inner.feed.refresh().await?;
        let failures = inner.store.failures(None).await?;
        let running = inner.subs.iter().map(|s| (s.spec, Some(&s.units)));
        let observed = inner.observed.iter().map(|s| (*s, None));
        let mut out = Vec::new();
        for (spec, units) in running.chain(observed) {
            let id = spec.id();
            let counts = |outcome: FailureOutcome, partition: u32| {
                failures
                    .iter()
                    .filter(|f| {
                        f.subscriber == id && f.partition == partition && f.outcome == outcome
                    })
                    .count()
            };
            for (unit, cp) in inner.store.checkpoints(Some(&id)).await? {
                // A unit running here is ahead of its saved checkpoint.
                let position = units
                    .and_then(|u| u.get(unit.partition as usize))
                    .map(|u| u.borrow().clone())
                    .filter(|s| s.owned)
                    .map_or(cp.position, |s| s.position.max(cp.position));
                let lag_seconds = if position < head {
                    match inner.store.stored_at(position + 1).await? {
                        Some(at) => (Utc::now() - at).num_milliseconds().max(0) as f64 / 1000.0,
                        None => 0.0,
                    }
                } else {
                    0.0
                };
                out.push(UnitStatus {
                    parked: counts(FailureOutcome::Parked, unit.partition),
                    skipped: counts(FailureOutcome::Skipped, unit.partition),
                    subscriber: unit.subscriber,
                    partition: unit.partition,
                    partitions: cp.partitions,
                    lag_events: head.saturating_sub(position),
                    position,
                    head,
                    lag_seconds,
                    owner: cp.owner,
                    stopped: cp.stopped,
                    last_error: cp.last_error,
                    attempts: cp.attempts,
                    rebuild_until: cp.rebuild_until,
                });
            }
        }
        Ok(out)
    }

    /// Waits until every subscriber this read side runs or observes has processed every
    /// event in the store, the events its process managers' commands append included (the
    /// head is read again until it stops moving): for tests, and for tools that show the
    /// read models. An event given up on (skipped, parked) is an error, as for
    /// [`Engine::wait_for`].
    pub async fn settle(&self, timeout: Duration) -> Result<(), ReadError> {
        let deadline = tokio::time::Instant::now() + timeout;
        let names: Vec<&str> = self.inner.attached.iter().map(String::as_str).collect();
        loop {
            let head = self.inner.feed.refresh().await?;
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            self.inner.engine.wait_for(head, &names, left).await?;
            if self.inner.feed.refresh().await? == head {
                return Ok(());
            }
        }
    }

    /// The parked and skipped events of `name` (of every subscriber when `None`).
    pub async fn failures(&self, name: Option<&str>) -> Result<Vec<FailedEvent>, ReadError> {
        let id = match name {
            Some(name) => Some(self.inner.sub(name)?.spec.id()),
            None => None,
        };
        Ok(self.inner.store.failures(id.as_deref()).await?)
    }

    /// Hands the parked event `id` to its subscriber again (as the code is now); on success
    /// its record goes. Runs in the process that holds the event's unit: elsewhere it is
    /// [`ReadError::NotHere`]. A replayed event comes after later events of its stream.
    pub async fn replay(&self, id: u64) -> Result<(), ReadError> {
        let failed = self.failure(id).await?;
        if failed.outcome != FailureOutcome::Parked {
            return Err(ReadError::NotParked { id });
        }
        let unit = UnitId {
            subscriber: failed.subscriber.clone(),
            partition: failed.partition,
        };
        let requests = self
            .inner
            .lock_running()
            .get(&unit)
            .map(|r| r.requests.clone());
        let Some(requests) = requests else {
            let owner = self.owner(&unit).await?;
            return Err(ReadError::NotHere { unit, owner });
        };
        let (reply, answer) = oneshot::channel();
        if requests.send(Request::Replay(id, reply)).await.is_err() {
            return Err(ReadError::NotHere { unit, owner: None });
        }
        match answer.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(ReadError::Failed(e)),
            Err(_) => Err(ReadError::NotHere { unit, owner: None }),
        }
    }

    /// Deletes the record of a parked or skipped event without handling it.
    pub async fn dismiss(&self, id: u64) -> Result<(), ReadError> {
        let store = &self.inner.store;
        let mut tx = store.begin().await?;
        if !store.remove_failure(&mut tx, id).await? {
            return Err(ReadError::NoSuchEvent(id));
        }
        store.commit(tx, None).await?;
        Ok(())
    }

    /// Lets a subscriber stopped by its failure policy go on (in every process), with a
    /// fresh count of attempts.
    pub async fn resume(&self, name: &str) -> Result<(), ReadError> {
        let sub = self.inner.sub(name)?;
        let id = sub.spec.id();
        self.inner.store.resume(&id).await?;
        // Waiters see it at once, before the workers have read it back.
        for state in &sub.units {
            state.send_modify(|s| {
                s.stopped = None;
                s.failing = None;
            });
        }
        let senders: Vec<mpsc::Sender<Request>> = self
            .inner
            .lock_running()
            .iter()
            .filter(|(unit, _)| unit.subscriber == id)
            .map(|(_, r)| r.requests.clone())
            .collect();
        for requests in senders {
            let _ = requests.send(Request::Resume).await;
        }
        Ok(())
    }

    /// Rebuilds `name` from origin: in one transaction its read model is emptied (a
    /// projection's `reset`), its checkpoints go back to 0 and its leases are voided, so
    /// whichever process runs it starts over. Resumable: when a rebuild of it is already
    /// under way (its units remember the target), it is continued, not started again.
    /// Follow it with [`ReadSide::progress`].
    pub async fn rebuild(&self, name: &str) -> Result<Rebuild, ReadError> {
        let inner = &self.inner;
        let sub = inner.sub(name)?;
        let id = sub.spec.id();
        let units = inner.store.checkpoints(Some(&id)).await?;
        if let Some(target) = units.iter().filter_map(|(_, cp)| cp.rebuild_until).max() {
            return Ok(Rebuild {
                target,
                resumed: true,
            });
        }
        let head = inner.feed.refresh().await?;
        let mut tx = inner.store.begin().await?;
        sub.deliverer
            .reset(&mut tx)
            .await
            .map_err(|e| ReadError::Reset(e.to_string()))?;
        inner.store.reset(&mut tx, &id, head).await?;
        inner.store.commit(tx, None).await?;
        // The units this process ran are void: stop their workers now rather than at
        // their next write; the coordinator takes them again at its next round.
        let stale: Vec<Running> = {
            let mut running = inner.lock_running();
            let units: Vec<UnitId> = running
                .keys()
                .filter(|u| u.subscriber == id)
                .cloned()
                .collect();
            units.iter().filter_map(|u| running.remove(u)).collect()
        };
        for r in stale {
            let _ = r.stop.send(true);
            r.task.abort();
        }
        for state in &sub.units {
            state.send_modify(|s| {
                s.owned = false;
                s.position = 0;
            });
        }
        inner.round_now.notify_one();
        tracing::info!(subscriber = %id, target = head, "rebuild started");
        Ok(Rebuild {
            target: head,
            resumed: false,
        })
    }

    /// Where `name` is: the lowest checkpoint over its partitions, and the store's head.
    /// Units running here answer from memory; the others from the store.
    pub async fn progress(&self, name: &str) -> Result<(u64, u64), ReadError> {
        let inner = &self.inner;
        let sub = inner.sub(name)?;
        let local: Vec<Option<u64>> = sub
            .units
            .iter()
            .map(|u| {
                let s = u.borrow();
                s.owned.then_some(s.position)
            })
            .collect();
        let position = if local.iter().all(Option::is_some) {
            local.iter().flatten().copied().min().unwrap_or(0)
        } else {
            let saved = inner.store.checkpoints(Some(&sub.spec.id())).await?;
            saved
                .iter()
                .map(|(unit, cp)| {
                    let here = local.get(unit.partition as usize).copied().flatten();
                    cp.position.max(here.unwrap_or(0))
                })
                .min()
                .unwrap_or(0)
        };
        Ok((position, inner.feed.head()))
    }

    /// Stops every unit after its current batch, saves the checkpoints, releases the
    /// leases and removes this node from the store, so other processes take over at once.
    pub async fn shutdown(self) {
        let inner = Arc::clone(&self.inner);
        let _ = inner.stop.send(true);
        let tasks: Vec<JoinHandle<()>> =
            std::mem::take(&mut *self.tasks.lock().unwrap_or_else(PoisonError::into_inner));
        for task in tasks {
            let _ = task.await;
        }
        inner.stop_all().await;
        if let Err(e) = inner.store.leave(&inner.node).await {
            tracing::warn!(error = %e, "leaving the node table failed");
        }
        inner.engine.hub().detach(&inner.attached);
    }

    async fn failure(&self, id: u64) -> Result<FailedEvent, ReadError> {
        self.inner
            .store
            .failures(None)
            .await?
            .into_iter()
            .find(|f| f.id == id)
            .ok_or(ReadError::NoSuchEvent(id))
    }

    async fn owner(&self, unit: &UnitId) -> Result<Option<String>, ReadError> {
        Ok(self
            .inner
            .store
            .checkpoints(Some(&unit.subscriber))
            .await?
            .into_iter()
            .find(|(id, _)| id == unit)
            .and_then(|(_, cp)| cp.owner))
    }
}

impl<S: ReadStore> Drop for ReadSide<S> {
    fn drop(&mut self) {
        let _ = self.inner.stop.send(true);
        for task in self
            .tasks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .drain(..)
        {
            task.abort();
        }
        for (_, r) in self.inner.lock_running().drain() {
            r.task.abort();
        }
        self.inner.engine.hub().detach(&self.inner.attached);
    }
}

impl<S: ReadStore> Inner<S> {
    fn lock_running(&self) -> std::sync::MutexGuard<'_, HashMap<UnitId, Running>> {
        self.running.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn sub(&self, name: &str) -> Result<&Sub<S>, ReadError> {
        let mut found = self.subs.iter().filter(|s| s.spec.is_named(name));
        match (found.next(), found.next()) {
            (Some(sub), None) => Ok(sub),
            _ => Err(ReadError::Unknown(name.to_string())),
        }
    }

    fn info(&self) -> String {
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "localhost".to_string());
        format!("{host} pid {}", std::process::id())
    }

    async fn coordinate(self: Arc<Self>) {
        let mut stop = self.stop.subscribe();
        let ids: Vec<String> = self.subs.iter().map(|s| s.spec.id()).collect();
        loop {
            if let Err(e) = self.round(&ids).await {
                tracing::warn!(error = %e, "a coordination round failed");
            }
            tokio::select! {
                _ = tokio::time::sleep(self.options.tick) => {}
                _ = self.round_now.notified() => {}
                _ = crate::read::stopped(&mut stop) => return,
            }
        }
    }

    /// One round: heartbeat, renew, hand over, take.
    async fn round(self: &Arc<Self>, ids: &[String]) -> Result<(), StoreError> {
        let ttl = self.options.lease_ttl;
        let live = self
            .store
            .heartbeat(&self.node, &self.info(), ids, ttl)
            .await?;
        self.reap().await;
        // Renew what we hold; a unit whose lease is gone stops at once.
        let held: Vec<(UnitId, Lease)> = self
            .lock_running()
            .iter()
            .map(|(u, r)| (u.clone(), r.lease))
            .collect();
        if !held.is_empty() {
            let renewed = self.store.renew(&held, &self.node, ttl).await?;
            for ((unit, _), ok) in held.iter().zip(renewed) {
                if !ok {
                    tracing::warn!(%unit, "lease lost; stopping the unit");
                    if let Some(r) = self.lock_running().remove(unit) {
                        let _ = r.stop.send(true);
                        r.task.abort();
                    }
                    self.unit_state(unit).send_modify(|s| s.owned = false);
                }
            }
        }
        let wanted = self.assignment(&live);
        // Units another live process should run now: stop them here, then release.
        let leaving: Vec<UnitId> = self
            .lock_running()
            .keys()
            .filter(|u| !wanted.contains(u))
            .cloned()
            .collect();
        for unit in leaving {
            let running = self.lock_running().remove(&unit);
            if let Some(r) = running {
                tracing::info!(%unit, "handing the unit over to another process");
                let _ = r.stop.send(true);
                // The worker ends after its batch; renewals of the other units go on
                // meanwhile, and the lease is released once it has.
                let store = Arc::clone(&self.store);
                let state = self.unit_state(&unit);
                tokio::spawn(async move {
                    if r.task.await.is_ok_and(|exit| exit == Exit::Stopped)
                        && let Err(e) = store.release(&unit, r.lease).await
                    {
                        tracing::warn!(%unit, error = %e, "releasing a lease failed");
                    }
                    state.send_modify(|s| s.owned = false);
                });
            }
        }
        for unit in wanted {
            if self.lock_running().contains_key(&unit) {
                continue;
            }
            if let Some(lease) = self.store.acquire(&unit, &self.node, ttl).await? {
                tracing::info!(%unit, token = lease.token, "took the unit");
                self.spawn(unit, lease);
            }
        }
        Ok(())
    }

    /// Forgets workers that ended by themselves (fenced: their lease is someone else's).
    async fn reap(&self) {
        let ended: Vec<(UnitId, Running)> = {
            let mut running = self.lock_running();
            let units: Vec<UnitId> = running
                .iter()
                .filter(|(_, r)| r.task.is_finished())
                .map(|(u, _)| u.clone())
                .collect();
            units
                .into_iter()
                .filter_map(|u| running.remove(&u).map(|r| (u, r)))
                .collect()
        };
        for (unit, r) in ended {
            match r.task.await {
                Ok(Exit::Stopped) => {
                    if let Err(e) = self.store.release(&unit, r.lease).await {
                        tracing::warn!(%unit, error = %e, "releasing a lease failed");
                    }
                }
                Ok(Exit::Fenced) => tracing::info!(%unit, "another process runs the unit now"),
                Err(e) => tracing::error!(%unit, error = %e, "a unit's worker panicked"),
            }
            self.unit_state(&unit).send_modify(|s| s.owned = false);
        }
    }

    /// The units this node should run: each subscriber's partitions dealt round-robin over
    /// the live nodes that run it, starting at a node that depends on the subscriber, so
    /// single-partition subscribers spread too.
    fn assignment(&self, live: &[(String, Vec<String>)]) -> Vec<UnitId> {
        let mut mine = Vec::new();
        for sub in &self.subs {
            let id = sub.spec.id();
            let mut nodes: Vec<&str> = live
                .iter()
                .filter(|(_, subs)| subs.contains(&id))
                .map(|(n, _)| n.as_str())
                .collect();
            if !nodes.contains(&self.node.as_str()) {
                nodes.push(&self.node);
            }
            nodes.sort_unstable();
            let offset = crate::read::spec::partition_of(&id, nodes.len() as u32) as usize;
            for partition in 0..sub.spec.partitions {
                let node = nodes[(partition as usize + offset) % nodes.len()];
                if node == self.node {
                    mine.push(UnitId {
                        subscriber: id.clone(),
                        partition,
                    });
                }
            }
        }
        mine
    }

    fn unit_state(&self, unit: &UnitId) -> Arc<watch::Sender<UnitState>> {
        self.subs
            .iter()
            .find(|s| s.spec.id() == unit.subscriber)
            .and_then(|s| s.units.get(unit.partition as usize))
            .cloned()
            .unwrap_or_else(|| Arc::new(watch::Sender::new(UnitState::default())))
    }

    fn spawn(self: &Arc<Self>, unit: UnitId, lease: Lease) {
        let Some(sub) = self.subs.iter().find(|s| s.spec.id() == unit.subscriber) else {
            return;
        };
        let (stop, stop_rx) = watch::channel(false);
        let (requests, requests_rx) = mpsc::channel(8);
        let worker = Worker {
            cx: UnitCx {
                store: Arc::clone(&self.store),
                engine: self.engine.clone(),
                unit: unit.clone(),
                lease,
            },
            deliverer: Arc::clone(&sub.deliverer),
            feed: Arc::clone(&self.feed),
            state: self.unit_state(&unit),
            stop: stop_rx,
            requests: requests_rx,
            page_size: self.options.page_size,
            flush_every: self.options.flush_every,
        };
        let inner = Arc::downgrade(self);
        let task = tokio::spawn(async move {
            let exit = worker.run().await;
            // Its lease may be someone else's now, or free: look again at once.
            if let Some(inner) = inner.upgrade() {
                inner.round_now.notify_one();
            }
            exit
        });
        self.lock_running().insert(
            unit,
            Running {
                lease,
                stop,
                requests,
                task,
            },
        );
    }

    /// Stops every worker (each after its batch), then releases their leases.
    async fn stop_all(&self) {
        let all: Vec<(UnitId, Running)> = self.lock_running().drain().collect();
        for (_, r) in &all {
            let _ = r.stop.send(true);
        }
        for (unit, r) in all {
            if r.task.await.is_ok_and(|exit| exit == Exit::Stopped)
                && let Err(e) = self.store.release(&unit, r.lease).await
            {
                tracing::warn!(%unit, error = %e, "releasing a lease failed");
            }
            self.unit_state(&unit).send_modify(|s| s.owned = false);
        }
    }
}
