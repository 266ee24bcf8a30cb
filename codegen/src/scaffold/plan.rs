//! What to write: one unit per aggregate, handler and process manager, its file name, and
//! the methods its trait asks for.

use std::collections::{BTreeSet, HashMap, HashSet};

use crate::model::{self, Domain, EventRef, names};

pub(super) enum Target<'a> {
    Aggregate(&'a model::Aggregate),
    Handler(&'a model::Handler),
    Process(&'a model::ProcessManager),
}

pub(super) struct Unit<'a> {
    pub(super) context: &'a str,
    pub(super) target: Target<'a>,
    pub(super) file_stem: String,
}

impl Unit<'_> {
    pub(super) fn name(&self) -> &str {
        match &self.target {
            Target::Aggregate(a) => &a.name,
            Target::Handler(h) => &h.name,
            Target::Process(p) => &p.name,
        }
    }

    pub(super) fn trait_name(&self) -> String {
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
    pub(super) fn self_name(&self) -> String {
        match &self.target {
            Target::Handler(h) => match h.kind {
                model::HandlerKind::Projection => format!("{}Projection", h.name),
                model::HandlerKind::Effect => format!("{}Effect", h.name),
            },
            _ => self.name().to_string(),
        }
    }

    pub(super) fn self_type(&self, paths: &Paths) -> String {
        match &self.target {
            Target::Handler(_) => self.self_name(),
            _ => paths.own(self.name()),
        }
    }

    /// The trait as implemented: a projection's is generic over the transaction it writes
    /// on, the in-memory one to begin with.
    pub(super) fn trait_type(&self, paths: &Paths) -> String {
        let name = paths.own(&self.trait_name());
        match &self.target {
            Target::Handler(h) if h.kind == model::HandlerKind::Projection => {
                format!("{name}<{MEMORY_TX}>")
            }
            _ => name,
        }
    }

    pub(super) fn methods(&self, paths: &Paths) -> Vec<MethodSpec> {
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
pub(super) fn units(domain: &Domain) -> Vec<Unit<'_>> {
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
pub(super) struct Paths<'a> {
    pub(super) context: &'a str,
    pub(super) glob: bool,
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

pub(super) struct MethodSpec {
    pub(super) name: String,
    pub(super) doc: Vec<String>,
    /// The receiver first.
    pub(super) params: Vec<String>,
    pub(super) ret: Option<String>,
    pub(super) body: String,
    pub(super) asynchronous: bool,
}
