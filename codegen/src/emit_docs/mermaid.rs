//! Mermaid flowcharts of the domain: command -> event (inside its aggregate's box) ->
//! handler / process manager -> command, across contexts.
//!
//! The whole domain is one graph, built once from the model; a context's page shows its own
//! items and the items of other contexts one edge away (the events its process managers
//! and handlers read, the commands they dispatch, the readers of its events). Ids are made
//! from names by an injective encoding into `[A-Za-z0-9_]`, labels are quoted and escaped,
//! and everything keeps the model's order, so the text is stable and `eskema docs --check`
//! compares like with like.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use crate::model::{Context, Domain};

/// What a node stands for; each kind has its own shape and colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Kind {
    Command,
    Event,
    Handler,
    Process,
}

impl Kind {
    fn prefix(self) -> &'static str {
        match self {
            Kind::Command => "cmd",
            Kind::Event => "evt",
            Kind::Handler => "hdl",
            Kind::Process => "pm",
        }
    }

    /// Rectangle, stadium, subroutine box, hexagon.
    fn shape(self) -> (&'static str, &'static str) {
        match self {
            Kind::Command => ("[", "]"),
            Kind::Event => ("([", "])"),
            Kind::Handler => ("[[", "]]"),
            Kind::Process => ("{{", "}}"),
        }
    }

    fn class(self) -> &'static str {
        match self {
            Kind::Command => "command",
            Kind::Event => "event",
            Kind::Handler => "handler",
            Kind::Process => "process",
        }
    }
}

/// One node of the domain graph. Item names are unique within a context, so `(kind,
/// context, name)` names a node; `aggregate` places commands and events in their box.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Node<'d> {
    kind: Kind,
    context: &'d str,
    aggregate: Option<&'d str>,
    name: &'d str,
}

