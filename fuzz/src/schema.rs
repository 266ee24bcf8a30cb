//! The structure-aware mode: fuzzer bytes read (through `arbitrary`) as a schema-shaped
//! domain, rendered as YAML files. Byte mutation of YAML mostly breaks the YAML; this
//! reaches the checker's meaning (names that resolve across contexts, rules on types,
//! upcast chains, process managers) and, when the result is valid, the emitter.
//!
//! Names come from small pools so that references often resolve; each pool has a "raw"
//! escape for arbitrary text. By default each command gets its aggregate's identity field
//! and emits one of its own events, so a good share of inputs passes the check; a flag per
//! aggregate turns that off.

use std::fmt::Write;

use arbitrary::Arbitrary;

const CONTEXTS: &[&str] = &["bank", "atm", "users", "Bad", "domain"];
const TYPES: &[&str] = &[
    "Money", "Currency", "Card", "Line", "Node", "Option", "Result",
];
const AGGREGATES: &[&str] = &["Account", "User", "Machine", "Account"];
const COMMANDS: &[&str] = &["Open", "Close", "Deposit", "Withdraw", "Opened"];
const EVENTS: &[&str] = &["Opened", "Closed", "Deposited", "Withdrawn", "Moved"];
const FIELDS: &[&str] = &["id", "amount", "name", "items", "note", "type", "Amount"];
const ERRORS: &[&str] = &["NotFound", "Already", "TooMuch"];
const HANDLERS: &[&str] = &["Balances", "Mailer", "Audit"];
const PROCESSES: &[&str] = &["Transfer", "Withdrawal"];
const BUILTINS: &[&str] = &[
    "String", "bool", "i32", "i64", "u32", "u64", "f64", "Uuid", "DateTime", "Decimal", "Json",
    "int", "Strng",
];
const PATTERNS: &[&str] = &[
    "^[0-9]+$",
    "^ACC[0-9]{6}$",
    "(",
    "a{1000}{1000}",
    "\\p{L}+",
    "",
];
const DURATIONS: &[&str] = &["100ms", "1s", "5m", "60m", "61m", "0s", "x", "1h"];

/// A name from `pool`, or arbitrary text.
#[derive(Debug, Arbitrary)]
pub enum Pick {
    Pool(u8),
    Raw(String),
}

impl Pick {
    fn get(&self, pool: &[&str]) -> String {
        match self {
            Pick::Pool(i) => pool[usize::from(*i) % pool.len()].to_string(),
            Pick::Raw(s) => s.clone(),
        }
    }
}

#[derive(Debug, Arbitrary)]
pub struct Domain {
    pub contexts: Vec<Context>,
}

#[derive(Debug, Arbitrary)]
pub struct Context {
    name: Pick,
    /// Without `context:`, the name is the file's stem.
    explicit_name: bool,
    types: Vec<TypeDecl>,
    aggregates: Vec<Aggregate>,
    handlers: Vec<Handler>,
    processes: Vec<Process>,
}

#[derive(Debug, Arbitrary)]
enum TypeDecl {
    Struct(Pick, Vec<Field>),
    Enum(Pick, Vec<Pick>),
}

#[derive(Debug, Arbitrary)]
enum Ty {
    Builtin(u8),
    Named(Pick),
    Cross(Pick, Pick),
    Option(Box<Ty>),
    Vec(Box<Ty>),
    Map(Box<Ty>),
    /// `Map<K, V>` with any key.
    MapKey(Box<Ty>, Box<Ty>),
    Raw(String),
}

impl Ty {
    fn text(&self) -> String {
        match self {
            Ty::Builtin(i) => BUILTINS[usize::from(*i) % BUILTINS.len()].to_string(),
            Ty::Named(n) => n.get(TYPES),
            Ty::Cross(c, n) => format!("{}.{}", c.get(CONTEXTS), n.get(TYPES)),
            Ty::Option(t) => format!("Option<{}>", t.text()),
            Ty::Vec(t) => format!("Vec<{}>", t.text()),
            Ty::Map(t) => format!("Map<String, {}>", t.text()),
            Ty::MapKey(k, v) => format!("Map<{}, {}>", k.text(), v.text()),
            Ty::Raw(s) => s.clone(),
        }
    }
}

