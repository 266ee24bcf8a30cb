//! The checker: schema files -> a valid [`model::Domain`], or every problem found.
//!
//! Stages: load every file ([`crate::load`]), settle context names, build a symbol table of
//! every context (so `other.Name` resolves in any order), resolve declared types and look
//! for recursion, then check each context item by item (`aggregates`, `upcast`,
//! `flows`) while building its model. A bad item is reported and skipped; the run goes
//! on, so one pass shows every error. The model is returned only when there is no error.

mod aggregates;
mod evolution;
mod flows;
pub mod names;
mod rules;
mod types;
mod upcast;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use crate::diag::{Diagnostic, Report, Severity, Sink};
use crate::model::{self, Field, TypeRef};
use crate::raw::{Loc, Name, RawField, RawFile, RawTypeBody};
use names::{check_camel, check_snake, did_you_mean};
use types::{Decl, Decls, DirectEdge};

/// A successful check: the model, the warnings, and the files that were read.
#[derive(Debug, Clone)]
pub struct Checked {
    pub domain: model::Domain,
    pub warnings: Vec<Diagnostic>,
    pub files: Vec<PathBuf>,
    /// Where the lock file is, or would be written (`None` for in-memory sources).
    pub lock_path: Option<PathBuf>,
    /// The lock the schemas were compared with, if there is one.
    pub lock: Option<crate::lock::Lock>,
    /// The text of the files that have warnings, for [`Checked::warnings_report`].
    pub warning_sources: Vec<(PathBuf, String)>,
}

impl Checked {
    /// The warnings as a report that can show their source lines.
    pub fn warnings_report(&self) -> Report {
        Report::new(self.warnings.clone()).with_sources(self.warning_sources.clone())
    }
}

impl Checked {
    /// The lock file's text after `eskema lock`, and whether it differs from the lock that
    /// is there now.
    pub fn locked(&self) -> (String, bool) {
        let previous = self.lock.as_ref().map(|l| &l.file);
        let text = crate::lock::render(&crate::lock::updated(&self.domain.contexts, previous));
        // Compared as the writer would write the lock that is there, so a hand-edited
        // layout (an exception in flow style) is not "behind the schemas".
        let changed = self
            .lock
            .as_ref()
            .is_none_or(|l| crate::lock::render(&l.file) != text);
        (text, changed)
    }
}

/// Every rule of the lock's evolution check: `(id, what it refuses)`.
pub use evolution::RULES;

/// Checks schema files and directories (a directory = its *.yaml and *.yml files, sorted).
///
/// The schemas are also compared with the lock (`eskema.lock` in the first directory, or
/// beside the first file) when there is one: see the `evolution` module.
pub fn check_paths(paths: &[PathBuf]) -> Result<Checked, Report> {
    check_paths_locked(paths, crate::lock::default_path(paths))
}

/// [`check_paths`] with the lock at `lock_path` (`None`: no lock, no evolution check).
pub fn check_paths_locked(
    paths: &[PathBuf],
    lock_path: Option<PathBuf>,
) -> Result<Checked, Report> {
    let mut sink = Sink::default();
    let sources = crate::load::read_sources(paths, &mut sink);
    let lock = match lock_path.as_deref().map(crate::lock::read) {
        Some(Ok(lock)) => lock,
        Some(Err(d)) => {
            sink.diagnostics.push(d);
            None
        }
        None => None,
    };
    run(&sources, sink, lock_path, lock)
}

/// The same for in-memory sources (file name, text): used by tests and the CLI.
pub fn check_sources(sources: &[(PathBuf, String)]) -> Result<Checked, Report> {
    run(sources, Sink::default(), None, None)
}

/// In-memory sources compared with an in-memory lock `(path, text)`.
pub fn check_sources_locked(
    sources: &[(PathBuf, String)],
    lock: (PathBuf, String),
) -> Result<Checked, Report> {
    let mut sink = Sink::default();
    let parsed = match crate::lock::parse(&lock.0, lock.1) {
        Ok(l) => Some(l),
        Err(d) => {
            sink.diagnostics.push(d);
            None
        }
    };
    run(sources, sink, Some(lock.0), parsed)
}

