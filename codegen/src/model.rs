//! The checked domain model: what the checker produces and the emitters consume.
//!
//! Everything here is valid by construction: names are resolved, types are known, rules fit
//! their fields, upcast chains are complete. Emitters never report user errors, so they may
//! rely on every invariant documented below. Collections keep the order of the YAML file
//! (which is what a reader of the generated code expects); contexts are sorted by name, so
//! the output is stable.

use std::path::PathBuf;

/// A whole generation run: every context found in the schema files.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Domain {
    /// Sorted by name.
    pub contexts: Vec<Context>,
    /// Extra attributes for generated types, from [`crate::Builder::type_attribute`]; each
    /// one's text parses as outer attributes (the builder refuses any other).
    pub type_attributes: Vec<TypeAttribute>,
}

impl Domain {
    /// Fills each event reference's stream prefix from its aggregate, so that emitters never
    /// search the domain by name. The checker calls it once the domain is valid.
    pub fn resolve(&mut self) {
        let prefixes: std::collections::HashMap<(String, String), String> = self
            .contexts
            .iter()
            .flat_map(|c| {
                c.aggregates
                    .iter()
                    .map(|a| ((c.name.clone(), a.name.clone()), a.stream_prefix.clone()))
            })
            .collect();
        let fill = |r: &mut EventRef| {
            r.stream_prefix = prefixes
                .get(&(r.context.clone(), r.aggregate.clone()))
                .cloned()
                .unwrap_or_default();
        };
        for c in &mut self.contexts {
            c.handlers
                .iter_mut()
                .flat_map(|h| h.subscribes.iter_mut())
                .for_each(fill);
            for p in &mut c.process_managers {
                p.starts_on
                    .iter_mut()
                    .chain(&mut p.continues_on)
                    .chain(&mut p.stops_on)
                    .for_each(fill);
            }
        }
        self.fill_holds();
        self.fill_ref_bytes();
        let index = TypeIndex::new(self);
        let hashes: Vec<Vec<String>> = self
            .contexts
            .iter()
            .map(|c| {
                c.aggregates
                    .iter()
                    .map(|a| state_hash_in(&index, &c.name, &a.state))
                    .collect()
            })
            .collect();
        for (c, hashes) in self.contexts.iter_mut().zip(hashes) {
            for (a, hash) in c.aggregates.iter_mut().zip(hashes) {
                a.state_hash = hash;
            }
        }
    }

    /// Fills [`Field::holds`] of every field: what declared types reach is computed once
    /// for the whole domain, backwards from the types that have the property themselves
    /// (linear in the number of fields, with no recursion, so a long chain of nested types
    /// costs no more per type than a short one).
    /// Fills `bytes` of every event and command reference from the struct it names.
    fn fill_ref_bytes(&mut self) {
        type Key = (String, String, String);
        let mut events: std::collections::HashMap<Key, Option<u32>> = Default::default();
        let mut commands: std::collections::HashMap<Key, Option<u32>> = Default::default();
        for c in &self.contexts {
            for a in &c.aggregates {
                for e in &a.events {
                    let key = (c.name.clone(), a.name.clone(), e.name.clone());
                    events.insert(key, struct_bytes(&e.fields));
                }
                for cmd in &a.commands {
                    let key = (c.name.clone(), a.name.clone(), cmd.name.clone());
                    commands.insert(key, struct_bytes(&cmd.fields));
                }
            }
        }
        let key = |c: &str, a: &str, n: &str| (c.to_string(), a.to_string(), n.to_string());
        for c in &mut self.contexts {
            let event_refs = c
                .handlers
                .iter_mut()
                .flat_map(|h| h.subscribes.iter_mut())
                .chain(c.process_managers.iter_mut().flat_map(|p| {
                    p.starts_on
                        .iter_mut()
                        .chain(&mut p.continues_on)
                        .chain(&mut p.stops_on)
                }));
            for r in event_refs {
                r.bytes = events
                    .get(&key(&r.context, &r.aggregate, &r.name))
                    .copied()
                    .flatten();
            }
            for p in &mut c.process_managers {
                for r in &mut p.dispatches {
                    r.bytes = commands
                        .get(&key(&r.context, &r.aggregate, &r.name))
                        .copied()
                        .flatten();
                }
            }
        }
    }