impl Node<'_> {
    fn id(&self) -> String {
        id(&[self.kind.prefix(), self.context, self.name])
    }

    fn view(&self) -> NodeView {
        let (open, close) = self.kind.shape();
        NodeView {
            id: self.id(),
            open,
            label: label(self.name),
            close,
            class: self.kind.class(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Edge<'d> {
    from: Node<'d>,
    to: Node<'d>,
    /// A process manager's dispatch (dotted), rather than a flow of events.
    dispatch: bool,
    /// Empty for `emits` and `subscribes`, the obvious cases.
    label: &'static str,
}

/// A diagram as the template writes it.
#[derive(Debug, Serialize, Default)]
pub(super) struct Diagram {
    pub groups: Vec<GroupView>,
    pub nodes: Vec<NodeView>,
    pub edges: Vec<EdgeView>,
}

impl Diagram {
    pub(super) fn is_empty(&self) -> bool {
        self.groups.is_empty() && self.nodes.is_empty()
    }
}

/// A `subgraph`: a context, holding its aggregates' boxes and its loose nodes.
#[derive(Debug, Serialize)]
pub(super) struct GroupView {
    pub id: String,
    pub label: String,
    pub groups: Vec<GroupView>,
    pub nodes: Vec<NodeView>,
}

#[derive(Debug, Serialize)]
pub(super) struct NodeView {
    pub id: String,
    pub open: &'static str,
    pub label: String,
    pub close: &'static str,
    pub class: &'static str,
}

#[derive(Debug, Serialize)]
pub(super) struct EdgeView {
    pub from: String,
    pub arrow: &'static str,
    /// Already quoted and escaped (`"starts"`), or empty.
    pub label: String,
    pub to: String,
}

/// The whole domain as one graph.
pub(super) struct Graph<'d> {
    edges: Vec<Edge<'d>>,
    /// Edge indexes touching each node, in edge order.
    touching: HashMap<Node<'d>, Vec<usize>>,
}

impl<'d> Graph<'d> {
    pub(super) fn new(domain: &'d Domain) -> Self {
        let mut edges = Vec::new();
        for c in &domain.contexts {
            for a in &c.aggregates {
                for cmd in &a.commands {
                    let from = Node {
                        kind: Kind::Command,
                        context: &c.name,
                        aggregate: Some(&a.name),
                        name: &cmd.name,
                    };
                    for e in &cmd.emits {
                        let to = Node {
                            kind: Kind::Event,
                            context: &c.name,
                            aggregate: Some(&a.name),
                            name: e,
                        };
                        edges.push(Edge {
                            from,
                            to,
                            dispatch: false,
                            label: "",
                        });
                    }
                }
            }
            for h in &c.handlers {
                let to = Node {
                    kind: Kind::Handler,
                    context: &c.name,
                    aggregate: None,
                    name: &h.name,
                };
                for e in &h.subscribes {
                    edges.push(Edge {
                        from: event_node(&e.context, &e.aggregate, &e.name),
                        to,
                        dispatch: false,
                        label: "",
                    });
                }
            }
            for p in &c.process_managers {
                let pm = Node {
                    kind: Kind::Process,
                    context: &c.name,
                    aggregate: None,
                    name: &p.name,
                };
                for (refs, label) in [
                    (&p.starts_on, "starts"),
                    (&p.continues_on, "continues"),
                    (&p.stops_on, "stops"),
                ] {
                    for e in refs {
                        edges.push(Edge {
                            from: event_node(&e.context, &e.aggregate, &e.name),
                            to: pm,
                            dispatch: false,
                            label,
                        });
                    }
                }
                for cmd in &p.dispatches {
                    edges.push(Edge {
                        from: pm,
                        to: Node {
                            kind: Kind::Command,
                            context: &cmd.context,
                            aggregate: Some(&cmd.aggregate),
                            name: &cmd.name,
                        },
                        dispatch: true,
                        label: "dispatches",
                    });
                }
            }
        }
        let mut seen = HashSet::new();
        edges.retain(|e| seen.insert(*e));
        let mut touching: HashMap<Node<'d>, Vec<usize>> = HashMap::new();
        for (i, e) in edges.iter().enumerate() {
            touching.entry(e.from).or_default().push(i);
            if e.to != e.from {
                touching.entry(e.to).or_default().push(i);
            }
        }
        Graph { edges, touching }
    }

    /// The page diagram of `context`: its own items (commands and events in their
    /// aggregate's box, then handlers and process managers), the other contexts' items one
    /// edge away in a box per context, and every edge among what is shown.
    pub(super) fn context_diagram(&self, context: &'d Context) -> Diagram {
        let mut local = Vec::new();
        let mut boxes = Vec::new();
        for a in &context.aggregates {
            let nodes: Vec<Node> = a
                .commands
                .iter()
                .map(|c| (Kind::Command, c.name.as_str()))
                .chain(a.events.iter().map(|e| (Kind::Event, e.name.as_str())))
                .map(|(kind, name)| Node {
                    kind,
                    context: &context.name,
                    aggregate: Some(&a.name),
                    name,
                })
                .collect();
            local.extend(nodes.iter().copied());
            boxes.push(GroupView {
                id: id(&["agg", &context.name, &a.name]),
                label: label(&a.name),
                groups: Vec::new(),
                nodes: nodes.iter().map(Node::view).collect(),
            });
        }
        let loose: Vec<Node> = context
            .handlers
            .iter()
            .map(|h| (Kind::Handler, h.name.as_str()))
            .chain(
                context
                    .process_managers
                    .iter()
                    .map(|p| (Kind::Process, p.name.as_str())),
            )
            .map(|(kind, name)| Node {
                kind,
                context: &context.name,
                aggregate: None,
                name,
            })
            .collect();
        local.extend(loose.iter().copied());
        if local.is_empty() {
            return Diagram::default();
        }

        // Other contexts' nodes one edge away, in the order edges first reach them.
        let mut edge_ids: Vec<usize> = local
            .iter()
            .flat_map(|n| self.touching.get(n).into_iter().flatten().copied())
            .collect();
        edge_ids.sort_unstable();
        edge_ids.dedup();
        let mut foreign: Vec<Node> = Vec::new();
        let mut foreign_set = HashSet::new();
        for &i in &edge_ids {
            let e = &self.edges[i];
            for n in [e.from, e.to] {
                if n.context != context.name && foreign_set.insert(n) {
                    foreign.push(n);
                }
            }
        }
        // Edges among the foreign nodes shown (a dispatched command and the event it emits).
        for n in &foreign {
            for &i in self.touching.get(n).into_iter().flatten() {
                let e = &self.edges[i];
                if foreign_set.contains(&e.from) && foreign_set.contains(&e.to) {
                    edge_ids.push(i);
                }
            }
        }
        edge_ids.sort_unstable();
        edge_ids.dedup();

        let mut groups = vec![GroupView {
            id: id(&["ctx", &context.name]),
            label: label(&context.name),
            groups: boxes,
            nodes: loose.iter().map(Node::view).collect(),
        }];
        let mut others: Vec<&str> = foreign.iter().map(|n| n.context).collect();
        others.sort_unstable();
        others.dedup();
        for other in others {
            groups.push(GroupView {
                id: id(&["ctx", other]),
                label: label(other),
                groups: Vec::new(),
                nodes: foreign
                    .iter()
                    .filter(|n| n.context == other)
                    .map(Node::view)
                    .collect(),
            });
        }
        Diagram {
            groups,
            nodes: Vec::new(),
            edges: edge_ids
                .iter()
                .map(|&i| edge_view(&self.edges[i]))
                .collect(),
        }
    }

    /// The index page's context map: one node per context, one edge per pair of contexts
    /// and direction, labelled with the events read or the commands dispatched across it.
    pub(super) fn context_map(&self, domain: &Domain) -> Diagram {
        let nodes = domain
            .contexts
            .iter()
            .map(|c| NodeView {
                id: id(&["ctx", &c.name]),
                open: "[",
                label: label(&c.name),
                close: "]",
                class: "context",
            })
            .collect();
        // (from context, to context, dispatch) -> item names, both in edge order.
        let mut links: Vec<(LinkKey, Vec<&str>)> = Vec::new();
        let mut link_of = HashMap::new();
        let mut seen = HashSet::new();
        for e in &self.edges {
            if e.from.context == e.to.context {
                continue;
            }
            let key = (e.from.context, e.to.context, e.dispatch);
            // The item that crosses: the event read, or the command dispatched.
            let item = if e.dispatch { e.to.name } else { e.from.name };
            if !seen.insert((key, item)) {
                continue;
            }
            let at = *link_of.entry(key).or_insert_with(|| {
                links.push((key, Vec::new()));
                links.len() - 1
            });
            links[at].1.push(item);
        }
        let edges = links
            .into_iter()
            .map(|((from, to, dispatch), items)| EdgeView {
                from: id(&["ctx", from]),
                arrow: if dispatch { "-.->" } else { "-->" },
                label: quoted(&items.join(", ")),
                to: id(&["ctx", to]),
            })
            .collect();
        Diagram {
            groups: Vec::new(),
            nodes,
            edges,
        }
    }
}

/// A context map edge: from context, to context, whether it carries dispatches.
type LinkKey<'d> = (&'d str, &'d str, bool);

fn event_node<'d>(context: &'d str, aggregate: &'d str, name: &'d str) -> Node<'d> {
    Node {
        kind: Kind::Event,
        context,
        aggregate: Some(aggregate),
        name,
    }
}

