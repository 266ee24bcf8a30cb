//! Given / when / then tests of an aggregate's logic, with no store and no engine: the
//! history is folded with `apply`, the command runs `validate` then `execute`, exactly as
//! the engine would, and the assertions panic with a readable diff.
//!
//! ```
//! # use eskema::serde::{Deserialize, Serialize};
//! # use eskema::aggregate::{Aggregate, AggregateCommand};
//! # use eskema::event::{AnyEvent, DomainEvent};
//! # use eskema::{Event, UpcastError, Validate, ValidationErrors};
//! use eskema::AggregateTestExt;
//!
//! // A hand-written aggregate; generated ones look the same.
//! #[derive(Debug, Clone, Default, Serialize, Deserialize)]
//! #[serde(crate = "eskema::serde")]
//! struct Counter { value: u32 }
//!
//! #[derive(Debug, Clone, Serialize)]
//! #[serde(crate = "eskema::serde")]
//! struct Add { id: String, by: u32 }
//!
//! #[derive(Debug, Clone, Serialize)]
//! #[serde(crate = "eskema::serde")]
//! enum CounterCommand { Add(Add) }
//! impl From<Add> for CounterCommand { fn from(c: Add) -> Self { CounterCommand::Add(c) } }
//!
//! #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
//! #[serde(crate = "eskema::serde")]
//! struct Added { by: u32 }
//!
//! #[derive(Debug, Clone, PartialEq, Serialize)]
//! #[serde(crate = "eskema::serde")]
//! enum CounterEvent { Added(Added) }
//! impl From<Added> for CounterEvent { fn from(e: Added) -> Self { CounterEvent::Added(e) } }
//!
//! #[derive(Debug, Clone, PartialEq)]
//! enum CounterError { Overflow }
//! impl std::fmt::Display for CounterError {
//!     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str("too big") }
//! }
//! impl std::error::Error for CounterError {}
//!
//! impl Validate for CounterCommand {
//!     fn validate_into(&self, prefix: &str, errors: &mut ValidationErrors) {
//!         let CounterCommand::Add(c) = self;
//!         if c.by == 0 { errors.push(format!("{prefix}by"), "min", "must be at least 1"); }
//!     }
//! }
//! impl AggregateCommand for CounterCommand {
//!     fn name(&self) -> &'static str { "Add" }
//!     fn identity(&self) -> String { let CounterCommand::Add(c) = self; c.id.clone() }
//! }
//! impl Event for Added { const NAME: &'static str = "Added"; }
//! impl DomainEvent for CounterEvent {
//!     fn as_event(&self) -> &dyn AnyEvent { let CounterEvent::Added(e) = self; e }
//!     fn from_stored(t: &str, v: u32, data: eskema::serde_json::Value) -> Result<Self, UpcastError> {
//!         if !Added::is_stored_as(t) { return Err(UpcastError::unknown(t, "CounterEvent")); }
//!         Added::from_stored(v, data).map(CounterEvent::Added)
//!     }
//! }
//! impl Aggregate for Counter {
//!     const NAME: &'static str = "Counter";
//!     const CONTEXT: &'static str = "demo";
//!     const SNAPSHOT_EVERY: Option<u64> = None;
//!     const STATE_HASH: &'static str = "0";
//!     type Command = CounterCommand;
//!     type Event = CounterEvent;
//!     type Error = CounterError;
//!     fn stream_id(identity: &str) -> String { format!("counter-{identity}") }
//!     fn execute(&self, command: &CounterCommand) -> Result<Vec<CounterEvent>, CounterError> {
//!         let CounterCommand::Add(c) = command;
//!         if self.value + c.by > 10 { return Err(CounterError::Overflow); }
//!         Ok(vec![Added { by: c.by }.into()])
//!     }
//!     fn apply(&mut self, event: &CounterEvent) {
//!         let CounterEvent::Added(e) = event;
//!         self.value += e.by;
//!     }
//! }
//!
//! let add = |by| Add { id: "c1".into(), by };
//!
//! Counter::given([Added { by: 2 }])
//!     .when(add(3))
//!     .then_events([Added { by: 3 }])
//!     .then_state(|counter| assert_eq!(counter.value, 5));
//!
//! Counter::given([Added { by: 4 }]).and(Added { by: 4 }).when(add(3)).then_error(CounterError::Overflow);
//!
//! Counter::given_nothing().when(add(0)).then_invalid("by", "min");
//!
//! // The raw result, for anything the assertions do not cover:
//! let then = Counter::given_nothing().when(add(1));
//! assert!(matches!(then.result(), Ok(events) if events.len() == 1));
//! ```

