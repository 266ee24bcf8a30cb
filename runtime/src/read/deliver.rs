//! How each kind of subscriber takes a batch of its events: side-effect handlers one event
//! after another; projections in one transaction with the checkpoint; process managers
//! dispatching their commands, then saving instance states with the checkpoint.

use std::collections::HashMap;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;

use crate::engine::{DispatchError, Engine};
use crate::read::process;
use crate::read::spec::Spec;
use crate::read::store::{Fence, InstanceChange, Lease, Progress, ReadStore, UnitId};
use crate::read::subscriber::{
    Commands, Deliver, HandlerError, ProcessManager, Project, Subscription,
};
use crate::store::{RecordedEvent, StoreError};

pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What a batch is for: moving the checkpoint, or replaying a parked event (whose record is
/// deleted in the same transaction, and which leaves the checkpoint where it is).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Commit<'a> {
    To(&'a Progress),
    Replay(u64),
}

#[derive(Debug)]
pub(crate) enum BatchError {
    /// The handler failed on `events[index]` (nothing of the batch is committed for
    /// transactional kinds; side-effect handlers handled the events before it).
    Handler { index: usize, error: HandlerError },
    /// The lease was lost: another process runs the unit now.
    Fenced,
    /// The store failed; not the event's fault.
    Store(StoreError),
}

impl From<StoreError> for BatchError {
    fn from(e: StoreError) -> Self {
        BatchError::Store(e)
    }
}

/// A relevant event: the index of the [`Spec::events`] key it matched, and the event.
pub(crate) type Item<'a> = (usize, &'a RecordedEvent);

/// What the worker of a unit needs from its subscriber, whatever its kind.
pub(crate) struct UnitCx<S> {
    pub store: Arc<S>,
    pub engine: Engine<S>,
    pub unit: UnitId,
    pub lease: Lease,
}

pub(crate) trait Deliverer<S: ReadStore>: Send + Sync + 'static {
    fn spec(&self) -> Spec;

    /// Whether [`Deliverer::batch`] commits the checkpoint itself (projections and process
    /// managers); side-effect handlers leave it to the worker.
    fn transactional(&self) -> bool;

    fn batch<'a>(
        &'a self,
        cx: &'a UnitCx<S>,
        events: &'a [Item<'a>],
        commit: Commit<'a>,
    ) -> BoxFuture<'a, Result<(), BatchError>>;

    /// Empties the read model in `tx` (projections), for a rebuild.
    fn reset<'a>(&'a self, tx: &'a mut S::Tx) -> BoxFuture<'a, Result<(), HandlerError>>;
}

fn decode<T: Subscription>(index: usize, item: &Item<'_>) -> Result<T::Event, BatchError> {
    T::decode(item.0, item.1).map_err(|e| BatchError::Handler {
        index,
        error: HandlerError::from(e),
    })
}

/// Commits `tx` as `commit` says: with the unit's checkpoint, or deleting the replayed
/// event's record.
async fn finish<S: ReadStore>(
    cx: &UnitCx<S>,
    mut tx: S::Tx,
    commit: Commit<'_>,
) -> Result<(), BatchError> {
    let fence = match commit {
        Commit::To(progress) => Some(Fence {
            unit: &cx.unit,
            lease: cx.lease,
            progress,
        }),
        Commit::Replay(id) => {
            cx.store.remove_failure(&mut tx, id).await?;
            None
        }
    };
    if cx.store.commit(tx, fence).await? {
        Ok(())
    } else {
        Err(BatchError::Fenced)
    }
}

/// A side-effect handler `H` of subscription `T`.
pub(crate) struct Effect<T, H> {
    pub handler: H,
    pub of: PhantomData<fn() -> T>,
}

impl<S, T, H> Deliverer<S> for Effect<T, H>
where
    S: ReadStore,
    T: Deliver<H>,
    H: Send + Sync + 'static,
{
    fn spec(&self) -> Spec {
        T::SPEC
    }

    fn transactional(&self) -> bool {
        false
    }

    fn batch<'a>(
        &'a self,
        cx: &'a UnitCx<S>,
        events: &'a [Item<'a>],
        commit: Commit<'a>,
    ) -> BoxFuture<'a, Result<(), BatchError>> {
        Box::pin(async move {
            for (index, item) in events.iter().enumerate() {
                let event = decode::<T>(index, item)?;
                T::deliver(&self.handler, &event, item.1)
                    .await
                    .map_err(|error| BatchError::Handler { index, error })?;
            }
            if let Commit::Replay(_) = commit {
                let tx = cx.store.begin().await?;
                finish(cx, tx, commit).await?;
            }
            Ok(())
        })
    }

    fn reset<'a>(&'a self, _tx: &'a mut S::Tx) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(async { Ok(()) })
    }
}