fn edge_view(e: &Edge) -> EdgeView {
    EdgeView {
        from: e.from.id(),
        arrow: if e.dispatch { "-.->" } else { "-->" },
        label: if e.label.is_empty() {
            String::new()
        } else {
            quoted(e.label)
        },
        to: e.to.id(),
    }
}

/// A Mermaid id for a sequence of names: ASCII letters and digits are kept, every other
/// character becomes `_<hex code>_`, and parts are joined by `__`. It reads back one way
/// only (where a character starts, `__` is a separator and `_` + hex + `_` one character),
/// so two items never share an id; and the result
/// never is a Mermaid keyword (`end`) nor starts with `o`/`x` (which would turn `-->`
/// into another arrow), since the first part is a fixed prefix.
pub(super) fn id(parts: &[&str]) -> String {
    let mut out = String::new();
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            out.push_str("__");
        }
        for c in part.chars() {
            if c.is_ascii_alphanumeric() {
                out.push(c);
            } else {
                out.push_str(&format!("_{:x}_", u32::from(c)));
            }
        }
    }
    out
}

/// A label in double quotes, so Mermaid reads punctuation as text.
fn quoted(text: &str) -> String {
    format!("\"{}\"", label(text))
}

/// Label text (written between double quotes by the template): characters that end the
/// quote or that Mermaid and its HTML labels interpret become entity codes.
pub(super) fn label(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '"' => out.push_str("#quot;"),
            '#' => out.push_str("#35;"),
            '<' => out.push_str("#lt;"),
            '>' => out.push_str("#gt;"),
            '&' => out.push_str("#amp;"),
            '`' => out.push_str("#96;"),
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_keep_letters_and_digits_and_encode_the_rest() {
        assert_eq!(
            id(&["cmd", "bank", "OpenBankAccount"]),
            "cmd__bank__OpenBankAccount"
        );
        assert_eq!(id(&["ctx", "atm_ops"]), "ctx__atm_5f_ops");
        assert_eq!(id(&["evt", "a b", "end"]), "evt__a_20_b__end");
        assert_eq!(id(&["x", "é"]), "x___e9_");
        for i in [id(&["cmd", "end"]), id(&["evt", "o"]), id(&["pm", "x-y"])] {
            assert!(
                i.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
                "{i}"
            );
        }
    }

    #[test]
    fn ids_of_different_names_differ() {
        // Splitting or underscores never make two names collide.
        let pairs = [
            (id(&["cmd", "a_b", "C"]), id(&["cmd", "a", "b_C"])),
            (id(&["cmd", "a__b"]), id(&["cmd", "a", "b"])),
            (id(&["cmd", "a_5f_"]), id(&["cmd", "a_"])),
            (id(&["evt", "A"]), id(&["cmd", "A"])),
        ];
        for (a, b) in pairs {
            assert_ne!(a, b);
        }
    }

    #[test]
    fn labels_escape_what_mermaid_would_read() {
        assert_eq!(label("Plain"), "Plain");
        assert_eq!(
            label("a \"b\" <c> & #d `e`"),
            "a #quot;b#quot; #lt;c#gt; #amp; #35;d #96;e#96;"
        );
        assert_eq!(label("two\nlines"), "two lines");
        assert_eq!(quoted("x\"y"), "\"x#quot;y\"");
    }
}
