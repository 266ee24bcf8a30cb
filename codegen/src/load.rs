//! Loading: schema files -> YAML node trees -> [`crate::raw`] shapes.
//!
//! Everything here is about shape: is this a mapping, is that key known, is this a list of
//! names. Meaning (do names resolve, do rules fit types) is the checker's. Both report into
//! the same `Sink` and never stop at the first problem: a bad item is reported and skipped.

mod indentation;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::check::names::did_you_mean;
use crate::diag::{Diagnostic, Sink};
use crate::raw::*;

/// Expands directories into their `*.yaml` / `*.yml` files (sorted) and reads every file.
/// Unreadable paths become diagnostics at line 1, column 1.
pub(crate) fn read_sources(paths: &[PathBuf], sink: &mut Sink) -> Vec<(PathBuf, String)> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            match std::fs::read_dir(path) {
                Ok(entries) => {
                    let mut found: Vec<PathBuf> = entries
                        .filter_map(|e| e.ok().map(|e| e.path()))
                        .filter(|p| {
                            p.is_file() && p.extension().is_some_and(|x| x == "yaml" || x == "yml")
                        })
                        .collect();
                    found.sort();
                    if found.is_empty() {
                        sink.error(
                            path,
                            Loc::START,
                            "no schema files (*.yaml or *.yml) in this directory",
                        )
                        .hint("put one file per bounded context here, e.g. `bank.yaml`");
                    }
                    files.extend(found);
                }
                Err(e) => {
                    sink.error(path, Loc::START, format!("cannot read directory: {e}"));
                }
            }
        } else {
            files.push(path.clone());
        }
    }
    let mut sources = Vec::new();
    for file in files {
        match std::fs::read_to_string(&file) {
            Ok(text) => sources.push((file, text)),
            Err(e) => {
                sink.diagnostics.push(Diagnostic::error(
                    &file,
                    1,
                    1,
                    format!("cannot read file: {e}"),
                ));
            }
        }
    }
    sources
}

/// Deepest nesting of sequences and mappings a schema file may use.
const MAX_DEPTH: usize = 24;

/// The parser's messages that usually mean a line is indented wrongly.
const INDENTATION_ERRORS: &[&str] = &[
    "did not find expected key",
    "mapping values are not allowed",
    "did not find expected '-'",
    "could not find expected ':'",
    "block sequence entries are not allowed",
];

