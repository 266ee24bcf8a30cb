//! What the schema says about one handler or process manager, as a value the runtime reads:
//! its name, kind, consistency, start, partitions, failure policy and the events it takes.

use std::time::Duration;

use crate::event::Event;
use crate::store::RecordedEvent;

/// What a subscriber does with its events, and so which delivery it gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Side effects, at least once: each event carries its global position
    /// ([`RecordedEvent::position`]) as an idempotency key for the handler's own dedupe.
    Effect,
    /// A read model written in the store's transaction that advances the checkpoint:
    /// exactly once, a batch of events per transaction.
    Projection,
    /// A process manager: state per instance and the commands it dispatches, saved with the
    /// checkpoint; commands carry ids derived from the event, so effects happen once.
    Process,
}

/// `consistency:` of a handler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consistency {
    /// A dispatch whose events this handler takes returns once the handler has processed
    /// them (or with [`crate::DispatchError::Unconfirmed`] when it failed or is late).
    Strong,
    /// A dispatch returns at once.
    Eventual,
}

/// `start_from:` of a handler: where a subscriber seen for the first time begins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartFrom {
    /// Every stored event.
    Origin,
    /// Only events stored after the subscriber is first registered.
    Current,
}

/// What happens once every attempt at an event has failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exhausted {
    /// The subscriber stops, in every process, before the event, until it is resumed
    /// ([`crate::read::ReadSide::resume`]).
    Stop,
    /// The event is recorded as skipped (listable) and the subscriber goes on.
    Skip,
    /// The event is parked in the dead-letter table (listable, replayable) and the
    /// subscriber goes on.
    Park,
}

/// `on_failure:` of a handler or process manager.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailurePolicy {
    /// Attempts at one event in all, the first included (at least 1). A crash of the
    /// process while handling the event counts as one.
    pub attempts: u32,
    /// Delay before the second, third, ... attempt, in milliseconds; the last one repeats.
    pub backoff_ms: &'static [u64],
    pub then: Exhausted,
}

impl FailurePolicy {
    /// How long to wait before attempt `next` (2 for the first retry).
    pub fn delay_before(&self, next: u32) -> Duration {
        let index = next.saturating_sub(2) as usize;
        let ms = self
            .backoff_ms
            .get(index)
            .or(self.backoff_ms.last())
            .copied()
            .unwrap_or(0);
        Duration::from_millis(ms)
    }
}

/// What a process manager does with one of its events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A handler's event.
    Handle,
    /// `starts_on`: creates the instance when there is none.
    Start,
    /// `continues_on`: reaches an existing instance; ignored when there is none.
    Continue,
    /// `stops_on`: reaches an existing instance, then deletes its state.
    Stop,
}

/// One event type a subscriber takes: the names it may be stored under (its current name
/// and `renamed_from`) and the stream prefix of its aggregate, which tells it from a
/// same-named event of another context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventKey {
    /// The event's current type name.
    pub name: &'static str,
    /// Its names before a rename.
    pub renamed_from: &'static [&'static str],
    /// Its current schema version ([`Event::VERSION`]): what the test helpers store the
    /// events they are given as.
    pub version: u32,
    pub stream_prefix: &'static str,
    pub role: Role,
}

impl EventKey {
    /// The key of event type `E`, in streams starting with `stream_prefix`.
    pub const fn of<E: Event>(stream_prefix: &'static str, role: Role) -> Self {
        EventKey {
            name: E::NAME,
            renamed_from: E::RENAMED_FROM,
            version: E::VERSION,
            stream_prefix,
            role,
        }
    }

    /// [`EventKey::of`] for a handler's event.
    pub const fn handle<E: Event>(stream_prefix: &'static str) -> Self {
        Self::of::<E>(stream_prefix, Role::Handle)
    }

    /// [`EventKey::of`] for an event that starts a process manager's instance.
    pub const fn start<E: Event>(stream_prefix: &'static str) -> Self {
        Self::of::<E>(stream_prefix, Role::Start)
    }

    /// [`EventKey::of`] for an event that continues an existing instance.
    pub const fn proceed<E: Event>(stream_prefix: &'static str) -> Self {
        Self::of::<E>(stream_prefix, Role::Continue)
    }