/// A projection `H` of subscription `T`, writing on the store's transaction.
pub(crate) struct Projection<T, H> {
    pub handler: H,
    pub of: PhantomData<fn() -> T>,
}

impl<S, T, H> Deliverer<S> for Projection<T, H>
where
    S: ReadStore,
    T: Project<H, S::Conn>,
    H: Send + Sync + 'static,
{
    fn spec(&self) -> Spec {
        T::SPEC
    }

    fn transactional(&self) -> bool {
        true
    }

    fn batch<'a>(
        &'a self,
        cx: &'a UnitCx<S>,
        events: &'a [Item<'a>],
        commit: Commit<'a>,
    ) -> BoxFuture<'a, Result<(), BatchError>> {
        Box::pin(async move {
            let mut tx = cx.store.begin().await?;
            for (index, item) in events.iter().enumerate() {
                let event = decode::<T>(index, item)?;
                T::project(&self.handler, S::conn(&mut tx), &event, item.1)
                    .await
                    .map_err(|error| BatchError::Handler { index, error })?;
            }
            finish(cx, tx, commit).await
        })
    }

    fn reset<'a>(&'a self, tx: &'a mut S::Tx) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(async move { T::reset(&self.handler, S::conn(tx)).await })
    }
}

/// A process manager with state `P`.
pub(crate) struct Process<P> {
    pub of: PhantomData<fn() -> P>,
}

impl<P: ProcessManager> Process<P> {
    async fn load<S: ReadStore>(
        cx: &UnitCx<S>,
        instance: &str,
        index: usize,
    ) -> Result<Option<P>, BatchError> {
        let Some(json) = cx
            .store
            .load_instance(&cx.unit.subscriber, instance)
            .await?
        else {
            return Ok(None);
        };
        crate::object::from_object::<P>(&json)
            .map(Some)
            .map_err(|e| BatchError::Handler {
                index,
                error: HandlerError::new(format!(
                    "the saved state of instance `{instance}` does not decode: {e}"
                )),
            })
    }
}

impl<S, P> Deliverer<S> for Process<P>
where
    S: ReadStore,
    P: ProcessManager,
{
    fn spec(&self) -> Spec {
        P::SPEC
    }

    fn transactional(&self) -> bool {
        true
    }

    fn batch<'a>(
        &'a self,
        cx: &'a UnitCx<S>,
        events: &'a [Item<'a>],
        commit: Commit<'a>,
    ) -> BoxFuture<'a, Result<(), BatchError>> {
        Box::pin(async move {
            // This batch's instance states, ahead of the store until it commits.
            let mut states: HashMap<String, (Option<P>, u64)> = HashMap::new();
            for (index, item) in events.iter().enumerate() {
                let event = decode::<P>(index, item)?;
                let instance = P::instance(&event);
                let current = match states.get(&instance) {
                    Some((state, _)) => state.clone(),
                    None => Self::load(cx, &instance, index).await?,
                };
                let step = process::step(current.as_ref(), item.0, &event, item.1)
                    .map_err(|error| BatchError::Handler { index, error })?;
                if !step.reacted {
                    continue;
                }
                for planned in step.commands {
                    let name = planned.command.command_name();
                    match planned.command.dispatch(&cx.engine, planned.context).await {
                        Ok(_) | Err(DispatchError::Unconfirmed(_)) => {}
                        Err(e) => {
                            return Err(BatchError::Handler {
                                index,
                                error: HandlerError::new(format!("command {name} failed: {e}")),
                            });
                        }
                    }
                }
                states.insert(step.instance, (step.state, item.1.position));
            }
            let mut changes = Vec::with_capacity(states.len());
            for (instance, (state, position)) in states {
                let state = match state {
                    Some(s) => Some(
                        serde_json::to_value(&s)
                            .map_err(|e| BatchError::Store(StoreError::backend(e.to_string())))?,
                    ),
                    None => None,
                };
                changes.push(InstanceChange {
                    instance,
                    state,
                    position,
                });
            }
            let mut tx = cx.store.begin().await?;
            if !changes.is_empty() {
                changes.sort_by(|a, b| a.instance.cmp(&b.instance));
                cx.store
                    .save_instances(&mut tx, &cx.unit.subscriber, &changes)
                    .await?;
            }
            finish(cx, tx, commit).await
        })
    }

    fn reset<'a>(&'a self, _tx: &'a mut S::Tx) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(async { Ok(()) })
    }
}