/// Parses YAML text into a node tree. `None` when the text is not valid YAML (reported with
/// the position serde-saphyr gives); `Some(None)` for a file with no document at all.
pub(crate) fn parse_yaml(file: &Path, text: &str, sink: &mut Sink) -> Option<Option<Node>> {
    // A schema nests about ten levels; a small limit keeps deeply nested junk from
    // exhausting the stack of a (2 MiB) thread while it is deserialized.
    let mut budget = serde_saphyr::Budget::default();
    budget.max_depth = MAX_DEPTH;
    // Schemas are the developer's own files, and a large domain in one file is legitimate:
    // the defaults (250,000 nodes) stop at about 500 aggregates. Alias and anchor limits,
    // which guard against expansion bombs, stay at their defaults.
    budget.max_nodes = 20_000_000;
    budget.max_events = 40_000_000;
    // Aliases (`*name`) are rare in a schema and small where used; an expansion bomb (each
    // level nine aliases of the one before) must be refused before it costs seconds and
    // hundreds of MB, as the defaults (a million events) allowed in a debug build script.
    budget.max_recorded_anchor_events = MAX_ALIAS_EVENTS;
    let mut alias_limits = serde_saphyr::options::AliasLimits::default();
    alias_limits.max_total_replayed_events = MAX_ALIAS_EVENTS;
    let options = serde_saphyr::options! {
        // We report duplicate keys ourselves, and keep going after them.
        duplicate_keys: serde_saphyr::DuplicateKeyPolicy::PassThrough,
        // `n`, `y`, `on`, `off` are names here, not booleans.
        strict_booleans: true,
        budget: Some(budget),
        alias_limits: alias_limits,
    };
    match serde_saphyr::from_str_with_options::<Option<Node>>(text, options) {
        Ok(node) => Some(node),
        Err(err) => {
            let loc = err
                .location()
                .map(|l| Loc {
                    line: (l.line() as usize).max(1),
                    column: (l.column() as usize).max(1),
                })
                .unwrap_or(Loc::START);
            let plain = err.render_with_options(serde_saphyr::render_options! {
                snippets: serde_saphyr::SnippetMode::Off,
            });
            let message = if plain.contains("multiple YAML documents") {
                "a schema file holds exactly one YAML document (found a second `---`)".to_string()
            } else if plain.contains("Depth {") || plain.contains("recursion limit") {
                format!("the YAML is nested more than {MAX_DEPTH} levels deep")
            } else if is_alias_limit(&err) {
                format!(
                    "the YAML's aliases (`*name`) expand to more than {MAX_ALIAS_EVENTS} nodes; a schema needs no such expansion"
                )
            } else {
                let suffix = format!(" at line {}, column {}", loc.line, loc.column);
                let text = plain.strip_suffix(&suffix).unwrap_or(&plain);
                format!("invalid YAML: {text}")
            };
            if is_alias_limit(&err) {
                sink.error(file, loc, message)
                    .hint("write the repeated part out where it is needed, or alias less of it");
                return None;
            }
            if !INDENTATION_ERRORS.iter().any(|e| plain.contains(e)) {
                sink.error(file, loc, message);
                return None;
            }
            // The parser stops where the structure stopped making sense, often lines below
            // the key that is indented wrongly: point at that key when it can be found.
            match indentation::find(text, loc.line) {
                Some(m) => {
                    let (at, message) = if m.line == loc.line {
                        (loc, message)
                    } else {
                        let at = Loc {
                            line: m.line,
                            column: m.indent + 1,
                        };
                        let stopped = format!(
                            " (the parser stopped at line {}, column {})",
                            loc.line, loc.column
                        );
                        (at, message + &stopped)
                    };
                    sink.error(file, at, message)
                    .hint(format!(
                        "this line is indented {} spaces, the lines it belongs with {}: check the indentation of the lines above (the keys of one mapping start in the same column)",
                        m.indent, m.expected
                    ));
                }
                None => {
                    sink.error(file, loc, message).hint(
                        "check the indentation of this line and the lines above: the keys of one mapping start in the same column, and what belongs to a key is indented deeper than it",
                    );
                }
            }
            None
        }
    }
}

/// Most YAML events that anchors may record or aliases replay in one file.
const MAX_ALIAS_EVENTS: usize = 20_000;

/// Whether serde-saphyr refused the text for its anchors and aliases.
fn is_alias_limit(err: &serde_saphyr::Error) -> bool {
    use serde_saphyr::budget::BudgetBreach as B;
    match err {
        serde_saphyr::Error::AliasError { error, .. }
        | serde_saphyr::Error::WithSnippet { error, .. } => is_alias_limit(error),
        serde_saphyr::Error::Budget { breach, .. } => matches!(
            breach,
            B::Aliases { .. }
                | B::Anchors { .. }
                | B::AliasAnchorRatio { .. }
                | B::RecordedAnchorEvents { .. }
                | B::RecordedAnchorBytes { .. }
        ),
        serde_saphyr::Error::AliasReplayLimitExceeded { .. }
        | serde_saphyr::Error::AliasExpansionLimitExceeded { .. }
        | serde_saphyr::Error::AliasReplayStackDepthExceeded { .. } => true,
        _ => false,
    }
}

/// Reads the tree of one file into a [`RawFile`], reporting every shape problem.
pub(crate) fn read_file(file: &Path, root: Option<&Node>, sink: &mut Sink) -> RawFile {
    let mut out = RawFile::default();
    let Some(root) = root else {
        sink.warning(file, Loc::START, "the schema file is empty");
        return out;
    };
    let mut r = Reader { file, sink };
    let Some(top) = r.mapping(
        root,
        "a schema file",
        &[
            "context",
            "doc",
            "types",
            "aggregates",
            "handlers",
            "process_managers",
        ],
    ) else {
        return out;
    };
    out.context = top.get("context").and_then(|(_, v)| r.name(v, "`context`"));
    out.doc = top.get("doc").and_then(|(_, v)| r.text(v, "`doc`"));
    if let Some((_, v)) = top.get("types") {
        for (name, node) in r.named_items(v, "`types`") {
            if let Some(t) = r.type_def(name, node) {
                out.types.push(t);
            }
        }
    }
    if let Some((_, v)) = top.get("aggregates") {
        for (name, node) in r.named_items(v, "`aggregates`") {
            if let Some(a) = r.aggregate(name, node) {
                out.aggregates.push(a);
            }
        }
    }
    if let Some((_, v)) = top.get("handlers") {
        for (name, node) in r.named_items(v, "`handlers`") {
            if let Some(h) = r.handler(name, node) {
                out.handlers.push(h);
            }
        }
    }
    if let Some((_, v)) = top.get("process_managers") {
        for (name, node) in r.named_items(v, "`process_managers`") {
            if let Some(p) = r.process_manager(name, node) {
                out.process_managers.push(p);
            }
        }
    }
    out
}

