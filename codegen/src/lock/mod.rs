//! `schemas/eskema.lock`: what may already be stored, so that a schema change that could not
//! read it fails the build before it ships.
//!
//! The lock keeps, for every event type, the shape of every version that may be stored
//! (field names, types, optionality, defaults), its old names and the text of every upcast
//! step; and the shape of every declared type a stored event contains. `eskema lock` writes
//! it; the checker ([`crate::check`]'s evolution rules) compares the schemas with it. It is
//! append-only history: a version, once locked, stays, and so does an event that was
//! deleted under an exception.
//!
//! Exceptions are the one part written by hand: `{ rule, event, reason }`, kept in the lock
//! so that a reviewer sees them in the diff.

pub(crate) mod shape;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::diag::Diagnostic;
use crate::model::{Context, TypeDef, TypeRef};
use shape::{FieldShape, Shape};

/// The lock's file name, beside the schemas.
pub const LOCK_FILE: &str = "eskema.lock";

/// The format version written in `lock:`.
const FORMAT: u32 = 1;

/// A lock file as read.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockFile {
    pub lock: u32,
    #[serde(default)]
    pub events: BTreeMap<String, LockedEvent>,
    #[serde(default)]
    pub types: BTreeMap<String, LockedType>,
    #[serde(default)]
    pub exceptions: Vec<Exception>,
}

#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockedEvent {
    pub aggregate: String,
    #[serde(default)]
    pub renamed_from: Vec<String>,
    pub versions: BTreeMap<u32, LockedVersion>,
    /// Step `from: N` -> its text ([`shape::step_text`]).
    #[serde(default)]
    pub upcast: BTreeMap<u32, String>,
}

#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockedVersion {
    /// Never seen as the current version by `eskema lock`: derived from the upcast chain.
    #[serde(default)]
    pub derived: bool,
    /// `None`: not known (the version is older than a `convert` step).
    #[serde(default)]
    pub fields: Option<BTreeMap<String, LockedField>>,
}

/// `name: Type`, or `name: { type: Type, default: value }`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum LockedField {
    Short(String),
    Long {
        #[serde(rename = "type")]
        ty: String,
        #[serde(default)]
        default: Option<serde_json::Value>,
    },
}

impl LockedField {
    /// The short form when there is no default.
    pub(crate) fn from_shape(f: FieldShape) -> LockedField {
        match f.default {
            None => LockedField::Short(f.ty),
            default => LockedField::Long { ty: f.ty, default },
        }
    }

    pub(crate) fn shape(&self) -> FieldShape {
        match self {
            LockedField::Short(ty) => FieldShape {
                ty: ty.clone(),
                default: None,
            },
            LockedField::Long { ty, default } => FieldShape {
                ty: ty.clone(),
                default: default.clone(),
            },
        }
    }
}

impl LockedVersion {
    pub(crate) fn shape(&self) -> Option<Shape> {
        self.fields.as_ref().map(|f| {
            f.iter()
                .map(|(name, field)| (name.clone(), field.shape()))
                .collect()
        })
    }
}

/// A declared type a stored event contains: `{ enum: [..] }` or `{ fields: {..} }`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockedType {
    #[serde(default, rename = "enum")]
    pub variants: Option<Vec<String>>,
    #[serde(default)]
    pub fields: Option<BTreeMap<String, LockedField>>,
}

/// A rule broken on purpose, with the reason a reviewer reads.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exception {
    pub rule: Spanned<String>,
    /// `context.Event` (or `context.Type` for the rules on declared types).
    pub event: Spanned<String>,
    #[serde(default)]
    pub reason: Option<Spanned<String>>,
}

/// A lock file read from disk, with its text (to point at its entries) and path.
#[derive(Debug, Clone)]
pub struct Lock {
    pub path: PathBuf,
    pub text: String,
    pub file: LockFile,
    /// Entry key -> line, built on first use by [`Lock::line_of`].
    lines: std::sync::OnceLock<std::collections::HashMap<String, usize>>,
}

impl Lock {
    /// The 1-based line of the entry `key:` of `events:` or `types:` (indented two spaces),
    /// if the file has it (the writer's layout; a hand-edited file may not, and then no line
    /// is named). Looked up in an index built once, so a report about thousands of entries
    /// does not read the file thousands of times.
    pub(crate) fn line_of(&self, key: &str) -> Option<usize> {
        self.lines
            .get_or_init(|| {
                self.text
                    .lines()
                    .enumerate()
                    .filter_map(|(i, l)| {
                        let key = l.strip_prefix("  ")?.strip_suffix(':')?;
                        if key.starts_with(' ') || key.starts_with('-') {
                            return None;
                        }
                        let key =
                            serde_json::from_str::<String>(key).unwrap_or_else(|_| key.to_string());
                        Some((key, i + 1))
                    })
                    .collect()
            })
            .get(key)
            .copied()
    }

