//! Shapes of stored payloads: field types as the lock file writes them, which changes of
//! type a stored value survives (the widening table), the text that fingerprints an upcast
//! step, and the shapes of older versions derived from the upcast chain.

use std::collections::BTreeMap;

use crate::model::{Event, Field, TypeRef, UpcastOp, UpcastStep};

/// A field type read back from its schema text (`Option<Vec<atm.Card>>`). Named types are
/// qualified with their context, so `Currency` in `bank` and `bank.Currency` are equal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Ty {
    /// Not known: a field of a version derived from the upcast chain that a later step
    /// removes or renames, so nothing says what it held. Compatible with anything.
    Unknown,
    /// `String`, `i64`, ..., or a declared type as `context.Name`.
    Leaf(String),
    Option(Box<Ty>),
    Vec(Box<Ty>),
    Map(Box<Ty>),
}

/// What the lock writes for a type nobody knows.
pub(crate) const UNKNOWN: &str = "?";

const BUILT_IN: &[&str] = &[
    "String", "bool", "i32", "i64", "u32", "u64", "f64", "Uuid", "DateTime", "Decimal", "Json",
];

impl Ty {
    /// Reads the schema text of a type, relative to context `ctx`. Never fails: text that is
    /// not a known form stays one opaque leaf, which is equal only to the same text.
    pub(crate) fn parse(text: &str, ctx: &str) -> Ty {
        let t: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        Self::parse_compact(&t, ctx)
    }

    fn parse_compact(t: &str, ctx: &str) -> Ty {
        if t == UNKNOWN {
            return Ty::Unknown;
        }
        let inner = |prefix: &str| {
            t.strip_prefix(prefix)
                .and_then(|rest| rest.strip_suffix('>'))
        };
        if let Some(i) = inner("Option<") {
            Ty::Option(Box::new(Self::parse_compact(i, ctx)))
        } else if let Some(i) = inner("Vec<") {
            Ty::Vec(Box::new(Self::parse_compact(i, ctx)))
        } else if let Some(i) = inner("Map<String,") {
            Ty::Map(Box::new(Self::parse_compact(i, ctx)))
        } else if BUILT_IN.contains(&t) || t.contains('.') {
            Ty::Leaf(t.to_string())
        } else {
            Ty::Leaf(format!("{ctx}.{t}"))
        }
    }

    pub(crate) fn of(ty: &TypeRef, ctx: &str) -> Ty {
        match ty {
            TypeRef::Option(i) => Ty::Option(Box::new(Ty::of(i, ctx))),
            TypeRef::Vec(i) => Ty::Vec(Box::new(Ty::of(i, ctx))),
            TypeRef::Map(i) => Ty::Map(Box::new(Ty::of(i, ctx))),
            TypeRef::Named { context, name } => Ty::Leaf(format!("{context}.{name}")),
            other => Ty::Leaf(other.schema_text(ctx)),
        }
    }

    pub(crate) fn is_option(&self) -> bool {
        matches!(self, Ty::Option(_))
    }
}

/// Whether every value stored as `from` still deserializes as `to`: the widening table.
///
/// | stored as | reads as |
/// |---|---|
/// | `T` | `T`, `Option<T>`, `Json` |
/// | `i32` | `i64`, `f64` |
/// | `u32` | `u64`, `i64`, `f64` |
/// | `Uuid`, `DateTime`, `Decimal` | `String` (all three are stored as strings) |
/// | `Option<T>`, `Vec<T>`, `Map<String, T>` | the same wrapper of anything `T` widens to |
///
/// Everything else (`i64` -> `i32`, `String` -> `Uuid`, `Option<T>` -> `T`, an enum to
/// `String`, ...) can meet a stored value the new type refuses.
pub(crate) fn widens(from: &Ty, to: &Ty) -> bool {
    match (from, to) {
        (Ty::Unknown, _) | (_, Ty::Unknown) => true,
        (_, Ty::Leaf(j)) if j == "Json" => true,
        (a, b) if a == b => true,
        (Ty::Leaf(a), Ty::Leaf(b)) => matches!(
            (a.as_str(), b.as_str()),
            ("i32", "i64" | "f64")
                | ("u32", "u64" | "i64" | "f64")
                | ("Uuid" | "DateTime" | "Decimal", "String")
        ),
        (Ty::Option(a), Ty::Option(b)) | (Ty::Vec(a), Ty::Vec(b)) | (Ty::Map(a), Ty::Map(b)) => {
            widens(a, b)
        }
        (a, Ty::Option(b)) => widens(a, b),
        _ => false,
    }
}

/// The rule a stored value of type `from` breaks when the field is now `to`, if any:
/// `made-required` for an `Option` that lost it (stored `null`s), `type-changed` for any
/// other change outside the widening table.
pub(crate) fn type_rule(from: &Ty, to: &Ty) -> Option<&'static str> {
    if widens(from, to) {
        None
    } else if from.is_option() && !to.is_option() {
        Some("made-required")
    } else {
        Some("type-changed")
    }
}