#[derive(Debug, Arbitrary)]
enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Big(u64),
    Float(f64),
    Str(Pick),
    List(Vec<Value>),
    Map(Vec<(Pick, Value)>),
}

impl Value {
    fn yaml(&self) -> String {
        match self {
            Value::Null => "null".into(),
            Value::Bool(b) => b.to_string(),
            Value::Int(i) => i.to_string(),
            Value::Big(u) => u.to_string(),
            Value::Float(f) if f.is_finite() => format!("{f:?}"),
            Value::Float(_) => ".nan".into(),
            Value::Str(p) => quote(&p.get(&["EUR", "12.50", "2024-01-31T12:00:00Z", ""])),
            Value::List(items) => {
                let items: Vec<String> = items.iter().map(Value::yaml).collect();
                format!("[{}]", items.join(", "))
            }
            Value::Map(entries) => {
                let entries: Vec<String> = entries
                    .iter()
                    .map(|(k, v)| format!("{}: {}", quote(&k.get(FIELDS)), v.yaml()))
                    .collect();
                format!("{{{}}}", entries.join(", "))
            }
        }
    }
}

#[derive(Debug, Arbitrary)]
enum Rule {
    Required,
    Email,
    Min(Value),
    Max(Value),
    Range(Value, Value),
    Length(Value),
    LengthRange(Option<Value>, Option<Value>),
    Pattern(Pick),
    OneOf(Vec<Value>),
    Custom(Pick),
    Unknown(Pick),
}

impl Rule {
    fn yaml(&self) -> String {
        match self {
            Rule::Required => "required".into(),
            Rule::Email => "email".into(),
            Rule::Min(v) => format!("{{ min: {} }}", v.yaml()),
            Rule::Max(v) => format!("{{ max: {} }}", v.yaml()),
            Rule::Range(a, b) => format!("{{ min: {}, max: {} }}", a.yaml(), b.yaml()),
            Rule::Length(v) => format!("{{ length: {} }}", v.yaml()),
            Rule::LengthRange(a, b) => {
                let mut parts = Vec::new();
                if let Some(a) = a {
                    parts.push(format!("min: {}", a.yaml()));
                }
                if let Some(b) = b {
                    parts.push(format!("max: {}", b.yaml()));
                }
                format!("{{ length: {{ {} }} }}", parts.join(", "))
            }
            Rule::Pattern(p) => format!("{{ pattern: {} }}", quote(&p.get(PATTERNS))),
            Rule::OneOf(vs) => {
                let vs: Vec<String> = vs.iter().map(Value::yaml).collect();
                format!("{{ one_of: [{}] }}", vs.join(", "))
            }
            Rule::Custom(p) => format!("{{ custom: {} }}", quote(&p.get(&["logic::check", ""]))),
            Rule::Unknown(p) => quote(&p.get(&["requird", "min"])),
        }
    }
}

#[derive(Debug, Arbitrary)]
struct Field {
    name: Pick,
    ty: Ty,
    rules: Vec<Rule>,
    default: Option<Value>,
    doc: Option<String>,
}

#[derive(Debug, Arbitrary)]
struct Step {
    from: i16,
    rename: Vec<(Pick, Pick)>,
    add: Vec<(Pick, Value)>,
    remove: Vec<Pick>,
    convert: bool,
}

#[derive(Debug, Arbitrary)]
struct Event {
    name: Pick,
    version: Option<i16>,
    fields: Vec<Field>,
    upcast: Vec<Step>,
    renamed_from: Vec<Pick>,
}