    fn fill_holds(&mut self) {
        let index = TypeIndex::new(self);
        let n = index.types.len();
        // For each declared type: its own rules / lossy fields, and which types hold it.
        let mut has_rules = vec![false; n];
        let mut has_lossy = vec![false; n];
        let mut held_by: Vec<Vec<usize>> = vec![Vec::new(); n];
        for (k, &(ci, ti)) in index.types.iter().enumerate() {
            let c = &self.contexts[ci];
            if let TypeDef::Struct { fields, .. } = &c.types[ti] {
                for f in fields {
                    has_rules[k] |= !f.rules.is_empty();
                    has_lossy[k] |= f.ty.is_lossy();
                    if let Some(to) = f.ty.named().and_then(|(cx, name)| index.get(cx, name)) {
                        held_by[to].push(k);
                    }
                }
            }
        }
        let spread = |mut marked: Vec<bool>| {
            let mut work: Vec<usize> = (0..n).filter(|&k| marked[k]).collect();
            while let Some(k) = work.pop() {
                for &h in &held_by[k] {
                    if !std::mem::replace(&mut marked[h], true) {
                        work.push(h);
                    }
                }
            }
            marked
        };
        let (rules, lossy) = (spread(has_rules), spread(has_lossy));
        let holds = |ty: &TypeRef| {
            let named = ty.named().and_then(|(c, name)| index.get(c, name));
            Holds {
                rules: named.is_some_and(|k| rules[k]),
                lossy: ty.is_lossy() || named.is_some_and(|k| lossy[k]),
                bytes: ty.inline_bytes(&|c, name| {
                    matches!(index.def(c, name), Some(TypeDef::Enum { .. }))
                }),
            }
        };
        // Computed while `index` borrows the domain, then written in the same order.
        let computed: Vec<Holds> = self
            .contexts
            .iter()
            .flat_map(|c| {
                let mut all: Vec<&Field> = Vec::new();
                for t in &c.types {
                    if let TypeDef::Struct { fields, .. } = t {
                        all.extend(fields);
                    }
                }
                for a in &c.aggregates {
                    all.extend(&a.state);
                    for cmd in &a.commands {
                        all.extend(&cmd.fields);
                    }
                    for e in &a.events {
                        all.extend(&e.fields);
                    }
                }
                for p in &c.process_managers {
                    all.extend(&p.state);
                }
                all
            })
            .map(|f| holds(&f.ty))
            .collect();
        let mut computed = computed.into_iter();
        for c in &mut self.contexts {
            let mut all: Vec<&mut Field> = Vec::new();
            for t in &mut c.types {
                if let TypeDef::Struct { fields, .. } = t {
                    all.extend(fields.iter_mut());
                }
            }
            for a in &mut c.aggregates {
                all.extend(a.state.iter_mut());
                for cmd in &mut a.commands {
                    all.extend(cmd.fields.iter_mut());
                }
                for e in &mut a.events {
                    all.extend(e.fields.iter_mut());
                }
            }
            for p in &mut c.process_managers {
                all.extend(p.state.iter_mut());
            }
            for (f, h) in all.into_iter().zip(computed.by_ref()) {
                f.holds = h;
            }
        }
    }
}

/// Every declared type of a domain by `(context, name)`: built once per pass, so no pass
/// searches the contexts by name.
struct TypeIndex<'d> {
    /// (context index, type index) in the domain, in declaration order.
    types: Vec<(usize, usize)>,
    by_name: std::collections::HashMap<(&'d str, &'d str), usize>,
    domain: &'d Domain,
}

impl<'d> TypeIndex<'d> {
    fn new(domain: &'d Domain) -> Self {
        let mut types = Vec::new();
        let mut by_name = std::collections::HashMap::new();
        for (ci, c) in domain.contexts.iter().enumerate() {
            for (ti, t) in c.types.iter().enumerate() {
                by_name
                    .entry((c.name.as_str(), t.name()))
                    .or_insert(types.len());
                types.push((ci, ti));
            }
        }
        TypeIndex {
            types,
            by_name,
            domain,
        }
    }

    fn get(&self, context: &str, name: &str) -> Option<usize> {
        self.by_name.get(&(context, name)).copied()
    }

    fn def(&self, context: &str, name: &str) -> Option<&'d TypeDef> {
        let (ci, ti) = self.types[self.get(context, name)?];
        Some(&self.domain.contexts[ci].types[ti])
    }
}

