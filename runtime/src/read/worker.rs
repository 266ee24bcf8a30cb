//! The loop that runs one unit (a subscriber's partition) while this process holds its
//! lease: read the events after the checkpoint from the feed, hand the relevant ones to the
//! subscriber in batches, move the checkpoint; on failure retry as the policy says, then
//! stop, skip on record or park; after a crash, go one event at a time through the events
//! that may have been in flight, counting each attempt in the store first.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;
use tracing::Instrument;

use crate::read::consistency::UnitState;
use crate::read::deliver::{BatchError, Commit, Deliverer, Item, UnitCx};
use crate::read::feed::Feed;
use crate::read::spec::{Exhausted, Spec, partition_of};
use crate::read::store::{Checkpoint, FailureOutcome, NewFailure, Progress, ReadStore};
use crate::store::{RecordedEvent, StoreError};

/// Requests to a running unit from its process's [`crate::read::ReadSide`].
pub(crate) enum Request {
    /// Hand the parked event with this record id to the subscriber again.
    Replay(u64, oneshot::Sender<Result<(), String>>),
    /// Leave the stopped state (the store's row has been cleared already).
    Resume,
}

/// What the main loop waited for.
enum Next {
    Page(Result<Option<crate::read::feed::Page>, StoreError>),
    Request(Option<Request>),
    /// No event for a moment: save the moved checkpoint (the in-flight marker staying
    /// ahead), or, with nothing new for `flush_every`, bring the marker back to it.
    Quiet,
}

/// Why a worker ended.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Exit {
    /// Asked to stop: the checkpoint is saved, the lease can be released.
    Stopped,
    /// The lease was lost (another process took over, or the subscriber was reset).
    Fenced,
}

pub(crate) struct Worker<S> {
    pub cx: UnitCx<S>,
    pub deliverer: Arc<dyn Deliverer<S>>,
    pub feed: Arc<Feed<S>>,
    pub state: Arc<watch::Sender<UnitState>>,
    pub stop: watch::Receiver<bool>,
    pub requests: mpsc::Receiver<Request>,
    pub page_size: usize,
    /// How often a moved checkpoint is saved while events keep coming.
    pub flush_every: Duration,
}

/// The state of the loop: where the unit is, and what is saved of it.
struct Run {
    checkpoint: Checkpoint,
    /// Handled (or passed) up to here, in memory.
    position: u64,
    saved: u64,
    last_flush: Instant,
    /// Up to here, one event at a time, each attempt written down first: the events that
    /// were in flight when the process crashed a second time among them, or when it
    /// crashed on an event it was already retrying.
    careful_until: u64,
    /// The events in flight at the last crash, and how many crashes in a row ended among
    /// them: saved with every checkpoint write until the unit is past them.
    window: Option<Window>,
}

/// Events that were in flight at a crash.
#[derive(Debug, Clone, Copy)]
struct Window {
    end: u64,
    crashes: u32,
}

/// How far ahead of a page the in-flight marker is set, in pages: a side-effect handler
/// writes it once per this many pages, not once per page.
const MARKER_PAGES: u64 = 10;

/// With a moved checkpoint to save and no new events for this long, save it: other
/// processes waiting on it (strong consistency) see it about this much later. Under load,
/// where the feed's looks are spaced further apart, twice that spacing (a gap between two
/// pages is not the end of the events).
const QUIET: Duration = Duration::from_millis(20);

/// Delay between retries of a store call that failed (the store is down, not the event).
fn store_pause(failures: u32) -> Duration {
    Duration::from_millis(100 * u64::from(failures.clamp(1, 50)))
}

impl<S: ReadStore> Worker<S> {
    fn spec(&self) -> Spec {
        self.deliverer.spec()
    }

    pub(crate) async fn run(mut self) -> Exit {
        let span = tracing::info_span!("eskema.unit", unit = %self.cx.unit);
        async move {
            let checkpoint = match self.load().await {
                Some(cp) => cp,
                None => return Exit::Stopped,
            };
            let mut run = Run {
                position: checkpoint.position,
                saved: checkpoint.position,
                checkpoint,
                last_flush: Instant::now(),
                careful_until: 0,
                window: None,
            };
            if let Err(exit) = self.after_crash(&mut run).await {
                return exit;
            }
            self.publish(|s| {
                s.owned = true;
                s.position = run.position;
                s.stopped = run.checkpoint.stopped.clone();
            });
            let exit = self.main(&mut run).await;
            if exit == Exit::Stopped {
                self.flush(&mut run).await;
            }
            self.publish(|s| s.owned = false);
            exit
        }
        .instrument(span)
        .await
    }