/// The canonical text of one upcast step: what the lock keeps as the step's fingerprint.
/// Readable on purpose, so that a changed step shows in the lock file's diff as what
/// changed, not as two hashes. Operations are listed in the order they run.
pub(crate) fn step_text(step: &UpcastStep) -> String {
    step.ops
        .iter()
        .map(|op| match op {
            UpcastOp::Rename { from, to } => format!("rename {from} -> {to}"),
            UpcastOp::Remove(f) => format!("remove {f}"),
            UpcastOp::Add { field, value } => format!("add {field} = {value}"),
            UpcastOp::Convert(path) => format!("convert {path}"),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// One field of a stored version, as the lock records it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FieldShape {
    /// Schema text relative to the event's context, or [`UNKNOWN`].
    pub ty: String,
    pub default: Option<serde_json::Value>,
}

impl FieldShape {
    pub(crate) fn of(f: &Field, ctx: &str) -> FieldShape {
        FieldShape {
            ty: f.ty.schema_text(ctx),
            default: f.default.as_ref().map(crate::model::DefaultValue::to_json),
        }
    }
}

pub(crate) type Shape = BTreeMap<String, FieldShape>;

/// The current version's shape.
pub(crate) fn current_shape(event: &Event, ctx: &str) -> Shape {
    event
        .fields
        .iter()
        .map(|f| (f.name.clone(), FieldShape::of(f, ctx)))
        .collect()
}

/// The shape of each older version `1..event.version`, derived backwards from the current
/// fields through the upcast steps (`None` for the versions before a `convert`, whose shape
/// the schema does not say). Index 0 is version 1. Used only for versions the lock has
/// never seen, so that they are checked from now on.
pub(crate) fn derived_shapes(event: &Event, ctx: &str) -> Vec<Option<Shape>> {
    let mut out = Vec::new();
    let mut shape = Some(current_shape(event, ctx));
    for step in event.upcasts.iter().rev() {
        shape = shape.and_then(|after| undo(step, after));
        out.push(shape.clone());
    }
    out.reverse();
    out
}

/// The shape before `step`, given the shape after it.
fn undo(step: &UpcastStep, mut s: Shape) -> Option<Shape> {
    let mut added: Shape = BTreeMap::new();
    for op in step.ops.iter().rev() {
        match op {
            UpcastOp::Convert(_) => return None,
            UpcastOp::Add { field, .. } => {
                // Old payloads may lack it; those that had it kept their value.
                if let Some(f) = s.remove(field) {
                    added.insert(field.clone(), f);
                }
            }
            UpcastOp::Remove(field) => {
                s.insert(
                    field.clone(),
                    FieldShape {
                        ty: UNKNOWN.into(),
                        default: None,
                    },
                );
            }
            UpcastOp::Rename { from, to } => {
                if let Some(f) = s.remove(to).or_else(|| added.remove(to)) {
                    s.insert(from.clone(), f);
                }
            }
        }
    }
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Ty {
        Ty::parse(s, "bank")
    }

    #[test]
    fn types_read_back_from_their_text() {
        assert_eq!(t("Currency"), t("bank.Currency"));
        assert_ne!(t("Currency"), t("atm.Currency"));
        assert_eq!(
            t("Option<Vec<Map<String, i64>>>"),
            Ty::Option(Box::new(Ty::Vec(Box::new(Ty::Map(Box::new(Ty::Leaf(
                "i64".into()
            )))))))
        );
        assert_eq!(t("?"), Ty::Unknown);
        // Junk stays opaque instead of failing.
        assert_eq!(t("Option<"), Ty::Leaf("bank.Option<".into()));
    }

    #[test]
    fn the_widening_table() {
        let ok = [
            ("i32", "i64"),
            ("i32", "f64"),
            ("u32", "u64"),
            ("u32", "i64"),
            ("Uuid", "String"),
            ("Decimal", "String"),
            ("i64", "Option<i64>"),
            ("Vec<i32>", "Vec<i64>"),
            ("Option<u32>", "Option<u64>"),
            ("Map<String, i32>", "Map<String, Option<i64>>"),
            ("Currency", "Json"),
            ("?", "i32"),
        ];
        for (a, b) in ok {
            assert!(widens(&t(a), &t(b)), "{a} -> {b} should widen");
        }
        let refused = [
            ("i64", "i32"),
            ("u64", "u32"),
            ("i64", "f64"),
            ("String", "Uuid"),
            ("Option<i64>", "i64"),
            ("Vec<i64>", "Vec<i32>"),
            ("Currency", "String"),
            ("Currency", "atm.Currency"),
            ("f64", "i64"),
        ];
        for (a, b) in refused {
            assert!(!widens(&t(a), &t(b)), "{a} -> {b} must not widen");
        }
    }

    #[test]
    fn older_shapes_come_from_undoing_the_steps() {
        let field = |name: &str, ty: TypeRef| Field {
            name: name.into(),
            doc: None,
            ty,
            rules: vec![],
            default: None,
            holds: Default::default(),
        };
        let event = Event {
            name: "UserRegistered".into(),
            doc: None,
            version: 3,
            fields: vec![
                field("user", TypeRef::String),
                field("first_name", TypeRef::String),
                field("password_hash", TypeRef::String),
            ],
            upcasts: vec![
                UpcastStep {
                    from: 1,
                    ops: vec![UpcastOp::Rename {
                        from: "name".into(),
                        to: "first_name".into(),
                    }],
                },
                UpcastStep {
                    from: 2,
                    ops: vec![
                        UpcastOp::Remove("password".into()),
                        UpcastOp::Add {
                            field: "password_hash".into(),
                            value: serde_json::json!(""),
                        },
                    ],
                },
            ],
            renamed_from: vec![],
        };
        let shapes = derived_shapes(&event, "users");
        let keys = |s: &Option<Shape>| {
            s.as_ref()
                .map(|s| s.keys().cloned().collect::<Vec<_>>().join(","))
        };
        assert_eq!(
            keys(&shapes[1]).as_deref(),
            Some("first_name,password,user")
        );
        assert_eq!(keys(&shapes[0]).as_deref(), Some("name,password,user"));
        assert_eq!(
            shapes[0].as_ref().map(|s| s["password"].ty.as_str()),
            Some("?")
        );
        assert_eq!(
            shapes[0].as_ref().map(|s| s["name"].ty.as_str()),
            Some("String")
        );
        assert_eq!(
            step_text(&event.upcasts[1]),
            "remove password; add password_hash = \"\""
        );
    }
}
