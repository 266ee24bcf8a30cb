//! The YAML as written, with the source position of every value.
//!
//! Loading happens in two layers. serde-saphyr first turns the text into a generic tree of
//! [`Node`]s (scalars, sequences, mappings), each carrying its line and column; this keeps
//! every position, lets us see duplicate keys, and never stops at the first odd shape. The
//! loader ([`crate::load`]) then reads that tree into the `Raw*` shapes below by hand,
//! reporting unknown keys and wrong shapes as it goes. The `Raw*` shapes are still
//! unchecked: names are unresolved and type texts unparsed.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

/// A 1-based line and column (in characters) in a schema file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Loc {
    pub line: usize,
    pub column: usize,
}

impl Loc {
    pub const START: Loc = Loc { line: 1, column: 1 };

    fn of(location: &serde_saphyr::Location) -> Loc {
        // Positions are unknown (0) only for values serde buffers; never the case for our
        // own visitor, but a 0 would still be a confusing position to print.
        Loc {
            line: location.line().max(1) as usize,
            column: location.column().max(1) as usize,
        }
    }
}

/// A YAML value with its position.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: Value,
    pub loc: Loc,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    /// Entries in file order, duplicates kept (the loader reports them).
    Map(Vec<(Name, Node)>),
}

impl Value {
    /// How the value is described in "expected X, found Y" messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "nothing",
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "a number",
            Value::Float(_) => "a number",
            Value::Str(_) => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }
}

/// A name written in the YAML (a key, or a scalar naming something) and where it is.
/// Our own type, because `Spanned` is neither hashable nor usable in untagged enums.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Name {
    pub text: String,
    pub loc: Loc,
}

impl Name {
    pub fn new(text: impl Into<String>, loc: Loc) -> Self {
        Name {
            text: text.into(),
            loc,
        }
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let spanned = Spanned::<Value>::deserialize(deserializer)?;
        Ok(Node {
            value: spanned.value,
            loc: Loc::of(&spanned.referenced),
        })
    }
}

/// A mapping key: any scalar, kept as its text.
struct KeyText(String);

