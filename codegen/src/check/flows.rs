//! Handlers and process managers: the events they name, the commands they dispatch, the
//! correlation identity, and the warning for events nothing produces or handles.

use std::collections::{HashMap, HashSet};

use super::{Cx, Rules, Symbols, check_fields, suggest};
use crate::diag::Sink;
use crate::model::names::snake;
use crate::model::{
    self, CommandRef, Consistency, EventRef, Exhausted, FailurePolicy, HandlerKind, IdentityType,
    StartFrom,
};
use crate::raw::{Name, Node, RawFailure, RawHandler, RawProcessManager, Value};

fn split<'a>(name: &'a Name, cx: &'a Cx) -> (&'a str, &'a str) {
    match name.text.split_once('.') {
        Some((c, n)) => (c, n),
        None => (cx.ctx, name.text.as_str()),
    }
}

fn unknown_context(name: &Name, ctx: &str, cx: &Cx, sink: &mut Sink) {
    sink.error(
        cx.file,
        name.loc,
        format!("unknown context `{ctx}` in `{}`", name.text),
    )
    .hint(super::unknown_context_hint(ctx, cx.syms));
}

/// Resolves `Event` or `context.Event`.
pub(crate) fn event_ref(name: &Name, cx: &Cx, sink: &mut Sink) -> Option<EventRef> {
    let (ctx, ev) = split(name, cx);
    if ev.contains('.') {
        sink.error(
            cx.file,
            name.loc,
            format!(
                "`{}` is not an event name: write `Event` or `context.Event`",
                name.text
            ),
        );
        return None;
    }
    let Some(syms) = cx.syms.contexts.get(ctx) else {
        unknown_context(name, ctx, cx, sink);
        return None;
    };
    if let Some(e) = syms.event(ev) {
        return Some(EventRef {
            context: ctx.to_string(),
            aggregate: e.aggregate.clone(),
            name: ev.to_string(),
            stream_prefix: String::new(),
            bytes: None,
        });
    }
    let prefix = if ctx == cx.ctx && !name.text.contains('.') {
        String::new()
    } else {
        format!("{ctx}.")
    };
    if let Some(cur) = syms.renamed.get(ev) {
        sink.error(
            cx.file,
            name.loc,
            format!("`{}` is an old name of event `{prefix}{cur}`", name.text),
        )
        .hint(format!("write `{prefix}{cur}`"));
    } else if let Some(kind) = syms.kinds.get(ev) {
        sink.error(
            cx.file,
            name.loc,
            format!("`{}` is {kind}, not an event", name.text),
        );
    } else {
        let hint = suggest(ev, syms.events.iter().map(|e| e.name.as_str())).map(|h| {
            h.replace("`", "")
                .replace("did you mean ", &format!("did you mean `{prefix}"))
                .replace('?', "`?")
        });
        sink.error(cx.file, name.loc, format!("unknown event `{}`", name.text))
            .hint_opt(hint);
    }
    None
}

/// Resolves `Command` or `context.Command`.
fn command_ref(name: &Name, cx: &Cx, sink: &mut Sink) -> Option<CommandRef> {
    let (ctx, cmd) = split(name, cx);
    let Some(syms) = cx.syms.contexts.get(ctx) else {
        unknown_context(name, ctx, cx, sink);
        return None;
    };
    if let Some(agg) = syms.command_index.get(cmd) {
        return Some(CommandRef {
            context: ctx.to_string(),
            aggregate: agg.clone(),
            name: cmd.to_string(),
            bytes: None,
        });
    }
    let prefix = if name.text.contains('.') {
        format!("{ctx}.")
    } else {
        String::new()
    };
    if let Some(kind) = syms.kinds.get(cmd) {
        sink.error(
            cx.file,
            name.loc,
            format!("`{}` is {kind}, not a command", name.text),
        );
    } else {
        let hint = suggest(cmd, syms.commands.iter().map(|(c, _)| c.as_str()))
            .map(|h| h.replace("did you mean `", &format!("did you mean `{prefix}")));
        sink.error(
            cx.file,
            name.loc,
            format!("unknown command `{}`", name.text),
        )
        .hint_opt(hint);
    }
    None
}

