//! `eskema scaffold`: writes the files in which users implement the generated traits.
//!
//! The files belong to the user as soon as they exist, so this module never rewrites one: a
//! new file is rendered from the templates in `codegen/templates/scaffold/`, an existing file
//! only gains the methods (or the whole impl block) the current model asks for, inserted as
//! text so every other byte (comments, formatting, hand-written bodies) stays as it was.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};

use proc_macro2::LineColumn;
use serde::Serialize;

use crate::model::{self, Domain, EventRef, names};

/// What one run did, file by file (paths are `out_dir` joined with the file name).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScaffoldReport {
    pub created: Vec<PathBuf>,
    /// Files that gained items: the names of the methods added (`mod <name>` for `mod.rs`).
    pub updated: Vec<(PathBuf, Vec<String>)>,
    pub unchanged: Vec<PathBuf>,
    /// Files left alone because they could not be read as Rust: the reason.
    pub skipped: Vec<(PathBuf, String)>,
}

/// Why a run stopped: the file system refused, or a template is broken (a bug of ours).
#[derive(Debug)]
pub enum ScaffoldError {
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    Template {
        name: String,
        message: String,
    },
}

impl fmt::Display for ScaffoldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScaffoldError::Io { path, source } => write!(f, "{}: {source}", path.display()),
            ScaffoldError::Template { name, message } => {
                write!(f, "scaffold template {name}: {message}")
            }
        }
    }
}

impl std::error::Error for ScaffoldError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ScaffoldError::Io { source, .. } => Some(source),
            ScaffoldError::Template { .. } => None,
        }
    }
}

/// Writes (or completes) one file per aggregate, handler and process manager of `domain`
/// into `out_dir`, plus a `mod.rs` declaring them.
pub fn scaffold(domain: &Domain, out_dir: &Path) -> Result<ScaffoldReport, ScaffoldError> {
    std::fs::create_dir_all(out_dir).map_err(|source| ScaffoldError::Io {
        path: out_dir.to_path_buf(),
        source,
    })?;
    let templates = Templates::new()?;
    let units = units(domain);
    let mut report = ScaffoldReport::default();
    for unit in &units {
        let path = out_dir.join(format!("{}.rs", unit.file_stem));
        match read_existing(&path)? {
            None => {
                let text = templates.new_file(unit)?;
                write(&path, &text)?;
                report.created.push(path);
            }
            Some(text) => match templates.complete(unit, &text)? {
                Completion::Unchanged => report.unchanged.push(path),
                Completion::Skipped(why) => report.skipped.push((path, why)),
                Completion::Updated { text, added } => {
                    write(&path, &text)?;
                    report.updated.push((path, added));
                }
            },
        }
    }
    let stems: Vec<&str> = units.iter().map(|u| u.file_stem.as_str()).collect();
    let path = out_dir.join("mod.rs");
    match read_existing(&path)? {
        None => {
            let text = templates.mod_file(&stems)?;
            write(&path, &text)?;
            report.created.push(path);
        }
        Some(text) => match complete_mod(&text, &stems) {
            Completion::Unchanged => report.unchanged.push(path),
            Completion::Skipped(why) => report.skipped.push((path, why)),
            Completion::Updated { text, added } => {
                write(&path, &text)?;
                report.updated.push((path, added));
            }
        },
    }
    Ok(report)
}

