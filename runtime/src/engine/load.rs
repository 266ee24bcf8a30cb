//! Loading an aggregate: the cache, the snapshot, and catching up on newer events in pages
//! fetched ahead of the one being applied.

use std::collections::VecDeque;
use std::sync::Arc;

use super::{DispatchError, Engine, Loaded};
use crate::aggregate::Aggregate;
use crate::event::DomainEvent;
use crate::store::{EventPayload, EventStore, StoreError};

/// How many events one read of a stream fetches: rehydration memory is bounded by this, not
/// by the stream's length (at most three pages are held: the one applied and the
/// [`PAGES_AHEAD`] being fetched). Fewer, bigger pages load faster, since every page pays
/// a round trip and the statement's fixed cost on the server: the size trades that against
/// the memory a load holds.
pub const READ_PAGE: usize = 5_000;

/// How many pages a load fetches ahead of the one it applies, on a multi-threaded runtime
/// (on a current-thread runtime, one). Two keep the server busy on the second while the
/// first is decoded, so neither the server nor the decoding waits for the other. A load
/// that ends early has read one page past the end for nothing.
pub const PAGES_AHEAD: usize = 2;

/// A state and the stream version it includes, plus where it came from.
pub(super) struct Working<A> {
    pub(super) state: A,
    pub(super) version: u64,
    /// From the aggregate cache: maybe stale, so never the last word on a decision.
    pub(super) cached: bool,
}

impl<S: EventStore> Engine<S> {
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
    pub(super) async fn load_fresh<A: Aggregate>(
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
                match crate::object::from_object::<A>(&snap.state) {
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
    pub(super) async fn catch_up<A: Aggregate>(
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
