//! Upcasting: turning stored payloads of older event versions into the current shape.
//!
//! Generated upcasters call these helpers one step at a time (`from: N` to `N + 1`).

use serde_json::{Map, Value};

/// Why a stored event could not be turned into a current event.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum UpcastError {
    #[error("unknown event type `{event_type}` for {target}")]
    UnknownEventType { event_type: String, target: String },
    #[error("event `{event_type}` has version {version}, newer than this code knows ({current})")]
    FutureVersion {
        event_type: String,
        version: u32,
        current: u32,
    },
    #[error("event `{event_type}` v{version}: payload is not a JSON object")]
    NotAnObject { event_type: String, version: u32 },
    #[error("event `{event_type}`: upcast from v{from} failed: {message}")]
    Step {
        event_type: String,
        from: u32,
        message: String,
    },
    #[error("event `{event_type}` v{version}: payload does not match the current shape: {message}")]
    Decode {
        event_type: String,
        version: u32,
        message: String,
    },
}

impl UpcastError {
    /// [`UpcastError::UnknownEventType`]: no event of `target` is stored as `event_type`.
    pub fn unknown(event_type: &str, target: &str) -> Self {
        UpcastError::UnknownEventType {
            event_type: event_type.to_string(),
            target: target.to_string(),
        }
    }

    /// [`UpcastError::Decode`]: the payload of `event_type` at `version` did not deserialize.
    pub(crate) fn decode(event_type: &str, version: u32, error: &serde_json::Error) -> Self {
        UpcastError::Decode {
            event_type: event_type.to_string(),
            version,
            message: error.to_string(),
        }
    }
}

/// The payload as a mutable object, or [`UpcastError::NotAnObject`].
pub fn as_object<'a>(
    data: &'a mut Value,
    event_type: &str,
    version: u32,
) -> Result<&'a mut Map<String, Value>, UpcastError> {
    data.as_object_mut()
        .ok_or_else(|| UpcastError::NotAnObject {
            event_type: event_type.to_string(),
            version,
        })
}

/// `rename: {from: to}`; a missing `from` leaves the payload as is (the `add` of a later
/// step, or the field's default, fills the gap).
pub fn rename(map: &mut Map<String, Value>, from: &str, to: &str) {
    if let Some(v) = map.remove(from) {
        map.insert(to.to_string(), v);
    }
}

/// `remove: [field]`.
pub fn remove(map: &mut Map<String, Value>, field: &str) {
    map.remove(field);
}

/// `add: {field: default}`: only when absent, so a payload that already has the field keeps
/// its value.
pub fn add(map: &mut Map<String, Value>, field: &str, default: Value) {
    map.entry(field.to_string()).or_insert(default);
}

/// `add` with the default as JSON text (which eskema-codegen checked fits the field); text
/// that does not parse adds `null`, which the event's decode then refuses.
pub fn add_json(map: &mut Map<String, Value>, field: &str, default: &str) {
    add(
        map,
        field,
        serde_json::from_str(default).unwrap_or(Value::Null),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn steps_rename_remove_and_add() {
        let mut v = json!({"name": "Ann", "password": "x"});
        let m = as_object(&mut v, "UserRegistered", 1).expect("object");
        rename(m, "name", "first_name");
        remove(m, "password");
        add(m, "password_hash", json!(""));
        add(m, "first_name", json!("ignored"));
        add_json(m, "tags", "[\"a\"]");
        assert_eq!(
            v,
            json!({"first_name": "Ann", "password_hash": "", "tags": ["a"]})
        );
    }

    #[test]
    fn non_object_payload_is_an_error() {
        let mut v = json!([1]);
        assert!(matches!(
            as_object(&mut v, "E", 1),
            Err(UpcastError::NotAnObject { .. })
        ));
    }
}