#[derive(Debug, Arbitrary)]
struct Command {
    name: Pick,
    fields: Vec<Field>,
    emits: Vec<Pick>,
    identity: Option<Pick>,
}

#[derive(Debug, Arbitrary)]
struct Aggregate {
    name: Pick,
    /// Leave commands and events as generated: no identity field added, `emits` as drawn.
    raw: bool,
    identity_uuid: bool,
    state: Vec<Field>,
    errors: Vec<(Pick, String)>,
    commands: Vec<Command>,
    events: Vec<Event>,
    stream_prefix: Option<String>,
    snapshot_every: Option<i64>,
}

#[derive(Debug, Arbitrary)]
struct OnFailure {
    attempts: Option<i64>,
    backoff: Vec<Pick>,
    then: Pick,
}

impl OnFailure {
    fn yaml(&self) -> String {
        let mut parts = Vec::new();
        if let Some(a) = self.attempts {
            parts.push(format!("attempts: {a}"));
        }
        let b: Vec<String> = self
            .backoff
            .iter()
            .map(|p| quote(&p.get(DURATIONS)))
            .collect();
        parts.push(format!("backoff: [{}]", b.join(", ")));
        parts.push(format!(
            "then: {}",
            quote(&self.then.get(&["stop", "skip", "park"]))
        ));
        format!("{{ {} }}", parts.join(", "))
    }
}

/// An event reference: `Name` or `context.Name`.
#[derive(Debug, Arbitrary)]
enum EventRef {
    Local(Pick),
    Cross(Pick, Pick),
}

impl EventRef {
    fn text(&self) -> String {
        match self {
            EventRef::Local(p) => p.get(EVENTS),
            EventRef::Cross(c, p) => format!("{}.{}", c.get(CONTEXTS), p.get(EVENTS)),
        }
    }
}

#[derive(Debug, Arbitrary)]
struct Handler {
    name: Pick,
    kind: Option<Pick>,
    subscribes: Vec<EventRef>,
    consistency: Option<Pick>,
    start_from: Option<Pick>,
    partitions: Option<i64>,
    on_failure: Option<OnFailure>,
}

#[derive(Debug, Arbitrary)]
struct Process {
    name: Pick,
    identity: Pick,
    starts_on: Vec<EventRef>,
    continues_on: Vec<EventRef>,
    stops_on: Vec<EventRef>,
    dispatches: Vec<EventRef>,
    state: Vec<Field>,
    on_failure: Option<OnFailure>,
}

/// A YAML double-quoted scalar.
fn quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn names(items: &[EventRef]) -> String {
    let items: Vec<String> = items.iter().map(|e| quote(&e.text())).collect();
    format!("[{}]", items.join(", "))
}

fn fields(out: &mut String, indent: usize, fields: &[Field], extra: Option<(&str, &str)>) {
    let pad = " ".repeat(indent);
    if fields.is_empty() && extra.is_none() {
        let _ = writeln!(out, "{pad}{{}}");
        return;
    }
    if let Some((name, ty)) = extra {
        let _ = writeln!(out, "{pad}{name}: {ty}");
    }
    for f in fields {
        let mut parts = vec![format!("type: {}", quote(&f.ty.text()))];
        if !f.rules.is_empty() {
            let rules: Vec<String> = f.rules.iter().map(Rule::yaml).collect();
            parts.push(format!("validate: [{}]", rules.join(", ")));
        }
        if let Some(d) = &f.default {
            parts.push(format!("default: {}", d.yaml()));
        }
        if let Some(doc) = &f.doc {
            parts.push(format!("doc: {}", quote(doc)));
        }
        let _ = writeln!(
            out,
            "{pad}{}: {{ {} }}",
            quote(&f.name.get(FIELDS)),
            parts.join(", ")
        );
    }
}