/// One of `options` (value, what it means), or an error with a "did you mean" hint, or,
/// when nothing is close, one that says what each value does.
fn choice<T: Copy>(
    name: Option<&Name>,
    options: &[(&str, T, &str)],
    key: &str,
    default: T,
    cx: &Cx,
    sink: &mut Sink,
) -> T {
    let Some(name) = name else { return default };
    if let Some((_, v, _)) = options.iter().find(|(o, _, _)| *o == name.text) {
        return *v;
    }
    let words: Vec<&str> = options.iter().map(|(o, _, _)| *o).collect();
    let meanings = || {
        options
            .iter()
            .map(|(o, _, means)| format!("`{o}`: {means}"))
            .collect::<Vec<_>>()
            .join("; ")
    };
    sink.error(
        cx.file,
        name.loc,
        format!(
            "`{key}` must be {}, found `{}`",
            words
                .iter()
                .map(|w| format!("`{w}`"))
                .collect::<Vec<_>>()
                .join(" or "),
            name.text
        ),
    )
    .hint(suggest(&name.text, words.iter().copied()).unwrap_or_else(meanings));
    default
}

/// Most partitions a handler may be split into.
const MAX_PARTITIONS: u32 = 256;
/// Most attempts `on_failure` allows at one event.
const MAX_ATTEMPTS: u32 = 1_000;
/// Longest `backoff` delay: one hour, in milliseconds.
const MAX_DELAY_MS: u64 = 3_600_000;

const DURATION_HINT: &str = "write a duration such as `500ms`, `2s` or `1m`";

/// Why a `backoff` delay is not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BadDuration {
    /// Not a whole number followed by `ms`, `s` or `m`.
    Malformed,
    /// Longer than one hour.
    TooLong,
}

/// A `backoff` delay in milliseconds: a whole number followed by `ms`, `s` or `m`
/// (`250ms`, `2s`, `1m`), at most one hour.
pub(crate) fn parse_duration(text: &str) -> Result<u64, BadDuration> {
    let (digits, scale) = if let Some(d) = text.strip_suffix("ms") {
        (d, 1)
    } else if let Some(d) = text.strip_suffix('s') {
        (d, 1_000)
    } else if let Some(d) = text.strip_suffix('m') {
        (d, 60_000)
    } else {
        return Err(BadDuration::Malformed);
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(BadDuration::Malformed);
    }
    // Only digits are left, so the parse fails only when the number overflows.
    let ms = digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(scale))
        .ok_or(BadDuration::TooLong)?;
    if ms > MAX_DELAY_MS {
        return Err(BadDuration::TooLong);
    }
    Ok(ms)
}

/// A scalar as it is quoted in messages (`4.0` stays `4.0`, not `4`).
fn shown(node: &Node) -> String {
    match &node.value {
        Value::Float(f) => format!("`{f:?}`"),
        _ => crate::load::show(node),
    }
}

/// A whole number from 1 to `max`, or `default` when the key is missing (or wrong: then
/// reported at the value).
fn whole_in(
    node: Option<&Node>,
    key: &str,
    max: u32,
    default: u32,
    hint: &str,
    cx: &Cx,
    sink: &mut Sink,
) -> u32 {
    let Some(node) = node else { return default };
    if let Value::Int(n) = node.value
        && (1..=i128::from(max)).contains(&n)
    {
        return n as u32;
    }
    sink.error(
        cx.file,
        node.loc,
        format!(
            "`{key}` must be a whole number from 1 to {max}, found {}",
            shown(node)
        ),
    )
    .hint(hint);
    default
}