    /// Events may have been in flight when the unit last ran (its checkpoint is behind its
    /// in-flight marker): the process crashed. A first crash among them only counts;
    /// after a second one in a row, or a crash during an event's retries, they are
    /// handled one at a time, each attempt counted in the store before it is made, so the
    /// event that crashes the process is found and its crashes count against it.
    async fn after_crash(&mut self, run: &mut Run) -> Result<(), Exit> {
        let cp = &run.checkpoint;
        if cp.suspect_until <= cp.position || cp.stopped.is_some() {
            return Ok(());
        }
        let end = cp.suspect_until;
        if cp.attempt_position > cp.position {
            tracing::warn!(
                position = cp.attempt_position,
                attempts = cp.attempts,
                "the process ended while retrying an event: going on one event at a time"
            );
            run.careful_until = end;
            return Ok(());
        }
        let crashes = if cp.attempt_position == 0 {
            cp.attempts
        } else {
            0
        } + 1;
        tracing::warn!(
            after = cp.position,
            until = end,
            crashes,
            "events were in flight when this unit last ran"
        );
        run.window = Some(Window { end, crashes });
        let progress = self.progress(run, run.position, end);
        self.save(&progress).await?;
        if crashes >= 2 {
            run.careful_until = end;
        }
        Ok(())
    }

    /// A checkpoint write at `position`: while the unit is inside a crash window, it
    /// carries the window's crash count, so that count survives the next crash.
    fn progress(&self, run: &mut Run, position: u64, suspect_until: u64) -> Progress {
        if run.window.is_some_and(|w| position >= w.end) {
            run.window = None;
        }
        Progress {
            position,
            suspect_until,
            attempt: run.window.map(|w| {
                (
                    0,
                    w.crashes,
                    format!("the process ended with events up to {} in flight", w.end),
                )
            }),
        }
    }

    fn publish(&self, f: impl FnOnce(&mut UnitState)) {
        self.state.send_modify(f);
    }

    fn stopping(&self) -> bool {
        *self.stop.borrow()
    }

    /// The unit's checkpoint, retrying while the store is unreachable.
    async fn load(&self) -> Option<Checkpoint> {
        let units = self
            .until_answered("loading the checkpoint", || {
                self.cx.store.checkpoints(Some(&self.cx.unit.subscriber))
            })
            .await?;
        units
            .into_iter()
            .find(|(id, _)| *id == self.cx.unit)
            .map(|(_, cp)| cp)
    }

    /// Runs `op` until the store answers, pausing longer after each failure (the store is
    /// down, which is not the event's fault and no attempt); `None` when asked to stop
    /// meanwhile.
    async fn until_answered<T, F>(&self, what: &str, mut op: impl FnMut() -> F) -> Option<T>
    where
        F: std::future::Future<Output = Result<T, StoreError>>,
    {
        let mut failures = 0;
        loop {
            match op().await {
                Ok(answer) => return Some(answer),
                Err(e) => {
                    failures += 1;
                    tracing::warn!(error = %e, failures, "{what} failed");
                    if self.pause(store_pause(failures)).await {
                        return None;
                    }
                }
            }
        }
    }

    /// Sleeps, or returns `true` at once when asked to stop.
    async fn pause(&self, pause: Duration) -> bool {
        let mut stop = self.stop.clone();
        let stopped = tokio::select! {
            _ = tokio::time::sleep(pause) => false,
            _ = crate::read::stopped(&mut stop) => true,
        };
        stopped || self.stopping()
    }