fn read_existing(path: &Path) -> Result<Option<Result<String, String>>, ScaffoldError> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(
            String::from_utf8(bytes).map_err(|_| "the file is not UTF-8".to_string()),
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(ScaffoldError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

fn write(path: &Path, text: &str) -> Result<(), ScaffoldError> {
    std::fs::write(path, text).map_err(|source| ScaffoldError::Io {
        path: path.to_path_buf(),
        source,
    })
}

// ---------------------------------------------------------------------------------------
// What to write: one unit per aggregate, handler and process manager.

enum Target<'a> {
    Aggregate(&'a model::Aggregate),
    Handler(&'a model::Handler),
    Process(&'a model::ProcessManager),
}

struct Unit<'a> {
    context: &'a str,
    target: Target<'a>,
    file_stem: String,
}

impl Unit<'_> {
    fn name(&self) -> &str {
        match &self.target {
            Target::Aggregate(a) => &a.name,
            Target::Handler(h) => &h.name,
            Target::Process(p) => &p.name,
        }
    }

    fn trait_name(&self) -> String {
        match &self.target {
            Target::Aggregate(a) => names::logic_trait(&a.name),
            Target::Handler(h) => names::handler_trait(&h.name),
            Target::Process(p) => names::process_trait(&p.name),
        }
    }

    fn kind(&self) -> &'static str {
        match &self.target {
            Target::Aggregate(_) => "aggregate",
            Target::Handler(_) => "handler",
            Target::Process(_) => "process",
        }
    }

    /// The implementing type's name: the generated state struct, except for handlers,
    /// whose implementation is the user's own struct, declared in the scaffolded file
    /// (`<Handler>Projection` or `<Handler>Effect`: the handler's own name is the
    /// generated subscription).
    fn self_name(&self) -> String {
        match &self.target {
            Target::Handler(h) => match h.kind {
                model::HandlerKind::Projection => format!("{}Projection", h.name),
                model::HandlerKind::Effect => format!("{}Effect", h.name),
            },
            _ => self.name().to_string(),
        }
    }

    fn self_type(&self, paths: &Paths) -> String {
        match &self.target {
            Target::Handler(_) => self.self_name(),
            _ => paths.own(self.name()),
        }
    }

    /// The trait as implemented: a projection's is generic over the transaction it writes
    /// on, the in-memory one to begin with.
    fn trait_type(&self, paths: &Paths) -> String {
        let name = paths.own(&self.trait_name());
        match &self.target {
            Target::Handler(h) if h.kind == model::HandlerKind::Projection => {
                format!("{name}<{MEMORY_TX}>")
            }
            _ => name,
        }
    }

    fn methods(&self, paths: &Paths) -> Vec<MethodSpec> {
        match &self.target {
            Target::Aggregate(a) => aggregate_methods(a, paths),
            Target::Handler(h) => handler_methods(h, paths),
            Target::Process(p) => {
                let ret = format!(
                    "Result<Vec<{}>, eskema::HandlerError>",
                    paths.own(&names::process_dispatch_enum(&p.name))
                );
                let events = p.starts_on.iter().chain(&p.continues_on).chain(&p.stops_on);
                reaction_methods(
                    events,
                    paths,
                    Reaction {
                        receiver: "&mut self",
                        conn: None,
                        ret: &ret,
                        body: "todo!(\"react to {event:?} from {}\", recorded.stream_id)",
                        asynchronous: false,
                    },
                )
            }
        }
    }
}

fn aggregate_methods(a: &model::Aggregate, paths: &Paths) -> Vec<MethodSpec> {
    let error = paths.own(&names::error_enum(&a.name));
    let executors = a.commands.iter().map(|c| MethodSpec {
        name: names::snake(&c.name),
        doc: doc_lines(c.doc.as_deref()),
        params: vec!["&self".into(), format!("command: &{}", paths.own(&c.name))],
        ret: Some(format!(
            "Result<Vec<{}>, {error}>",
            paths.own(&c.executor_item())
        )),
        body: "todo!(\"decide {command:?}\")".into(),
        asynchronous: false,
    });
    let appliers = a.events.iter().map(|e| MethodSpec {
        name: format!("apply_{}", names::snake(&e.name)),
        doc: doc_lines(e.doc.as_deref()),
        params: vec![
            "&mut self".into(),
            format!("event: &{}", paths.own(&e.name)),
        ],
        ret: None,
        body: "todo!(\"apply {event:?}\")".into(),
        asynchronous: false,
    });
    executors.chain(appliers).collect()
}

/// The transaction a scaffolded projection writes on, until its author picks the store's.
const MEMORY_TX: &str = "eskema::MemoryTx";

/// A handler's methods: async, `&self`; a projection's also get the transaction, and
/// `reset`.
fn handler_methods(h: &model::Handler, paths: &Paths) -> Vec<MethodSpec> {
    let ret = "Result<(), eskema::HandlerError>";
    let projection = h.kind == model::HandlerKind::Projection;
    let tx = format!("tx: &mut {MEMORY_TX}");
    let mut methods = reaction_methods(
        h.subscribes.iter(),
        paths,
        Reaction {
            receiver: "&self",
            conn: projection.then_some(tx.as_str()),
            ret,
            body: if projection {
                "todo!(\"project {event:?} from {} on {tx:?}\", recorded.stream_id)"
            } else {
                "todo!(\"act on {event:?} from {} (at least once: its position {} is its idempotency key)\", recorded.stream_id, recorded.position)"
            },
            asynchronous: true,
        },
    );
    if projection {
        methods.push(MethodSpec {
            name: "reset".into(),
            doc: Vec::new(),
            params: vec!["&self".into(), tx.clone()],
            ret: Some(ret.to_string()),
            body: "todo!(\"empty the read model on {tx:?}, for a rebuild\")".into(),
            asynchronous: true,
        });
    }
    methods
}

/// How the `on_<event>` methods of a handler or process manager look.
struct Reaction<'a> {
    receiver: &'a str,
    /// The transaction parameter, for projections.
    conn: Option<&'a str>,
    ret: &'a str,
    body: &'a str,
    asynchronous: bool,
}