/// One `backoff` delay in milliseconds, or `None` (reported at the item).
fn delay(node: &Node, cx: &Cx, sink: &mut Sink) -> Option<u64> {
    let problem = match &node.value {
        Value::Str(text) => match parse_duration(text) {
            Ok(ms) => return Some(ms),
            Err(e) => e,
        },
        _ => BadDuration::Malformed,
    };
    match problem {
        BadDuration::Malformed => {
            let hours = matches!(&node.value, Value::Str(t) if t.ends_with('h')
                && t[..t.len() - 1].bytes().all(|b| b.is_ascii_digit()));
            let unit = if matches!(node.value, Value::Int(_) | Value::Float(_)) {
                " (a number needs a unit)"
            } else if hours {
                " (hours are not a unit here: the longest delay is `60m`)"
            } else {
                ""
            };
            sink.error(
                cx.file,
                node.loc,
                format!(
                    "a `backoff` delay must be a duration, found {}{unit}",
                    shown(node)
                ),
            )
            .hint(DURATION_HINT);
        }
        BadDuration::TooLong => {
            sink.error(
                cx.file,
                node.loc,
                format!("the `backoff` delay {} is longer than 1 hour", shown(node)),
            )
            .hint("the longest delay is `60m`");
        }
    }
    None
}

/// `on_failure:`; every missing key takes its value from [`FailurePolicy::default`].
fn failure_policy(raw: Option<&RawFailure>, cx: &Cx, sink: &mut Sink) -> FailurePolicy {
    let default = FailurePolicy::default();
    let Some(raw) = raw else { return default };
    FailurePolicy {
        attempts: whole_in(
            raw.attempts.as_ref(),
            "attempts",
            MAX_ATTEMPTS,
            default.attempts,
            "`attempts` counts every try at one event, the first included: `attempts: 1` never retries",
            cx,
            sink,
        ),
        backoff_ms: match &raw.backoff {
            Some(items) => items.iter().filter_map(|n| delay(n, cx, sink)).collect(),
            None => default.backoff_ms,
        },
        then: choice(
            raw.then.as_ref(),
            &[
                (
                    "stop",
                    Exhausted::Stop,
                    "halts the subscriber until it is resumed",
                ),
                (
                    "skip",
                    Exhausted::Skip,
                    "records the event as skipped and goes on",
                ),
                (
                    "park",
                    Exhausted::Park,
                    "puts the event in the dead-letter table and goes on",
                ),
            ],
            "then",
            default.then,
            cx,
            sink,
        ),
    }
}

/// Events of one handler or process manager become enum variants named after the event
/// alone and `on_<snake(event)>` methods, so two events with one name (from two contexts),
/// or with one snake_case name (`UrlSet`, `URLSet`), clash. `seen` maps that snake_case name
/// to the event's name and `context.Event`.
fn refs(
    list: &[Name],
    seen: &mut HashMap<String, (String, String)>,
    owner: &str,
    cx: &Cx,
    sink: &mut Sink,
) -> Vec<EventRef> {
    let mut out = Vec::new();
    for n in list {
        let Some(r) = event_ref(n, cx, sink) else {
            continue;
        };
        let full = format!("{}.{}", r.context, r.name);
        let method = snake(&r.name);
        match seen.get(&method) {
            Some((_, prev)) if *prev == full => {
                sink.error(
                    cx.file,
                    n.loc,
                    format!("event `{}` is listed twice in {owner}", n.text),
                );
            }
            Some((name, prev)) if *name == r.name => {
                sink.error(cx.file, n.loc, format!("{owner} handles two events named `{}` (`{prev}` and `{full}`)", r.name))
                    .hint("its generated enum variants and `on_` methods are named after the event alone; split it in two");
            }
            Some((_, prev)) => {
                sink.error(
                    cx.file,
                    n.loc,
                    format!(
                        "events `{prev}` and `{full}` of {owner} would both get the method `on_{method}`"
                    ),
                )
                .hint("rename one of the events, or split the subscriber in two");
            }
            None => {
                seen.insert(method, (r.name.clone(), full));
                out.push(r);
            }
        }
    }
    out
}