/// FNV-1a 64 of `name:type;` over the fields, then of every declared type they reach
/// (`context.Name{field:type;..}`, `context.Name=Variant|..;`, in first-reached order, each
/// once), as 16 lowercase hex digits: a snapshot taken under another state shape, including
/// a change inside a value object the state holds, hashes differently and is ignored by the
/// runtime. A state without declared types hashes as its own fields alone.
pub fn state_hash(domain: &Domain, current: &str, fields: &[Field]) -> String {
    state_hash_in(&TypeIndex::new(domain), current, fields)
}

fn state_hash_in(index: &TypeIndex, current: &str, fields: &[Field]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut feed = |part: &str| {
        for b in part.bytes() {
            hash ^= u64::from(b);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    };
    for f in fields {
        feed(&format!("{}:{};", f.name, f.ty.schema_text(current)));
    }
    let mut visited: std::collections::HashSet<(&str, &str)> = std::collections::HashSet::new();
    let mut pending: Vec<(&str, &str)> = Vec::new();
    for f in fields.iter().rev() {
        pending.extend(f.ty.named());
    }
    // Depth-first with an explicit stack (and `visited` for recursive types), so the order
    // is that of the fields and a deep schema cannot overflow the stack.
    while let Some((context, name)) = pending.pop() {
        if !visited.insert((context, name)) {
            continue;
        }
        match index.def(context, name) {
            Some(TypeDef::Struct { fields, .. }) => {
                feed(&format!("{context}.{name}{{"));
                for f in fields {
                    feed(&format!("{}:{};", f.name, f.ty.schema_text(context)));
                }
                feed("}");
                pending.extend(fields.iter().rev().filter_map(|f| f.ty.named()));
            }
            Some(TypeDef::Enum { variants, .. }) => {
                feed(&format!("{context}.{name}="));
                for v in variants {
                    feed(&format!("{v}|"));
                }
                feed(";");
            }
            None => {}
        }
    }
    format!("{hash:016x}")
}

/// Attributes (`#[derive(Hash)]`) put on every generated type a matcher names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeAttribute {
    /// `*` (every type), `Name` (that type in every context) or `context.Name`.
    pub matcher: String,
    pub attributes: String,
}

impl TypeAttribute {
    /// Whether it applies to type `name` of context `context`.
    pub fn matches(&self, context: &str, name: &str) -> bool {
        match self.matcher.split_once('.') {
            Some((c, n)) => c == context && n == name,
            None => self.matcher == "*" || self.matcher == name,
        }
    }
}

/// One schema file: one bounded context, one Rust module.
#[derive(Debug, Clone, PartialEq)]
pub struct Context {
    /// snake_case module name (`context:` or the file stem).
    pub name: String,
    /// The schema file it came from, as given to the loader.
    pub file: PathBuf,
    pub doc: Option<String>,
    pub types: Vec<TypeDef>,
    pub aggregates: Vec<Aggregate>,
    pub handlers: Vec<Handler>,
    pub process_managers: Vec<ProcessManager>,
}

impl Context {
    /// [`Holds::bytes`] of the context's `Command` enum.
    pub fn command_enum_bytes(&self) -> Option<u32> {
        enum_bytes(self.aggregates.iter().map(Aggregate::command_enum_bytes))
    }

    /// [`Holds::bytes`] of the context's `Event` enum.
    pub fn event_enum_bytes(&self) -> Option<u32> {
        enum_bytes(self.aggregates.iter().map(Aggregate::event_enum_bytes))
    }
}

/// A declared value object or enum under `types:`.
#[derive(Debug, Clone, PartialEq)]
pub enum TypeDef {
    Struct {
        name: String,
        doc: Option<String>,
        fields: Vec<Field>,
    },
    Enum {
        name: String,
        doc: Option<String>,
        /// Variant names exactly as written (e.g. `EUR`); serialized as written. The first
        /// one is the `Default`.
        variants: Vec<String>,
    },
}

impl TypeDef {
    pub fn name(&self) -> &str {
        match self {
            TypeDef::Struct { name, .. } | TypeDef::Enum { name, .. } => name,
        }
    }
}

