//! Events: one [`Event`] impl per event type of the schema, and [`DomainEvent`] for the
//! enums that gather them (an aggregate's, a context's, a handler's).
//!
//! The decoding of stored payloads lives here, in provided methods, so a generated event
//! declares only what differs between event types: its name, version, old names and upcast
//! steps.

use std::fmt::Debug;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::object::from_object;
use crate::store::RecordedEvent;
use crate::upcast::UpcastError;

/// One event type of the schema (`BankAccountOpened`).
///
/// Stored payloads carry the event's name and version. [`Event::from_stored`] refuses a
/// version newer than [`Event::VERSION`] (the code is older than the data: deploy the new
/// code first), runs [`Event::upcast`] on older ones, then deserializes.
///
/// This is the one read path: the engine (aggregate load, cache catch-up, a duplicate
/// command's answer), every handler, projection and process manager (live, after a
/// crash, on replay of a parked event) and the test helpers' `and_stored` all decode
/// through it, by way of [`DomainEvent::from_stored`] or the generated
/// `Subscription::decode`. Decode a stored payload of your own the same way
/// (`MoneyDeposited::from_recorded(&recorded)`), never with `serde_json::from_value`
/// alone: plain deserialization knows only the current shape, and skips the upcast.
pub trait Event:
    Serialize + DeserializeOwned + Debug + Clone + PartialEq + Send + Sync + 'static
{
    /// The type name events are stored under.
    const NAME: &'static str;
    /// The current schema version; stored payloads of older versions are upcast.
    const VERSION: u32 = 1;
    /// Names stored events of this type carried before a rename (`renamed_from:`).
    const RENAMED_FROM: &'static [&'static str] = &[];
    /// Whether a value may read back differently from its JSON (a NaN float becomes `null`,
    /// `Some(Json null)` becomes `None`): the engine then decodes every emitted event of
    /// this type before storing it, and refuses one that does not read back as itself.
    const CHECK_ROUND_TRIP: bool = false;

    /// The upcast steps from `version` to [`Event::VERSION`], oldest first. None by default.
    fn upcast(version: u32, data: Value) -> Result<Value, UpcastError> {
        let _ = version;
        Ok(data)
    }

    /// Decodes a stored payload of any known version.
    fn from_stored(version: u32, data: Value) -> Result<Self, UpcastError> {
        // Matches rather than `?` and `map_err`: each closure or conversion here is compiled
        // once per event type of the user's domain.
        if version > Self::VERSION {
            return Err(UpcastError::FutureVersion {
                event_type: Self::NAME.to_string(),
                version,
                current: Self::VERSION,
            });
        }
        let upcast = if version < Self::VERSION {
            Self::upcast(version, data)
        } else {
            Ok(data)
        };
        match upcast {
            Ok(data) => match from_object(&data) {
                Ok(event) => Ok(event),
                Err(e) => Err(UpcastError::decode(Self::NAME, version, &e)),
            },
            Err(e) => Err(e),
        }
    }

    /// Decodes a recorded event: straight from the stored payload when it is at the
    /// current version (no copy), else through [`Event::from_stored`].
    fn from_recorded(recorded: &RecordedEvent) -> Result<Self, UpcastError> {
        if recorded.event_version == Self::VERSION {
            match from_object(&recorded.data) {
                Ok(event) => Ok(event),
                Err(e) => Err(UpcastError::decode(&recorded.event_type, Self::VERSION, &e)),
            }
        } else {
            Self::from_stored(recorded.event_version, recorded.data.clone())
        }
    }

    /// Whether a stored event named `name` is of this type (its name or an old one).
    fn is_stored_as(name: &str) -> bool {
        name == Self::NAME || Self::RENAMED_FROM.contains(&name)
    }
}

