//! Aggregates: identity, commands and what they emit, events, errors, and the method names
//! of the generated logic trait.

use std::collections::HashMap;
use std::path::Path;

use super::names::{check_camel, is_keyword};
use super::types::show;
use super::{Cx, Rules, check_fields, suggest, upcast};
use crate::diag::Sink;
use crate::model::{self, IdentityType, TypeRef};
use crate::raw::{Loc, RawAggregate};

/// The event to suggest for a command without `emits`: the aggregate's first event that no
/// other command lists (the one most likely meant), else its first event.
fn unclaimed_event<'a>(raw: &RawAggregate, event_names: &[&'a str]) -> Option<&'a str> {
    let claimed = |event: &str| {
        raw.commands
            .iter()
            .flat_map(|c| c.emits.iter().flatten())
            .any(|e| {
                let name = e.text.rsplit_once('.').map_or(e.text.as_str(), |(_, n)| n);
                name == event
            })
    };
    event_names
        .iter()
        .copied()
        .find(|e| !claimed(e))
        .or_else(|| event_names.first().copied())
}

pub(crate) fn check_aggregate(raw: &RawAggregate, cx: &Cx, sink: &mut Sink) -> model::Aggregate {
    let agg = &raw.name.text;
    let state = check_fields(
        &raw.state,
        Rules::Forbidden("state is built from events, which are facts"),
        &format!("the state of `{agg}`"),
        cx,
        sink,
    );

    let mut errors = Vec::new();
    for (name, message) in &raw.errors {
        if let Some((msg, hint)) = check_camel(&name.text, "error") {
            sink.error(cx.file, name.loc, msg).hint_opt(hint);
        }
        errors.push(model::ErrorDef {
            name: name.text.clone(),
            message: message.clone(),
        });
    }

    let event_names: Vec<&str> = raw.events.iter().map(|e| e.name.text.as_str()).collect();
    let event_set: std::collections::HashSet<&str> = event_names.iter().copied().collect();
    let own = cx.syms.contexts.get(cx.ctx);
    let default_identity = raw
        .identity
        .as_ref()
        .map(|n| n.text.clone())
        .unwrap_or_default();
    let mut identity_types: Vec<(IdentityType, String, Loc)> = Vec::new();
    let mut commands = Vec::new();
    for c in &raw.commands {
        let name = &c.name.text;
        let fields = check_fields(
            &c.fields,
            Rules::Allowed,
            &format!("command `{name}`"),
            cx,
            sink,
        );
        let identity = c
            .identity
            .as_ref()
            .map(|n| n.text.clone())
            .unwrap_or_else(|| default_identity.clone());
        let id_loc = c.identity.as_ref().map_or(c.name.loc, |n| n.loc);
        if !identity.is_empty() {
            match fields
                .iter()
                .zip(&c.fields)
                .find(|(f, _)| f.name == identity)
            {
                None => {
                    let whose = if c.identity.is_some() {
                        format!("its own `identity: {identity}`")
                    } else {
                        format!("`{identity}`, the identity of aggregate `{agg}`")
                    };
                    sink.error(cx.file, id_loc, format!("command `{name}` has no field {whose}"))
                        .hint(format!("add `{identity}: String` (or Uuid) to its fields, or give the command its own `identity:`"));
                }
                Some((f, rf)) => match &f.ty {
                    TypeRef::String => {
                        identity_types.push((IdentityType::String, name.clone(), rf.ty.loc))
                    }
                    TypeRef::Uuid => {
                        identity_types.push((IdentityType::Uuid, name.clone(), rf.ty.loc))
                    }
                    // An unresolved type was reported already.
                    TypeRef::Json if rf.ty.text.trim() != "Json" => {}
                    other => {
                        sink.error(cx.file, rf.ty.loc, format!(
                            "wrong identity type: `{identity}` of command `{name}` is `{}`, but an identity must be String or Uuid",
                            show(other, cx.ctx)
                        ))
                        .hint("the identity becomes part of the stream id; make the field `String` or `Uuid`");
                    }
                },
            }
        }

        let mut emits: Vec<String> = Vec::new();
        match &c.emits {
            None => {
                sink.error(
                    cx.file,
                    c.name.loc,
                    format!("command `{name}` has no `emits`"),
                )
                .hint(format!(
                    "list the events it may cause: `emits: [{}]`",
                    unclaimed_event(raw, &event_names).unwrap_or("SomethingHappened")
                ));
            }
            Some(list) if list.is_empty() => {
                sink.error(
                    cx.file,
                    c.emits_loc.unwrap_or(c.name.loc),
                    format!("command `{name}` emits no events"),
                )
                .hint("every command emits at least one event of its aggregate");
            }
            Some(list) => {
                let mut listed: std::collections::HashSet<&str> = std::collections::HashSet::new();
                for e in list {
                    let (ectx, ename) = match e.text.split_once('.') {
                        Some((c2, n)) => (c2, n),
                        None => (cx.ctx, e.text.as_str()),
                    };
                    if !listed.insert(ename) {
                        sink.error(
                            cx.file,
                            e.loc,
                            format!("`{ename}` is listed twice in `emits`"),
                        );
                        continue;
                    }
                    if event_set.contains(ename) && ectx == cx.ctx {
                        emits.push(ename.to_string());
                        continue;
                    }
                    let other = if ectx == cx.ctx {
                        own
                    } else {
                        cx.syms.contexts.get(ectx)
                    };
                    match other.and_then(|o| o.event(ename)) {
                        Some(ev) if ectx == cx.ctx => sink.error(cx.file, e.loc, format!(
                            "`{ename}` is an event of aggregate `{}`; command `{name}` may only emit events of its own aggregate `{agg}`", ev.aggregate
                        )),
                        Some(_) => sink.error(cx.file, e.loc, format!(
                            "`{}` is an event of context `{ectx}`; command `{name}` may only emit events of its own aggregate `{agg}`", e.text
                        )),
                        None => match own.and_then(|o| o.renamed.get(ename)).filter(|_| ectx == cx.ctx) {
                            Some(cur) => sink.error(cx.file, e.loc, format!("`{ename}` is an old name of event `{cur}`")).hint(format!("write `{cur}`")),
                            None => sink.error(cx.file, e.loc, format!("unknown event `{}` in `emits` of command `{name}`", e.text))
                                .hint_opt(suggest(ename, event_names.iter().copied()).or_else(|| Some(format!(
                                    "declare it under `events:` of aggregate `{agg}`"
                                )))),
                        },
                    };
                }
            }
        }
        // The type the identity check above recorded for this command, if it found one.
        let identity_type = identity_types
            .last()
            .filter(|(_, cmd, _)| cmd == name)
            .map_or(IdentityType::String, |t| t.0);
        commands.push(model::Command {
            name: name.clone(),
            doc: c.doc.clone(),
            fields,
            identity,
            identity_type,
            emits,
        });
    }

    let identity_type = identity_types.first().map_or(IdentityType::String, |t| t.0);
    if let Some((_, first_cmd, _)) = identity_types.first() {
        for (t, cmd, loc) in &identity_types {
            if *t != identity_type {
                sink.error(cx.file, *loc, format!(
                    "the identity of command `{cmd}` is {}, but that of `{first_cmd}` is {}; all commands of `{agg}` must use the same identity type",
                    if *t == IdentityType::Uuid { "Uuid" } else { "String" },
                    if identity_type == IdentityType::Uuid { "Uuid" } else { "String" },
                ));
            }
        }
    }

    let mut events = Vec::new();
    for e in &raw.events {
        let fields = check_fields(
            &e.fields,
            Rules::Forbidden("events record facts that already happened"),
            &format!("event `{}`", e.name.text),
            cx,
            sink,
        );
        let (version, upcasts) = upcast::check_upcasts(e, &fields, cx, sink);
        events.push(model::Event {
            name: e.name.text.clone(),
            doc: e.doc.clone(),
            version,
            fields,
            upcasts,
            renamed_from: e.renamed_from.iter().map(|n| n.text.clone()).collect(),
        });
    }

    // Method names of the generated `<Aggregate>Logic` trait must be distinct identifiers.
    let mut methods: HashMap<String, (String, Loc)> = HashMap::new();
    let items = raw
        .commands
        .iter()
        .map(|c| {
            (
                crate::model::names::snake(&c.name.text),
                format!("command `{}`", c.name.text),
                c.name.loc,
            )
        })
        .chain(raw.events.iter().map(|e| {
            (
                format!("apply_{}", crate::model::names::snake(&e.name.text)),
                format!("event `{}`", e.name.text),
                e.name.loc,
            )
        }));
    for (method, origin, loc) in items {
        if is_keyword(&method) {
            sink.error(
                cx.file,
                loc,
                format!(
                    "{origin} would get the executor method `{method}`, which is a Rust keyword"
                ),
            )
            .hint("rename the command, e.g. with a verb: `PlaceOrder`");
        } else if let Some((first, _)) = methods.get(&method) {
            sink.error(
                cx.file,
                loc,
                format!(
                    "{origin} and {first} would both get the method `{method}` in `{}`",
                    crate::model::names::logic_trait(agg)
                ),
            )
            .hint("rename one of them");
        } else {
            methods.insert(method, (origin, loc));
        }
    }

    model::Aggregate {
        name: agg.clone(),
        doc: raw.doc.clone(),
        identity: default_identity,
        identity_type,
        stream_prefix: stream_prefix(raw).0,
        snapshot_every: raw.snapshot_every,
        state,
        errors,
        commands,
        events,
        state_hash: String::new(),
    }
}

