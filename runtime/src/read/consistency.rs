//! Strong consistency, stated honestly: a dispatch waits for the `consistency: strong`
//! handlers attached to its engine that take its events, until each has processed the
//! dispatch's last event, or the timeout passes, or it fails. Then the dispatch returns
//! [`crate::DispatchError::Unconfirmed`]: the events ARE committed, and the error says which
//! handler is late or failed and how far it got.
//!
//! Progress comes from the process itself when it runs the handler's partition (updated
//! after every batch, after its commit), else from the store's checkpoint, which the owning
//! process writes after its batches and whenever it has caught up.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

use crate::read::spec::{Consistency, Spec};
use crate::read::store::{Checkpoint, FailureOutcome, UnitId};
use crate::store::{RecordedEvent, StoreError};

/// Why a strong handler did not confirm a dispatch.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LagReason {
    /// Still behind when the timeout passed (it may catch up later).
    Late { waited: Duration },
    /// Behind, and its last attempt at an event failed with this error; it is retrying.
    Failing(String),
    /// Stopped by its failure policy before the event, with this error.
    Stopped(String),
    /// It gave up on one of the dispatch's events and parked it (dead-letter table).
    Parked(String),
    /// It gave up on one of the dispatch's events and skipped it on record.
    Skipped(String),
}

/// A strong handler (one partition of it) that did not confirm a dispatch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lagging {
    /// `context.Name`.
    pub handler: String,
    pub partition: u32,
    /// The position it had processed when the wait ended.
    pub reached: u64,
    /// The position it was waited for.
    pub wanted: u64,
    /// The process holding its lease, when known.
    pub owner: Option<String>,
    pub reason: LagReason,
}

impl std::fmt::Display for Lagging {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "handler {}", self.handler)?;
        if self.partition > 0 {
            write!(f, " (partition {})", self.partition)?;
        }
        match &self.reason {
            LagReason::Late { waited } => write!(
                f,
                " had reached position {} of {} after {waited:?}",
                self.reached, self.wanted
            ),
            LagReason::Failing(e) => write!(
                f,
                " is at position {} of {} and failing: {e}",
                self.reached, self.wanted
            ),
            LagReason::Stopped(e) => write!(f, " stopped at position {}: {e}", self.reached),
            LagReason::Parked(e) => write!(f, " parked the event: {e}"),
            LagReason::Skipped(e) => write!(f, " skipped the event: {e}"),
        }
    }
}

/// A dispatch whose events are committed but not confirmed by every strong handler.
#[derive(Debug, Clone, PartialEq)]
pub struct Unconfirmed {
    pub stream_id: String,
    /// The stream's version after the command.
    pub version: u64,
    /// The global position of the command's last event.
    pub position: u64,
    /// The committed events.
    pub recorded: Vec<RecordedEvent>,
    pub lagging: Vec<Lagging>,
}

impl std::fmt::Display for Unconfirmed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the events are committed (`{}` at version {}, position {}), but ",
            self.stream_id, self.version, self.position
        )?;
        for (i, lag) in self.lagging.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{lag}")?;
        }
        Ok(())
    }
}

/// Why [`crate::Engine::wait_for`] returned without every handler confirming.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WaitError {
    #[error("{}", lagging.iter().map(|l| l.to_string()).collect::<Vec<_>>().join("; "))]
    Lagging { lagging: Vec<Lagging> },
    /// No read side attached to this engine runs or observes a handler of that name.
    #[error(
        "no handler `{0}` is attached to this engine (start a ReadSide that runs or observes it)"
    )]
    UnknownHandler(String),
}

/// What a process knows of one of its units.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct UnitState {
    /// This process holds the lease and runs it.
    pub owned: bool,
    pub position: u64,
    /// The error of the last failed attempt while it is retrying.
    pub failing: Option<String>,
    pub stopped: Option<String>,
    /// The latest events it gave up on.
    pub failures: Vec<GaveUp>,
}

/// An event a unit gave up on: its position, what became of it, the error.
pub(crate) type GaveUp = (u64, FailureOutcome, String);

/// How many given-up events a unit remembers for waiters.
const REMEMBERED_FAILURES: usize = 16;

impl UnitState {
    pub(crate) fn gave_up(&mut self, position: u64, outcome: FailureOutcome, error: &str) {
        self.failures.push((position, outcome, error.to_string()));
        if self.failures.len() > REMEMBERED_FAILURES {
            self.failures.remove(0);
        }
    }
}

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What a process can learn from the store about units another process runs.
pub(crate) trait Remote: Send + Sync {
    fn checkpoint(&self, unit: &UnitId) -> BoxFuture<'_, Result<Option<Checkpoint>, StoreError>>;