    async fn main(&mut self, run: &mut Run) -> Exit {
        loop {
            if run.checkpoint.stopped.is_some() {
                match self.stopped(run).await {
                    Some(exit) => return exit,
                    None => continue,
                }
            }
            while let Ok(request) = self.requests.try_recv() {
                if let Some(exit) = self.request(run, request).await {
                    return exit;
                }
            }
            if self.stopping() {
                return Exit::Stopped;
            }
            // A moved checkpoint is saved once no event came for a moment, or when saving is
            // due, so other processes waiting on it (strong consistency) and a restart see
            // it, without a write per page.
            if run.position > run.saved
                && run.last_flush.elapsed() >= self.flush_every
                && let Some(exit) = self.save_keeping_marker(run).await
            {
                return exit;
            }
            // Saved at a quiet moment, the in-flight marker stays ahead: under load a quiet
            // moment is mostly a gap between two pages, and the next page would have to set
            // it again. It comes back to the checkpoint once nothing came for `flush_every`.
            let since = run.last_flush.elapsed();
            let quiet = if run.position > run.saved {
                let quiet = QUIET.max(2 * self.feed.spacing());
                Some(quiet.min(self.flush_every.saturating_sub(since)))
            } else if run.checkpoint.suspect_until > run.position {
                Some(self.flush_every.saturating_sub(since))
            } else {
                None
            };
            let mut stop = self.stop.clone();
            let next = tokio::select! {
                page = self.feed.next(run.position, &mut stop) => Next::Page(page),
                request = self.requests.recv() => Next::Request(request),
                _ = tokio::time::sleep(quiet.unwrap_or_default()), if quiet.is_some() => Next::Quiet,
            };
            let page = match next {
                Next::Page(page) => page,
                Next::Quiet => {
                    let saved = if run.position > run.saved {
                        self.save_keeping_marker(run).await
                    } else {
                        self.flush(run).await
                    };
                    if let Some(exit) = saved {
                        return exit;
                    }
                    continue;
                }
                Next::Request(request) => {
                    if let Some(request) = request
                        && let Some(exit) = self.request(run, request).await
                    {
                        return exit;
                    }
                    continue;
                }
            };
            let page = match page {
                Ok(Some(page)) => page,
                Ok(None) => return Exit::Stopped,
                Err(e) => {
                    tracing::warn!(error = %e, "reading events failed");
                    if self.pause(store_pause(1)).await {
                        return Exit::Stopped;
                    }
                    continue;
                }
            };
            let end = page.end();
            let items = self.relevant(run, page.events());
            if items.is_empty() {
                self.advance(run, end);
                continue;
            }
            let span = tracing::debug_span!(
                "eskema.batch",
                from = run.position + 1,
                to = end,
                events = items.len()
            );
            let outcome = if run.position < run.careful_until {
                self.carefully(run, &items).instrument(span).await
            } else {
                self.batch(run, &items, end).instrument(span).await
            };
            if let Err(exit) = outcome {
                return exit;
            }
        }
    }

