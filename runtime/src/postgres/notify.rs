//! Waking readers when events are appended, without slowing the appends down.
//!
//! A `NOTIFY` inside every append transaction would take Postgres's global notification
//! lock at each commit, serializing every append in the database. Instead, after an append
//! commits, the store wakes this process's readers at once (a watch), and a notifier task
//! sends one `pg_notify` on a pooled connection of its own for other processes, outside any
//! append, coalescing whatever was appended while the previous one was on its way. Readers
//! in other processes listen on the schema's channel (`LISTEN`, one connection per store,
//! started with the first reader) and poll as a fallback, for writers that do not notify.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio::sync::{Notify, watch};

/// The channel of a schema: `eskema_<schema>`, or a hash of it where that would pass
/// Postgres's 63-byte limit on identifiers.
pub(crate) fn channel(schema: &str) -> String {
    let name = format!("eskema_{schema}");
    if name.len() <= 63 {
        return name;
    }
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in schema.as_bytes() {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("eskema_{hash:016x}")
}

/// See `notifier`.
const NOTIFY_EVERY: Duration = Duration::from_millis(2);

/// An append after at least this long without one is notified at once: readers may have
/// stopped looking by themselves (they keep looking for [`crate::read::feed::LINGER`]
/// after they last found events, longer than this).
const PAUSE: Duration = Duration::from_millis(10);

/// While appends keep coming, at most one notification per this long: readers that found
/// the last ones are still looking by themselves, and a notification each 2 ms woke every
/// listening process (and its Postgres backend) 500 times a second for nothing; this one
/// is the fallback for a reader that stopped anyway.
const NOTIFY_BUSY: Duration = Duration::from_millis(50);

/// Shared by a store's clones.
#[derive(Debug)]
pub(crate) struct Wake {
    channel: String,
    /// Bumped for every wake-up, local or notified: what readers watch.
    appended: Arc<watch::Sender<u64>>,
    /// The highest position appended here and not yet notified.
    latest: AtomicU64,
    /// When this process last appended, in nanoseconds since `since`.
    last_append: AtomicU64,
    since: tokio::time::Instant,
    /// The last append came after a [`PAUSE`]: notify at once.
    after_pause: Arc<AtomicBool>,
    poke: Arc<Notify>,
    closed: Arc<AtomicBool>,
    /// Turns true when the store is gone, to end the listener.
    gone: watch::Sender<bool>,
    /// Send notifications at all (`PostgresOptions::notify`).
    notify: bool,
    listener: OnceLock<()>,
}

impl Drop for Wake {
    fn drop(&mut self) {
        self.closed.store(true, Ordering::Release);
        self.poke.notify_one();
        self.gone.send_replace(true);
    }
}

impl Wake {
    /// Starts the notifier task (when notifying) for `pool`.
    pub(crate) fn new(pool: &PgPool, schema: &str, notify: bool) -> Arc<Wake> {
        let wake = Arc::new(Wake {
            channel: channel(schema),
            appended: Arc::new(watch::Sender::new(0)),
            latest: AtomicU64::new(0),
            last_append: AtomicU64::new(0),
            since: tokio::time::Instant::now(),
            after_pause: Arc::new(AtomicBool::new(true)),
            poke: Arc::new(Notify::new()),
            closed: Arc::new(AtomicBool::new(false)),
            gone: watch::Sender::new(false),
            notify,
            listener: OnceLock::new(),
        });
        if notify {
            tokio::spawn(notifier(
                pool.clone(),
                wake.channel.clone(),
                Arc::downgrade(&wake),
                Arc::clone(&wake.poke),
                Arc::clone(&wake.after_pause),
                Arc::clone(&wake.closed),
            ));
        }
        wake
    }

    /// Events up to `position` were just committed by this process.
    pub(crate) fn appended(&self, position: u64) {
        self.appended.send_modify(|n| *n = n.wrapping_add(1));
        if self.notify {
            self.latest.fetch_max(position, Ordering::AcqRel);
            let now = u64::try_from(self.since.elapsed().as_nanos()).unwrap_or(u64::MAX);
            let before = self.last_append.swap(now, Ordering::AcqRel);
            if now.saturating_sub(before) >= PAUSE.as_nanos() as u64 {
                self.after_pause.store(true, Ordering::Release);
            }
            self.poke.notify_one();
        }
    }

    /// What readers watch; the first call starts listening to other processes.
    pub(crate) fn subscribe(&self, pool: &PgPool) -> watch::Receiver<u64> {
        self.listener.get_or_init(|| {
            tokio::spawn(listen(
                pool.clone(),
                self.channel.clone(),
                Arc::clone(&self.appended),
                self.gone.subscribe(),
            ));
        });
        self.appended.subscribe()
    }
}

/// Sends one notification per burst of appends, until the store is gone: at once for an
/// append after a [`PAUSE`], then at most one per [`NOTIFY_BUSY`] while appends keep coming.
async fn notifier(
    pool: PgPool,
    channel: String,
    wake: std::sync::Weak<Wake>,
    poke: Arc<Notify>,
    after_pause: Arc<AtomicBool>,
    closed: Arc<AtomicBool>,
) {
    let mut last: Option<tokio::time::Instant> = None;
    loop {
        poke.notified().await;
        if closed.load(Ordering::Acquire) {
            return;
        }
        if let Some(sent) = last
            && !after_pause.load(Ordering::Acquire)
        {
            // Appends keep coming: wait until the busy spacing is up, or an append after a
            // pause wants its readers woken now.
            let due = sent + NOTIFY_BUSY;
            loop {
                tokio::select! {
                    _ = tokio::time::sleep_until(due) => break,
                    _ = poke.notified() => {
                        if closed.load(Ordering::Acquire) {
                            return;
                        }
                        if after_pause.load(Ordering::Acquire) {
                            break;
                        }
                    }
                }
            }
        }
        after_pause.store(false, Ordering::Release);
        // At most one notification per NOTIFY_EVERY: each is a transaction with a commit
        // record, which would otherwise compete with the appends for the log.
        if let Some(wait) = last.map(|l| NOTIFY_EVERY.saturating_sub(l.elapsed()))
            && !wait.is_zero()
        {
            tokio::time::sleep(wait).await;
        }
        last = Some(tokio::time::Instant::now());
        let Some(position) = wake.upgrade().map(|w| w.latest.swap(0, Ordering::AcqRel)) else {
            return;
        };
        if position == 0 {
            continue;
        }
        // No wait for the log flush: a notification is a hint, lost with a crash at worst.
        if let Err(e) =
            sqlx::query("SELECT pg_notify($1, $2), set_config('synchronous_commit', 'off', true)")
                .bind(&channel)
                .bind(position.to_string())
                .execute(&pool)
                .await
        {
            // Other processes fall back to polling; nothing is lost.
            tracing::debug!(error = %e, "sending an append notification failed");
        }
    }
}

/// Listens on the channel and wakes this process's readers, reconnecting after failures,
/// until the store is gone.
async fn listen(
    pool: PgPool,
    channel: String,
    appended: Arc<watch::Sender<u64>>,
    mut gone: watch::Receiver<bool>,
) {
    let wake = || appended.send_modify(|n| *n = n.wrapping_add(1));
    let mut failures = 0u32;
    loop {
        let pause = Duration::from_millis(200 * u64::from(failures.min(25)));
        if failures > 0 {
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                _ = crate::read::stopped(&mut gone) => return,
            }
        }
        let mut listener = match PgListener::connect_with(&pool).await {
            Ok(l) => l,
            Err(e) => {
                failures += 1;
                tracing::debug!(error = %e, "connecting the append listener failed; readers poll meanwhile");
                continue;
            }
        };
        if let Err(e) = listener.listen(&channel).await {
            failures += 1;
            tracing::debug!(error = %e, "LISTEN failed; readers poll meanwhile");
            continue;
        }
        failures = 0;
        loop {
            let received = tokio::select! {
                received = listener.try_recv() => received,
                _ = crate::read::stopped(&mut gone) => return,
            };
            match received {
                Ok(Some(_)) => wake(),
                // The connection was lost: what was notified meanwhile is found by the
                // readers' next poll, which this wakes at once; then reconnect.
                Ok(None) => {
                    wake();
                    break;
                }
                Err(e) => {
                    tracing::debug!(error = %e, "the append listener failed; reconnecting");
                    failures += 1;
                    break;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::channel;

    #[test]
    fn channels_fit_postgres_identifiers() {
        assert_eq!(channel("eskema"), "eskema_eskema");
        let long = "a".repeat(63);
        let c = channel(&long);
        assert!(c.len() <= 63, "{c}");
        assert_ne!(c, channel(&"b".repeat(63)));
    }
}