    /// The events of `subscriber` in `first..=last` it gave up on.
    fn gave_up(
        &self,
        subscriber: &str,
        first: u64,
        last: u64,
    ) -> BoxFuture<'_, Result<Vec<GaveUp>, StoreError>>;
}

/// [`Remote`] for a store.
pub(crate) struct FromStore<S>(pub Arc<S>);

impl<S: crate::read::store::ReadStore> Remote for FromStore<S> {
    fn checkpoint(&self, unit: &UnitId) -> BoxFuture<'_, Result<Option<Checkpoint>, StoreError>> {
        let unit = unit.clone();
        Box::pin(async move {
            let units = self.0.checkpoints(Some(&unit.subscriber)).await?;
            Ok(units
                .into_iter()
                .find(|(id, _)| *id == unit)
                .map(|(_, cp)| cp))
        })
    }

    fn gave_up(
        &self,
        subscriber: &str,
        first: u64,
        last: u64,
    ) -> BoxFuture<'_, Result<Vec<GaveUp>, StoreError>> {
        let subscriber = subscriber.to_string();
        Box::pin(async move {
            let failures = self.0.failures_between(&subscriber, first, last).await?;
            Ok(failures
                .into_iter()
                .map(|f| (f.event.position, f.outcome, f.error))
                .collect())
        })
    }
}

/// One attached subscriber.
pub(crate) struct Entry {
    pub spec: Spec,
    pub units: Vec<watch::Receiver<UnitState>>,
    pub remote: Arc<dyn Remote>,
}

/// The subscribers attached to an engine, shared by its clones.
#[derive(Default)]
pub(crate) struct Hub {
    entries: RwLock<Vec<Arc<Entry>>>,
}

impl Hub {
    pub(crate) fn attach(&self, entry: Entry) {
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        entries.retain(|e| e.spec.id() != entry.spec.id());
        entries.push(Arc::new(entry));
    }

    pub(crate) fn detach(&self, ids: &[String]) {
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        entries.retain(|e| !ids.contains(&e.spec.id()));
    }