/// What one context declares, for resolving names from any file.
#[derive(Debug, Default)]
pub(crate) struct CtxSyms {
    pub file: PathBuf,
    /// Declared type names, in file order.
    pub types: Vec<String>,
    /// The same names, to look one up.
    pub type_set: std::collections::HashSet<String>,
    /// Every item name with "an event", "a command", ... for "X is a command, not ...".
    pub kinds: HashMap<String, &'static str>,
    pub events: Vec<EventSym>,
    /// Event name -> its first index in `events`.
    pub event_index: HashMap<String, usize>,
    /// (command, aggregate)
    pub commands: Vec<(String, String)>,
    /// Command name -> its aggregate (the first, for a name declared twice).
    pub command_index: HashMap<String, String>,
    /// Old event name -> current event name.
    pub renamed: HashMap<String, String>,
}

#[derive(Debug, Clone)]
pub(crate) struct EventSym {
    pub name: String,
    pub aggregate: String,
    /// (field, type text as written): process managers check their identity's type.
    pub fields: Vec<(String, String)>,
    pub loc: Loc,
}

impl CtxSyms {
    pub(crate) fn event(&self, name: &str) -> Option<&EventSym> {
        self.events.get(*self.event_index.get(name)?)
    }
}

#[derive(Debug, Default)]
pub(crate) struct Symbols {
    /// Sorted by context name.
    pub contexts: BTreeMap<String, CtxSyms>,
}

/// What field checks need to know about where they are.
pub(crate) struct Cx<'a> {
    pub ctx: &'a str,
    pub file: &'a Path,
    pub syms: &'a Symbols,
    pub decls: &'a Decls,
}

pub(crate) struct Loaded {
    pub(crate) file: PathBuf,
    pub(crate) raw: RawFile,
    pub(crate) ctx: String,
}

fn run(
    sources: &[(PathBuf, String)],
    mut sink: Sink,
    lock_path: Option<PathBuf>,
    lock: Option<crate::lock::Lock>,
) -> Result<Checked, Report> {
    let files: Vec<PathBuf> = sources.iter().map(|(p, _)| p.clone()).collect();
    let mut loaded: Vec<Loaded> = Vec::new();
    let mut seen_ctx: HashMap<String, PathBuf> = HashMap::new();
    for (file, text) in sources {
        let Some(root) = crate::load::parse_yaml(file, text, &mut sink) else {
            continue;
        };
        let raw = crate::load::read_file(file, root.as_ref(), &mut sink);
        let (ctx, loc, from_stem) = match &raw.context {
            Some(n) => (n.text.clone(), n.loc, false),
            None => (
                file.file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                Loc::START,
                true,
            ),
        };
        let problem = check_snake(&ctx, "context").or_else(|| {
            (ctx == "domain").then(|| {
                (
                    "context name `domain` is taken by the generated whole-domain router module"
                        .to_string(),
                    Some("choose another name".to_string()),
                )
            })
        });
        if let Some((msg, hint)) = problem {
            let d = sink.error(file, loc, msg);
            if from_stem {
                d.hint(format!(
                    "the context name comes from the file name; add `context: {}` or rename the file",
                    names::to_snake(&ctx).trim_matches('_')
                ));
            } else {
                d.hint_opt(hint);
            }
        }
        if let Some(first) = seen_ctx.get(&ctx) {
            sink.error(
                file,
                loc,
                format!("context `{ctx}` is already declared by {}", first.display()),
            )
            .hint("each file is one context; give this one another name with `context:`");
            continue;
        }
        seen_ctx.insert(ctx.clone(), file.clone());
        loaded.push(Loaded {
            file: file.clone(),
            raw,
            ctx,
        });
    }

    let syms = build_symbols(&loaded, &mut sink);
    let decls = resolve_decls(&loaded, &syms, &mut sink);

    let mut contexts = Vec::new();
    for l in &loaded {
        let cx = Cx {
            ctx: &l.ctx,
            file: &l.file,
            syms: &syms,
            decls: &decls,
        };
        contexts.push(check_context(l, &cx, &mut sink));
    }
    aggregates::check_stream_prefixes(&loaded, &mut sink);
    flows::warn_unused_events(&contexts, &syms, &mut sink);
    contexts.sort_by(|a, b| a.name.cmp(&b.name));
    if let Some(lock) = &lock
        && !sink.diagnostics.iter().any(Diagnostic::is_error)
    {
        evolution::check(&loaded, &contexts, lock, &mut sink);
        if !sink.diagnostics.iter().any(Diagnostic::is_error) {
            evolution::warn_unlocked(&contexts, lock, &mut sink);
        }
    }

    let report = Report::new(sink.finish());
    // The lock's text too, so that its lines show under the problems found in it.
    let lock_source = lock.as_ref().map(|l| (l.path.clone(), l.text.clone()));
    if report.has_errors() {
        return Err(report.with_sources(sources.iter().cloned().chain(lock_source).collect()));
    }
    let warning_sources = sources
        .iter()
        .chain(lock_source.as_ref())
        .filter(|(p, _)| report.diagnostics.iter().any(|d| &d.file == p))
        .cloned()
        .collect();
    Ok(Checked {
        domain: {
            let mut domain = model::Domain {
                contexts,
                type_attributes: Vec::new(),
            };
            domain.resolve();
            domain
        },
        warnings: report
            .diagnostics
            .into_iter()
            .filter(|d| d.severity == Severity::Warning)
            .collect(),
        files,
        lock_path,
        lock,
        warning_sources,
    })
}