/// Handler and process-manager methods: `on_<event>` once per event name, in order.
fn reaction_methods<'a>(
    events: impl Iterator<Item = &'a EventRef>,
    paths: &Paths,
    how: Reaction,
) -> Vec<MethodSpec> {
    let mut seen = BTreeSet::new();
    events
        .filter(|e| seen.insert(names::snake(&e.name)))
        .map(|e| MethodSpec {
            name: format!("on_{}", names::snake(&e.name)),
            doc: Vec::new(),
            params: std::iter::once(how.receiver.to_string())
                .chain(how.conn.map(str::to_string))
                .chain([
                    format!("event: &{}", paths.event(e)),
                    "recorded: &eskema::RecordedEvent".into(),
                ])
                .collect(),
            ret: Some(how.ret.to_string()),
            body: how.body.to_string(),
            asynchronous: how.asynchronous,
        })
        .collect()
}

/// Doc comment lines from a schema `doc:`; bare carriage returns are not allowed in Rust doc
/// comments, so lines are split on any line ending.
fn doc_lines(doc: Option<&str>) -> Vec<String> {
    doc.map(|d| d.trim().lines().map(|l| l.trim_end().to_string()).collect())
        .unwrap_or_default()
}

/// Every unit of the domain with a file name that is unique in the directory and not `mod`:
/// `snake(name)` when no other unit has the same, else `<context>_snake(name)`, else that plus
/// the kind (then a number), the first one no earlier unit took.
fn units(domain: &Domain) -> Vec<Unit<'_>> {
    let mut units = Vec::new();
    for ctx in &domain.contexts {
        let c = ctx.name.as_str();
        units.extend(ctx.aggregates.iter().map(|a| (c, Target::Aggregate(a))));
        units.extend(ctx.handlers.iter().map(|h| (c, Target::Handler(h))));
        units.extend(ctx.process_managers.iter().map(|p| (c, Target::Process(p))));
    }
    let units_len = units.len();
    let mut units: Vec<Unit> = units
        .into_iter()
        .map(|(context, target)| Unit {
            context,
            target,
            file_stem: String::new(),
        })
        .collect();
    let plain: Vec<String> = units.iter().map(|u| names::snake(u.name())).collect();
    let mut plain_count: HashMap<&str, usize> = HashMap::new();
    for p in &plain {
        *plain_count.entry(p).or_default() += 1;
    }
    let mut used: HashSet<String> = HashSet::new();
    for (unit, plain) in units.iter_mut().zip(&plain) {
        let prefixed = format!("{}_{plain}", unit.context);
        let kinded = format!("{prefixed}_{}", unit.kind());
        let mut candidates = Vec::new();
        if plain_count[plain.as_str()] == 1 {
            candidates.push(plain.clone());
        }
        candidates.push(prefixed);
        candidates.push(kinded.clone());
        candidates.extend((2..).map(|n| format!("{kinded}{n}")).take(units_len));
        unit.file_stem = candidates
            .into_iter()
            .find(|c| c != "mod" && !used.contains(c))
            .unwrap_or(kinded);
        used.insert(unit.file_stem.clone());
    }
    units
}