/// A field of a command, event, state, declared type or process-manager state.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// snake_case, not a Rust keyword.
    pub name: String,
    pub doc: Option<String>,
    pub ty: TypeRef,
    /// Only on commands and declared types (events and state carry no rules). Each rule fits
    /// `ty` (for `Option<T>` it applies to `T` when present).
    pub rules: Vec<Rule>,
    /// `default:` from the long form, typed to `ty`. Used as `#[serde(default = ...)]` so
    /// older payloads without the field still deserialize.
    pub default: Option<DefaultValue>,
    /// What a value of `ty` holds through the declared types it names; filled by
    /// [`Domain::resolve`] (default until then), so emitters never walk the type graph.
    pub holds: Holds,
}

/// What a value of a field's type holds at any depth, through declared types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Holds {
    /// A declared struct with a validation rule on one of its fields: the value needs
    /// nested validation.
    pub rules: bool,
    /// An `f64` or a `Json` value, which may read back differently from its JSON (NaN and
    /// infinities become `null`, `Some(null)` becomes `None`).
    pub lossy: bool,
    /// An upper bound on the bytes a value takes inline (on a 64-bit target); `None` when it
    /// holds a declared struct inline, which is not sized. Enums whose variants are all
    /// known to be small do without clippy's `large_enum_variant` allowance.
    pub bytes: Option<u32>,
}

/// The bound of [`Holds::bytes`] for a struct of `fields` (each padded to 8 at most), or
/// `None` when one field is not sized.
pub fn struct_bytes(fields: &[Field]) -> Option<u32> {
    fields.iter().try_fold(0u32, |sum, f| {
        Some(sum.saturating_add(f.holds.bytes?.next_multiple_of(8)))
    })
}

/// The bound of [`Holds::bytes`] for an enum whose variants wrap values of at most these
/// sizes: the largest and a tag.
pub fn enum_bytes(variants: impl IntoIterator<Item = Option<u32>>) -> Option<u32> {
    variants
        .into_iter()
        .try_fold(0u32, |max, b| Some(max.max(b?)))
        .map(|max| max.saturating_add(8))
}

/// A field's `default:`, typed by the checker: the variant is the field's type, so an
/// emitter writes a literal without matching the type against the value again.
#[derive(Debug, Clone, PartialEq)]
pub enum DefaultValue {
    String(String),
    Bool(bool),
    I32(i32),
    I64(i64),
    U32(u32),
    U64(u64),
    F64(f64),
    /// `null` for an `Option` field.
    None,
    /// Any other type (`Uuid`, `DateTime`, `Decimal`, `Json`, a declared type, `Vec`, `Map`,
    /// `Option` of a value): the JSON, which deserializes as the field's type.
    Json(serde_json::Value),
}

/// As written in JSON (`"EUR"`, `500`, `["a","b"]`): what docs show.
impl std::fmt::Display for DefaultValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.to_json())
    }
}

impl DefaultValue {
    /// Types `value`, which the checker has found to fit `ty`.
    pub fn typed(value: serde_json::Value, ty: &TypeRef) -> DefaultValue {
        use serde_json::Value;
        let int = |v: &Value| v.as_i64();
        match (ty, &value) {
            (TypeRef::String, Value::String(s)) => DefaultValue::String(s.clone()),
            (TypeRef::Bool, Value::Bool(b)) => DefaultValue::Bool(*b),
            (TypeRef::I32, v) if int(v).and_then(|n| i32::try_from(n).ok()).is_some() => {
                DefaultValue::I32(int(v).and_then(|n| i32::try_from(n).ok()).unwrap_or(0))
            }
            (TypeRef::I64, v) if int(v).is_some() => DefaultValue::I64(int(v).unwrap_or(0)),
            (TypeRef::U32, v) if v.as_u64().and_then(|n| u32::try_from(n).ok()).is_some() => {
                DefaultValue::U32(v.as_u64().and_then(|n| u32::try_from(n).ok()).unwrap_or(0))
            }
            (TypeRef::U64, v) if v.as_u64().is_some() => DefaultValue::U64(v.as_u64().unwrap_or(0)),
            (TypeRef::F64, v) if v.as_f64().is_some() => {
                DefaultValue::F64(v.as_f64().unwrap_or(0.0))
            }
            (TypeRef::Option(_), Value::Null) => DefaultValue::None,
            _ => DefaultValue::Json(value),
        }
    }