    /// [`EventKey::of`] for an event that ends an instance.
    pub const fn stop<E: Event>(stream_prefix: &'static str) -> Self {
        Self::of::<E>(stream_prefix, Role::Stop)
    }

    /// Whether an event stored under `name` is of this key's type (its name or an old one).
    pub fn is_stored_as(&self, name: &str) -> bool {
        name == self.name || self.renamed_from.contains(&name)
    }

    fn matches(&self, event: &RecordedEvent) -> bool {
        self.is_stored_as(&event.event_type) && event.stream_id.starts_with(self.stream_prefix)
    }
}

/// A handler or process manager as the schema declares it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spec {
    /// The context that declares it, e.g. `bank`.
    pub context: &'static str,
    /// Its name in the schema, e.g. `AccountBalances`.
    pub name: &'static str,
    pub kind: Kind,
    pub consistency: Consistency,
    pub start_from: StartFrom,
    /// At least 1; the events of one stream always go to the same partition.
    pub partitions: u32,
    pub on_failure: FailurePolicy,
    /// The events it takes, in the order of the generated event enum.
    pub events: &'static [EventKey],
}

impl Spec {
    /// What generated specs leave out: eventual, from origin, one partition, the default
    /// failure policy (three attempts 100 ms and 1 s apart, then stop). Generated specs
    /// state their context, name, kind and events, and what differs from this.
    pub const DEFAULT: Spec = Spec {
        context: "",
        name: "",
        kind: Kind::Effect,
        consistency: Consistency::Eventual,
        start_from: StartFrom::Origin,
        partitions: 1,
        on_failure: FailurePolicy {
            attempts: 3,
            backoff_ms: &[100, 1_000],
            then: Exhausted::Stop,
        },
        events: &[],
    };

    /// `context.Name`: the key of its checkpoints, leases and parked events.
    pub fn id(&self) -> String {
        format!("{}.{}", self.context, self.name)
    }

    /// Whether `name` names this subscriber: `context.Name`, or `Name` alone.
    pub fn is_named(&self, name: &str) -> bool {
        match name.split_once('.') {
            Some((context, bare)) => context == self.context && bare == self.name,
            None => name == self.name,
        }
    }

    /// The index in [`Spec::events`] of the key `event` matches, if it takes the event.
    pub fn accepts(&self, event: &RecordedEvent) -> Option<usize> {
        self.events.iter().position(|k| k.matches(event))
    }

    /// The partition the events of `stream_id` belong to.
    pub fn partition_of(&self, stream_id: &str) -> u32 {
        partition_of(stream_id, self.partitions)
    }
}

/// The partition of a stream among `partitions`: FNV-1a of the stream id, so it is the same
/// in every process and every release.
pub fn partition_of(stream_id: &str, partitions: u32) -> u32 {
    if partitions <= 1 {
        return 0;
    }
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in stream_id.as_bytes() {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    (hash % u64::from(partitions)) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_repeats_its_last_delay() {
        let policy = FailurePolicy {
            attempts: 5,
            backoff_ms: &[100, 1_000],
            then: Exhausted::Stop,
        };
        assert_eq!(policy.delay_before(2), Duration::from_millis(100));
        assert_eq!(policy.delay_before(3), Duration::from_millis(1_000));
        assert_eq!(policy.delay_before(9), Duration::from_millis(1_000));
        let none = FailurePolicy {
            backoff_ms: &[],
            ..policy
        };
        assert_eq!(none.delay_before(2), Duration::ZERO);
    }

    #[test]
    fn partitions_are_stable_and_spread() {
        // Pinned: a release that changed the hash would move streams between partitions.
        assert_eq!(partition_of("bank-account-ACC000001", 4), 2);
        assert_eq!(partition_of("anything", 1), 0);
        let mut counts = [0u32; 4];
        for i in 0..4_000 {
            counts[partition_of(&format!("stream-{i}"), 4) as usize] += 1;
        }
        assert!(counts.iter().all(|&c| c > 800), "{counts:?}");
    }
}