mod subscriber;

pub use subscriber::{
    Given as GivenEvents, SubscriberTestExt, TEST_CORRELATION, Then as ThenProcess,
};

use std::fmt::{Debug, Write as _};

use crate::aggregate::Aggregate;
use crate::engine::DispatchError;
use crate::event::DomainEvent;
use crate::validate::Validate;

/// `Aggregate::given(..)` for every aggregate: the entry point of a given / when / then test.
pub trait AggregateTestExt: Aggregate {
    /// The aggregate after these past events, applied in order.
    ///
    /// Events of different types need a common type: `given([BankAccountEvent::from(a),
    /// b.into()])`, or chain them with [`Given::and`].
    fn given(events: impl IntoIterator<Item = impl Into<Self::Event>>) -> Given<Self> {
        let mut given = Self::given_nothing();
        for event in events {
            given = given.and(event);
        }
        given
    }

    /// The aggregate before any event: a new stream.
    fn given_nothing() -> Given<Self> {
        Given {
            state: Self::default(),
            history: Vec::new(),
        }
    }
}

impl<A: Aggregate> AggregateTestExt for A {}

/// An aggregate with a past, waiting for a command.
#[derive(Debug, Clone)]
pub struct Given<A: Aggregate> {
    state: A,
    history: Vec<A::Event>,
}

impl<A: Aggregate> Given<A> {
    /// One more past event.
    pub fn and(mut self, event: impl Into<A::Event>) -> Self {
        let event = event.into();
        self.state.apply(&event);
        self.history.push(event);
        self
    }

    /// One more past event as an older deployment stored it: under `event_type` (its
    /// current name or a `renamed_from` one) at schema version `version`, with payload
    /// `data`. It is decoded as the engine decodes a stored event when it loads the
    /// aggregate (`DomainEvent::from_stored`: old names, upcast chain), then applied.
    ///
    /// Panics when the payload does not decode (the message is the decoder's).
    #[track_caller]
    pub fn and_stored(self, event_type: &str, version: u32, data: serde_json::Value) -> Self {
        match A::Event::from_stored(event_type, version, data) {
            Ok(event) => self.and(event),
            Err(e) => panic!(
                "{}: the stored `{event_type}` v{version} does not decode: {e}",
                A::NAME
            ),
        }
    }

    /// The state the history folds to.
    pub fn state(&self) -> &A {
        &self.state
    }

    /// Runs the command as the engine would: validation first (every violation), then the
    /// executor on the folded state.
    pub fn when(self, command: impl Into<A::Command>) -> Then<A> {
        let command = command.into();
        let result = match command.validate() {
            Err(violations) => Err(DispatchError::Validation(violations)),
            Ok(()) => self.state.execute(&command).map_err(DispatchError::Domain),
        };
        Then {
            given: self,
            command,
            result,
        }
    }
}

/// What a command did to a given aggregate, and assertions on it.
#[derive(Debug, Clone)]
pub struct Then<A: Aggregate> {
    given: Given<A>,
    command: A::Command,
    /// Only `Validation` or `Domain` errors occur here: there is no store.
    result: Result<Vec<A::Event>, DispatchError<A::Error>>,
}

impl<A: Aggregate> Then<A> {
    /// The events, or the validation or domain error.
    pub fn result(&self) -> &Result<Vec<A::Event>, DispatchError<A::Error>> {
        &self.result
    }

    pub fn into_result(self) -> Result<Vec<A::Event>, DispatchError<A::Error>> {
        self.result
    }

    /// The state after applying the command's events; `None` when the command failed.
    pub fn state(&self) -> Option<A> {
        let events = self.result.as_ref().ok()?;
        let mut state = self.given.state.clone();
        for e in events {
            state.apply(e);
        }
        Some(state)
    }

    /// Asserts the command produced exactly these events, in order.
    #[track_caller]
    pub fn then_events(self, expected: impl IntoIterator<Item = impl Into<A::Event>>) -> Self {
        let expected: Vec<A::Event> = expected.into_iter().map(Into::into).collect();
        match &self.result {
            Ok(actual) if *actual == expected => {}
            Ok(actual) => self.fail(
                "the command's events differ from the expected ones",
                Some(diff(&pretty(&expected), &pretty(actual))),
            ),
            Err(e) => self.fail(
                &format!(
                    "expected {} event(s), but the command failed: {e}",
                    expected.len()
                ),
                Some(format!("error: {e:#?}")),
            ),
        }
        self
    }