    /// How a message names an entry of `section` (`events` or `types`):
    /// `schemas/eskema.lock:12, events.bank.X`.
    pub(crate) fn entry(&self, section: &str, key: &str) -> String {
        match self.line_of(key) {
            Some(line) => format!("{}:{line}, `{section}.{key}`", self.path.display()),
            None => format!("{}, `{section}.{key}`", self.path.display()),
        }
    }
}

/// Where the lock of these schema paths lives: `eskema.lock` in the first path if it is a
/// directory, else beside the first file.
pub(crate) fn default_path(paths: &[PathBuf]) -> Option<PathBuf> {
    let first = paths.first()?;
    Some(if first.is_dir() {
        first.join(LOCK_FILE)
    } else {
        first
            .parent()
            .unwrap_or_else(|| Path::new("."))
            .join(LOCK_FILE)
    })
}

/// Reads the lock at `path`: `Ok(None)` when there is none yet.
pub(crate) fn read(path: &Path) -> Result<Option<Lock>, Diagnostic> {
    match std::fs::read_to_string(path) {
        Ok(text) => parse(path, text).map(Some),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Diagnostic::error(
            path,
            1,
            1,
            format!("cannot read the lock file: {e}"),
        )),
    }
}

pub(crate) fn parse(path: &Path, text: String) -> Result<Lock, Diagnostic> {
    let file: LockFile = serde_saphyr::from_str(&text).map_err(|e| {
        let (line, column) = e
            .location()
            .map_or((1, 1), |l| (l.line().max(1) as usize, l.column().max(1) as usize));
        let mut d = Diagnostic::error(path, line, column, format!("the lock file does not read: {e}"));
        d.hint = Some(
            "it is written by `eskema lock`; restore it from version control, or delete it and run `eskema lock` again".into(),
        );
        d
    })?;
    if file.lock != FORMAT {
        let mut d = Diagnostic::error(
            path,
            1,
            1,
            format!(
                "lock format {} is not known to this eskema (it writes {FORMAT})",
                file.lock
            ),
        );
        d.hint = Some("use the eskema version that wrote it, or a newer one".into());
        return Err(d);
    }
    Ok(Lock {
        path: path.to_path_buf(),
        text,
        file,
        lines: std::sync::OnceLock::new(),
    })
}

