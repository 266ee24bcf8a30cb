//! Given / when / then for handlers, projections and process managers, with no store and
//! no read side: the events are made into stored events (positions 1, 2, ... in the order
//! given, one stream per event type's aggregate) and handed over exactly as a running
//! subscriber would hand them.

use std::collections::BTreeMap;
use std::fmt::Debug;

use chrono::Utc;
use uuid::Uuid;

use crate::read::process::{self, Planned, Step};
use crate::read::subscriber::{Deliver, HandlerError, ProcessManager, Project, Subscription};
use crate::store::{Metadata, RecordedEvent};

/// The correlation id of every event the helpers make: commands a process manager asks for
/// carry it on.
pub const TEST_CORRELATION: Uuid = Uuid::from_u128(0x7e57_c0de_0000_4000_8000_0000_0000_0001);

/// `Subscriber::given(..)` for every handler and process manager.
pub trait SubscriberTestExt: Subscription + Sized {
    /// These events, in order, as the store would hand them over.
    ///
    /// Events of different types need a common type: chain them with [`Given::and`].
    fn given(events: impl IntoIterator<Item = impl Into<Self::Event>>) -> Given<Self> {
        let mut given = Self::given_nothing();
        for event in events {
            given = given.and(event);
        }
        given
    }

    /// No events yet.
    fn given_nothing() -> Given<Self> {
        Given {
            events: Vec::new(),
            versions: BTreeMap::new(),
        }
    }
}

impl<T: Subscription> SubscriberTestExt for T {}

/// Events for a subscriber `T`, each with the stored event it arrives as (and the index of
/// the [`Spec::events`](crate::read::Spec::events) key it matched).
pub struct Given<T: Subscription> {
    events: Vec<(usize, T::Event, RecordedEvent)>,
    versions: BTreeMap<String, u64>,
}

impl<T: Subscription> Given<T> {
    /// One more event, stored under its current name and version.
    pub fn and(mut self, event: impl Into<T::Event>) -> Self {
        let next = self.typed(event.into());
        self.events.push(next);
        self
    }

    /// One more event as an older deployment stored it: under `event_type` (its current
    /// name or one of its `renamed_from` names) at schema version `version`, with payload
    /// `data`. It is matched and decoded exactly as a running subscriber matches and decodes
    /// it (`Spec::accepts`, then the generated `Subscription::decode`: old names, upcast
    /// chain), so a test sees what the handler will be handed after a schema change.
    ///
    /// Panics when the subscriber takes no event stored as `event_type`, or when the
    /// payload does not decode (the message is the decoder's).
    #[track_caller]
    pub fn and_stored(mut self, event_type: &str, version: u32, data: serde_json::Value) -> Self {
        let next = self.stored(event_type, version, data);
        self.events.push(next);
        self
    }

    /// [`Given::and`]'s work: the key the event's type is, the event, as stored.
    fn typed(&mut self, event: T::Event) -> (usize, T::Event, RecordedEvent) {
        let (index, data) = T::encode(&event);
        let key = &T::SPEC.events[index];
        let recorded = self.record(key.stream_prefix, key.name, key.version, data);
        (index, event, recorded)
    }

    /// [`Given::and_stored`]'s work: the stored event, the key it matched, the decoded event.
    #[track_caller]
    fn stored(
        &mut self,
        event_type: &str,
        version: u32,
        data: serde_json::Value,
    ) -> (usize, T::Event, RecordedEvent) {
        let spec = T::SPEC;
        let Some(key) = spec.events.iter().find(|k| k.is_stored_as(event_type)) else {
            panic!(
                "{} takes no event stored as `{event_type}` (it takes {:?})",
                spec.id(),
                spec.events.iter().map(|k| k.name).collect::<Vec<_>>()
            );
        };
        let recorded = self.record(key.stream_prefix, event_type, version, data);
        let Some(index) = spec.accepts(&recorded) else {
            panic!("{} does not accept {recorded:?}", spec.id());
        };
        match T::decode(index, &recorded) {
            Ok(event) => (index, event, recorded),
            Err(e) => panic!(
                "{}: the stored `{event_type}` v{version} does not decode: {e}",
                spec.id()
            ),
        }
    }

    /// The next stored event: position one past the last, its aggregate's stream (the
    /// stream prefix and `given`), id made from the position, [`TEST_CORRELATION`].
    fn record(
        &mut self,
        stream_prefix: &str,
        event_type: &str,
        event_version: u32,
        data: serde_json::Value,
    ) -> RecordedEvent {
        let stream_id = format!("{stream_prefix}given");
        let version = self.versions.entry(stream_id.clone()).or_insert(0);
        *version += 1;
        let position = self.events.len() as u64 + 1;
        RecordedEvent {
            event_id: Uuid::from_u128(u128::from(position)),
            stream_id,
            stream_version: *version,
            position,
            event_type: event_type.to_string(),
            event_version,
            data,
            metadata: Metadata {
                correlation_id: Some(TEST_CORRELATION),
                ..Metadata::default()
            },
            created_at: Utc::now(),
        }
    }

    /// The stored events, as the subscriber gets them.
    pub fn recorded(&self) -> Vec<&RecordedEvent> {
        self.events.iter().map(|(_, _, r)| r).collect()
    }

    /// Hands every event, in order, to the side-effect handler `handler`; stops at the first
    /// error.
    pub async fn deliver<H>(&self, handler: &H) -> Result<(), HandlerError>
    where
        T: Deliver<H>,
    {
        for (_, event, recorded) in &self.events {
            T::deliver(handler, event, recorded).await?;
        }
        Ok(())
    }

