//! Decoding a JSON object into a generated struct (a command, an event, a state), through a
//! deserializer made for that one job.
//!
//! Why not `T::deserialize(&value)`: serde_json's value deserializer also reads a struct from
//! an array of its fields and hands field names over three ways (borrowed, owned, by
//! reference), so the compiler generated 26 functions of deserializer glue for each command
//! struct of a domain crate. This one reads a struct from an object only (an array of fields
//! is refused: positional JSON is never what a caller of a named-field API means) and names
//! fields one way: 12 functions. Field values still go through serde_json's own deserializer,
//! whose code is shared by every struct with a field of that type.

use serde::de::{self, DeserializeOwned, DeserializeSeed, MapAccess, Unexpected, Visitor};
use serde::forward_to_deserialize_any;
use serde_json::{Error, Value};

/// Decodes `value` as `T`: the one way the runtime reads a generated struct from JSON.
pub(crate) fn from_object<T: DeserializeOwned>(value: &Value) -> Result<T, Error> {
    T::deserialize(Object(value))
}

/// A JSON value read as a struct: its object form only.
struct Object<'a>(&'a Value);

impl<'de> de::Deserializer<'de> for Object<'de> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        de::Deserializer::deserialize_any(self.0, visitor)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.0 {
            Value::Object(map) => visitor.visit_map(Fields {
                entries: map.iter(),
                value: None,
            }),
            other => Err(de::Error::invalid_type(unexpected(other), &visitor)),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        de::Deserializer::deserialize_option(self.0, visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        de::Deserializer::deserialize_newtype_struct(self.0, name, visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        de::Deserializer::deserialize_enum(self.0, name, variants, visitor)
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        unit unit_struct seq tuple tuple_struct map identifier ignored_any
    }
}

/// The entries of an object, as a struct's visitor reads them.
struct Fields<'a> {
    entries: serde_json::map::Iter<'a>,
    value: Option<&'a Value>,
}

impl<'de> Fields<'de> {
    /// The next field's name; its value waits for `next_value_seed`.
    fn next_name(&mut self) -> Option<FieldName<'de>> {
        let (name, value) = self.entries.next()?;
        self.value = Some(value);
        Some(FieldName(name))
    }
}

impl<'de> MapAccess<'de> for Fields<'de> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        match self.next_name() {
            Some(name) => match seed.deserialize(name) {
                Ok(key) => Ok(Some(key)),
                Err(e) => Err(e),
            },
            None => Ok(None),
        }
    }

    // What a derived struct's visitor calls; the provided method goes through `PhantomData`'s
    // seed, a function more per struct.
    fn next_key<K: de::Deserialize<'de>>(&mut self) -> Result<Option<K>, Error> {
        match self.next_name() {
            Some(name) => match K::deserialize(name) {
                Ok(key) => Ok(Some(key)),
                Err(e) => Err(e),
            },
            None => Ok(None),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        match self.value.take() {
            Some(value) => seed.deserialize(value),
            None => Err(de::Error::custom(
                "a field's value was read before its name",
            )),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}

/// A field's name: handed to the struct's field visitor as a `&str`, its one way in.
struct FieldName<'a>(&'a str);

impl<'de> de::Deserializer<'de> for FieldName<'_> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_str(self.0)
    }

    // What a derived field visitor is read with; through `deserialize_any` it would be one
    // function more per struct.
    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_str(self.0)
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map struct enum
        ignored_any
    }
}

/// What a value that is not an object is, for the error that refuses it.
fn unexpected(value: &Value) -> Unexpected<'_> {
    match value {
        Value::Null => Unexpected::Unit,
        Value::Bool(b) => Unexpected::Bool(*b),
        Value::Number(n) => match (n.as_u64(), n.as_i64(), n.as_f64()) {
            (Some(u), _, _) => Unexpected::Unsigned(u),
            (None, Some(i), _) => Unexpected::Signed(i),
            (None, None, Some(f)) => Unexpected::Float(f),
            (None, None, None) => Unexpected::Other("number"),
        },
        Value::String(s) => Unexpected::Str(s),
        Value::Array(_) => Unexpected::Seq,
        Value::Object(_) => Unexpected::Map,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde::Deserialize;
    use serde_json::json;

    use super::*;

    #[derive(Debug, PartialEq, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Open {
        id: String,
        amount: i64,
        #[serde(default)]
        note: Option<String>,
        #[serde(rename = "where")]
        place: Place,
        tags: BTreeMap<String, Vec<u8>>,
    }

    #[derive(Debug, PartialEq, Deserialize)]
    enum Place {
        Here,
        There { far: bool },
    }

    #[derive(Debug, PartialEq, Deserialize)]
    struct Lenient {
        id: String,
    }

    #[test]
    fn reads_what_the_value_deserializer_reads_from_an_object() {
        let value = json!({
            "id": "a-1",
            "amount": 5,
            "where": {"There": {"far": true}},
            "tags": {"x": [1, 2]},
        });
        let open: Open = from_object(&value).unwrap();
        assert_eq!(open, Open::deserialize(&value).unwrap());
        assert_eq!(open.place, Place::There { far: true });
        assert_eq!(open.note, None);
    }

    #[test]
    fn reports_field_errors_as_the_value_deserializer_does() {
        for value in [
            json!({"id": "a", "amount": 5, "where": "Here"}),
            json!({"id": "a", "amount": "5", "where": "Here", "tags": {}}),
            json!({"id": "a", "amount": 5, "where": "Here", "tags": {}, "extra": 1}),
            json!({"id": "a", "amount": 5, "where": "Nowhere", "tags": {}}),
        ] {
            let ours = from_object::<Open>(&value).unwrap_err().to_string();
            let theirs = Open::deserialize(&value).unwrap_err().to_string();
            assert_eq!(ours, theirs, "{value}");
        }
        let unknown = from_object::<Lenient>(&json!({"id": "a", "more": [1, {"b": 2}]}));
        assert_eq!(unknown.unwrap(), Lenient { id: "a".into() });
    }

    #[test]
    fn refuses_anything_but_an_object() {
        // An array of fields, which serde_json's value deserializer would read in order.
        let array = from_object::<Lenient>(&json!(["a"])).unwrap_err();
        assert!(Lenient::deserialize(&json!(["a"])).is_ok());
        assert_eq!(
            array.to_string(),
            "invalid type: sequence, expected struct Lenient"
        );
        // Everything else is refused with serde_json's own words.
        for value in [
            json!("a"),
            json!(null),
            json!(-3),
            json!(7),
            json!(1.5),
            json!(true),
        ] {
            let ours = from_object::<Lenient>(&value).unwrap_err().to_string();
            let theirs = Lenient::deserialize(&value).unwrap_err().to_string();
            assert_eq!(ours, theirs, "{value}");
        }
    }
}