/// The lock after `eskema lock`: the previous one (if any) with what the domain adds. The
/// checker has passed, so every difference is an addition or allowed by an exception;
/// locked history is kept as it was.
pub(crate) fn updated(contexts: &[Context], previous: Option<&LockFile>) -> LockFile {
    let mut next = previous.cloned().unwrap_or(LockFile {
        lock: FORMAT,
        ..LockFile::default()
    });
    let mut reachable: BTreeSet<String> = BTreeSet::new();
    for c in contexts {
        for a in &c.aggregates {
            for e in &a.events {
                let key = format!("{}.{}", c.name, e.name);
                let mut entry = next.events.remove(&key).unwrap_or_default();
                // An old name's history moves into the new name's entry.
                for old in &e.renamed_from {
                    if let Some(prev) = next.events.remove(&format!("{}.{old}", c.name)) {
                        for (v, locked) in prev.versions {
                            entry.versions.entry(v).or_insert(locked);
                        }
                        for (from, text) in prev.upcast {
                            entry.upcast.entry(from).or_insert(text);
                        }
                        entry.renamed_from.extend(prev.renamed_from);
                    }
                }
                entry.aggregate = a.name.clone();
                for old in &e.renamed_from {
                    if !entry.renamed_from.contains(old) {
                        entry.renamed_from.push(old.clone());
                    }
                }
                entry.renamed_from.sort();
                entry.renamed_from.dedup();
                let fields = |s: Shape| {
                    s.into_iter()
                        .map(|(name, f)| (name, LockedField::from_shape(f)))
                        .collect()
                };
                entry.versions.insert(
                    e.version,
                    entry
                        .versions
                        .get(&e.version)
                        .filter(|v| !v.derived)
                        .cloned()
                        .unwrap_or_else(|| LockedVersion {
                            derived: false,
                            fields: Some(fields(shape::current_shape(e, &c.name))),
                        }),
                );
                for (i, derived) in shape::derived_shapes(e, &c.name).into_iter().enumerate() {
                    let v = u32::try_from(i + 1).unwrap_or(u32::MAX);
                    entry.versions.entry(v).or_insert_with(|| LockedVersion {
                        derived: true,
                        fields: derived.map(fields),
                    });
                }
                for step in &e.upcasts {
                    entry
                        .upcast
                        .entry(step.from)
                        .or_insert_with(|| shape::step_text(step));
                }
                for f in &e.fields {
                    named_in(&f.ty, &mut reachable);
                }
                next.events.insert(key, entry);
            }
        }
    }
    // Declared types inside stored events, and the types inside those.
    let decls: BTreeMap<String, &TypeDef> = contexts
        .iter()
        .flat_map(|c| {
            c.types
                .iter()
                .map(move |t| (format!("{}.{}", c.name, t.name()), t))
        })
        .collect();
    let mut todo: Vec<String> = reachable.iter().cloned().collect();
    while let Some(name) = todo.pop() {
        let Some(TypeDef::Struct { fields, .. }) = decls.get(&name) else {
            continue;
        };
        for f in fields {
            let mut inner = BTreeSet::new();
            named_in(&f.ty, &mut inner);
            for n in inner {
                if reachable.insert(n.clone()) {
                    todo.push(n);
                }
            }
        }
    }
    for name in reachable {
        let Some(def) = decls.get(&name) else {
            continue;
        };
        let ctx = name.split_once('.').map_or("", |(c, _)| c);
        let locked = match def {
            TypeDef::Enum { variants, .. } => {
                let mut all = next
                    .types
                    .get(&name)
                    .and_then(|t| t.variants.clone())
                    .unwrap_or_default();
                for v in variants {
                    if !all.contains(v) {
                        all.push(v.clone());
                    }
                }
                LockedType {
                    variants: Some(all),
                    fields: None,
                }
            }
            TypeDef::Struct { fields, .. } => LockedType {
                variants: None,
                fields: Some(
                    fields
                        .iter()
                        .map(|f| {
                            (
                                f.name.clone(),
                                LockedField::from_shape(FieldShape::of(f, ctx)),
                            )
                        })
                        .collect(),
                ),
            },
        };
        next.types.insert(name, locked);
    }
    next
}

/// Every declared type `ty` names, as `context.Name`.
pub(crate) fn named_in(ty: &TypeRef, out: &mut BTreeSet<String>) {
    match ty {
        TypeRef::Named { context, name } => {
            out.insert(format!("{context}.{name}"));
        }
        TypeRef::Option(i) | TypeRef::Vec(i) | TypeRef::Map(i) => named_in(i, out),
        _ => {}
    }
}

/// The lock's text: fixed layout, everything sorted, so that diffs are small and the file
/// reads the same for every user.
pub(crate) fn render(lock: &LockFile) -> String {
    let mut out = String::new();
    out.push_str(
        "# eskema.lock: the shape of every event version that may be stored, written by\n\
         # `eskema lock`. Commit it: `eskema check` and the build refuse a schema change that\n\
         # stored events would not survive. Only `exceptions:` is edited by hand.\n",
    );
    let _ = writeln!(out, "lock: {FORMAT}");
    out.push_str("events:");
    if lock.events.is_empty() {
        out.push_str(" {}");
    }
    out.push('\n');
    for (name, e) in &lock.events {
        let _ = writeln!(out, "  {}:", quote(name));
        let _ = writeln!(out, "    aggregate: {}", quote(&e.aggregate));
        if !e.renamed_from.is_empty() {
            let _ = writeln!(out, "    renamed_from: [{}]", quoted(&e.renamed_from));
        }
        out.push_str("    versions:\n");
        for (v, locked) in &e.versions {
            let _ = writeln!(out, "      {v}:");
            if locked.derived {
                out.push_str("        derived: true\n");
            }
            match &locked.fields {
                None => out.push_str("        fields: null\n"),
                Some(fields) => write_fields(&mut out, fields, 8),
            }
        }
        if !e.upcast.is_empty() {
            out.push_str("    upcast:\n");
            for (from, text) in &e.upcast {
                let _ = writeln!(out, "      {from}: {}", quote(text));
            }
        }
    }
    if !lock.types.is_empty() {
        out.push_str("types:\n");
        for (name, t) in &lock.types {
            let _ = writeln!(out, "  {}:", quote(name));
            if let Some(v) = &t.variants {
                let _ = writeln!(out, "    enum: [{}]", quoted(v));
            }
            if let Some(fields) = &t.fields {
                write_fields(&mut out, fields, 4);
            }
        }
    }
    if !lock.exceptions.is_empty() {
        out.push_str("exceptions:\n");
        for x in &lock.exceptions {
            let _ = writeln!(out, "  - rule: {}", quote(&x.rule.value));
            let _ = writeln!(out, "    event: {}", quote(&x.event.value));
            if let Some(r) = &x.reason {
                let _ = writeln!(out, "    reason: {}", quote(&r.value));
            }
        }
    }
    out
}