/// The aggregate's stream prefix (`stream_prefix:` or `"<Aggregate>-"`) and where it is
/// written (the aggregate's name for the default).
pub(crate) fn stream_prefix(raw: &RawAggregate) -> (String, Loc) {
    match &raw.stream_prefix {
        Some(p) => (p.text.clone(), p.loc),
        None => (format!("{}-", raw.name.text), raw.name.loc),
    }
}

/// Stream prefixes must tell aggregates apart across the whole domain: when one prefix is
/// the start of another (or equal to it), a stream id of one aggregate could be taken for
/// the other's, by handlers reading all events and by anyone reading the store.
pub(crate) fn check_stream_prefixes(loaded: &[super::Loaded], sink: &mut Sink) {
    let mut all: Vec<(String, &Path, Loc, String)> = loaded
        .iter()
        .flat_map(|l| {
            l.raw.aggregates.iter().map(move |a| {
                let (prefix, loc) = stream_prefix(a);
                (
                    prefix,
                    l.file.as_path(),
                    loc,
                    format!("{}.{}", l.ctx, a.name.text),
                )
            })
        })
        .collect();
    all.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.3.cmp(&b.3)));
    // Sorted, a prefix comes right before the names it starts: neighbours are enough.
    for pair in all.windows(2) {
        let ((p1, _, _, a1), (p2, file, loc, a2)) = (&pair[0], &pair[1]);
        if p2.starts_with(p1.as_str()) {
            sink.error(
                file,
                *loc,
                format!(
                    "stream prefix \"{p2}\" of aggregate `{a2}` starts with the stream prefix \"{p1}\" of `{a1}`: their stream ids could be mistaken for each other"
                ),
            )
            .hint("give each aggregate a `stream_prefix` that no other prefix starts with, e.g. one ending in `-`");
        }
    }
}