pub(crate) fn check_handler(raw: &RawHandler, cx: &Cx, sink: &mut Sink) -> model::Handler {
    let owner = format!("handler `{}`", raw.name.text);
    let subscribes = refs(&raw.subscribes, &mut HashMap::new(), &owner, cx, sink);
    model::Handler {
        name: raw.name.text.clone(),
        doc: raw.doc.clone(),
        subscribes,
        kind: choice(
            raw.kind.as_ref(),
            &[
                (
                    "effect",
                    HandlerKind::Effect,
                    "side effects, each event at least once",
                ),
                (
                    "projection",
                    HandlerKind::Projection,
                    "a read model written with the checkpoint, each event exactly once",
                ),
            ],
            "kind",
            HandlerKind::Effect,
            cx,
            sink,
        ),
        consistency: choice(
            raw.consistency.as_ref(),
            &[
                (
                    "strong",
                    Consistency::Strong,
                    "a dispatch returns once this handler has its events",
                ),
                (
                    "eventual",
                    Consistency::Eventual,
                    "a dispatch returns at once",
                ),
            ],
            "consistency",
            Consistency::Eventual,
            cx,
            sink,
        ),
        start_from: choice(
            raw.start_from.as_ref(),
            &[
                ("origin", StartFrom::Origin, "every stored event"),
                (
                    "current",
                    StartFrom::Current,
                    "only events stored from its first start on",
                ),
            ],
            "start_from",
            StartFrom::Origin,
            cx,
            sink,
        ),
        partitions: whole_in(
            raw.partitions.as_ref(),
            "partitions",
            MAX_PARTITIONS,
            1,
            "a handler runs in 1 to 256 partitions, split by a hash of the stream id; write e.g. `partitions: 4`",
            cx,
            sink,
        ),
        on_failure: failure_policy(raw.on_failure.as_ref(), cx, sink),
    }
}

pub(crate) fn check_process_manager(
    raw: &RawProcessManager,
    cx: &Cx,
    sink: &mut Sink,
) -> model::ProcessManager {
    let pm = &raw.name.text;
    let owner = format!("process manager `{pm}`");
    let mut seen = HashMap::new();
    let starts_on = refs(&raw.starts_on, &mut seen, &owner, cx, sink);
    let continues_on = refs(&raw.continues_on, &mut seen, &owner, cx, sink);
    let stops_on = refs(&raw.stops_on, &mut seen, &owner, cx, sink);
    let identity = raw
        .identity
        .as_ref()
        .map(|n| n.text.clone())
        .unwrap_or_default();
    let mut identity_type = IdentityType::String;
    if let Some(id) = &raw.identity {
        if let Some((msg, hint)) = super::names::check_snake(&id.text, "identity field") {
            sink.error(cx.file, id.loc, msg).hint_opt(hint);
        }
        let all = raw
            .starts_on
            .iter()
            .chain(&raw.continues_on)
            .chain(&raw.stops_on);
        // The identity keys the process instance: the generated code reads it as a string
        // (`String` or `Uuid`), and one type across events, so one instance sees them all.
        let mut first: Option<(String, &str)> = None;
        for n in all {
            let (ctx, ev) = split(n, cx);
            let Some(e) = cx.syms.contexts.get(ctx).and_then(|s| s.event(ev)) else {
                continue;
            };
            if let Some((_, ty)) = e.fields.iter().find(|(f, _)| *f == id.text) {
                if ty != "String" && ty != "Uuid" {
                    sink.error(
                        cx.file,
                        n.loc,
                        format!(
                            "field `{}` of event `{}` has type `{ty}`, but the identity of {owner} must be `String` or `Uuid`",
                            id.text, n.text
                        ),
                    )
                    .hint(format!("declare `{}` as `String` or `Uuid` in `{}`", id.text, n.text));
                } else if let Some((prev, prev_ty)) = &first {
                    if prev_ty != ty {
                        sink.error(
                            cx.file,
                            n.loc,
                            format!(
                                "field `{}` is `{ty}` in event `{}` but `{prev_ty}` in event `{prev}`; the identity of {owner} must have one type",
                                id.text, n.text
                            ),
                        )
                        .hint(format!("declare `{}` with the same type in every event {owner} handles", id.text));
                    }
                } else {
                    first = Some((n.text.clone(), ty.as_str()));
                    if ty == "Uuid" {
                        identity_type = IdentityType::Uuid;
                    }
                }
            } else {
                sink.error(
                    cx.file,
                    n.loc,
                    format!(
                        "event `{}` has no field `{}`, the identity of {owner}",
                        n.text, id.text
                    ),
                )
                .hint(format!(
                    "every event a process manager handles must carry its correlation field `{}`",
                    id.text
                ));
            }
        }
    }
    let mut dispatches: Vec<CommandRef> = Vec::new();
    let mut names: HashSet<String> = HashSet::new();
    for n in &raw.dispatches {
        let Some(r) = command_ref(n, cx, sink) else {
            continue;
        };
        if !names.insert(r.name.clone()) {
            sink.error(
                cx.file,
                n.loc,
                format!("{owner} dispatches two commands named `{}`", r.name),
            )
            .hint("each becomes a variant of its dispatch enum; list it once");
            continue;
        }
        dispatches.push(r);
    }
    let state = check_fields(
        &raw.state,
        Rules::Forbidden("process state is built from events"),
        &format!("the state of `{pm}`"),
        cx,
        sink,
    );
    model::ProcessManager {
        name: pm.clone(),
        doc: raw.doc.clone(),
        identity,
        identity_type,
        starts_on,
        continues_on,
        stops_on,
        dispatches,
        state,
        on_failure: failure_policy(raw.on_failure.as_ref(), cx, sink),
    }
}