/// How names of the unit's own context are written: bare under a `use crate::<ctx>::*;`,
/// else with their full path (a user may have replaced the glob with explicit imports, and an
/// added method must compile without new ones).
struct Paths<'a> {
    context: &'a str,
    glob: bool,
}

impl Paths<'_> {
    fn own(&self, name: &str) -> String {
        if self.glob {
            name.to_string()
        } else {
            format!("crate::{}::{name}", self.context)
        }
    }

    fn event(&self, e: &EventRef) -> String {
        if e.context == self.context {
            self.own(&e.name)
        } else {
            format!("crate::{}::{}", e.context, e.name)
        }
    }
}

// ---------------------------------------------------------------------------------------
// Rendering.

struct MethodSpec {
    name: String,
    doc: Vec<String>,
    /// The receiver first.
    params: Vec<String>,
    ret: Option<String>,
    body: String,
    asynchronous: bool,
}

/// rustfmt's default `max_width`: longer signatures get one parameter per line, as rustfmt
/// would write them, so a first `cargo fmt` leaves the scaffold alone.
const MAX_WIDTH: usize = 100;

const TEMPLATES: &[(&str, &str)] = &[
    ("mod", include_str!("../templates/scaffold/mod.rs.tera")),
    (
        "aggregate",
        include_str!("../templates/scaffold/aggregate.rs.tera"),
    ),
    (
        "handler",
        include_str!("../templates/scaffold/handler.rs.tera"),
    ),
    (
        "process",
        include_str!("../templates/scaffold/process.rs.tera"),
    ),
    (
        "read_model",
        include_str!("../templates/scaffold/read_model.rs.tera"),
    ),
    ("impl", include_str!("../templates/scaffold/impl.rs.tera")),
    (
        "method",
        include_str!("../templates/scaffold/method.rs.tera"),
    ),
];

struct Templates {
    tera: tera::Tera,
}

#[derive(Serialize)]
struct MethodContext<'a> {
    doc: &'a [String],
    asynchronous: bool,
    name: &'a str,
    params: &'a [String],
    ret: Option<&'a str>,
    body: &'a str,
    wrap: bool,
}

enum Completion {
    Unchanged,
    Skipped(String),
    Updated { text: String, added: Vec<String> },
}

impl Templates {
    fn new() -> Result<Self, ScaffoldError> {
        let mut tera = tera::Tera::default();
        tera.autoescape_on(Vec::new());
        tera.add_raw_templates(TEMPLATES.iter().copied())
            .map_err(|e| template_error("scaffold", &e))?;
        Ok(Templates { tera })
    }

    fn render(&self, name: &str, context: &tera::Context) -> Result<String, ScaffoldError> {
        self.tera
            .render(name, context)
            .map_err(|e| template_error(name, &e))
    }

    /// One method, every line prefixed with `indent`, no trailing newline.
    fn method(&self, spec: &MethodSpec, indent: &str) -> Result<String, ScaffoldError> {
        let one_line = format!(
            "{indent}{}fn {}({}){} {{",
            if spec.asynchronous { "async " } else { "" },
            spec.name,
            spec.params.join(", "),
            spec.ret
                .as_deref()
                .map(|r| format!(" -> {r}"))
                .unwrap_or_default()
        );
        let context = MethodContext {
            doc: &spec.doc,
            asynchronous: spec.asynchronous,
            name: &spec.name,
            params: &spec.params,
            ret: spec.ret.as_deref(),
            body: &spec.body,
            wrap: one_line.chars().count() > MAX_WIDTH,
        };
        let context =
            tera::Context::from_serialize(context).map_err(|e| template_error("method", &e))?;
        Ok(indent_lines(
            self.render("method", &context)?.trim_end(),
            indent,
        ))
    }