/// The known keys of one mapping, first occurrence of each.
struct Entries<'a> {
    map: HashMap<&'a str, (&'a Name, &'a Node)>,
}

impl<'a> Entries<'a> {
    fn get(&self, key: &str) -> Option<(&'a Name, &'a Node)> {
        self.map.get(key).copied()
    }
}

struct Reader<'s> {
    file: &'s Path,
    sink: &'s mut Sink,
}

/// Keys users write for those of `on_failure`, with the hint they get.
const FAILURE_ALIASES: &[(&str, &str)] = &[
    ("retries", RETRIES_HINT),
    ("retry", RETRIES_HINT),
    ("max_retries", RETRIES_HINT),
    ("max_attempts", "did you mean `attempts`?"),
    ("tries", "did you mean `attempts`?"),
    ("delay", "did you mean `backoff`?"),
    ("delays", "did you mean `backoff`?"),
    (
        "backoff_ms",
        "did you mean `backoff`? (write durations: `backoff: [100ms, 1s]`)",
    ),
    ("wait", "did you mean `backoff`?"),
    ("on_exhausted", "did you mean `then`?"),
    ("exhausted", "did you mean `then`?"),
    ("action", "did you mean `then`?"),
    ("after", "did you mean `then`?"),
    ("else", "did you mean `then`?"),
];

const RETRIES_HINT: &str =
    "did you mean `attempts`? It counts the first attempt too: 2 retries are `attempts: 3`";

const RULE_NAMES: &[&str] = &[
    "required", "email", "min", "max", "length", "pattern", "one_of", "custom",
];