    /// Hands every event, in order, to the projection `handler` writing on `conn` (a
    /// [`crate::MemoryTx`] from [`crate::MemoryStore`], or a connection of your own).
    pub async fn project<H, C: ?Sized>(&self, handler: &H, conn: &mut C) -> Result<(), HandlerError>
    where
        T: Project<H, C>,
    {
        for (_, event, recorded) in &self.events {
            T::project(handler, conn, event, recorded).await?;
        }
        Ok(())
    }
}

impl<P: ProcessManager> Given<P> {
    /// Runs the given events through the process manager (one instance per identity value,
    /// as the runtime keeps them), then `event`: what it does is in the returned [`Then`].
    pub fn when(mut self, event: impl Into<P::Event>) -> Then<P> {
        let last = self.typed(event.into());
        self.run(last)
    }

    /// [`Given::when`] with an event as an older deployment stored it (see
    /// [`Given::and_stored`]): decoded through the old names and the upcast chain first.
    #[track_caller]
    pub fn when_stored(
        mut self,
        event_type: &str,
        version: u32,
        data: serde_json::Value,
    ) -> Then<P> {
        let last = self.stored(event_type, version, data);
        self.run(last)
    }

    /// Folds the given events into the instances, then steps `last`.
    fn run(self, (index, event, recorded): (usize, P::Event, RecordedEvent)) -> Then<P> {
        let mut instances: BTreeMap<String, P> = BTreeMap::new();
        for (index, event, recorded) in &self.events {
            let instance = P::instance(event);
            let step = process::step(instances.get(&instance), *index, event, recorded)
                .unwrap_or_else(|e| panic!("given event {recorded:?} failed: {e}"));
            match step.state {
                Some(state) if step.reacted => {
                    instances.insert(instance, state);
                }
                _ if step.reacted => {
                    instances.remove(&instance);
                }
                _ => {}
            }
        }
        let instance = P::instance(&event);
        let before = instances.get(&instance).cloned();
        let step = process::step(before.as_ref(), index, &event, &recorded);
        Then {
            before,
            step,
            recorded,
        }
    }
}

/// What a process manager did with the `when` event.
pub struct Then<P: ProcessManager> {
    before: Option<P>,
    step: Result<Step<P>, HandlerError>,
    recorded: RecordedEvent,
}

impl<P: ProcessManager> Then<P> {
    fn step(&self) -> &Step<P> {
        match &self.step {
            Ok(step) => step,
            Err(e) => panic!("expected the process manager to handle the event, it failed: {e}"),
        }
    }

    /// The `when` event as stored: its id is the causation id of the commands.
    pub fn event(&self) -> &RecordedEvent {
        &self.recorded
    }

    /// The commands, with the context each is dispatched in (command id, causation and
    /// correlation ids).
    pub fn planned(&self) -> &[Planned<P::Command>] {
        &self.step().commands
    }

    /// Asserts the commands it asks for, in order, and that each is caused by the event and
    /// carries its correlation id.
    #[track_caller]
    pub fn then_commands(self, expected: impl IntoIterator<Item = impl Into<P::Command>>) -> Self
    where
        P::Command: Debug,
    {
        let expected: Vec<P::Command> = expected.into_iter().map(Into::into).collect();
        let got: Vec<&P::Command> = self.planned().iter().map(|p| &p.command).collect();
        let expected_refs: Vec<&P::Command> = expected.iter().collect();
        assert_eq!(got, expected_refs, "the commands asked for");
        for planned in self.planned() {
            assert_eq!(planned.context.causation_id, Some(self.recorded.event_id));
            assert_eq!(planned.context.correlation_id, Some(TEST_CORRELATION));
        }
        self
    }

    /// Asserts it asks for no command.
    #[track_caller]
    pub fn then_no_commands(self) -> Self {
        let got: Vec<&P::Command> = self.planned().iter().map(|p| &p.command).collect();
        assert!(got.is_empty(), "expected no commands, got {got:?}");
        self
    }

    /// Checks the instance's state after the event (it must still exist).
    #[track_caller]
    pub fn then_state(self, check: impl FnOnce(&P)) -> Self {
        match &self.step().state {
            Some(state) => check(state),
            None => panic!(
                "the instance has no state after the event (stopped, or never started; before: {:?})",
                self.before
            ),
        }
        self
    }

    /// Asserts the event stopped its instance (its state is deleted).
    #[track_caller]
    pub fn then_stopped(self) -> Self {
        let step = self.step();
        assert!(step.reacted, "the event reached no instance");
        assert!(
            step.state.is_none(),
            "the instance goes on: {:?}",
            step.state
        );
        self
    }

    /// Asserts the event reached no instance (none was started for its identity value), so
    /// nothing ran.
    #[track_caller]
    pub fn then_ignored(self) -> Self {
        let step = self.step();
        assert!(!step.reacted, "it reacted: {:?}", step.commands);
        self
    }

    /// Asserts the process manager failed on the event, with an error containing `text`.
    #[track_caller]
    pub fn then_fails(self, text: &str) -> Self {
        match &self.step {
            Err(e) => assert!(e.to_string().contains(text), "failed with {e}"),
            Ok(step) => panic!("expected a failure, it asked for {:?}", step.commands),
        }
        self
    }
}