    /// Asserts the command succeeded without producing any event.
    #[track_caller]
    pub fn then_no_events(self) -> Self {
        self.then_events(std::iter::empty::<A::Event>())
    }

    /// Asserts the executor refused the command with `expected`.
    #[track_caller]
    pub fn then_error(self, expected: A::Error) -> Self
    where
        A::Error: PartialEq,
    {
        match &self.result {
            Err(DispatchError::Domain(actual)) if *actual == expected => {}
            Err(DispatchError::Domain(actual)) => self.fail(
                "the command failed with another domain error",
                Some(diff(&pretty(&expected), &pretty(actual))),
            ),
            Err(other) => self.fail(
                &format!("expected domain error `{expected}`, but got: {other}"),
                None,
            ),
            Ok(events) => self.fail(
                &format!("expected domain error `{expected}`, but the command succeeded"),
                Some(format!("events: {}", pretty(events))),
            ),
        }
        self
    }

    /// Asserts validation refused the command with (at least) a violation of `rule` on
    /// `field`.
    #[track_caller]
    pub fn then_invalid(self, field: &str, rule: &str) -> Self {
        match &self.result {
            Err(DispatchError::Validation(v)) if v.has(field, rule) => {}
            Err(DispatchError::Validation(v)) => self.fail(
                &format!("expected a `{rule}` violation on `{field}`; the violations were"),
                Some(
                    v.violations
                        .iter()
                        .map(|v| format!("  {} ({}): {}\n", v.field, v.rule, v.message))
                        .collect(),
                ),
            ),
            Err(other) => self.fail(
                &format!("expected a `{rule}` violation on `{field}`, but got: {other}"),
                None,
            ),
            Ok(events) => self.fail(
                &format!("expected a `{rule}` violation on `{field}`, but the command succeeded"),
                Some(format!("events: {}", pretty(events))),
            ),
        }
        self
    }

    /// Runs `check` on the state after the command's events (panics if the command failed).
    #[track_caller]
    pub fn then_state(self, check: impl FnOnce(&A)) -> Self {
        match self.state() {
            Some(state) => check(&state),
            None => {
                let error = self
                    .result
                    .as_ref()
                    .err()
                    .map(ToString::to_string)
                    .unwrap_or_default();
                self.fail(
                    &format!("expected a new state, but the command failed: {error}"),
                    None,
                )
            }
        }
        self
    }

    #[track_caller]
    fn fail(&self, headline: &str, detail: Option<String>) -> ! {
        let mut message = format!("{}: {headline}\n", A::NAME);
        let _ = writeln!(
            message,
            "given {} event(s): {}",
            self.given.history.len(),
            pretty(&self.given.history)
        );
        let _ = writeln!(message, "when: {:#?}", self.command);
        if let Some(detail) = detail {
            let _ = writeln!(message, "{detail}");
        }
        panic!("{message}");
    }
}

fn pretty<T: Debug + ?Sized>(value: &T) -> String {
    format!("{value:#?}")
}

/// A line diff of two pretty-printed values (`-` expected, `+` actual), by longest common
/// subsequence: small inputs only, which test values are.
fn diff(expected: &str, actual: &str) -> String {
    let e: Vec<&str> = expected.lines().collect();
    let a: Vec<&str> = actual.lines().collect();
    // lcs[i][j]: common lines of e[i..] and a[j..].
    let mut lcs = vec![vec![0usize; a.len() + 1]; e.len() + 1];
    for i in (0..e.len()).rev() {
        for j in (0..a.len()).rev() {
            lcs[i][j] = if e[i] == a[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let mut out = String::from("diff (- expected, + actual):\n");
    let (mut i, mut j) = (0, 0);
    while i < e.len() || j < a.len() {
        if i < e.len() && j < a.len() && e[i] == a[j] {
            let _ = writeln!(out, "  {}", e[i]);
            i += 1;
            j += 1;
        } else if i < e.len() && (j == a.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            let _ = writeln!(out, "- {}", e[i]);
            i += 1;
        } else {
            let _ = writeln!(out, "+ {}", a[j]);
            j += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::diff;

    #[test]
    fn diff_marks_changed_lines_only() {
        let d = diff("a\nb\nc", "a\nx\nc");
        assert_eq!(d, "diff (- expected, + actual):\n  a\n- b\n+ x\n  c\n");
    }
}
