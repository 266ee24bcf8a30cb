//! The engine's aggregate cache: hot aggregates stay in memory between commands, so a
//! command on one costs one append and no reload.
//!
//! A cached state is only a guess about the stream: the engine appends with the cached
//! version as the expected version, so a state another process has moved past fails the
//! append (or is re-checked before a refusal) and is never what a decision rests on.

use std::any::{Any, TypeId};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// How many aggregates the engine keeps in memory, and for how long an unused one stays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheConfig {
    /// At most this many aggregates; the least recently used goes first. 0 turns the cache
    /// off.
    pub capacity: usize,
    /// An aggregate unused for this long is dropped.
    pub idle: Duration,
}

impl CacheConfig {
    /// No caching: every command loads its aggregate from the store.
    pub fn disabled() -> Self {
        CacheConfig {
            capacity: 0,
            idle: Duration::ZERO,
        }
    }
}

impl Default for CacheConfig {
    /// 10 000 aggregates, each kept for 15 minutes after its last use: enough for the
    /// working set of a busy service, small for typical state structs.
    fn default() -> Self {
        CacheConfig {
            capacity: 10_000,
            idle: Duration::from_secs(15 * 60),
        }
    }
}

type Key = (TypeId, String);

struct Entry {
    state: Box<dyn Any + Send + Sync>,
    version: u64,
    used: Instant,
    tick: u64,
}

#[derive(Default)]
struct Lru {
    entries: HashMap<Key, Entry>,
    /// Entries by last use, oldest first: `tick` grows with every use.
    order: BTreeMap<u64, Key>,
    tick: u64,
}

impl Lru {
    fn next_tick(&mut self) -> u64 {
        self.tick += 1;
        self.tick
    }

    fn remove(&mut self, key: &Key) {
        if let Some(entry) = self.entries.remove(key) {
            self.order.remove(&entry.tick);
        }
    }
}

/// States keyed by aggregate type and stream id (two aggregate types may share a stream
/// naming scheme; their states must not be confused).
pub(crate) struct AggregateCache {
    config: CacheConfig,
    lru: Mutex<Lru>,
}

impl AggregateCache {
    pub(crate) fn new(config: CacheConfig) -> Self {
        AggregateCache {
            config,
            lru: Mutex::default(),
        }
    }

    pub(crate) fn config(&self) -> CacheConfig {
        self.config
    }

    fn enabled(&self) -> bool {
        self.config.capacity > 0
    }

    // Every critical section leaves the maps consistent before anything that could panic,
    // so a poisoned lock still guards usable data.
    fn lock(&self) -> MutexGuard<'_, Lru> {
        self.lru.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A copy of the cached state and the stream version it includes.
    pub(crate) fn get<A: Clone + Send + Sync + 'static>(
        &self,
        stream_id: &str,
    ) -> Option<(A, u64)> {
        if !self.enabled() {
            return None;
        }
        let key = (TypeId::of::<A>(), stream_id.to_string());
        let now = Instant::now();
        let mut lru = self.lock();
        let tick = lru.next_tick();
        let entry = lru.entries.get_mut(&key)?;
        if now.duration_since(entry.used) >= self.config.idle {
            lru.remove(&key);
            return None;
        }
        let state = entry.state.downcast_ref::<A>()?.clone();
        let version = entry.version;
        let old_tick = std::mem::replace(&mut entry.tick, tick);
        entry.used = now;
        lru.order.remove(&old_tick);
        lru.order.insert(tick, key);
        Some((state, version))
    }

    /// Caches `state` at `version`, unless a newer version is cached already (a faster
    /// command on the same aggregate finished first).
    pub(crate) fn put<A: Send + Sync + 'static>(&self, stream_id: &str, state: A, version: u64) {
        if !self.enabled() {
            return;
        }
        let key = (TypeId::of::<A>(), stream_id.to_string());
        let now = Instant::now();
        let mut guard = self.lock();
        let lru = &mut *guard;
        if lru.entries.get(&key).is_some_and(|e| e.version > version) {
            return;
        }
        lru.remove(&key);
        let tick = lru.next_tick();
        lru.order.insert(tick, key.clone());
        lru.entries.insert(
            key,
            Entry {
                state: Box::new(state),
                version,
                used: now,
                tick,
            },
        );
        // Evict the idle, then the least recently used beyond capacity; both sit at the
        // front of `order`.
        while let Some(oldest) = lru.order.first_entry() {
            let evict = lru.entries.len() > self.config.capacity
                || lru
                    .entries
                    .get(oldest.get())
                    .is_none_or(|e| now.duration_since(e.used) >= self.config.idle);
            if !evict {
                break;
            }
            let key = oldest.remove();
            lru.entries.remove(&key);
        }
    }

    /// Drops the entry if it is still at `version`: it proved stale. A newer entry, put by
    /// a command that succeeded meanwhile, stays.
    pub(crate) fn invalidate<A: 'static>(&self, stream_id: &str, version: u64) {
        let key = (TypeId::of::<A>(), stream_id.to_string());
        let mut lru = self.lock();
        if lru.entries.get(&key).is_some_and(|e| e.version <= version) {
            lru.remove(&key);
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.lock().entries.len()
    }

    pub(crate) fn clear(&self) {
        let mut lru = self.lock();
        lru.entries.clear();
        lru.order.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache(capacity: usize) -> AggregateCache {
        AggregateCache::new(CacheConfig {
            capacity,
            idle: Duration::from_secs(60),
        })
    }

    #[test]
    fn evicts_the_least_recently_used() {
        let c = cache(2);
        c.put("a", 1u32, 1);
        c.put("b", 2u32, 1);
        assert_eq!(c.get::<u32>("a"), Some((1, 1)));
        c.put("c", 3u32, 1);
        assert_eq!(c.len(), 2);
        assert_eq!(c.get::<u32>("b"), None, "b was least recently used");
        assert_eq!(c.get::<u32>("a"), Some((1, 1)));
        assert_eq!(c.get::<u32>("c"), Some((3, 1)));
    }

    #[test]
    fn keys_include_the_type() {
        let c = cache(10);
        c.put("s", 7u32, 3);
        assert_eq!(c.get::<u64>("s"), None);
        assert_eq!(c.get::<u32>("s"), Some((7, 3)));
    }

    #[test]
    fn an_older_version_never_replaces_a_newer_one() {
        let c = cache(10);
        c.put("s", 2u32, 2);
        c.put("s", 1u32, 1);
        assert_eq!(c.get::<u32>("s"), Some((2, 2)));
        c.invalidate::<u32>("s", 1);
        assert_eq!(c.get::<u32>("s"), Some((2, 2)), "newer entry survives");
        c.invalidate::<u32>("s", 2);
        assert_eq!(c.get::<u32>("s"), None);
    }

    #[test]
    fn idle_entries_expire() {
        let c = AggregateCache::new(CacheConfig {
            capacity: 10,
            idle: Duration::from_millis(20),
        });
        c.put("s", 1u32, 1);
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(c.get::<u32>("s"), None);
        assert_eq!(c.len(), 0);
    }

    #[test]
    fn capacity_zero_disables() {
        let c = AggregateCache::new(CacheConfig::disabled());
        c.put("s", 1u32, 1);
        assert_eq!(c.get::<u32>("s"), None);
        assert_eq!(c.len(), 0);
    }
}