/// `key:` and the fields below it, or `key: {}` when there are none.
fn field_block(
    out: &mut String,
    indent: usize,
    key: &str,
    fs: &[Field],
    extra: Option<(&str, &str)>,
) {
    let pad = " ".repeat(indent);
    if fs.is_empty() && extra.is_none() {
        let _ = writeln!(out, "{pad}{key}: {{}}");
    } else {
        let _ = writeln!(out, "{pad}{key}:");
        fields(out, indent + 2, fs, extra);
    }
}

impl Domain {
    /// The domain as schema files (at most four), in the shape `crate::run` takes.
    pub fn sources(&self) -> Vec<(std::path::PathBuf, String)> {
        self.contexts
            .iter()
            .take(4)
            .enumerate()
            .map(|(i, c)| {
                let stem = CONTEXTS[i % CONTEXTS.len()];
                (std::path::PathBuf::from(format!("{stem}.yaml")), c.yaml())
            })
            .collect()
    }
}

impl Context {
    fn yaml(&self) -> String {
        let mut out = String::new();
        if self.explicit_name {
            let _ = writeln!(out, "context: {}", quote(&self.name.get(CONTEXTS)));
        }
        if !self.types.is_empty() {
            out.push_str("types:\n");
            for t in &self.types {
                match t {
                    TypeDecl::Struct(name, fs) => {
                        let _ = writeln!(out, "  {}:", quote(&name.get(TYPES)));
                        field_block(&mut out, 4, "fields", fs, None);
                    }
                    TypeDecl::Enum(name, variants) => {
                        let vs: Vec<String> = variants
                            .iter()
                            .map(|v| quote(&v.get(&["EUR", "USD", "eur"])))
                            .collect();
                        let _ = writeln!(
                            out,
                            "  {}:\n    enum: [{}]",
                            quote(&name.get(TYPES)),
                            vs.join(", ")
                        );
                    }
                }
            }
        }
        if !self.aggregates.is_empty() {
            out.push_str("aggregates:\n");
            for a in &self.aggregates {
                a.yaml(&mut out);
            }
        }
        if !self.handlers.is_empty() {
            out.push_str("handlers:\n");
            for h in &self.handlers {
                let _ = writeln!(out, "  {}:", quote(&h.name.get(HANDLERS)));
                if let Some(k) = &h.kind {
                    let _ = writeln!(
                        out,
                        "    kind: {}",
                        quote(&k.get(&["effect", "projection"]))
                    );
                }
                let _ = writeln!(out, "    subscribes: {}", names(&h.subscribes));
                if let Some(c) = &h.consistency {
                    let _ = writeln!(
                        out,
                        "    consistency: {}",
                        quote(&c.get(&["strong", "eventual"]))
                    );
                }
                if let Some(s) = &h.start_from {
                    let _ = writeln!(
                        out,
                        "    start_from: {}",
                        quote(&s.get(&["origin", "current"]))
                    );
                }
                if let Some(p) = h.partitions {
                    let _ = writeln!(out, "    partitions: {p}");
                }
                if let Some(f) = &h.on_failure {
                    let _ = writeln!(out, "    on_failure: {}", f.yaml());
                }
            }
        }
        if !self.processes.is_empty() {
            out.push_str("process_managers:\n");
            for p in &self.processes {
                let _ = writeln!(out, "  {}:", quote(&p.name.get(PROCESSES)));
                let _ = writeln!(out, "    identity: {}", quote(&p.identity.get(FIELDS)));
                let _ = writeln!(out, "    starts_on: {}", names(&p.starts_on));
                if !p.continues_on.is_empty() {
                    let _ = writeln!(out, "    continues_on: {}", names(&p.continues_on));
                }
                if !p.stops_on.is_empty() {
                    let _ = writeln!(out, "    stops_on: {}", names(&p.stops_on));
                }
                let _ = writeln!(out, "    dispatches: {}", names(&p.dispatches));
                field_block(&mut out, 4, "state", &p.state, None);
                if let Some(f) = &p.on_failure {
                    let _ = writeln!(out, "    on_failure: {}", f.yaml());
                }
            }
        }
        if out.is_empty() {
            out.push_str("doc: empty\n");
        }
        out
    }
}

