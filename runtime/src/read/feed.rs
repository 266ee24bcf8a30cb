//! One reader per process for every subscriber it runs: ten handlers cost the store what one
//! does.
//!
//! A head task learns the store's safe position (up to which every event is committed),
//! woken by the store's append notifications and, as a fallback, by a timer. Subscribers
//! ask the feed for the events after their checkpoint: pages are fetched once, kept in a
//! small cache and shared, so subscribers that are level (the usual case once caught up)
//! cost one read between them (made by the head task before it wakes them), and one that
//! catches up reads only its own pages.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::read::store::{ReadStore, Watermark};
use crate::store::{RecordedEvent, StoreError};

/// Events after a position, shared between subscribers.
#[derive(Debug, Clone)]
pub(crate) struct Page {
    events: Arc<[RecordedEvent]>,
    start: usize,
    end: u64,
}

impl Page {
    pub(crate) fn events(&self) -> &[RecordedEvent] {
        &self.events[self.start..]
    }

    /// Every event up to this position is in the page (or before it): a reader that has
    /// handled the page is at `end`. Past the last event when positions after it were
    /// rolled back (a sequence leaves gaps).
    pub(crate) fn end(&self) -> u64 {
        self.end
    }
}

/// A fetched page and the position it covers up to.
struct Fetched {
    events: Arc<[RecordedEvent]>,
    end: u64,
}

pub(crate) struct Feed<S> {
    store: Arc<S>,
    page_size: usize,
    head: watch::Sender<u64>,
    cache: Mutex<BTreeMap<u64, Fetched>>,
    /// One fetch at a time: who waits finds the page cached.
    fetching: tokio::sync::Mutex<()>,
    /// The head task's spacing of looks now, in microseconds.
    spacing: AtomicU64,
}

/// How far the spacing of looks stretches under load (see [`Feed::run_head`]).
const STRETCH: u32 = 20;

/// Events per look up to which the spacing is not stretched.
const FEW: u64 = 10;

/// Events per look at which the spacing is stretched all the way.
const BUSY_LOOK: u64 = 200;

/// The spacing after a look that found `events` new events: `every` for up to [`FEW`],
/// growing to `STRETCH` times that at [`BUSY_LOOK`] or more.
fn stretched(every: Duration, events: u64) -> Duration {
    let busy = (events.clamp(FEW, BUSY_LOOK) - FEW) as u32;
    every + every * (STRETCH - 1) * busy / (BUSY_LOOK - FEW) as u32
}

/// A look is followed by a pause at least this many times as long as the last two looks
/// took (the shorter, so that one slow look alone does not hold the next back): on a store
/// short of CPU, looks take longer, and the readers back off instead of taking the time the
/// appends need. Without it, looks 0.5 ms apart on a starved store each found a few events,
/// which kept the append rate low and the looks frequent (the README's read-side notes).
const COST: u32 = 2;

/// The time from one look to the next, after a look that found `found` new events, saw
/// appends in flight or not (`pending`), and should be followed by at least `floor` (see
/// [`COST`]).
fn next_spacing(every: Duration, found: u64, pending: bool, floor: Duration) -> Duration {
    if pending && found < FEW {
        // Appends were in flight: what they hold is usually done within a statement, so
        // under light load look again soon; under load the stretched spacing gathers more
        // per look anyway.
        (every / 4).max(floor)
    } else {
        stretched(every, found).max(floor)
    }
}

/// How long the head task keeps looking by itself after a look last found events, before
/// it waits for a notification: longer than the pause after which a writer notifies at once
/// (`postgres::notify`), so a reader is never left waiting on a writer that thinks it is
/// still being read.
pub(crate) const LINGER: Duration = Duration::from_millis(25);

/// Pages kept for subscribers that are a little behind the fastest.
const CACHED_PAGES: usize = 32;

impl<S: ReadStore> Feed<S> {
    pub(crate) fn new(store: Arc<S>, page_size: usize) -> Self {
        Feed {
            store,
            page_size: page_size.max(1),
            head: watch::Sender::new(0),
            cache: Mutex::new(BTreeMap::new()),
            fetching: tokio::sync::Mutex::new(()),
            spacing: AtomicU64::new(0),
        }
    }

    /// How long the head task waits between looks now (stretched under load): pages come
    /// no closer together than this.
    pub(crate) fn spacing(&self) -> Duration {
        Duration::from_micros(self.spacing.load(Ordering::Relaxed))
    }

    /// The safe head as last seen.
    pub(crate) fn head(&self) -> u64 {
        *self.head.borrow()
    }