/// Declares every name of every context, checking casing, uniqueness within the file
/// across all kinds, and clashes with the names the generator derives.
fn build_symbols(loaded: &[Loaded], sink: &mut Sink) -> Symbols {
    let mut syms = Symbols::default();
    for l in loaded {
        let file = &l.file;
        let mut cs = CtxSyms {
            file: file.clone(),
            ..CtxSyms::default()
        };
        let mut taken: HashMap<String, (&'static str, Loc)> = HashMap::new();
        let mut declare = |name: &Name, kind: &'static str, sink: &mut Sink, cs: &mut CtxSyms| {
            if let Some((msg, hint)) =
                check_camel(&name.text, kind.split_once(' ').map_or(kind, |(_, k)| k))
            {
                sink.error(file, name.loc, msg).hint_opt(hint);
            }
            if let Some((other, loc)) = taken.get(&name.text) {
                sink.error(file, name.loc, format!("`{}` is already declared as {other} at line {}, column {}", name.text, loc.line, loc.column))
                    .hint("names of types, aggregates, commands, events, handlers and process managers share one namespace per file");
                return;
            }
            taken.insert(name.text.clone(), (kind, name.loc));
            cs.kinds.insert(name.text.clone(), kind);
        };
        let raw = &l.raw;
        for t in &raw.types {
            declare(&t.name, "a type", sink, &mut cs);
            cs.types.push(t.name.text.clone());
            cs.type_set.insert(t.name.text.clone());
        }
        for a in &raw.aggregates {
            declare(&a.name, "an aggregate", sink, &mut cs);
            for c in &a.commands {
                declare(&c.name, "a command", sink, &mut cs);
                cs.commands.push((c.name.text.clone(), a.name.text.clone()));
                cs.command_index
                    .entry(c.name.text.clone())
                    .or_insert_with(|| a.name.text.clone());
            }
            for e in &a.events {
                declare(&e.name, "an event", sink, &mut cs);
                cs.event_index
                    .entry(e.name.text.clone())
                    .or_insert(cs.events.len());
                cs.events.push(EventSym {
                    name: e.name.text.clone(),
                    aggregate: a.name.text.clone(),
                    fields: e
                        .fields
                        .iter()
                        .map(|f| (f.name.text.clone(), f.ty.text.replace(' ', "")))
                        .collect(),
                    loc: e.name.loc,
                });
            }
        }
        for h in &raw.handlers {
            declare(&h.name, "a handler", sink, &mut cs);
        }
        for p in &raw.process_managers {
            declare(&p.name, "a process manager", sink, &mut cs);
        }

        // Derived names: no schema name may take one, and no two may coincide.
        let mut derived: Vec<(String, String)> = names_derived(raw);
        for r in model::names::RESERVED {
            derived.push((r.to_string(), "every generated context module".to_string()));
        }
        // Two derived names cannot coincide: their schema names are unique in the file and
        // each suffix belongs to one kind of item. So only schema names can clash.
        for (name, origin) in &derived {
            if let Some((kind, loc)) = taken.get(name) {
                sink.error(file, *loc, format!("{} `{name}` clashes with the item generated for {origin}", kind.split_once(' ').map_or(*kind, |(_, k)| k)))
                    .hint("rename it; the generator derives names like `<Aggregate>Command`, `<Aggregate>Event`, `<Aggregate>Error`, `<Aggregate>Logic`, `<Command>Emits`, `<Handler>Handler`, `<Process>Process`");
            }
        }

        // Old event names: unique among the event names of the context.
        for a in &raw.aggregates {
            for e in &a.events {
                for old in &e.renamed_from {
                    if let Some((msg, hint)) = check_camel(&old.text, "old event") {
                        sink.error(file, old.loc, msg).hint_opt(hint);
                    }
                    if old.text == e.name.text {
                        sink.error(
                            file,
                            old.loc,
                            format!("event `{}` lists its own name in `renamed_from`", old.text),
                        );
                    } else if let Some(ev) = cs.event(&old.text) {
                        sink.error(
                            file,
                            old.loc,
                            format!(
                                "`renamed_from: {}` clashes with event `{}` of aggregate `{}`",
                                old.text, ev.name, ev.aggregate
                            ),
                        )
                        .hint("stored events of that type would be ambiguous; remove one name");
                    } else if let Some(cur) = cs.renamed.get(&old.text) {
                        sink.error(
                            file,
                            old.loc,
                            format!(
                                "`{}` is already listed in `renamed_from` of event `{cur}`",
                                old.text
                            ),
                        )
                        .hint(
                            "stored events of that type would be ambiguous; keep it in one event",
                        );
                    } else {
                        cs.renamed.insert(old.text.clone(), e.name.text.clone());
                    }
                }
            }
        }
        syms.contexts.insert(l.ctx.clone(), cs);
    }
    syms
}