fn write_fields(out: &mut String, fields: &BTreeMap<String, LockedField>, indent: usize) {
    let pad = " ".repeat(indent);
    if fields.is_empty() {
        let _ = writeln!(out, "{pad}fields: {{}}");
        return;
    }
    let _ = writeln!(out, "{pad}fields:");
    for (name, f) in fields {
        match f {
            LockedField::Short(ty) => {
                let _ = writeln!(out, "{pad}  {}: {}", quote(name), quote(ty));
            }
            LockedField::Long { ty, default } => {
                let d = default
                    .as_ref()
                    .map_or("null".to_string(), serde_json::Value::to_string);
                let _ = writeln!(
                    out,
                    "{pad}  {}: {{ type: {}, default: {d} }}",
                    quote(name),
                    quote(ty)
                );
            }
        }
    }
}

fn quoted(items: &[String]) -> String {
    items
        .iter()
        .map(|i| quote(i))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A YAML scalar: plain when it cannot be mistaken for anything else, else a JSON string
/// (which YAML reads as a double-quoted scalar).
fn quote(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '<' | '>' | '-'))
        && s.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && !matches!(
            s.to_ascii_lowercase().as_str(),
            "null" | "true" | "false" | "yes" | "no" | "on" | "off" | "y" | "n"
        );
    if plain {
        s.to_string()
    } else {
        serde_json::Value::String(s.to_string()).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rendering_reads_back_as_the_same_lock() {
        let mut lock = LockFile {
            lock: FORMAT,
            ..LockFile::default()
        };
        let mut fields = BTreeMap::new();
        fields.insert("amount".to_string(), LockedField::Short("i64".into()));
        fields.insert(
            "currency".to_string(),
            LockedField::Long {
                ty: "Currency".into(),
                default: Some(serde_json::json!("EUR")),
            },
        );
        fields.insert(
            "tags".to_string(),
            LockedField::Short("Map<String, Vec<u32>>".into()),
        );
        fields.insert("null".to_string(), LockedField::Short("?".into()));
        fields.insert("yes".to_string(), LockedField::Short("bool".into()));
        let mut e = LockedEvent {
            aggregate: "BankAccount".into(),
            renamed_from: vec!["CashWithdrawn".into()],
            ..LockedEvent::default()
        };
        e.versions.insert(
            1,
            LockedVersion {
                derived: true,
                fields: None,
            },
        );
        e.versions.insert(
            2,
            LockedVersion {
                derived: false,
                fields: Some(fields),
            },
        );
        e.upcast
            .insert(1, "add currency = \"EUR\"; rename a -> b".into());
        lock.events.insert("bank.MoneyWithdrawn".into(), e);
        lock.types.insert(
            "bank.Currency".into(),
            LockedType {
                variants: Some(vec!["EUR".into(), "No".into()]),
                fields: None,
            },
        );
        let text = render(&lock);
        let back = parse(Path::new("eskema.lock"), text.clone()).expect("reads back");
        assert_eq!(back.file.events, lock.events, "{text}");
        assert_eq!(back.file.types, lock.types, "{text}");
        assert_eq!(render(&back.file), text);
        assert_eq!(back.line_of("bank.MoneyWithdrawn"), Some(6), "{text}");
        assert_eq!(
            back.line_of("bank.Currency"),
            back.text
                .lines()
                .position(|l| l == "  bank.Currency:")
                .map(|i| i + 1)
        );
    }

    #[test]
    fn a_lock_that_does_not_read_is_an_error_at_its_line() {
        let err = parse(
            Path::new("eskema.lock"),
            "lock: 1\nevents:\n  x: [1, 2\n".into(),
        )
        .expect_err("broken");
        assert!(err.message.contains("does not read"), "{err}");
        assert!(err.hint.is_some());
        let err = parse(Path::new("eskema.lock"), "lock: 7\n".into()).expect_err("format");
        assert!(err.message.contains("lock format 7"), "{err}");
    }
}