    fn entries(&self) -> Vec<Arc<Entry>> {
        self.entries
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Waits until every strong subscriber that takes one of `recorded` has processed it.
    pub(crate) async fn confirm(
        &self,
        recorded: &[RecordedEvent],
        timeout: Duration,
    ) -> Result<(), Vec<Lagging>> {
        let mut waits = Vec::new();
        for entry in self.entries() {
            if entry.spec.consistency != Consistency::Strong {
                continue;
            }
            let mut wanted: Vec<(u32, u64, u64)> = Vec::new();
            for e in recorded.iter().filter(|e| entry.spec.accepts(e).is_some()) {
                let partition = entry.spec.partition_of(&e.stream_id);
                match wanted.iter_mut().find(|w| w.0 == partition) {
                    Some(w) => w.2 = w.2.max(e.position),
                    None => wanted.push((partition, e.position, e.position)),
                }
            }
            for (partition, first, last) in wanted {
                waits.push(wait_unit(
                    Arc::clone(&entry),
                    partition,
                    first,
                    last,
                    timeout,
                ));
            }
        }
        collect(waits).await
    }

    /// Waits until each subscriber named in `names` has processed `position`, in every
    /// partition.
    pub(crate) async fn wait_for(
        &self,
        position: u64,
        names: &[&str],
        timeout: Duration,
    ) -> Result<(), WaitError> {
        let entries = self.entries();
        let mut waits = Vec::new();
        for name in names {
            let Some(entry) = entries.iter().find(|e| e.spec.is_named(name)) else {
                return Err(WaitError::UnknownHandler(name.to_string()));
            };
            for partition in 0..entry.spec.partitions {
                waits.push(wait_unit(
                    Arc::clone(entry),
                    partition,
                    position,
                    position,
                    timeout,
                ));
            }
        }
        collect(waits)
            .await
            .map_err(|lagging| WaitError::Lagging { lagging })
    }
}

async fn collect(
    mut waits: Vec<impl Future<Output = Result<(), Lagging>> + Send + 'static>,
) -> Result<(), Vec<Lagging>> {
    let lagging: Vec<Lagging> = match waits.len() {
        0 => return Ok(()),
        // The usual case (one handler, one partition) needs no task.
        1 => match waits.pop() {
            Some(wait) => wait.await.err().into_iter().collect(),
            None => Vec::new(),
        },
        _ => {
            let mut set = tokio::task::JoinSet::new();
            for wait in waits {
                set.spawn(wait);
            }
            let mut lagging = Vec::new();
            while let Some(done) = set.join_next().await {
                match done {
                    Ok(Err(lag)) => lagging.push(lag),
                    Ok(Ok(())) => {}
                    Err(e) => tracing::warn!(error = %e, "a strong-consistency wait panicked"),
                }
            }
            lagging.sort_by(|a, b| (&a.handler, a.partition).cmp(&(&b.handler, b.partition)));
            lagging
        }
    };
    if lagging.is_empty() {
        Ok(())
    } else {
        Err(lagging)
    }
}

/// Waits for one unit to pass `last`; a failure it recorded for an event in
/// `first..=last` ends the wait at once.
async fn wait_unit(
    entry: Arc<Entry>,
    partition: u32,
    first: u64,
    last: u64,
    timeout: Duration,
) -> Result<(), Lagging> {
    let started = Instant::now();
    let deadline = started + timeout;
    let unit = UnitId {
        subscriber: entry.spec.id(),
        partition,
    };
    let lag = |reached: u64, owner: Option<String>, reason: LagReason| Lagging {
        handler: unit.subscriber.clone(),
        partition,
        reached,
        wanted: last,
        owner,
        reason,
    };
    let Some(mut local) = entry.units.get(partition as usize).cloned() else {
        return Err(lag(0, None, LagReason::Late { waited: timeout }));
    };
    let mut remote_pause = Duration::from_millis(2);
    let mut closed = false;
    let mut seen = (0u64, None::<String>, None::<String>);
    loop {
        let state = local.borrow_and_update().clone();
        // A read side that went away leaves its last state behind: ask the store then.
        if state.owned && !closed {
            seen = (
                state.position,
                state.failing.clone(),
                Some("this process".into()),
            );
            if let Some((_, outcome, error)) = state
                .failures
                .iter()
                .find(|(p, _, _)| (first..=last).contains(p))
            {
                let reason = match outcome {
                    FailureOutcome::Parked => LagReason::Parked(error.clone()),
                    FailureOutcome::Skipped => LagReason::Skipped(error.clone()),
                };
                return Err(lag(state.position, seen.2, reason));
            }
            if state.position >= last {
                return Ok(());
            }
            if let Some(error) = state.stopped {
                return Err(lag(state.position, seen.2, LagReason::Stopped(error)));
            }
            tokio::select! {
                changed = local.changed() => {
                    closed = changed.is_err();
                    continue;
                }
                _ = tokio::time::sleep_until(deadline) => break,
            }
        }
        match entry.remote.checkpoint(&unit).await {
            Ok(Some(cp)) => {
                seen = (
                    cp.position,
                    (cp.attempt_position > 0)
                        .then(|| cp.last_error.clone())
                        .flatten(),
                    cp.owner.clone(),
                );
                if cp.position >= last {
                    // Passed: handled, or given up on record, which the dispatch must hear.
                    return match entry.remote.gave_up(&unit.subscriber, first, last).await {
                        Ok(failures) => match failures.into_iter().next() {
                            Some((_, outcome, error)) => {
                                let reason = match outcome {
                                    FailureOutcome::Parked => LagReason::Parked(error),
                                    FailureOutcome::Skipped => LagReason::Skipped(error),
                                };
                                Err(lag(cp.position, cp.owner, reason))
                            }
                            None => Ok(()),
                        },
                        Err(e) => Err(lag(
                            cp.position,
                            cp.owner,
                            LagReason::Failing(format!("its failures could not be read: {e}")),
                        )),
                    };
                }
                if let Some(error) = cp.stopped {
                    return Err(lag(cp.position, cp.owner, LagReason::Stopped(error)));
                }
            }
            Ok(None) => {}
            Err(e) => {
                tracing::debug!(error = %e, %unit, "reading a checkpoint for a strong wait failed")
            }
        }
        let now = Instant::now();
        if now >= deadline {
            break;
        }
        let pause = remote_pause.min(deadline - now);
        remote_pause = (remote_pause * 2).min(Duration::from_millis(50));
        // This process may take the unit over meanwhile; an observed unit has no local
        // state (its sender is gone, and `changed` would return at once): only the pause.
        tokio::select! {
            changed = local.changed(), if !closed => closed = changed.is_err(),
            _ = tokio::time::sleep(pause) => {}
        }
    }
    let (reached, failing, owner) = seen;
    let reason = match failing {
        Some(error) => LagReason::Failing(error),
        None => LagReason::Late {
            waited: started.elapsed(),
        },
    };
    Err(lag(reached, owner, reason))
}