    /// The events of `page` this unit takes: its types, its partition, not passed by its
    /// old partition before a repartitioning.
    fn relevant<'p>(&self, run: &Run, page: &'p [RecordedEvent]) -> Vec<Item<'p>> {
        let spec = self.spec();
        page.iter()
            .filter(|e| e.position > run.position)
            .filter_map(|e| spec.accepts(e).map(|k| (k, e)))
            .filter(|(_, e)| spec.partition_of(&e.stream_id) == self.cx.unit.partition)
            .filter(|(_, e)| match &run.checkpoint.legacy {
                Some(old) if !old.is_empty() => {
                    let before = old[partition_of(&e.stream_id, old.len() as u32) as usize];
                    e.position > before
                }
                _ => true,
            })
            .collect()
    }

    fn advance(&self, run: &mut Run, to: u64) {
        if to > run.position {
            run.position = to;
            self.publish(|s| {
                s.position = to;
                s.failing = None;
            });
        }
    }

    /// Saves the checkpoint where the unit is, with nothing in flight.
    async fn flush(&mut self, run: &mut Run) -> Option<Exit> {
        self.save_at(run, run.position).await
    }

    /// Saves the checkpoint where the unit is, the in-flight marker staying ahead where it
    /// is: while events keep coming, the next page would have to set it again (one more
    /// write, waited for before the page is handed over).
    async fn save_keeping_marker(&mut self, run: &mut Run) -> Option<Exit> {
        self.save_at(run, run.checkpoint.suspect_until.max(run.position))
            .await
    }

    async fn save_at(&mut self, run: &mut Run, suspect_until: u64) -> Option<Exit> {
        let progress = self.progress(run, run.position, suspect_until);
        match self.save(&progress).await {
            Ok(()) => {
                run.saved = run.position;
                run.checkpoint.suspect_until = suspect_until;
                run.last_flush = Instant::now();
                None
            }
            Err(exit) => Some(exit),
        }
    }

    /// Saves progress outside a transaction, retrying while the store is down.
    async fn save(&self, progress: &Progress) -> Result<(), Exit> {
        let saved = self
            .until_answered("saving the checkpoint", || {
                self.cx
                    .store
                    .save_progress(&self.cx.unit, self.cx.lease, progress)
            })
            .await;
        match saved {
            Some(true) => Ok(()),
            Some(false) => Err(Exit::Fenced),
            None => Err(Exit::Stopped),
        }
    }

    /// The usual path: the whole page's relevant events in one batch.
    async fn batch(&mut self, run: &mut Run, items: &[Item<'_>], end: u64) -> Result<(), Exit> {
        // Before handing events over, the store must know they may be in flight, so that a
        // crash among them is noticed: a marker some pages ahead, moved when a page passes
        // it (saved with the checkpoint as it stands).
        if end > run.checkpoint.suspect_until {
            let until = end + MARKER_PAGES * self.page_size as u64;
            let marker = self.progress(run, run.position, until);
            self.save(&marker).await?;
            run.saved = run.position;
            run.checkpoint.suspect_until = until;
            run.last_flush = Instant::now();
        }
        let progress = self.progress(run, end, run.checkpoint.suspect_until);
        let mut failures = 0;
        loop {
            match self
                .deliverer
                .batch(&self.cx, items, Commit::To(&progress))
                .await
            {
                Ok(()) => {
                    if self.deliverer.transactional() {
                        run.saved = end;
                        run.last_flush = Instant::now();
                    }
                    self.advance(run, end);
                    return Ok(());
                }
                Err(BatchError::Handler { index, error }) => {
                    return self.failed(run, items, index, error).await;
                }
                Err(BatchError::Fenced) => return Err(Exit::Fenced),
                Err(BatchError::Store(e)) => {
                    failures += 1;
                    tracing::warn!(error = %e, "a batch failed in the store; retrying it");
                    self.publish(|s| s.failing = Some(e.to_string()));
                    if self.pause(store_pause(failures)).await {
                        return Err(Exit::Stopped);
                    }
                }
            }
        }
    }

    /// `items[index]` failed in a batch: commit what came before it, then retry it alone.
    async fn failed(
        &mut self,
        run: &mut Run,
        items: &[Item<'_>],
        index: usize,
        error: crate::read::subscriber::HandlerError,
    ) -> Result<(), Exit> {
        let (_, event) = items[index];
        let before = event.position - 1;
        if index > 0 {
            if self.deliverer.transactional() {
                // The batch rolled back: the events before the failed one go again, alone.
                Box::pin(self.batch(run, &items[..index], before)).await?;
            } else {
                // A side-effect handler handled them already.
                self.advance(run, before);
            }
        }
        self.advance(run, before);
        self.retry(run, items[index], error, 1).await
    }

    /// Retries one event until it succeeds or the policy gives up on it. `attempts`: the
    /// failed attempts so far, this one included.
    async fn retry(
        &mut self,
        run: &mut Run,
        item: Item<'_>,
        mut error: crate::read::subscriber::HandlerError,
        mut attempts: u32,
    ) -> Result<(), Exit> {
        let policy = self.spec().on_failure;
        let (_, event) = item;
        loop {
            tracing::warn!(
                position = event.position,
                event_type = %event.event_type,
                attempts,
                of = policy.attempts,
                error = %error,
                "handling an event failed"
            );
            self.remember_attempt(run, event.position, attempts, &error.to_string())
                .await?;
            if attempts >= policy.attempts {
                return self.give_up(run, item, &error.to_string(), attempts).await;
            }
            if self.pause(policy.delay_before(attempts + 1)).await {
                return Err(Exit::Stopped);
            }
            match self.one(run, item).await? {
                None => return Ok(()),
                Some(e) => {
                    error = e;
                    attempts += 1;
                }
            }
        }
    }

    /// Records a failed (or starting, after a crash) attempt at the event at `position`.
    async fn remember_attempt(
        &mut self,
        run: &mut Run,
        position: u64,
        attempts: u32,
        error: &str,
    ) -> Result<(), Exit> {
        self.save(&Progress {
            position: run.position,
            suspect_until: position,
            attempt: Some((position, attempts, error.to_string())),
        })
        .await?;
        run.saved = run.position;
        run.checkpoint.suspect_until = position;
        run.checkpoint.attempt_position = position;
        run.checkpoint.attempts = attempts;
        self.publish(|s| s.failing = Some(error.to_string()));
        Ok(())
    }

    /// One attempt at one event, committing the checkpoint past it. `Some(error)`: the
    /// handler failed.
    async fn one(
        &mut self,
        run: &mut Run,
        item: Item<'_>,
    ) -> Result<Option<crate::read::subscriber::HandlerError>, Exit> {
        let position = item.1.position;
        let progress = self.progress(run, position, position);
        let mut failures = 0;
        loop {
            match self
                .deliverer
                .batch(&self.cx, &[item], Commit::To(&progress))
                .await
            {
                Ok(()) => {
                    if self.deliverer.transactional() {
                        run.saved = position;
                    } else {
                        // Clear the attempt count now: the event is done.
                        self.save(&progress).await?;
                        run.saved = position;
                    }
                    run.checkpoint.attempt_position = 0;
                    run.checkpoint.attempts = 0;
                    run.checkpoint.suspect_until = position;
                    self.advance(run, position);
                    return Ok(None);
                }
                Err(BatchError::Handler { error, .. }) => return Ok(Some(error)),
                Err(BatchError::Fenced) => return Err(Exit::Fenced),
                Err(BatchError::Store(e)) => {
                    failures += 1;
                    tracing::warn!(error = %e, "the store failed; retrying the event");
                    if self.pause(store_pause(failures)).await {
                        return Err(Exit::Stopped);
                    }
                }
            }
        }
    }

    /// After a crash: the events that may have been in flight, one at a time, each attempt
    /// counted in the store before it is made (a crash in it then counts too).
    async fn carefully(&mut self, run: &mut Run, items: &[Item<'_>]) -> Result<(), Exit> {
        let policy = self.spec().on_failure;
        for &item in items {
            let position = item.1.position;
            if position <= run.position {
                continue;
            }
            if position > run.careful_until {
                // Past the events that were in flight: back to batches for the rest.
                run.careful_until = 0;
                return Ok(());
            }
            let before = if run.checkpoint.attempt_position == position {
                run.checkpoint.attempts
            } else {
                0
            };
            let last_error = run
                .checkpoint
                .last_error
                .clone()
                .unwrap_or_else(|| "the process ended while handling it".to_string());
            if before >= policy.attempts {
                // Every attempt ended in a crash of the process: a poison event.
                let error = format!("{last_error} (and the process crashed on it)");
                self.give_up(run, item, &error, before).await?;
                continue;
            }
            tracing::info!(
                position,
                attempt = before + 1,
                "handling an event that was in flight when the process ended"
            );
            let attempt = before + 1;
            let note = if before > 0 {
                last_error.clone()
            } else {
                "in flight at a crash".to_string()
            };
            self.remember_attempt(run, position, attempt, &note).await?;
            if let Some(error) = self.one(run, item).await? {
                self.retry(run, item, error, attempt).await?;
            }
        }
        // Every relevant event of the page is done: the rest of the page had none.
        Ok(())
    }

    /// Every attempt failed: stop, skip on record, or park, as the policy says.
    async fn give_up(
        &mut self,
        run: &mut Run,
        item: Item<'_>,
        error: &str,
        attempts: u32,
    ) -> Result<(), Exit> {
        let (_, event) = item;
        let outcome = match self.spec().on_failure.then {
            Exhausted::Stop => {
                tracing::error!(
                    position = event.position,
                    error,
                    "giving up on an event: the subscriber stops until it is resumed"
                );
                let before = event.position - 1;
                match self
                    .cx
                    .store
                    .stop(&self.cx.unit, self.cx.lease, before, error)
                    .await
                {
                    Ok(true) => {}
                    Ok(false) => return Err(Exit::Fenced),
                    Err(e) => {
                        tracing::warn!(error = %e, "recording the stop failed");
                    }
                }
                run.checkpoint.stopped = Some(error.to_string());
                run.saved = before;
                self.publish(|s| {
                    s.stopped = Some(error.to_string());
                    s.failing = None;
                });
                return Ok(());
            }
            Exhausted::Skip => FailureOutcome::Skipped,
            Exhausted::Park => FailureOutcome::Parked,
        };
        tracing::error!(
            position = event.position,
            error,
            outcome = outcome.as_str(),
            "giving up on an event"
        );
        let progress = self.progress(run, event.position, event.position);
        let recorded = self
            .until_answered("recording a given-up event", || {
                self.record(event, outcome, error, attempts, &progress)
            })
            .await;
        match recorded {
            Some(true) => {}
            Some(false) => return Err(Exit::Fenced),
            None => return Err(Exit::Stopped),
        }
        run.saved = event.position;
        run.checkpoint.attempt_position = 0;
        run.checkpoint.attempts = 0;
        run.checkpoint.suspect_until = event.position;
        self.publish(|s| s.gave_up(event.position, outcome, error));
        self.advance(run, event.position);
        Ok(())
    }

    async fn record(
        &self,
        event: &RecordedEvent,
        outcome: FailureOutcome,
        error: &str,
        attempts: u32,
        progress: &Progress,
    ) -> Result<bool, StoreError> {
        let mut tx = self.cx.store.begin().await?;
        self.cx
            .store
            .record_failure(
                &mut tx,
                &NewFailure {
                    unit: &self.cx.unit,
                    outcome,
                    event,
                    error,
                    attempts,
                },
            )
            .await?;
        self.cx
            .store
            .commit(
                tx,
                Some(crate::read::store::Fence {
                    unit: &self.cx.unit,
                    lease: self.cx.lease,
                    progress,
                }),
            )
            .await
    }

    /// Stopped by the policy: wait to be resumed (here, or in another process: the row is
    /// read every few seconds), answering requests meanwhile.
    async fn stopped(&mut self, run: &mut Run) -> Option<Exit> {
        loop {
            let mut stop = self.stop.clone();
            let request = tokio::select! {
                request = self.requests.recv() => request,
                _ = tokio::time::sleep(Duration::from_secs(1)) => None,
                _ = crate::read::stopped(&mut stop) => return Some(Exit::Stopped),
            };
            if let Some(request) = request
                && let Some(exit) = self.request(run, request).await
            {
                return Some(exit);
            }
            // Resumed by a request.
            run.checkpoint.stopped.as_ref()?;
            if let Ok(units) = self
                .cx
                .store
                .checkpoints(Some(&self.cx.unit.subscriber))
                .await
                && let Some((_, cp)) = units.into_iter().find(|(id, _)| *id == self.cx.unit)
            {
                if cp.token != self.cx.lease.token {
                    return Some(Exit::Fenced);
                }
                if cp.stopped.is_none() {
                    self.resumed(run, cp);
                    return None;
                }
            }
        }
    }

    fn resumed(&self, run: &mut Run, checkpoint: Checkpoint) {
        tracing::info!(position = checkpoint.position, "resumed");
        run.position = checkpoint.position;
        run.saved = checkpoint.position;
        run.checkpoint = checkpoint;
        self.publish(|s| {
            s.stopped = None;
            s.failing = None;
            s.position = run.position;
        });
    }

    async fn request(&mut self, run: &mut Run, request: Request) -> Option<Exit> {
        match request {
            Request::Resume => {
                if let Ok(units) = self
                    .cx
                    .store
                    .checkpoints(Some(&self.cx.unit.subscriber))
                    .await
                    && let Some((_, cp)) = units.into_iter().find(|(id, _)| *id == self.cx.unit)
                    && cp.stopped.is_none()
                {
                    self.resumed(run, cp);
                }
                None
            }
            Request::Replay(id, reply) => {
                let result = self.replay(id).await;
                let fenced = matches!(result, Err(ReplayError::Fenced));
                let _ = reply.send(result.map_err(|e| e.to_string()));
                fenced.then_some(Exit::Fenced)
            }
        }
    }

    async fn replay(&mut self, id: u64) -> Result<(), ReplayError> {
        let failures = self
            .cx
            .store
            .failures(Some(&self.cx.unit.subscriber))
            .await
            .map_err(ReplayError::Store)?;
        let Some(failed) = failures.into_iter().find(|f| f.id == id) else {
            return Err(ReplayError::Missing(id));
        };
        let Some(key) = self.spec().accepts(&failed.event) else {
            return Err(ReplayError::Handler(format!(
                "the subscriber no longer takes events of type {}",
                failed.event.event_type
            )));
        };
        let item = (key, &failed.event);
        match self
            .deliverer
            .batch(&self.cx, &[item], Commit::Replay(id))
            .await
        {
            Ok(()) => {
                tracing::info!(position = failed.event.position, "parked event replayed");
                Ok(())
            }
            Err(BatchError::Handler { error, .. }) => Err(ReplayError::Handler(error.to_string())),
            Err(BatchError::Fenced) => Err(ReplayError::Fenced),
            Err(BatchError::Store(e)) => Err(ReplayError::Store(e)),
        }
    }
}

#[derive(Debug, thiserror::Error)]
enum ReplayError {
    #[error("no parked event with id {0}")]
    Missing(u64),
    #[error("the handler failed again: {0}")]
    Handler(String),
    #[error("this process lost the lease")]
    Fenced,
    #[error(transparent)]
    Store(StoreError),
}