    /// The value as JSON, as it is stored.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value;
        match self {
            DefaultValue::String(s) => Value::String(s.clone()),
            DefaultValue::Bool(b) => Value::Bool(*b),
            DefaultValue::I32(n) => Value::from(*n),
            DefaultValue::I64(n) => Value::from(*n),
            DefaultValue::U32(n) => Value::from(*n),
            DefaultValue::U64(n) => Value::from(*n),
            DefaultValue::F64(n) => Value::from(*n),
            DefaultValue::None => Value::Null,
            DefaultValue::Json(v) => v.clone(),
        }
    }
}

/// A field type. Named types are resolved: they exist and are not recursive without
/// indirection through `Vec`, `Map` or `Option<Vec..>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TypeRef {
    String,
    Bool,
    I32,
    I64,
    U32,
    U64,
    F64,
    Uuid,
    /// UTC timestamp (`chrono::DateTime<Utc>` in the generated code).
    DateTime,
    /// `rust_decimal::Decimal`.
    Decimal,
    /// `serde_json::Value`.
    Json,
    /// A declared type. `context` is the context that declares it (the current one for
    /// unqualified names), so emitters can write `super::<context>::Name` when it differs.
    Named {
        context: String,
        name: String,
    },
    Option(Box<TypeRef>),
    Vec(Box<TypeRef>),
    /// `Map<String, T>`: a `BTreeMap<String, T>` (ordered, so output and hashes are stable).
    Map(Box<TypeRef>),
}

impl TypeRef {
    /// The declared type inside `Option`, `Vec` and `Map` wrappers, as `(context, name)`.
    pub fn named(&self) -> Option<(&str, &str)> {
        match self {
            TypeRef::Named { context, name } => Some((context.as_str(), name.as_str())),
            TypeRef::Option(i) | TypeRef::Vec(i) | TypeRef::Map(i) => i.named(),
            _ => None,
        }
    }

    /// An upper bound on the bytes a value takes inline on a 64-bit target (see
    /// [`Holds::bytes`]); `is_enum` tells a declared enum (unit variants: one byte) from a
    /// declared struct, which is not sized.
    fn inline_bytes(&self, is_enum: &dyn Fn(&str, &str) -> bool) -> Option<u32> {
        Some(match self {
            TypeRef::Bool => 1,
            TypeRef::I32 | TypeRef::U32 => 4,
            TypeRef::I64 | TypeRef::U64 | TypeRef::F64 => 8,
            TypeRef::DateTime => 12,
            TypeRef::Uuid | TypeRef::Decimal => 16,
            TypeRef::String | TypeRef::Vec(_) | TypeRef::Map(_) => 24,
            // 32 bytes; about 80 with serde_json's `preserve_order` (an `IndexMap`).
            TypeRef::Json => 96,
            TypeRef::Named { context, name } => {
                if !is_enum(context, name) {
                    return None;
                }
                1
            }
            TypeRef::Option(inner) => inner.inline_bytes(is_enum)?.saturating_add(8),
        })
    }

    /// `f64` or `Json`, here or inside wrappers (not through declared types).
    pub fn is_lossy(&self) -> bool {
        match self {
            TypeRef::F64 | TypeRef::Json => true,
            TypeRef::Option(i) | TypeRef::Vec(i) | TypeRef::Map(i) => i.is_lossy(),
            _ => false,
        }
    }

    /// The type as a user writes it in YAML (`Option<atm.Card>`), relative to the context
    /// `current`: what the checker's messages show and what the state hash covers.
    pub fn schema_text(&self, current: &str) -> String {
        match self {
            TypeRef::String => "String".into(),
            TypeRef::Bool => "bool".into(),
            TypeRef::I32 => "i32".into(),
            TypeRef::I64 => "i64".into(),
            TypeRef::U32 => "u32".into(),
            TypeRef::U64 => "u64".into(),
            TypeRef::F64 => "f64".into(),
            TypeRef::Uuid => "Uuid".into(),
            TypeRef::DateTime => "DateTime".into(),
            TypeRef::Decimal => "Decimal".into(),
            TypeRef::Json => "Json".into(),
            TypeRef::Named { context, name } if context == current => name.clone(),
            TypeRef::Named { context, name } => format!("{context}.{name}"),
            TypeRef::Option(i) => format!("Option<{}>", i.schema_text(current)),
            TypeRef::Vec(i) => format!("Vec<{}>", i.schema_text(current)),
            TypeRef::Map(i) => format!("Map<String, {}>", i.schema_text(current)),
        }
    }
}