    /// Learns the safe head now (at start, and for `start_from: current`).
    pub(crate) async fn refresh(&self) -> Result<u64, StoreError> {
        Ok(self.learn().await?.safe.max(self.head()))
    }

    /// Asks the store for the safe head and publishes it.
    async fn learn(&self) -> Result<Watermark, StoreError> {
        let mark = self.store.safe_position().await?;
        self.publish(mark.safe);
        Ok(mark)
    }

    fn publish(&self, safe: u64) {
        self.head.send_if_modified(|h| {
            let moved = safe > *h;
            if moved {
                *h = safe;
            }
            moved
        });
    }

    /// Like [`Feed::learn`], but when subscribers wait at the head (`before`, as last
    /// seen), reads the page they will ask for in the same call and caches it before waking
    /// them: each then finds it cached, instead of all waking to queue on one fetch.
    async fn learn_and_fetch(&self, before: u64) -> Result<Watermark, StoreError> {
        // A subscriber holds a receiver only while it waits in `next`, which it does only
        // at the head.
        if self.head.receiver_count() == 0 {
            return self.learn().await;
        }
        let _one = self.fetching.lock().await;
        let (mark, events) = self
            .store
            .safe_position_and_read(before, self.page_size)
            .await?;
        if mark.safe > before {
            self.keep(before, mark.safe, events.into());
        }
        self.publish(mark.safe);
        Ok(mark)
    }

    /// Keeps the head current until `stop` turns true. While looks find events (or did
    /// within [`LINGER`], or appends are in flight) the head task looks again by itself;
    /// once quiet, it waits for an append notification, or `poll` in case one was lost (or
    /// came from a writer that sends none). Looks are spaced by at least `every`, stretched
    /// up to [`STRETCH`] times that as more events arrive per look: each look costs the
    /// store a statement that competes with the appends, so under load one look serves many
    /// events, and after a quiet spell the first append is looked for at once. A look is
    /// also followed by a pause of at least [`COST`] times what looks take, so readers on a
    /// store short of CPU back off. Writers notify rarely while their appends keep coming
    /// (the readers that found the last ones are still looking), at once after a pause:
    /// see `postgres::notify`.
    pub(crate) async fn run_head(
        &self,
        poll: Duration,
        every: Duration,
        mut stop: watch::Receiver<bool>,
    ) {
        let mut appended = self.store.appended();
        let mut failures = 0u32;
        let mut last: Option<Instant> = None;
        let mut spacing = every;
        let mut found_at: Option<Instant> = None;
        let mut took = Duration::ZERO;
        loop {
            if let Some(gap) = last.map(|l| spacing.saturating_sub(l.elapsed()))
                && !gap.is_zero()
            {
                tokio::select! {
                    _ = tokio::time::sleep(gap) => {}
                    _ = crate::read::stopped(&mut stop) => return,
                }
            }
            let started = Instant::now();
            last = Some(started);
            // What was notified before this look, this look finds.
            appended.borrow_and_update();
            let before = self.head();
            let pending = match self.learn_and_fetch(before).await {
                Ok(mark) => {
                    failures = 0;
                    mark.pending
                }
                Err(e) => {
                    failures += 1;
                    tracing::warn!(error = %e, failures, "reading the safe position failed");
                    let pause = Duration::from_millis(50 * u64::from(failures.min(20)));
                    tokio::select! {
                        _ = tokio::time::sleep(pause) => {}
                        _ = crate::read::stopped(&mut stop) => return,
                    }
                    continue;
                }
            };
            let found = self.head().saturating_sub(before);
            let this = started.elapsed();
            let floor = took.min(this) * COST;
            took = this;
            // What others go by (the quiet time of saves) is the spacing under load, not the
            // quick look that follows appends in flight.
            let steady = next_spacing(every, found, false, floor);
            let micros = u64::try_from(steady.as_micros()).unwrap_or(u64::MAX);
            self.spacing.store(micros, Ordering::Relaxed);
            spacing = next_spacing(every, found, pending, floor);
            if pending {
                continue;
            }
            if found > 0 {
                found_at = last;
            }
            if found_at.is_some_and(|at| at.elapsed() < LINGER) {
                continue;
            }
            tokio::select! {
                changed = appended.changed() => {
                    if changed.is_err() {
                        // The store is gone; keep polling.
                        tokio::time::sleep(poll).await;
                    }
                }
                _ = tokio::time::sleep(poll) => {}
                _ = crate::read::stopped(&mut stop) => return,
            }
        }
    }