    /// Methods separated by blank lines.
    fn methods(&self, specs: &[&MethodSpec], indent: &str) -> Result<String, ScaffoldError> {
        let rendered = specs
            .iter()
            .map(|s| self.method(s, indent))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rendered.join("\n\n"))
    }

    fn impl_block(&self, unit: &Unit, paths: &Paths) -> Result<String, ScaffoldError> {
        let specs = unit.methods(paths);
        let mut context = tera::Context::new();
        context.insert("trait_name", &unit.trait_type(paths));
        context.insert("self_type", &unit.self_type(paths));
        context.insert(
            "methods",
            &self.methods(&specs.iter().collect::<Vec<_>>(), "    ")?,
        );
        Ok(self.render("impl", &context)?.trim_end().to_string())
    }

    fn read_model(&self, unit: &Unit) -> Result<String, ScaffoldError> {
        let mut context = tera::Context::new();
        context.insert("name", &unit.self_name());
        context.insert("handler", unit.name());
        let projection =
            matches!(&unit.target, Target::Handler(h) if h.kind == model::HandlerKind::Projection);
        context.insert("projection", &projection);
        Ok(self.render("read_model", &context)?.trim_end().to_string())
    }

    fn new_file(&self, unit: &Unit) -> Result<String, ScaffoldError> {
        let paths = Paths {
            context: unit.context,
            glob: true,
        };
        let mut context = tera::Context::new();
        context.insert("name", unit.name());
        context.insert("context", unit.context);
        context.insert("impl_block", &self.impl_block(unit, &paths)?);
        if let Target::Handler(_) = unit.target {
            context.insert("read_model", &self.read_model(unit)?);
        }
        let template = match unit.target {
            Target::Aggregate(_) => "aggregate",
            Target::Handler(_) => "handler",
            Target::Process(_) => "process",
        };
        Ok(format!("{}\n", self.render(template, &context)?.trim_end()))
    }

    fn mod_file(&self, stems: &[&str]) -> Result<String, ScaffoldError> {
        // Sorted, as rustfmt would reorder them.
        let mut sorted = stems.to_vec();
        sorted.sort_unstable();
        let mods: Vec<String> = sorted.iter().map(|s| module_ident(s)).collect();
        let mut context = tera::Context::new();
        context.insert("mods", &mods);
        Ok(format!("{}\n", self.render("mod", &context)?.trim_end()))
    }

    /// Adds to an existing file what the model asks for and it lacks.
    fn complete(
        &self,
        unit: &Unit,
        text: &Result<String, String>,
    ) -> Result<Completion, ScaffoldError> {
        let text = match text {
            Ok(text) => text,
            Err(why) => return Ok(Completion::Skipped(why.clone())),
        };
        let source = Source::new(text);
        let file = match syn::parse_file(source.parsed) {
            Ok(file) => file,
            Err(e) => return Ok(Completion::Skipped(parse_failure(&e))),
        };
        let paths = Paths {
            context: unit.context,
            glob: has_glob_use(&file.items, unit.context),
        };
        let trait_name = unit.trait_name();
        let self_name = unit.self_name();
        let self_name = self_name.as_str();
        let Some(block) = find_impl(&file.items, &trait_name, self_name) else {
            return self.append_impl(unit, &paths, &file, text);
        };
        let existing: BTreeSet<String> = block
            .items
            .iter()
            .filter_map(|item| match item {
                syn::ImplItem::Fn(f) => Some(unraw(&f.sig.ident)),
                _ => None,
            })
            .collect();
        let specs = unit.methods(&paths);
        let missing: Vec<&MethodSpec> = specs
            .iter()
            .filter(|s| !existing.contains(&s.name))
            .collect();
        if missing.is_empty() {
            return Ok(Completion::Unchanged);
        }
        let close = block.brace_token.span.close().start();
        let Some(at) = source.offset(close) else {
            return Ok(Completion::Skipped(format!(
                "could not locate the end of `impl {trait_name} for {self_name}` (line {}, column {})",
                close.line, close.column
            )));
        };
        // Methods go one level deeper than the line that holds the `impl` keyword.
        let impl_line = source
            .offset(block.impl_token.span.start())
            .map_or(0, |i| text[..i].rfind('\n').map_or(0, |n| n + 1));
        let base: String = text[impl_line..]
            .chars()
            .take_while(|c| *c == ' ' || *c == '\t')
            .collect();
        let indent = format!("{base}    ");
        let methods = self.methods(&missing, &indent)?;
        let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
        let before_brace = &text[line_start..at];
        let (insert_at, insertion) = if before_brace.trim().is_empty() {
            // `}` on its own line: insert whole lines before it.
            let previous = text[..line_start].trim_end().chars().last();
            let lead = if previous == Some('{') { "" } else { "\n" };
            (line_start, format!("{lead}{methods}\n"))
        } else {
            // `{}` or `... }` on one line: the methods go on lines of their own.
            let previous = before_brace.trim_end().chars().last();
            let lead = if previous == Some('{') { "\n" } else { "\n\n" };
            (at, format!("{lead}{methods}\n{base}"))
        };
        let insertion = source.line_endings(&insertion);
        let mut out = String::with_capacity(text.len() + insertion.len());
        out.push_str(&text[..insert_at]);
        out.push_str(&insertion);
        out.push_str(&text[insert_at..]);
        Ok(Completion::Updated {
            text: out,
            added: missing.iter().map(|s| s.name.clone()).collect(),
        })
    }

    /// The impl block is missing entirely: append it (and a handler's read-model struct when
    /// the file declares or imports nothing of that name).
    fn append_impl(
        &self,
        unit: &Unit,
        paths: &Paths,
        file: &syn::File,
        text: &str,
    ) -> Result<Completion, ScaffoldError> {
        let mut addition = String::new();
        if let Target::Handler(_) = unit.target
            && !declares(&file.items, &unit.self_name())
        {
            addition.push_str(&self.read_model(unit)?);
            addition.push_str("\n\n");
        }
        addition.push_str(&self.impl_block(unit, paths)?);
        addition.push('\n');
        let mut out = text.to_string();
        if !out.is_empty() {
            if !out.ends_with('\n') {
                out.push('\n');
            }
            out.push('\n');
        }
        out.push_str(&Source::new(text).line_endings(&addition));
        Ok(Completion::Updated {
            text: out,
            added: unit.methods(paths).into_iter().map(|s| s.name).collect(),
        })
    }
}