/// A validation rule, checked to fit its field's type.
#[derive(Debug, Clone, PartialEq)]
pub enum Rule {
    /// `Option` is `Some`; `String` / `Vec` / `Map` non-empty.
    Required,
    /// Inclusive numeric bounds (integers or floats, as written in YAML); at least one set.
    Range {
        min: Option<serde_json::Number>,
        max: Option<serde_json::Number>,
    },
    /// Characters of a string or items of a `Vec`; `length: N` is `min == max == N`.
    Length {
        min: Option<u64>,
        max: Option<u64>,
    },
    /// A regex that compiled at generation time.
    Pattern(String),
    Email,
    /// The value (string, number or bool, matching the field type) is one of these.
    OneOf(Vec<serde_json::Value>),
    /// A user function `fn(&T) -> Result<(), String>`, as a Rust path (see [`user_path`]).
    Custom(String),
}

impl Rule {
    /// The rule's name as written in YAML; reported in validation errors.
    pub fn name(&self) -> &'static str {
        match self {
            Rule::Required => "required",
            Rule::Range {
                min: Some(_),
                max: None,
            } => "min",
            Rule::Range {
                min: None,
                max: Some(_),
            } => "max",
            Rule::Range { .. } => "range",
            Rule::Length { .. } => "length",
            Rule::Pattern(_) => "pattern",
            Rule::Email => "email",
            Rule::OneOf(_) => "one_of",
            Rule::Custom(_) => "custom",
        }
    }
}

/// The type of an aggregate's identity field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentityType {
    String,
    Uuid,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Aggregate {
    pub name: String,
    pub doc: Option<String>,
    /// The default identity field name of its commands.
    pub identity: String,
    pub identity_type: IdentityType,
    /// Stream id = prefix + identity value. Default: `"<AggregateName>-"`.
    pub stream_prefix: String,
    pub snapshot_every: Option<u64>,
    pub state: Vec<Field>,
    pub errors: Vec<ErrorDef>,
    pub commands: Vec<Command>,
    pub events: Vec<Event>,
    /// [`state_hash`] of `state`, filled by [`Domain::resolve`] (empty until then).
    pub state_hash: String,
}

impl Aggregate {
    /// [`Holds::bytes`] of its command enum.
    pub fn command_enum_bytes(&self) -> Option<u32> {
        enum_bytes(self.commands.iter().map(|c| struct_bytes(&c.fields)))
    }

    /// [`Holds::bytes`] of its event enum (a bound for any enum of some of its events).
    pub fn event_enum_bytes(&self) -> Option<u32> {
        enum_bytes(self.events.iter().map(|e| struct_bytes(&e.fields)))
    }
}

/// One variant of the aggregate's error enum; `message` is its `Display`.
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorDef {
    pub name: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Command {
    pub name: String,
    pub doc: Option<String>,
    pub fields: Vec<Field>,
    /// The identity field of this command (the aggregate's, or the command's own
    /// `identity:`); present in `fields` with type `String` or `Uuid`.
    pub identity: String,
    /// The type of `identity`.
    pub identity_type: IdentityType,
    /// Names of events of the same aggregate; at least one.
    pub emits: Vec<String>,
}

impl Command {
    /// What its executor returns a `Vec` of: the one event it emits, or the
    /// `<Command>Emits` enum of the events it may emit.
    pub fn executor_item(&self) -> String {
        match self.emits.as_slice() {
            [one] => one.clone(),
            _ => names::emits_enum(&self.name),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub name: String,
    pub doc: Option<String>,
    /// Current version, >= 1.
    pub version: u32,
    pub fields: Vec<Field>,
    /// Exactly `version - 1` steps, `from` = 1, 2, ... in order.
    pub upcasts: Vec<UpcastStep>,
    /// Older type names whose stored events load as this event.
    pub renamed_from: Vec<String>,
}

/// Turns a stored payload of version `from` into version `from + 1`.
#[derive(Debug, Clone, PartialEq)]
pub struct UpcastStep {
    pub from: u32,
    /// Applied in this order: renames, removes, adds, then convert (a user function gets the
    /// payload after the declarative operations of its step).
    pub ops: Vec<UpcastOp>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum UpcastOp {
    Rename {
        from: String,
        to: String,
    },
    Remove(String),
    /// The default fits the target field's type.
    Add {
        field: String,
        value: serde_json::Value,
    },
    /// A user function `fn(serde_json::Value) -> Result<serde_json::Value, String>`.
    Convert(String),
}

/// `consistency:` of a handler.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Consistency {
    Strong,
    #[default]
    Eventual,
}

/// `start_from:` of a handler.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StartFrom {
    #[default]
    Origin,
    Current,
}

/// A resolved reference to an event, possibly of another context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRef {
    pub context: String,
    pub aggregate: String,
    pub name: String,
    /// The stream prefix of its aggregate, which tells it from a same-named event of
    /// another context (filled by [`Domain::resolve`]).
    pub stream_prefix: String,
    /// [`Holds::bytes`] of the event struct (filled by [`Domain::resolve`]).
    pub bytes: Option<u32>,
}

/// A resolved reference to a command, possibly of another context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandRef {
    pub context: String,
    pub aggregate: String,
    pub name: String,
    /// [`Holds::bytes`] of the command struct (filled by [`Domain::resolve`]).
    pub bytes: Option<u32>,
}