impl<'de> Deserialize<'de> for KeyText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = KeyText;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a plain key")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<KeyText, E> {
                Ok(KeyText(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
            fn visit_unit<E: de::Error>(self) -> Result<KeyText, E> {
                Ok(KeyText(String::new()))
            }
            fn visit_none<E: de::Error>(self) -> Result<KeyText, E> {
                Ok(KeyText(String::new()))
            }
        }
        deserializer.deserialize_any(KeyVisitor)
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ValueVisitor;
        impl<'de> Visitor<'de> for ValueVisitor {
            type Value = Value;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any YAML value")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
                Ok(Value::Str(v.to_string()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
                Ok(Value::Str(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
                Ok(Value::Int(v.into()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
                Ok(Value::Int(v.into()))
            }
            fn visit_i128<E: de::Error>(self, v: i128) -> Result<Value, E> {
                Ok(Value::Int(v))
            }
            fn visit_u128<E: de::Error>(self, v: u128) -> Result<Value, E> {
                Ok(i128::try_from(v).map_or(Value::Float(v as f64), Value::Int))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
                Ok(Value::Float(v))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
                Ok(Value::Bool(v))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
                Ok(Value::Null)
            }
            fn visit_none<E: de::Error>(self) -> Result<Value, E> {
                Ok(Value::Null)
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
                Value::deserialize(d)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
                let mut items = Vec::new();
                while let Some(node) = seq.next_element::<Node>()? {
                    items.push(node);
                }
                Ok(Value::Seq(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
                let mut entries = Vec::new();
                while let Some(key) = map.next_key::<Spanned<KeyText>>()? {
                    let value = map.next_value::<Node>()?;
                    entries.push((Name::new(key.value.0, Loc::of(&key.referenced)), value));
                }
                Ok(Value::Map(entries))
            }
        }
        deserializer.deserialize_any(ValueVisitor)
    }
}

/// One schema file, read into its shape but not yet checked.
#[derive(Debug, Clone, Default)]
pub struct RawFile {
    pub context: Option<Name>,
    pub doc: Option<String>,
    pub types: Vec<RawType>,
    pub aggregates: Vec<RawAggregate>,
    pub handlers: Vec<RawHandler>,
    pub process_managers: Vec<RawProcessManager>,
}

#[derive(Debug, Clone)]
pub struct RawType {
    pub name: Name,
    pub doc: Option<String>,
    pub body: RawTypeBody,
}

#[derive(Debug, Clone)]
pub enum RawTypeBody {
    Enum(Vec<Name>),
    Struct(Vec<RawField>),
}

/// A field in short (`name: Type`) or long (`name: { type, validate, doc, default }`) form.
#[derive(Debug, Clone)]
pub struct RawField {
    pub name: Name,
    /// The type text as written (`Option<Vec<Money>>`), at the position of the type scalar.
    pub ty: Name,
    /// Position of the `validate:` key, if any (rules on events and state are reported there).
    pub validate: Option<Loc>,
    pub rules: Vec<RawRule>,
    pub doc: Option<String>,
    pub default: Option<Node>,
}

#[derive(Debug, Clone)]
pub struct RawRule {
    pub kind: RawRuleKind,
    pub loc: Loc,
}

/// A numeric bound as written, with its position.
#[derive(Debug, Clone)]
pub struct Num {
    pub value: Value,
    pub loc: Loc,
}

#[derive(Debug, Clone)]
pub enum RawRuleKind {
    Required,
    Email,
    Range { min: Option<Num>, max: Option<Num> },
    Length { min: Option<Num>, max: Option<Num> },
    Pattern(Name),
    OneOf(Vec<Node>),
    Custom(Name),
}

#[derive(Debug, Clone)]
pub struct RawAggregate {
    pub name: Name,
    pub doc: Option<String>,
    pub identity: Option<Name>,
    /// As written, with where (for the overlap check across aggregates).
    pub stream_prefix: Option<Name>,
    pub snapshot_every: Option<u64>,
    pub state: Vec<RawField>,
    pub errors: Vec<(Name, String)>,
    pub commands: Vec<RawCommand>,
    pub events: Vec<RawEvent>,
}

#[derive(Debug, Clone)]
pub struct RawCommand {
    pub name: Name,
    pub doc: Option<String>,
    pub identity: Option<Name>,
    pub fields: Vec<RawField>,
    /// `None` when the key is missing (reported by the checker at the command's name).
    pub emits: Option<Vec<Name>>,
    /// Position of the `emits:` value, for "emits nothing".
    pub emits_loc: Option<Loc>,
}

#[derive(Debug, Clone)]
pub struct RawEvent {
    pub name: Name,
    pub doc: Option<String>,
    /// The version and where it is written.
    pub version: Option<(u32, Loc)>,
    pub fields: Vec<RawField>,
    pub upcast: Vec<RawStep>,
    pub renamed_from: Vec<Name>,
}

#[derive(Debug, Clone)]
pub struct RawStep {
    /// `from:` and where it is written; `None` if missing or not a whole number >= 0
    /// (already reported by the loader).
    pub from: Option<(i128, Loc)>,
    /// In the order the model applies them: renames, removes, adds, convert.
    pub renames: Vec<(Name, Name)>,
    pub removes: Vec<Name>,
    pub adds: Vec<(Name, Node)>,
    pub convert: Option<Name>,
}

#[derive(Debug, Clone)]
pub struct RawHandler {
    pub name: Name,
    pub doc: Option<String>,
    pub subscribes: Vec<Name>,
    /// `kind:` as written (`effect` or `projection`; checked by the checker).
    pub kind: Option<Name>,
    pub consistency: Option<Name>,
    pub start_from: Option<Name>,
    /// `partitions:` as written, any scalar (the checker wants a whole number 1..=256).
    pub partitions: Option<Node>,
    pub on_failure: Option<RawFailure>,
}

/// `on_failure: { attempts, backoff, then }` of a handler or process manager, as written.
#[derive(Debug, Clone)]
pub struct RawFailure {
    /// As written, any scalar (the checker wants a whole number 1..=1000).
    pub attempts: Option<Node>,
    /// The delays as written, one node per item; a single scalar (`backoff: 1s`) is one
    /// item. `None` when the key is missing, or its value is not a scalar or list (reported
    /// by the loader).
    pub backoff: Option<Vec<Node>>,
    pub then: Option<Name>,
}

#[derive(Debug, Clone)]
pub struct RawProcessManager {
    pub name: Name,
    pub doc: Option<String>,
    pub identity: Option<Name>,
    pub starts_on: Vec<Name>,
    pub continues_on: Vec<Name>,
    pub stops_on: Vec<Name>,
    pub dispatches: Vec<Name>,
    pub state: Vec<RawField>,
    pub on_failure: Option<RawFailure>,
}