impl Reader<'_> {
    fn expected(&mut self, node: &Node, what: &str, expected: &str) -> &mut Diagnostic {
        self.sink.error(
            self.file,
            node.loc,
            format!("{what} must be {expected}, found {}", node.value.kind()),
        )
    }

    /// Reports duplicate keys (keeping the first) and returns the entries.
    fn entries<'a>(&mut self, entries: &'a [(Name, Node)]) -> Vec<(&'a Name, &'a Node)> {
        let mut seen: HashMap<&str, Loc> = HashMap::new();
        let mut out = Vec::new();
        for (k, v) in entries {
            if let Some(first) = seen.get(k.text.as_str()) {
                self.sink
                    .error(self.file, k.loc, format!("duplicate key `{}`", k.text))
                    .hint(format!(
                        "it is first defined at line {}, column {}; remove or rename one",
                        first.line, first.column
                    ));
            } else {
                seen.insert(&k.text, k.loc);
                out.push((k, v));
            }
        }
        out
    }

    /// A mapping with a fixed set of keys: unknown keys are errors with a did-you-mean.
    fn mapping<'a>(&mut self, node: &'a Node, what: &str, allowed: &[&str]) -> Option<Entries<'a>> {
        self.mapping_with(node, what, allowed, &[])
    }

    /// [`Self::mapping`], where an unknown key found in `aliases` (a word users commonly
    /// write for one of the keys) gets that alias's hint instead of a spelling suggestion.
    fn mapping_with<'a>(
        &mut self,
        node: &'a Node,
        what: &str,
        allowed: &[&str],
        aliases: &[(&str, &str)],
    ) -> Option<Entries<'a>> {
        let Value::Map(entries) = &node.value else {
            self.expected(
                node,
                what,
                &format!("a mapping with keys {}", list(allowed)),
            );
            return None;
        };
        let mut map = HashMap::new();
        for (k, v) in self.entries(entries) {
            if allowed.contains(&k.text.as_str()) {
                map.insert(k.text.as_str(), (k, v));
            } else {
                let alias = aliases.iter().find(|(a, _)| *a == k.text);
                let hint = alias
                    .map(|(_, hint)| hint.to_string())
                    .or_else(|| {
                        did_you_mean(&k.text, allowed.iter().copied())
                            .map(|s| format!("did you mean `{s}`?"))
                    })
                    .unwrap_or_else(|| format!("the keys of {what} are {}", list(allowed)));
                self.sink
                    .error(
                        self.file,
                        k.loc,
                        format!("unknown key `{}` in {what}", k.text),
                    )
                    .hint(hint);
            }
        }
        Some(Entries { map })
    }

    /// `Name: {...}` items (aggregates, commands, ...): any keys, no duplicates. An empty
    /// value (`types:` with nothing under it) is an empty list.
    fn named_items<'a>(&mut self, node: &'a Node, what: &str) -> Vec<(&'a Name, &'a Node)> {
        match &node.value {
            Value::Map(entries) => self.entries(entries),
            Value::Null => Vec::new(),
            _ => {
                self.expected(node, what, "a mapping of names to definitions");
                Vec::new()
            }
        }
    }

    fn text(&mut self, node: &Node, what: &str) -> Option<String> {
        match &node.value {
            Value::Str(s) => Some(s.clone()),
            _ => {
                self.expected(node, what, "a string");
                None
            }
        }
    }

    fn name(&mut self, node: &Node, what: &str) -> Option<Name> {
        match &node.value {
            Value::Str(s) => Some(Name::new(s.clone(), node.loc)),
            _ => {
                self.expected(node, what, "a name");
                None
            }
        }
    }

    fn name_list(&mut self, node: &Node, what: &str) -> Vec<Name> {
        match &node.value {
            Value::Seq(items) => items.iter().filter_map(|n| self.name(n, what)).collect(),
            Value::Null => Vec::new(),
            Value::Str(s) => {
                self.expected(node, what, "a list of names")
                    .hint(format!("write `[{s}]`"));
                Vec::new()
            }
            _ => {
                self.expected(node, what, "a list of names");
                Vec::new()
            }
        }
    }

    fn whole(&mut self, node: &Node, what: &str, min: i128) -> Option<i128> {
        match &node.value {
            Value::Int(n) if *n >= min => Some(*n),
            _ => {
                self.sink.error(
                    self.file,
                    node.loc,
                    format!(
                        "{what} must be a whole number >= {min}, found {}",
                        show(node)
                    ),
                );
                None
            }
        }
    }

    fn fields(&mut self, node: &Node, owner: &str) -> Vec<RawField> {
        let what = format!("the fields of {owner}");
        self.named_items(node, &what)
            .into_iter()
            .filter_map(|(name, node)| self.field(name, node))
            .collect()
    }

    fn field(&mut self, name: &Name, node: &Node) -> Option<RawField> {
        let mut field = RawField {
            name: name.clone(),
            ty: Name::new(String::new(), node.loc),
            validate: None,
            rules: Vec::new(),
            doc: None,
            default: None,
        };
        match &node.value {
            Value::Str(s) => {
                field.ty = Name::new(s.clone(), node.loc);
                Some(field)
            }
            Value::Map(_) => {
                let what = format!("field `{}`", name.text);
                let e = self.mapping(node, &what, &["type", "validate", "doc", "default"])?;
                match e.get("type") {
                    Some((_, t)) => field.ty = self.name(t, "`type`")?,
                    None => {
                        self.sink
                            .error(
                                self.file,
                                name.loc,
                                format!("field `{}` has no `type`", name.text),
                            )
                            .hint("write `{ type: String, ... }`");
                        return None;
                    }
                }
                field.doc = e.get("doc").and_then(|(_, v)| self.text(v, "`doc`"));
                field.default = e.get("default").map(|(_, v)| v.clone());
                if let Some((k, v)) = e.get("validate") {
                    field.validate = Some(k.loc);
                    field.rules = self.rules(v);
                }
                Some(field)
            }
            Value::Null => {
                self.sink
                    .error(
                        self.file,
                        name.loc,
                        format!("field `{}` has no type", name.text),
                    )
                    .hint(format!("write `{}: String` or another type", name.text));
                None
            }
            _ => {
                self.sink
                    .error(
                        self.file,
                        node.loc,
                        format!(
                            "field `{}` must be a type name or `{{ type, validate, doc, default }}`, found {}",
                            name.text,
                            node.value.kind()
                        ),
                    )
                    .hint("quote the type if YAML reads it as something else");
                None
            }
        }
    }

    fn rules(&mut self, node: &Node) -> Vec<RawRule> {
        let Value::Seq(items) = &node.value else {
            self.expected(node, "`validate`", "a list of rules")
                .hint("write `validate: [required, { min: 1 }]`");
            return Vec::new();
        };
        items.iter().filter_map(|n| self.rule(n)).collect()
    }

    fn rule(&mut self, node: &Node) -> Option<RawRule> {
        let loc = node.loc;
        let kind = match &node.value {
            Value::Str(s) if s == "required" => RawRuleKind::Required,
            Value::Str(s) if s == "email" => RawRuleKind::Email,
            Value::Str(s) => {
                let hint = if RULE_NAMES.contains(&s.as_str()) {
                    format!("`{s}` takes a value: write `{{ {s}: ... }}`")
                } else {
                    did_you_mean(s, RULE_NAMES.iter().copied())
                        .map(|m| format!("did you mean `{m}`?"))
                        .unwrap_or_else(|| format!("the rules are {}", list(RULE_NAMES)))
                };
                self.sink
                    .error(self.file, loc, format!("unknown validation rule `{s}`"))
                    .hint(hint);
                return None;
            }
            Value::Map(entries) => {
                let entries = self.entries(entries);
                let mut unknown = false;
                for (k, _) in &entries {
                    if !RULE_NAMES.contains(&k.text.as_str()) {
                        unknown = true;
                        let hint = did_you_mean(&k.text, RULE_NAMES.iter().copied())
                            .map(|m| format!("did you mean `{m}`?"))
                            .unwrap_or_else(|| format!("the rules are {}", list(RULE_NAMES)));
                        self.sink
                            .error(
                                self.file,
                                k.loc,
                                format!("unknown validation rule `{}`", k.text),
                            )
                            .hint(hint);
                    }
                }
                if unknown {
                    return None;
                }
                let keys: Vec<&str> = entries.iter().map(|(k, _)| k.text.as_str()).collect();
                let get = |key: &str| entries.iter().find(|(k, _)| k.text == key).map(|(_, v)| *v);
                let is_range = keys.iter().all(|k| *k == "min" || *k == "max");
                if keys.is_empty() {
                    self.sink.error(self.file, loc, "empty validation rule");
                    return None;
                }
                if is_range {
                    RawRuleKind::Range {
                        min: get("min").map(num),
                        max: get("max").map(num),
                    }
                } else if keys.len() > 1 {
                    self.sink
                        .error(
                            self.file,
                            loc,
                            format!("one list item may hold only one rule, found {}", keys.join(", ")),
                        )
                        .hint("give each rule its own item: `validate: [{ min: 1 }, { pattern: \"...\" }]`");
                    return None;
                } else {
                    let (key, value) = (&entries[0].0, entries[0].1);
                    match key.text.as_str() {
                        "required" | "email" => {
                            self.sink
                                .error(self.file, key.loc, format!("`{}` takes no value", key.text))
                                .hint(format!(
                                    "write it as a plain list item: `validate: [{}]`",
                                    key.text
                                ));
                            return None;
                        }
                        "length" => match &value.value {
                            Value::Map(_) => {
                                let e = self.mapping(value, "`length`", &["min", "max"])?;
                                let min = e.get("min").map(|(_, v)| num(v));
                                let max = e.get("max").map(|(_, v)| num(v));
                                if min.is_none() && max.is_none() {
                                    self.sink
                                        .error(
                                            self.file,
                                            value.loc,
                                            "`length` needs `min`, `max` or both",
                                        )
                                        .hint("write `{ length: 4 }` or `{ length: { min: 8 } }`");
                                    return None;
                                }
                                RawRuleKind::Length { min, max }
                            }
                            _ => RawRuleKind::Length {
                                min: Some(num(value)),
                                max: Some(num(value)),
                            },
                        },
                        "pattern" => RawRuleKind::Pattern(self.name(value, "`pattern`")?),
                        "custom" => RawRuleKind::Custom(self.name(value, "`custom`")?),
                        _ => match &value.value {
                            Value::Seq(items) => RawRuleKind::OneOf(items.clone()),
                            _ => {
                                self.expected(value, "`one_of`", "a list of values");
                                return None;
                            }
                        },
                    }
                }
            }
            _ => {
                self.expected(
                    node,
                    "a validation rule",
                    "`required`, `email` or a `{ rule: value }` mapping",
                );
                return None;
            }
        };
        Some(RawRule { kind, loc })
    }

    fn type_def(&mut self, name: &Name, node: &Node) -> Option<RawType> {
        let what = format!("type `{}`", name.text);
        let e = self.mapping(node, &what, &["doc", "enum", "fields"])?;
        let doc = e.get("doc").and_then(|(_, v)| self.text(v, "`doc`"));
        let body = match (e.get("enum"), e.get("fields")) {
            (Some((_, v)), None) => {
                let variants = self.name_list(v, "`enum`");
                if variants.is_empty() {
                    self.sink
                        .error(
                            self.file,
                            v.loc,
                            format!("enum `{}` has no variants", name.text),
                        )
                        .hint("write `enum: [First, Second]`");
                }
                RawTypeBody::Enum(variants)
            }
            (None, Some((_, v))) => RawTypeBody::Struct(self.fields(v, &what)),
            (Some((k, _)), Some(_)) => {
                self.sink
                    .error(
                        self.file,
                        k.loc,
                        format!("type `{}` has both `enum` and `fields`", name.text),
                    )
                    .hint("a type is either an enum (`enum: [..]`) or a struct (`fields: {..}`)");
                return None;
            }
            (None, None) => {
                self.sink
                    .error(
                        self.file,
                        name.loc,
                        format!("type `{}` has neither `enum` nor `fields`", name.text),
                    )
                    .hint(
                        "write `enum: [A, B]` for an enum or `fields: { name: Type }` for a struct",
                    );
                return None;
            }
        };
        Some(RawType {
            name: name.clone(),
            doc,
            body,
        })
    }

    fn aggregate(&mut self, name: &Name, node: &Node) -> Option<RawAggregate> {
        let what = format!("aggregate `{}`", name.text);
        let e = self.mapping(
            node,
            &what,
            &[
                "doc",
                "identity",
                "stream_prefix",
                "snapshot_every",
                "state",
                "errors",
                "commands",
                "events",
            ],
        )?;
        let mut agg = RawAggregate {
            name: name.clone(),
            doc: e.get("doc").and_then(|(_, v)| self.text(v, "`doc`")),
            identity: e
                .get("identity")
                .and_then(|(_, v)| self.name(v, "`identity`")),
            stream_prefix: e
                .get("stream_prefix")
                .and_then(|(_, v)| self.name(v, "`stream_prefix`")),
            snapshot_every: e
                .get("snapshot_every")
                .and_then(|(_, v)| self.whole(v, "`snapshot_every`", 1))
                .and_then(|n| u64::try_from(n).ok()),
            state: Vec::new(),
            errors: Vec::new(),
            commands: Vec::new(),
            events: Vec::new(),
        };
        if agg.identity.is_none() && e.get("identity").is_none() {
            self.sink
                .error(
                    self.file,
                    name.loc,
                    format!("aggregate `{}` has no `identity`", name.text),
                )
                .hint(
                    "name the field that identifies an instance, e.g. `identity: account_number`",
                );
        }
        if let Some((_, v)) = e.get("state") {
            agg.state = self.fields(v, &format!("the state of `{}`", name.text));
        }
        if let Some((_, v)) = e.get("errors") {
            for (k, v) in self.named_items(v, "`errors`") {
                if let Some(msg) = self.text(v, &format!("the message of error `{}`", k.text)) {
                    agg.errors.push((k.clone(), msg));
                }
            }
        }
        if let Some((_, v)) = e.get("commands") {
            for (k, v) in self.named_items(v, "`commands`") {
                if let Some(c) = self.command(k, v) {
                    agg.commands.push(c);
                }
            }
        }
        if let Some((_, v)) = e.get("events") {
            for (k, v) in self.named_items(v, "`events`") {
                if let Some(ev) = self.event(k, v) {
                    agg.events.push(ev);
                }
            }
        }
        Some(agg)
    }

    fn command(&mut self, name: &Name, node: &Node) -> Option<RawCommand> {
        let what = format!("command `{}`", name.text);
        let e = self.mapping(node, &what, &["doc", "identity", "fields", "emits"])?;
        let emits = e.get("emits").map(|(_, v)| self.name_list(v, "`emits`"));
        Some(RawCommand {
            name: name.clone(),
            doc: e.get("doc").and_then(|(_, v)| self.text(v, "`doc`")),
            identity: e
                .get("identity")
                .and_then(|(_, v)| self.name(v, "`identity`")),
            fields: e
                .get("fields")
                .map(|(_, v)| self.fields(v, &what))
                .unwrap_or_default(),
            emits,
            emits_loc: e.get("emits").map(|(_, v)| v.loc),
        })
    }

    fn event(&mut self, name: &Name, node: &Node) -> Option<RawEvent> {
        let what = format!("event `{}`", name.text);
        let e = self.mapping(
            node,
            &what,
            &["doc", "version", "fields", "upcast", "renamed_from"],
        )?;
        let version = e.get("version").and_then(|(_, v)| {
            let n = self.whole(v, "`version`", 1)?;
            match u32::try_from(n) {
                Ok(n) => Some((n, v.loc)),
                Err(_) => {
                    self.sink.error(self.file, v.loc, "`version` is too large");
                    None
                }
            }
        });
        let upcast = match e.get("upcast") {
            Some((_, v)) => match &v.value {
                Value::Seq(items) => items.iter().filter_map(|s| self.step(s)).collect(),
                Value::Null => Vec::new(),
                _ => {
                    self.expected(v, "`upcast`", "a list of steps")
                        .hint("write `upcast: [{ from: 1, add: { field: value } }]`");
                    Vec::new()
                }
            },
            None => Vec::new(),
        };
        Some(RawEvent {
            name: name.clone(),
            doc: e.get("doc").and_then(|(_, v)| self.text(v, "`doc`")),
            version,
            fields: e
                .get("fields")
                .map(|(_, v)| self.fields(v, &what))
                .unwrap_or_default(),
            upcast,
            renamed_from: e
                .get("renamed_from")
                .map(|(_, v)| self.name_list(v, "`renamed_from`"))
                .unwrap_or_default(),
        })
    }

    fn step(&mut self, node: &Node) -> Option<RawStep> {
        let e = self.mapping(
            node,
            "an upcast step",
            &["from", "rename", "add", "remove", "convert"],
        )?;
        let mut step = RawStep {
            from: None,
            renames: Vec::new(),
            removes: Vec::new(),
            adds: Vec::new(),
            convert: None,
        };
        match e.get("from") {
            Some((_, v)) => step.from = self.whole(v, "`from`", 0).map(|n| (n, v.loc)),
            None => {
                self.sink
                    .error(self.file, node.loc, "upcast step has no `from`")
                    .hint("write `from: N`: the stored version this step upgrades to N + 1");
            }
        }
        if let Some((_, v)) = e.get("rename") {
            for (old, new) in self.named_items(v, "`rename`") {
                if let Some(new) = self.name(new, "the new name in `rename`") {
                    step.renames.push((old.clone(), new));
                }
            }
        }
        if let Some((_, v)) = e.get("remove") {
            step.removes = self.name_list(v, "`remove`");
        }
        if let Some((_, v)) = e.get("add") {
            for (field, value) in self.named_items(v, "`add`") {
                step.adds.push((field.clone(), value.clone()));
            }
        }
        if let Some((_, v)) = e.get("convert") {
            step.convert = self.name(v, "`convert`");
        }
        let has_op = ["rename", "add", "remove", "convert"]
            .iter()
            .any(|k| e.get(k).is_some());
        if !has_op {
            self.sink
                .error(self.file, node.loc, "upcast step does nothing")
                .hint("give it at least one of `rename`, `add`, `remove`, `convert`");
        }
        Some(step)
    }

    fn handler(&mut self, name: &Name, node: &Node) -> Option<RawHandler> {
        let what = format!("handler `{}`", name.text);
        let e = self.mapping(
            node,
            &what,
            &[
                "doc",
                "subscribes",
                "kind",
                "consistency",
                "start_from",
                "partitions",
                "on_failure",
            ],
        )?;
        let subscribes = match e.get("subscribes") {
            Some((_, v)) => self.name_list(v, "`subscribes`"),
            None => Vec::new(),
        };
        let well_formed = e
            .get("subscribes")
            .is_none_or(|(_, v)| matches!(v.value, Value::Seq(_) | Value::Null));
        if subscribes.is_empty() && well_formed {
            self.sink
                .error(
                    self.file,
                    name.loc,
                    format!("handler `{}` subscribes to no events", name.text),
                )
                .hint("list the events it handles: `subscribes: [SomethingHappened]`");
        }
        Some(RawHandler {
            name: name.clone(),
            doc: e.get("doc").and_then(|(_, v)| self.text(v, "`doc`")),
            subscribes,
            consistency: e
                .get("consistency")
                .and_then(|(_, v)| self.name(v, "`consistency`")),
            start_from: e
                .get("start_from")
                .and_then(|(_, v)| self.name(v, "`start_from`")),
            kind: e.get("kind").and_then(|(_, v)| self.name(v, "`kind`")),
            partitions: e.get("partitions").map(|(_, v)| v.clone()),
            on_failure: e.get("on_failure").and_then(|(_, v)| self.on_failure(v)),
        })
    }

    /// `on_failure: { attempts, backoff, then }`: the shape only; the checker checks values.
    fn on_failure(&mut self, node: &Node) -> Option<RawFailure> {
        let e = self.mapping_with(
            node,
            "`on_failure`",
            &["attempts", "backoff", "then"],
            FAILURE_ALIASES,
        )?;
        let backoff = e.get("backoff").and_then(|(_, v)| match &v.value {
            Value::Seq(items) => Some(items.clone()),
            Value::Str(_) | Value::Int(_) | Value::Float(_) | Value::Bool(_) => {
                Some(vec![v.clone()])
            }
            Value::Null | Value::Map(_) => {
                self.expected(v, "`backoff`", "a duration or a list of durations")
                    .hint("write `backoff: [100ms, 1s, 5s]`, `backoff: 2s`, or `backoff: []` for no delay");
                None
            }
        });
        Some(RawFailure {
            attempts: e.get("attempts").map(|(_, v)| v.clone()),
            backoff,
            then: e.get("then").and_then(|(_, v)| self.name(v, "`then`")),
        })
    }

    fn process_manager(&mut self, name: &Name, node: &Node) -> Option<RawProcessManager> {
        let what = format!("process manager `{}`", name.text);
        let e = self.mapping(
            node,
            &what,
            &[
                "doc",
                "identity",
                "starts_on",
                "continues_on",
                "stops_on",
                "dispatches",
                "state",
                "on_failure",
            ],
        )?;
        let identity = e
            .get("identity")
            .and_then(|(_, v)| self.name(v, "`identity`"));
        if e.get("identity").is_none() {
            self.sink
                .error(self.file, name.loc, format!("process manager `{}` has no `identity`", name.text))
                .hint("name the correlation field every handled event carries, e.g. `identity: order_id`");
        }
        let mut list = |key: &str| {
            e.get(key)
                .map(|(_, v)| self.name_list(v, &format!("`{key}`")))
                .unwrap_or_default()
        };
        let pm = RawProcessManager {
            name: name.clone(),
            doc: None,
            identity,
            starts_on: list("starts_on"),
            continues_on: list("continues_on"),
            stops_on: list("stops_on"),
            dispatches: list("dispatches"),
            state: Vec::new(),
            on_failure: None,
        };
        let doc = e.get("doc").and_then(|(_, v)| self.text(v, "`doc`"));
        let state = e
            .get("state")
            .map(|(_, v)| self.fields(v, &format!("the state of `{}`", name.text)))
            .unwrap_or_default();
        if pm.starts_on.is_empty()
            && e.get("starts_on")
                .is_none_or(|(_, v)| matches!(v.value, Value::Seq(_) | Value::Null))
        {
            self.sink
                .error(
                    self.file,
                    name.loc,
                    format!("process manager `{}` has no `starts_on` events", name.text),
                )
                .hint("list the events that start an instance: `starts_on: [OrderPlaced]`");
        }
        let on_failure = e.get("on_failure").and_then(|(_, v)| self.on_failure(v));
        Some(RawProcessManager {
            doc,
            state,
            on_failure,
            ..pm
        })
    }
}

fn num(node: &Node) -> Num {
    Num {
        value: node.value.clone(),
        loc: node.loc,
    }
}

/// A short rendering of a scalar for messages.
pub(crate) fn show(node: &Node) -> String {
    match &node.value {
        Value::Null => "nothing".into(),
        Value::Bool(b) => format!("`{b}`"),
        Value::Int(n) => format!("`{n}`"),
        Value::Float(f) => format!("`{f}`"),
        Value::Str(s) => format!("\"{s}\""),
        Value::Seq(_) => "a list".into(),
        Value::Map(_) => "a mapping".into(),
    }
}

pub(crate) fn list(items: &[&str]) -> String {
    items
        .iter()
        .map(|s| format!("`{s}`"))
        .collect::<Vec<_>>()
        .join(", ")
}