/// `kind:` of a handler: what it does with events, and so what delivery it gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HandlerKind {
    /// Side effects (mail, HTTP, queues): at-least-once, each event with its global position
    /// as an idempotency key.
    #[default]
    Effect,
    /// A read model written in the store's transaction that also advances the checkpoint:
    /// exactly-once, events handed over in batches.
    Projection,
}

/// What happens when all attempts at an event are used up (`on_failure: { then: .. }`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Exhausted {
    /// The subscriber stops, in every process, until it is resumed.
    #[default]
    Stop,
    /// The event is recorded as skipped and the subscriber goes on.
    Skip,
    /// The event goes to the dead-letter table (listable, replayable) and the subscriber
    /// goes on.
    Park,
}

/// `on_failure:` of a handler or process manager.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailurePolicy {
    /// Attempts at one event in all, the first included; at least 1.
    pub attempts: u32,
    /// Delay before the second, third, ... attempt, in milliseconds; the last one repeats
    /// when there are more attempts than delays. May be empty (no delay).
    pub backoff_ms: Vec<u64>,
    pub then: Exhausted,
}

impl Default for FailurePolicy {
    /// Three attempts, 100 ms then 1 s apart, then stop.
    fn default() -> Self {
        FailurePolicy {
            attempts: 3,
            backoff_ms: vec![100, 1_000],
            then: Exhausted::Stop,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Handler {
    pub name: String,
    pub doc: Option<String>,
    pub subscribes: Vec<EventRef>,
    pub kind: HandlerKind,
    pub consistency: Consistency,
    pub start_from: StartFrom,
    /// `partitions: N`, at least 1: the handler is split by a hash of the stream id.
    pub partitions: u32,
    pub on_failure: FailurePolicy,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ProcessManager {
    pub name: String,
    pub doc: Option<String>,
    /// The correlation field carried by every handled event.
    pub identity: String,
    /// Its type, one across the events.
    pub identity_type: IdentityType,
    pub starts_on: Vec<EventRef>,
    pub continues_on: Vec<EventRef>,
    pub stops_on: Vec<EventRef>,
    pub dispatches: Vec<CommandRef>,
    pub state: Vec<Field>,
    pub on_failure: FailurePolicy,
}

/// Names of the items the Rust emitter derives from schema names. The checker uses the same
/// functions to reject schema names that would collide with a derived one, so both stages
/// always agree.
pub mod names {
    /// `BankAccount` -> `BankAccountCommand`: the aggregate's command enum.
    pub fn command_enum(aggregate: &str) -> String {
        format!("{aggregate}Command")
    }
    /// `BankAccount` -> `BankAccountEvent`: the aggregate's event enum.
    pub fn event_enum(aggregate: &str) -> String {
        format!("{aggregate}Event")
    }
    /// `BankAccount` -> `BankAccountError`: the aggregate's domain error enum.
    pub fn error_enum(aggregate: &str) -> String {
        format!("{aggregate}Error")
    }
    /// `BankAccount` -> `BankAccountLogic`: the trait the user implements.
    pub fn logic_trait(aggregate: &str) -> String {
        format!("{aggregate}Logic")
    }
    /// `OpenBankAccount` -> `OpenBankAccountEmits`: the events a command that emits more
    /// than one may return.
    pub fn emits_enum(command: &str) -> String {
        format!("{command}Emits")
    }
    /// `AccountBalances` -> `AccountBalancesHandler`: a handler's trait.
    pub fn handler_trait(handler: &str) -> String {
        format!("{handler}Handler")
    }
    /// `AccountBalances` -> `AccountBalancesEvent`: the events a handler receives.
    pub fn handler_event_enum(handler: &str) -> String {
        format!("{handler}Event")
    }
    /// `Withdrawal` -> `WithdrawalProcess`: a process manager's trait. Its state struct is
    /// named after the process manager itself.
    pub fn process_trait(pm: &str) -> String {
        format!("{pm}Process")
    }
    /// `Withdrawal` -> `WithdrawalEvent`: the events a process manager receives.
    pub fn process_event_enum(pm: &str) -> String {
        format!("{pm}Event")
    }
    /// `Withdrawal` -> `WithdrawalDispatch`: the commands a process manager may dispatch.
    pub fn process_dispatch_enum(pm: &str) -> String {
        format!("{pm}Dispatch")
    }
    /// Context-level items every generated module has; no schema name may take them.
    pub const RESERVED: &[&str] = &["Command", "Event", "Error", "Router"];

    /// `bank` -> `Bank`, `atm_ops` -> `AtmOps`: a context as an enum variant.
    pub fn upper_camel(name: &str) -> String {
        name.split('_')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let mut cs = p.chars();
                cs.next()
                    .map(|c| c.to_uppercase().chain(cs).collect::<String>())
                    .unwrap_or_default()
            })
            .collect()
    }

    /// Enum variant and method-suffix names for a list of event references: the event's name,
    /// or `<Context><Name>` when two referenced events of different contexts share a name.
    pub fn event_ref_names(refs: &[&super::EventRef]) -> Vec<(String, String)> {
        let mut seen = std::collections::HashSet::new();
        let mut dup = std::collections::HashSet::new();
        for r in refs {
            if !seen.insert(r.name.as_str()) {
                dup.insert(r.name.as_str());
            }
        }
        refs.iter()
            .map(|r| {
                if dup.contains(r.name.as_str()) {
                    (
                        format!("{}{}", upper_camel(&r.context), r.name),
                        format!("{}_{}", r.context, snake(&r.name)),
                    )
                } else {
                    (r.name.clone(), snake(&r.name))
                }
            })
            .collect()
    }

    /// Every type name stored events of `event` may carry: the current name, then
    /// `renamed_from`.
    pub fn stored_names(event: &super::Event) -> Vec<String> {
        std::iter::once(event.name.clone())
            .chain(event.renamed_from.iter().cloned())
            .collect()
    }

    /// `OpenBankAccount` -> `open_bank_account`: executor method names; applier methods are
    /// `apply_<snake>`, handler methods `on_<snake>`.
    pub fn snake(name: &str) -> String {
        let mut out = String::with_capacity(name.len() + 4);
        let chars: Vec<char> = name.chars().collect();
        for (i, &c) in chars.iter().enumerate() {
            if c.is_uppercase() {
                let prev_lower =
                    i > 0 && (chars[i - 1].is_lowercase() || chars[i - 1].is_ascii_digit());
                let next_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
                let prev_upper = i > 0 && chars[i - 1].is_uppercase();
                if i > 0 && (prev_lower || (prev_upper && next_lower)) {
                    out.push('_');
                }
                out.extend(c.to_lowercase());
            } else {
                out.push(c);
            }
        }
        out
    }

    #[cfg(test)]
    mod tests {
        use super::snake;

        #[test]
        fn snake_case_of_camel_names() {
            assert_eq!(snake("OpenBankAccount"), "open_bank_account");
            assert_eq!(snake("HTTPRequestSent"), "http_request_sent");
            assert_eq!(snake("Pin2Changed"), "pin2_changed");
            assert_eq!(snake("A"), "a");
        }
    }
}

/// Resolves a user function path written in YAML (`custom:`, `convert:`) to a Rust path:
/// paths are relative to the user's crate root unless they start with `crate::`, `::`,
/// `self::` or `super::`.
pub fn user_path(path: &str) -> String {
    if ["crate::", "::", "self::", "super::"]
        .iter()
        .any(|p| path.starts_with(p))
    {
        path.to_string()
    } else {
        format!("crate::{path}")
    }
}