/// Every item name the Rust emitter derives from the schema names of one file, with what
/// it is generated for.
fn names_derived(raw: &RawFile) -> Vec<(String, String)> {
    use model::names::*;
    let mut out = Vec::new();
    for a in &raw.aggregates {
        let n = &a.name.text;
        let origin = format!("aggregate `{n}`");
        out.push((command_enum(n), origin.clone()));
        out.push((event_enum(n), origin.clone()));
        out.push((error_enum(n), origin.clone()));
        out.push((logic_trait(n), origin));
        for c in &a.commands {
            out.push((
                emits_enum(&c.name.text),
                format!("command `{}`", c.name.text),
            ));
        }
    }
    for h in &raw.handlers {
        let n = &h.name.text;
        out.push((handler_trait(n), format!("handler `{n}`")));
        out.push((handler_event_enum(n), format!("handler `{n}`")));
    }
    for p in &raw.process_managers {
        let n = &p.name.text;
        out.push((process_trait(n), format!("process manager `{n}`")));
        out.push((process_event_enum(n), format!("process manager `{n}`")));
        out.push((process_dispatch_enum(n), format!("process manager `{n}`")));
    }
    out
}

/// Resolves the fields of every declared type (quietly: [`check_context`] reports field
/// problems), then reports recursion without indirection.
fn resolve_decls(loaded: &[Loaded], syms: &Symbols, sink: &mut Sink) -> Decls {
    let mut decls = Decls::new();
    let mut edges = Vec::new();
    let mut quiet = Sink::discarding();
    for l in loaded {
        for t in &l.raw.types {
            let key = (l.ctx.clone(), t.name.text.clone());
            let decl = match &t.body {
                RawTypeBody::Enum(vs) => Decl::Enum(vs.iter().map(|v| v.text.clone()).collect()),
                RawTypeBody::Struct(fields) => {
                    let mut out = Vec::new();
                    for f in fields {
                        if let Some(ty) = types::resolve(&f.ty, &l.ctx, syms, &l.file, &mut quiet) {
                            if let Some(to) = types::direct_target(&ty) {
                                edges.push(DirectEdge {
                                    from: key.clone(),
                                    field: f.name.text.clone(),
                                    to,
                                    file: l.file.clone(),
                                    loc: f.ty.loc,
                                });
                            }
                            out.push((f.name.text.clone(), ty));
                        }
                    }
                    Decl::Struct(out)
                }
            };
            decls.entry(key).or_insert(decl);
        }
    }
    types::check_recursion(&edges, sink);
    decls
}

