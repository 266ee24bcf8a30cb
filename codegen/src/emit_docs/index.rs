//! The cross-references the model does not hold directly: which commands emit an event,
//! which handlers and process managers (of any context) consume it, which process managers
//! dispatch a command. Computed once from the model, so the pages and the diagrams agree.

use std::collections::HashMap;

use crate::model::{Domain, EventRef};

/// How a consumer takes an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) enum Role {
    /// A handler's `subscribes`.
    Subscribes,
    /// A process manager's `starts_on`.
    StartsOn,
    /// `continues_on`.
    ContinuesOn,
    /// `stops_on`.
    StopsOn,
}

impl Role {
    /// The word a reader sees on an edge and in the catalogue.
    pub(super) fn word(self) -> &'static str {
        match self {
            Role::Subscribes => "subscribes",
            Role::StartsOn => "starts",
            Role::ContinuesOn => "continues",
            Role::StopsOn => "stops",
        }
    }
}

/// A handler or process manager, named by its context.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) struct Reader<'d> {
    pub context: &'d str,
    pub name: &'d str,
    /// A process manager rather than a handler.
    pub process: bool,
}

/// One consumer of an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Consumer<'d> {
    pub reader: Reader<'d>,
    pub role: Role,
}

/// Context -> item name -> entries: item names are unique within a context, whatever
/// their kind.
type Map<'d, V> = HashMap<&'d str, HashMap<&'d str, Vec<V>>>;

fn entry<'m, 'd, V>(map: &'m mut Map<'d, V>, context: &'d str, name: &'d str) -> &'m mut Vec<V> {
    map.entry(context).or_default().entry(name).or_default()
}

fn get<'m, V>(map: &'m Map<'_, V>, context: &str, name: &str) -> &'m [V] {
    map.get(context)
        .and_then(|m| m.get(name))
        .map_or(&[], Vec::as_slice)
}

/// The cross-reference of a whole domain. Every list keeps the model's order (contexts by
/// name, items as written), so whatever is rendered from it is stable.
#[derive(Debug, Default)]
pub(super) struct Index<'d> {
    emitted_by: Map<'d, &'d str>,
    consumers: Map<'d, Consumer<'d>>,
    dispatchers: Map<'d, Reader<'d>>,
}

impl<'d> Index<'d> {
    pub(super) fn new(domain: &'d Domain) -> Self {
        let mut index = Index::default();
        for c in &domain.contexts {
            for a in &c.aggregates {
                for cmd in &a.commands {
                    for e in &cmd.emits {
                        entry(&mut index.emitted_by, &c.name, e).push(cmd.name.as_str());
                    }
                }
            }
            for h in &c.handlers {
                let reader = Reader {
                    context: &c.name,
                    name: &h.name,
                    process: false,
                };
                for e in &h.subscribes {
                    index.consumed(e, reader, Role::Subscribes);
                }
            }
            for p in &c.process_managers {
                let reader = Reader {
                    context: &c.name,
                    name: &p.name,
                    process: true,
                };
                for (refs, role) in [
                    (&p.starts_on, Role::StartsOn),
                    (&p.continues_on, Role::ContinuesOn),
                    (&p.stops_on, Role::StopsOn),
                ] {
                    for e in refs {
                        index.consumed(e, reader, role);
                    }
                }
                for cmd in &p.dispatches {
                    let list = entry(&mut index.dispatchers, &cmd.context, &cmd.name);
                    if !list.contains(&reader) {
                        list.push(reader);
                    }
                }
            }
        }
        index
    }

    fn consumed(&mut self, e: &'d EventRef, reader: Reader<'d>, role: Role) {
        let list = entry(&mut self.consumers, &e.context, &e.name);
        let consumer = Consumer { reader, role };
        if !list.contains(&consumer) {
            list.push(consumer);
        }
    }

    /// The commands (of the event's own aggregate) that may emit event `name` of `context`.
    pub(super) fn emitted_by(&self, context: &str, name: &str) -> &[&'d str] {
        get(&self.emitted_by, context, name)
    }

    /// Every handler and process manager, of any context, that receives the event.
    pub(super) fn consumers(&self, context: &str, name: &str) -> &[Consumer<'d>] {
        get(&self.consumers, context, name)
    }

    /// Every process manager, of any context, that may dispatch the command.
    pub(super) fn dispatchers(&self, context: &str, name: &str) -> &[Reader<'d>] {
        get(&self.dispatchers, context, name)
    }
}