/// Warns about events that no command emits and no process manager lists: nothing in the
/// schema ever produces them (a likely leftover).
pub(crate) fn warn_unused_events(contexts: &[model::Context], syms: &Symbols, sink: &mut Sink) {
    let mut used: HashSet<(String, String)> = HashSet::new();
    for c in contexts {
        for a in &c.aggregates {
            for cmd in &a.commands {
                for e in &cmd.emits {
                    used.insert((c.name.clone(), e.clone()));
                }
            }
        }
        for p in &c.process_managers {
            for r in p.starts_on.iter().chain(&p.continues_on).chain(&p.stops_on) {
                used.insert((r.context.clone(), r.name.clone()));
            }
        }
    }
    for (ctx, s) in &syms.contexts {
        for e in &s.events {
            if !used.contains(&(ctx.clone(), e.name.clone())) {
                sink.warning(
                    &s.file,
                    e.loc,
                    format!(
                        "event `{}` is emitted by no command and handled by no process manager",
                        e.name
                    ),
                )
                .hint("add it to a command's `emits`, or remove it if it is a leftover");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{BadDuration, parse_duration};

    #[test]
    fn durations_are_whole_numbers_with_a_unit() {
        assert_eq!(parse_duration("0ms"), Ok(0));
        assert_eq!(parse_duration("250ms"), Ok(250));
        assert_eq!(parse_duration("2s"), Ok(2_000));
        assert_eq!(parse_duration("1m"), Ok(60_000));
        assert_eq!(parse_duration("60m"), Ok(3_600_000));
        assert_eq!(parse_duration("3600s"), Ok(3_600_000));
        assert_eq!(parse_duration("3600000ms"), Ok(3_600_000));
        for bad in [
            "", "5", "ms", "s", "1.5s", "2h", "fast", "-1s", "+1s", " 1s", "1 s", "1S", "1sec",
            "1mss", "1e3ms", "½s",
        ] {
            assert_eq!(parse_duration(bad), Err(BadDuration::Malformed), "{bad:?}");
        }
        for long in [
            "61m",
            "3601s",
            "3600001ms",
            "99999999999999999999999s",
            "18446744073709551615m",
        ] {
            assert_eq!(parse_duration(long), Err(BadDuration::TooLong), "{long:?}");
        }
    }
}
