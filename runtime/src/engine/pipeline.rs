//! Running one command: the middleware around it, validation, deciding on the loaded state,
//! appending with the expected version and the command id, retrying on a conflict, and
//! answering a retried command id with its first outcome.

use tracing::Instrument;
use uuid::Uuid;

use super::load::Working;
use super::{CommandContext, DispatchError, Engine, Outcome};
use crate::aggregate::{Aggregate, AggregateCommand};
use crate::event::DomainEvent;
use crate::middleware::{CommandInfo, DomainFailure, OutcomeSummary, Rejection};
use crate::read::consistency::Unconfirmed;
use crate::store::{
    AppendOutcome, EventStore, ExpectedVersion, Metadata, NewEvent, RecordedEvent, StoreError,
};
use crate::validate::Validate;

impl<S: EventStore> Engine<S> {
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