    /// The events after `after`, at most a page, waiting while there are none. `None` when
    /// `stop` turned true first.
    pub(crate) async fn next(
        &self,
        after: u64,
        stop: &mut watch::Receiver<bool>,
    ) -> Result<Option<Page>, StoreError> {
        let mut head = self.head.subscribe();
        loop {
            if *stop.borrow() {
                return Ok(None);
            }
            let safe = *head.borrow_and_update();
            if safe > after {
                return self.page_after(after, safe).await.map(Some);
            }
            tokio::select! {
                changed = head.changed() => {
                    if changed.is_err() {
                        return Ok(None);
                    }
                }
                _ = crate::read::stopped(stop) => return Ok(None),
            }
        }
    }

    fn cached(&self, after: u64) -> Option<Page> {
        let cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        let (_, fetched) = cache.range(..=after).next_back()?;
        // A page read after `a` holds every event from `a + 1` to its end: any `after` in
        // that range is served by its tail.
        if fetched.end <= after {
            return None;
        }
        let start = fetched.events.partition_point(|e| e.position <= after);
        Some(Page {
            events: Arc::clone(&fetched.events),
            start,
            end: fetched.end,
        })
    }

    async fn page_after(&self, after: u64, safe: u64) -> Result<Page, StoreError> {
        if let Some(page) = self.cached(after) {
            return Ok(page);
        }
        let _one = self.fetching.lock().await;
        if let Some(page) = self.cached(after) {
            return Ok(page);
        }
        let events = self
            .store
            .read_between(after, safe, self.page_size)
            .await?
            .into();
        Ok(self.keep(after, safe, events))
    }

    /// Caches `events`, read after `after` up to `safe` (at most a page), and returns them.
    fn keep(&self, after: u64, safe: u64, events: Arc<[RecordedEvent]>) -> Page {
        // A short page holds everything up to the safe head.
        let end = if events.len() >= self.page_size {
            events.last().map_or(safe, |e| e.position)
        } else {
            safe
        };
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        cache.insert(
            after,
            Fetched {
                events: Arc::clone(&events),
                end,
            },
        );
        while cache.len() > CACHED_PAGES {
            cache.pop_first();
        }
        Page {
            events,
            start: 0,
            end,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EVERY: Duration = Duration::from_millis(2);

    #[test]
    fn looks_in_flight_come_soon_on_a_quick_store() {
        let quick = Duration::from_micros(200) * COST;
        assert_eq!(next_spacing(EVERY, 3, true, quick), EVERY / 4);
        assert_eq!(next_spacing(EVERY, 3, false, quick), EVERY);
    }

    #[test]
    fn many_events_per_look_stretch_the_spacing() {
        assert_eq!(
            next_spacing(EVERY, BUSY_LOOK, true, Duration::ZERO),
            EVERY * STRETCH
        );
        assert!(next_spacing(EVERY, 100, false, Duration::ZERO) > EVERY * 8);
    }

    /// The spacing looks settle at when `per_ms` events arrive each millisecond: each look
    /// finds what arrived during the spacing before it.
    fn settled(per_ms: f64) -> Duration {
        let mut spacing = EVERY;
        for _ in 0..100 {
            let found = (per_ms * spacing.as_secs_f64() * 1e3) as u64;
            spacing = next_spacing(EVERY, found, false, Duration::ZERO);
        }
        spacing
    }

    #[test]
    fn past_ten_events_per_millisecond_of_every_the_spacing_runs_to_its_cap() {
        // What `read_every`'s doc and the README say: at 2 ms, the point is 5,000 events/s.
        assert_eq!(settled(4.0), EVERY);
        assert_eq!(settled(4.9), EVERY);
        assert_eq!(settled(5.5), EVERY * STRETCH);
        assert_eq!(settled(6.0), EVERY * STRETCH);
    }

    #[test]
    fn slow_looks_are_followed_by_pauses_longer_than_they_took() {
        // On a store short of CPU each look took 6 ms: the next waits twice that, whether
        // or not appends were in flight, instead of coming after half a millisecond.
        let floor = Duration::from_millis(6) * COST;
        assert_eq!(
            next_spacing(EVERY, 3, true, floor),
            Duration::from_millis(12)
        );
        assert_eq!(
            next_spacing(EVERY, 3, false, floor),
            Duration::from_millis(12)
        );
        // The stretch still wins when it is longer.
        assert_eq!(next_spacing(EVERY, BUSY_LOOK, true, floor), EVERY * STRETCH);
    }
}