fn template_error(name: &str, e: &dyn std::error::Error) -> ScaffoldError {
    let mut message = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    ScaffoldError::Template {
        name: name.to_string(),
        message,
    }
}

fn parse_failure(e: &syn::Error) -> String {
    let at = e.span().start();
    format!(
        "does not parse as Rust (line {}, column {}: {e}); left untouched",
        at.line,
        at.column + 1
    )
}

fn indent_lines(text: &str, indent: &str) -> String {
    text.lines()
        .map(|l| {
            if l.is_empty() {
                String::new()
            } else {
                format!("{indent}{l}")
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `type` -> `r#type`: file stems are module names, and schema names may snake-case to a
/// keyword (`mod r#type;` still loads `type.rs`).
fn module_ident(stem: &str) -> String {
    if syn::parse_str::<syn::Ident>(stem).is_ok() {
        stem.to_string()
    } else {
        format!("r#{stem}")
    }
}

fn unraw(ident: &syn::Ident) -> String {
    let s = ident.to_string();
    s.strip_prefix("r#").map(str::to_string).unwrap_or(s)
}

// ---------------------------------------------------------------------------------------
// Reading existing files.

/// An existing file's text as syn saw it, and how to map syn's positions back to bytes.
struct Source<'a> {
    /// What `syn::parse_file` is given: the text without a byte-order mark.
    parsed: &'a str,
    /// Bytes removed before `parsed` (the BOM).
    base: usize,
    crlf: bool,
}

impl<'a> Source<'a> {
    fn new(text: &'a str) -> Self {
        let parsed = text.strip_prefix('\u{feff}').unwrap_or(text);
        Source {
            parsed,
            base: text.len() - parsed.len(),
            crlf: text.contains("\r\n"),
        }
    }

    /// The byte offset in the original text of a proc-macro2 position (1-based line,
    /// 0-based column counted in chars). syn strips a shebang line but keeps its newline, so
    /// lines after the first keep their numbers and columns.
    fn offset(&self, at: LineColumn) -> Option<usize> {
        let mut line_start = 0;
        for _ in 1..at.line {
            line_start += self.parsed[line_start..].find('\n')? + 1;
        }
        let line = &self.parsed[line_start..];
        let in_line = match line.char_indices().nth(at.column) {
            Some((i, _)) => i,
            None if line.chars().count() == at.column => line.len(),
            None => return None,
        };
        Some(self.base + line_start + in_line)
    }

    /// Inserted text follows the file's line endings.
    fn line_endings(&self, text: &str) -> String {
        if self.crlf {
            text.replace('\n', "\r\n")
        } else {
            text.to_string()
        }
    }
}

/// Whether `use crate::<context>::*;` is among the items (at any nesting of use groups).
fn has_glob_use(items: &[syn::Item], context: &str) -> bool {
    fn glob(tree: &syn::UseTree, path: &[String], context: &str) -> bool {
        match tree {
            syn::UseTree::Path(p) => {
                let mut path = path.to_vec();
                path.push(unraw(&p.ident));
                glob(&p.tree, &path, context)
            }
            syn::UseTree::Group(g) => g.items.iter().any(|t| glob(t, path, context)),
            syn::UseTree::Glob(_) => path.len() == 2 && path[0] == "crate" && path[1] == context,
            _ => false,
        }
    }
    items.iter().any(|item| match item {
        syn::Item::Use(u) => u.leading_colon.is_none() && glob(&u.tree, &[], context),
        _ => false,
    })
}

/// Whether a struct, enum, type alias or import of that name is among the items.
fn declares(items: &[syn::Item], name: &str) -> bool {
    fn imports(tree: &syn::UseTree, name: &str) -> bool {
        match tree {
            syn::UseTree::Path(p) => imports(&p.tree, name),
            syn::UseTree::Name(n) => n.ident == name,
            syn::UseTree::Rename(r) => r.rename == name,
            syn::UseTree::Group(g) => g.items.iter().any(|t| imports(t, name)),
            syn::UseTree::Glob(_) => false,
        }
    }
    items.iter().any(|item| match item {
        syn::Item::Struct(s) => s.ident == name,
        syn::Item::Enum(e) => e.ident == name,
        syn::Item::Type(t) => t.ident == name,
        syn::Item::Use(u) => imports(&u.tree, name),
        _ => false,
    })
}

/// The `impl <Trait> for <Type>` block, matching the last path segments, searched in inline
/// modules too (where a user may have moved it).
fn find_impl<'f>(
    items: &'f [syn::Item],
    trait_name: &str,
    self_name: &str,
) -> Option<&'f syn::ItemImpl> {
    items.iter().find_map(|item| match item {
        syn::Item::Impl(block) => {
            let trait_matches = block
                .trait_
                .as_ref()
                .and_then(|(_, path, _)| path.segments.last())
                .is_some_and(|s| s.ident == trait_name);
            let self_matches = match &*block.self_ty {
                syn::Type::Path(p) => p.path.segments.last().is_some_and(|s| s.ident == self_name),
                _ => false,
            };
            (trait_matches && self_matches).then_some(block)
        }
        syn::Item::Mod(m) => m
            .content
            .as_ref()
            .and_then(|(_, items)| find_impl(items, trait_name, self_name)),
        _ => None,
    })
}

/// Appends the `pub mod` lines `mod.rs` lacks; declarations are matched by module name,
/// whatever their visibility or attributes.
fn complete_mod(text: &Result<String, String>, stems: &[&str]) -> Completion {
    let text = match text {
        Ok(text) => text,
        Err(why) => return Completion::Skipped(why.clone()),
    };
    let source = Source::new(text);
    let file = match syn::parse_file(source.parsed) {
        Ok(file) => file,
        Err(e) => return Completion::Skipped(parse_failure(&e)),
    };
    let declared: BTreeSet<String> = file
        .items
        .iter()
        .filter_map(|item| match item {
            syn::Item::Mod(m) => Some(unraw(&m.ident)),
            _ => None,
        })
        .collect();
    let mut missing: Vec<&str> = stems
        .iter()
        .copied()
        .filter(|s| !declared.contains(*s))
        .collect();
    missing.sort_unstable();
    if missing.is_empty() {
        return Completion::Unchanged;
    }
    let mut out = text.clone();
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    let lines: String = missing
        .iter()
        .map(|s| format!("pub mod {};\n", module_ident(s)))
        .collect();
    out.push_str(&source.line_endings(&lines));
    Completion::Updated {
        text: out,
        added: missing.iter().map(|s| format!("mod {s}")).collect(),
    }
}