/// An enum of events (`BankAccountEvent`, `bank::Event`): what the engine stores and
/// decodes. Its one required method names the event inside; the rest follows from it.
pub trait DomainEvent: Debug + Clone + PartialEq + Send + Sync + 'static {
    /// The event inside, as a trait object.
    fn as_event(&self) -> &dyn AnyEvent;

    /// Decodes a stored event of any type the enum holds: resolves `renamed_from`, upcasts,
    /// deserializes.
    fn from_stored(event_type: &str, event_version: u32, data: Value) -> Result<Self, UpcastError>;

    /// The current type name, e.g. `BankAccountOpened`.
    fn event_type(&self) -> &'static str {
        self.as_event().name()
    }

    /// The current schema version of this event's type.
    fn event_version(&self) -> u32 {
        self.as_event().version()
    }

    /// The payload to store: the event struct's JSON, without the enum tag.
    fn to_data(&self) -> Value {
        self.as_event().to_data()
    }
}

/// An [`Event`] as a trait object, for [`DomainEvent::as_event`]. Implemented for every
/// [`Event`]; there is nothing to implement by hand.
pub trait AnyEvent: Debug + Send + Sync {
    fn name(&self) -> &'static str;
    fn version(&self) -> u32;
    fn to_data(&self) -> Value;
    /// [`Event::CHECK_ROUND_TRIP`] of the event's type.
    fn check_round_trip(&self) -> bool;
}

impl<E: Event> AnyEvent for E {
    fn name(&self) -> &'static str {
        E::NAME
    }

    fn version(&self) -> u32 {
        E::VERSION
    }

    fn to_data(&self) -> Value {
        to_json(self)
    }

    fn check_round_trip(&self) -> bool {
        E::CHECK_ROUND_TRIP
    }
}

/// Decodes a stored payload as event `E`, wrapped into an enum's variant: what the arms of
/// generated `DomainEvent::from_stored` call.
#[doc(hidden)]
pub fn decode<E: Event, T>(
    version: u32,
    data: Value,
    variant: fn(E) -> T,
) -> Result<T, UpcastError> {
    match E::from_stored(version, data) {
        Ok(event) => Ok(variant(event)),
        Err(e) => Err(e),
    }
}

/// [`decode`] for a recorded event (see [`Event::from_recorded`]): what the arms of a
/// generated `Subscription::decode` call.
#[doc(hidden)]
pub fn decode_recorded<E: Event, T>(
    recorded: &RecordedEvent,
    variant: fn(E) -> T,
) -> Result<T, UpcastError> {
    match E::from_recorded(recorded) {
        Ok(event) => Ok(variant(event)),
        Err(e) => Err(e),
    }
}

/// Serializes an event struct for storage.
pub(crate) fn to_json<T: Serialize + ?Sized>(value: &T) -> Value {
    // Event structs hold only JSON-representable types with string map keys, so this cannot
    // fail; a float that JSON cannot hold becomes `null`, which the round-trip check of
    // events with floats refuses before anything is stored.
    // Straight into the value serializer: `serde_json::to_value` would compile two functions
    // more per event type (itself, and `Serialize` for the reference it takes).
    value
        .serialize(serde_json::value::Serializer)
        .unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    struct Renamed {
        name: String,
    }

    impl Event for Renamed {
        const NAME: &'static str = "Renamed";
        const VERSION: u32 = 2;
        const RENAMED_FROM: &'static [&'static str] = &["Named"];

        fn upcast(version: u32, mut data: Value) -> Result<Value, UpcastError> {
            if version <= 1 {
                let map = crate::upcast::as_object(&mut data, Self::NAME, 1)?;
                crate::upcast::rename(map, "title", "name");
            }
            Ok(data)
        }
    }

    #[test]
    fn from_stored_upcasts_old_versions_and_refuses_future_ones() {
        let old = Renamed::from_stored(1, json!({"title": "a"})).expect("v1 upcasts");
        assert_eq!(old.name, "a");
        let current = Renamed::from_stored(2, json!({"name": "b"})).expect("v2 reads");
        assert_eq!(current.name, "b");
        assert!(matches!(
            Renamed::from_stored(3, json!({"name": "c"})),
            Err(UpcastError::FutureVersion {
                version: 3,
                current: 2,
                ..
            })
        ));
        assert!(matches!(
            Renamed::from_stored(2, json!({"title": "d"})),
            Err(UpcastError::Decode { .. })
        ));
    }

    #[test]
    fn old_names_are_recognised() {
        assert!(Renamed::is_stored_as("Renamed"));
        assert!(Renamed::is_stored_as("Named"));
        assert!(!Renamed::is_stored_as("Other"));
    }
}