fn check_context(l: &Loaded, cx: &Cx, sink: &mut Sink) -> model::Context {
    let raw = &l.raw;
    let mut types = Vec::new();
    for t in &raw.types {
        let def = match &t.body {
            RawTypeBody::Enum(variants) => {
                let mut seen: HashMap<&str, Loc> = HashMap::new();
                for v in variants {
                    if names::is_keyword(&v.text) || !names::is_upper_camel(&v.text) {
                        sink.error(cx.file, v.loc, format!("enum variant `{}` must be an UpperCamelCase name that is not a Rust keyword", v.text))
                            .hint_opt(Some(names::to_camel(&v.text)).filter(|c| names::is_upper_camel(c) && !names::is_keyword(c)).map(|c| format!("write `{c}`")));
                    }
                    if let Some(first) = seen.get(v.text.as_str()) {
                        sink.error(
                            cx.file,
                            v.loc,
                            format!(
                                "enum variant `{}` is listed twice (first at line {}, column {})",
                                v.text, first.line, first.column
                            ),
                        );
                    } else {
                        seen.insert(&v.text, v.loc);
                    }
                }
                model::TypeDef::Enum {
                    name: t.name.text.clone(),
                    doc: t.doc.clone(),
                    variants: variants.iter().map(|v| v.text.clone()).collect(),
                }
            }
            RawTypeBody::Struct(fields) => model::TypeDef::Struct {
                name: t.name.text.clone(),
                doc: t.doc.clone(),
                fields: check_fields(
                    fields,
                    Rules::Allowed,
                    &format!("type `{}`", t.name.text),
                    cx,
                    sink,
                ),
            },
        };
        types.push(def);
    }
    let aggregates = raw
        .aggregates
        .iter()
        .map(|a| aggregates::check_aggregate(a, cx, sink))
        .collect();
    let handlers = raw
        .handlers
        .iter()
        .map(|h| flows::check_handler(h, cx, sink))
        .collect();
    let process_managers = raw
        .process_managers
        .iter()
        .map(|p| flows::check_process_manager(p, cx, sink))
        .collect();
    model::Context {
        name: l.ctx.clone(),
        file: l.file.clone(),
        doc: raw.doc.clone(),
        types,
        aggregates,
        handlers,
        process_managers,
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rules {
    Allowed,
    /// Events, state: the text says why rules do not belong there.
    Forbidden(&'static str),
}

/// Checks fields of any kind: names, types, rules, defaults. Fields whose type does not
/// resolve are kept with a `Json` placeholder (the run has an error, so no model escapes).
pub(crate) fn check_fields(
    raw: &[RawField],
    rules: Rules,
    owner: &str,
    cx: &Cx,
    sink: &mut Sink,
) -> Vec<Field> {
    let mut out = Vec::new();
    for f in raw {
        if let Some((msg, hint)) = check_snake(&f.name.text, "field") {
            sink.error(cx.file, f.name.loc, format!("{msg} (in {owner})"))
                .hint_opt(hint);
        }
        let ty = types::resolve(&f.ty, cx.ctx, cx.syms, cx.file, sink);
        let mut field = Field {
            name: f.name.text.clone(),
            doc: f.doc.clone(),
            ty: ty.clone().unwrap_or(TypeRef::Json),
            rules: Vec::new(),
            default: None,
            holds: Default::default(),
        };
        match (rules, f.validate) {
            (Rules::Forbidden(why), Some(loc)) => {
                sink.error(
                    cx.file,
                    loc,
                    format!("validation rules are not allowed on fields of {owner}"),
                )
                .hint(format!("{why}; put rules on the command fields instead"));
            }
            (Rules::Allowed, _) => {
                if let Some(ty) = &ty {
                    field.rules = rules::check_rules(
                        &f.rules,
                        ty,
                        &f.name.text,
                        cx.ctx,
                        cx.decls,
                        cx.file,
                        sink,
                    );
                }
            }
            _ => {}
        }
        if let Some(node) = &f.default {
            match types::to_json(node) {
                Ok(value) => {
                    if let Some(ty) = &ty {
                        match types::fits(&value, ty, cx.ctx, cx.decls) {
                            Ok(()) => field.default = Some(model::DefaultValue::typed(value, ty)),
                            Err(e) => {
                                sink.error(
                                    cx.file,
                                    node.loc,
                                    format!(
                                        "the default of field `{}` does not fit its type: {e}",
                                        f.name.text
                                    ),
                                );
                            }
                        }
                    }
                }
                Err(e) => {
                    sink.error(cx.file, node.loc, format!("invalid default: {e}"));
                }
            }
        }
        out.push(field);
    }
    out
}

/// Suggestion text for an unknown name among `candidates`.
/// The hint for an unknown context name: "did you mean" when one is close, else the list
/// of contexts there are.
pub(crate) fn unknown_context_hint(word: &str, syms: &Symbols) -> String {
    let known = syms.contexts.keys().map(String::as_str);
    suggest(word, known.clone()).unwrap_or_else(|| {
        format!(
            "the contexts are {}",
            known
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    })
}

pub(crate) fn suggest<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    did_you_mean(word, candidates).map(|m| format!("did you mean `{m}`?"))
}