impl Aggregate {
    fn yaml(&self, out: &mut String) {
        let id_ty = if self.identity_uuid { "Uuid" } else { "String" };
        let _ = writeln!(out, "  {}:", quote(&self.name.get(AGGREGATES)));
        let _ = writeln!(out, "    identity: id");
        if let Some(p) = &self.stream_prefix {
            let _ = writeln!(out, "    stream_prefix: {}", quote(p));
        }
        if let Some(n) = self.snapshot_every {
            let _ = writeln!(out, "    snapshot_every: {n}");
        }
        field_block(out, 4, "state", &self.state, Some(("id", id_ty)));
        if !self.errors.is_empty() {
            out.push_str("    errors:\n");
            for (name, text) in &self.errors {
                let _ = writeln!(out, "      {}: {}", quote(&name.get(ERRORS)), quote(text));
            }
        }
        let own_event = self.events.first().map(|e| e.name.get(EVENTS));
        out.push_str("    commands:\n");
        if self.commands.is_empty() {
            out.push_str("      {}\n");
        }
        for c in &self.commands {
            let _ = writeln!(out, "      {}:", quote(&c.name.get(COMMANDS)));
            if let Some(i) = &c.identity {
                let _ = writeln!(out, "        identity: {}", quote(&i.get(FIELDS)));
            }
            let extra = (!self.raw).then_some(("id", id_ty));
            field_block(out, 8, "fields", &c.fields, extra);
            let mut emits: Vec<String> = c.emits.iter().map(|e| quote(&e.get(EVENTS))).collect();
            if !self.raw && emits.is_empty() {
                emits.extend(own_event.as_deref().map(quote));
            }
            let _ = writeln!(out, "        emits: [{}]", emits.join(", "));
        }
        out.push_str("    events:\n");
        if self.events.is_empty() {
            out.push_str("      {}\n");
        }
        for e in &self.events {
            let _ = writeln!(out, "      {}:", quote(&e.name.get(EVENTS)));
            if let Some(v) = e.version {
                let _ = writeln!(out, "        version: {v}");
            }
            if !e.renamed_from.is_empty() {
                let old: Vec<String> = e
                    .renamed_from
                    .iter()
                    .map(|p| quote(&p.get(&["OldOpened", "Opened", "Closed"])))
                    .collect();
                let _ = writeln!(out, "        renamed_from: [{}]", old.join(", "));
            }
            let extra = (!self.raw).then_some(("id", id_ty));
            field_block(out, 8, "fields", &e.fields, extra);
            if !e.upcast.is_empty() {
                out.push_str("        upcast:\n");
                for s in &e.upcast {
                    let _ = writeln!(out, "          - from: {}", s.from);
                    if !s.rename.is_empty() {
                        let r: Vec<String> = s
                            .rename
                            .iter()
                            .map(|(a, b)| {
                                format!("{}: {}", quote(&a.get(FIELDS)), quote(&b.get(FIELDS)))
                            })
                            .collect();
                        let _ = writeln!(out, "            rename: {{ {} }}", r.join(", "));
                    }
                    if !s.add.is_empty() {
                        let a: Vec<String> = s
                            .add
                            .iter()
                            .map(|(k, v)| format!("{}: {}", quote(&k.get(FIELDS)), v.yaml()))
                            .collect();
                        let _ = writeln!(out, "            add: {{ {} }}", a.join(", "));
                    }
                    if !s.remove.is_empty() {
                        let r: Vec<String> =
                            s.remove.iter().map(|f| quote(&f.get(FIELDS))).collect();
                        let _ = writeln!(out, "            remove: [{}]", r.join(", "));
                    }
                    if s.convert {
                        out.push_str("            convert: logic::upgrade\n");
                    }
                }
            }
        }
    }
}
