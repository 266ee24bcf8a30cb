//! Schema evolution against the lock: can every event that may be stored still be read?
//!
//! Each locked version of an event is *simulated*: its locked shape is run through the
//! current upcast chain, step by step as the runtime runs them (renames, removes, adds,
//! convert), and what arrives must read as the current type. The locked version that is
//! still current must not have changed at all, and the locked steps must be the same steps.
//! Every violation names its rule id (the table is [`RULES`]), points into the YAML (a
//! deletion at its parent) and names the lock entry. `exceptions:` in the lock allows one
//! rule for one event, with a reason.
//!
//! Runs only on a schema with no other error, so the model is complete (a skipped item
//! would look deleted).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use super::Loaded;
use crate::diag::Sink;
use crate::lock::shape::{self, FieldShape, Shape, Ty, widens};
use crate::lock::{Lock, LockedEvent};
use crate::model::{self, Event, TypeDef, UpcastOp};
use crate::raw::{Loc, RawEvent, RawField, RawTypeBody};

/// Every rule, with what it refuses: the README's table comes from this list.
pub const RULES: &[(&str, &str)] = &[
    (
        "event-deleted",
        "a locked event type is gone, and no event lists it in `renamed_from`",
    ),
    (
        "event-moved",
        "a locked event type now belongs to another aggregate (its stored events are in the old one's streams)",
    ),
    (
        "renamed-from-removed",
        "an old name was dropped from `renamed_from`",
    ),
    (
        "version-lowered",
        "an event's version is below a version already locked",
    ),
    (
        "version-edited",
        "a locked version's fields changed without a version bump",
    ),
    (
        "upcast-changed",
        "the upcast step of a locked version changed",
    ),
    (
        "field-removed",
        "a field of a locked version is dropped without a `remove` step",
    ),
    (
        "field-renamed",
        "a field of a locked version is renamed without a `rename` step",
    ),
    (
        "field-missing",
        "a required field is absent from a locked version, and no step adds it and it has no default",
    ),
    (
        "type-changed",
        "a field's type changed outside the widening table",
    ),
    (
        "made-required",
        "an optional field became required (stored events hold `null` for it)",
    ),
    (
        "variant-removed",
        "a variant of an enum that stored events contain was removed",
    ),
];

/// Where things are in the YAML.
struct Places<'a> {
    events: HashMap<(String, String), (&'a Path, &'a RawEvent)>,
    aggregates: HashMap<(String, String), (&'a Path, Loc)>,
    types: HashMap<(String, String), (&'a Path, &'a crate::raw::RawType)>,
    files: HashMap<String, &'a Path>,
}

impl<'a> Places<'a> {
    fn new(loaded: &'a [Loaded]) -> Self {
        let mut p = Places {
            events: HashMap::new(),
            aggregates: HashMap::new(),
            types: HashMap::new(),
            files: HashMap::new(),
        };
        for l in loaded {
            p.files.insert(l.ctx.clone(), &l.file);
            for t in &l.raw.types {
                p.types
                    .insert((l.ctx.clone(), t.name.text.clone()), (&l.file, t));
            }
            for a in &l.raw.aggregates {
                p.aggregates
                    .insert((l.ctx.clone(), a.name.text.clone()), (&l.file, a.name.loc));
                for e in &a.events {
                    p.events
                        .insert((l.ctx.clone(), e.name.text.clone()), (&l.file, e));
                }
            }
        }
        p
    }
}

/// One violation before exceptions are applied.
struct Violation<'a> {
    rule: &'static str,
    /// `context.Event` or `context.Type`: what an exception names.
    subject: String,
    file: &'a Path,
    loc: Loc,
    message: String,
    hint: Option<String>,
}

/// Compares the checked contexts with the lock; reports into `sink`.
pub(crate) fn check(loaded: &[Loaded], contexts: &[model::Context], lock: &Lock, sink: &mut Sink) {
    let places = Places::new(loaded);
    let mut found: Vec<Violation> = Vec::new();
    let mut claimed: BTreeSet<&str> = BTreeSet::new();

    for c in contexts {
        for a in &c.aggregates {
            for e in &a.events {
                let key = format!("{}.{}", c.name, e.name);
                let Some(&(file, raw)) = places.events.get(&(c.name.clone(), e.name.clone()))
                else {
                    continue;
                };
                let at = At {
                    ctx: &c.name,
                    key: key.clone(),
                    file,
                    raw,
                    lock,
                };
                // The entry under the current name and those under old names: stored
                // events of an old name are read through this event's chain too.
                let mut entries: Vec<(&str, &LockedEvent)> = Vec::new();
                if let Some((k, entry)) = lock.file.events.get_key_value(&key) {
                    entries.push((k, entry));
                }
                for old in &e.renamed_from {
                    if let Some((k, entry)) =
                        lock.file.events.get_key_value(&format!("{}.{old}", c.name))
                    {
                        entries.push((k, entry));
                    }
                }
                for (name, entry) in entries {
                    claimed.insert(name);
                    at.event(e, &a.name, name, entry, &mut found);
                }
            }
        }
    }

    for (name, entry) in &lock.file.events {
        if claimed.contains(name.as_str()) {
            continue;
        }
        let (ctx, event) = name.split_once('.').unwrap_or(("", name));
        let (file, loc, parent) = match places
            .aggregates
            .get(&(ctx.to_string(), entry.aggregate.clone()))
        {
            Some(&(file, loc)) => (file, loc, format!("aggregate `{}`", entry.aggregate)),
            None => match places.files.get(ctx) {
                Some(file) => (*file, Loc::START, format!("context `{ctx}`")),
                None => (
                    lock.path.as_path(),
                    Loc {
                        line: lock.line_of(name).unwrap_or(1),
                        column: 3,
                    },
                    format!("the schemas (context `{ctx}` is gone too)"),
                ),
            },
        };
        found.push(Violation {
            rule: "event-deleted",
            subject: name.clone(),
            file,
            loc,
            message: format!(
                "event `{name}` is locked ({}) but {parent} no longer declares it; its stored events could not be read",
                lock.entry("events", name)
            ),
            hint: Some(format!(
                "keep the event; if it was renamed, list the old name in the new event: `renamed_from: [{event}]`"
            )),
        });
    }

    check_types(contexts, &places, lock, &mut found);
    apply_exceptions(found, lock, sink);
}

/// One current event and where it is.
struct At<'a> {
    ctx: &'a str,
    key: String,
    file: &'a Path,
    raw: &'a RawEvent,
    lock: &'a Lock,
}

impl<'a> At<'a> {
    fn field_loc(&self, name: &str) -> Option<&'a RawField> {
        self.raw.fields.iter().find(|f| f.name.text == name)
    }

    fn version_loc(&self) -> Loc {
        self.raw.version.map_or(self.raw.name.loc, |(_, l)| l)
    }

    fn violation(
        &self,
        rule: &'static str,
        loc: Loc,
        message: String,
        hint: String,
    ) -> Violation<'a> {
        Violation {
            rule,
            subject: self.key.clone(),
            file: self.file,
            loc,
            message,
            hint: Some(hint),
        }
    }

    fn event(
        &self,
        e: &Event,
        aggregate: &str,
        entry_name: &str,
        entry: &LockedEvent,
        out: &mut Vec<Violation<'a>>,
    ) {
        let here = self.lock.entry("events", entry_name);
        let stored = if entry_name == self.key {
            format!("`{}`", self.key)
        } else {
            format!("`{entry_name}` (now `{}`)", self.key)
        };
        if entry.aggregate != aggregate {
            out.push(self.violation(
                "event-moved",
                self.raw.name.loc,
                format!(
                    "event {stored} is locked in aggregate `{}` ({here}) but is now in `{aggregate}`; its stored events are in the streams of `{}`",
                    entry.aggregate, entry.aggregate
                ),
                format!("keep it in aggregate `{}`", entry.aggregate),
            ));
        }
        for old in &entry.renamed_from {
            if !e.renamed_from.contains(old) && old != &e.name {
                let loc = self
                    .raw
                    .renamed_from
                    .first()
                    .map_or(self.raw.name.loc, |n| n.loc);
                out.push(self.violation(
                    "renamed-from-removed",
                    loc,
                    format!(
                        "event `{}` no longer lists `{old}` in `renamed_from`, as locked ({here}); stored `{old}` events could not be read",
                        self.key
                    ),
                    format!("keep `renamed_from: [{old}]`"),
                ));
            }
        }
        if let Some((&newest, _)) = entry.versions.iter().next_back()
            && newest > e.version
        {
            out.push(self.violation(
                "version-lowered",
                self.version_loc(),
                format!(
                    "event {stored} is at version {} but version {newest} is locked ({here}); stored version-{newest} events would be refused as from the future",
                    e.version
                ),
                format!("set `version: {newest}` (or higher) again"),
            ));
            return;
        }
        // Upcast steps of locked versions.
        for step in &e.upcasts {
            if let Some(locked) = entry.upcast.get(&step.from) {
                let now = shape::step_text(step);
                if &now != locked {
                    let loc = self
                        .raw
                        .upcast
                        .iter()
                        .find_map(|s| s.from.filter(|(f, _)| *f == i128::from(step.from)))
                        .map_or(self.raw.name.loc, |(_, l)| l);
                    out.push(self.violation(
                        "upcast-changed",
                        loc,
                        format!(
                            "the upcast step `from: {}` of {stored} changed: locked as `{locked}` ({here}), now `{now}`; version-{} events already read (and projected) the old way",
                            step.from, step.from
                        ),
                        format!(
                            "restore the step; to change what version {} becomes, raise the version and add a new step",
                            step.from
                        ),
                    ));
                }
            }
        }
        let current = shape::current_shape(e, self.ctx);
        // Problems per (rule, field), with the versions that have them.
        let mut problems: BTreeMap<(&'static str, String), Problem> = BTreeMap::new();
        for (&v, locked) in &entry.versions {
            let Some(mut s) = locked.shape() else {
                continue; // older than a `convert`: its shape is not known
            };
            if v == e.version && !locked.derived {
                if s != current {
                    let (loc, what) = self.edits(&s, &current);
                    out.push(self.violation(
                        "version-edited",
                        loc,
                        format!(
                            "version {v} of {stored} is locked ({here}) and was changed in place: {what}; stored version-{v} events have the locked shape"
                        ),
                        format!(
                            "raise `version:` to {} and add an upcast step `from: {v}` that turns the locked shape into the new one",
                            v.saturating_add(1)
                        ),
                    ));
                }
                continue;
            }
            let mut trusted = false;
            for step in e.upcasts.iter().filter(|s| s.from >= v) {
                if !run_step(&step.ops, &mut s, &current) {
                    trusted = true; // a `convert`: the user function owns the shape
                    break;
                }
            }
            if trusted {
                continue;
            }
            let mut missing: Vec<&str> = Vec::new();
            for f in &e.fields {
                let to = Ty::of(&f.ty, self.ctx);
                match s.remove(&f.name) {
                    Some(had) => {
                        let from = Ty::parse(&had.ty, self.ctx);
                        let ty_loc = self
                            .field_loc(&f.name)
                            .map_or(self.raw.name.loc, |r| r.ty.loc);
                        let rule = shape::type_rule(&from, &to);
                        if rule == Some("made-required") {
                            problems
                                .entry(("made-required", f.name.clone()))
                                .or_insert_with(|| {
                                    Problem::new(ty_loc, format!(
                                            "field `{}` was `{}` and is now `{}`",
                                            f.name,
                                            had.ty,
                                            f.ty.schema_text(self.ctx)
                                        ), format!(
                                            "keep it `{}`; stored events hold `null` where it was absent, which no default replaces (a `convert` step can)",
                                            had.ty
                                        ))
                                })
                                .versions
                                .push(v);
                        } else if rule == Some("type-changed") {
                            problems
                                .entry(("type-changed", f.name.clone()))
                                .or_insert_with(|| {
                                    Problem::new(ty_loc, format!(
                                            "field `{}` was `{}` and is now `{}`, which not every stored value fits",
                                            f.name,
                                            had.ty,
                                            f.ty.schema_text(self.ctx)
                                        ), "keep the type, widen it (i32 -> i64, T -> Option<T>, ...), or add a new field and a `convert` step".to_string())
                                })
                                .versions
                                .push(v);
                        }
                    }
                    None if f.default.is_none() && !to.is_option() => missing.push(&f.name),
                    None => {}
                }
            }
            let newest_step = e.version.saturating_sub(1);
            // What is left was in the stored payload and is not in the current type.
            let gone: Vec<(String, FieldShape)> = s.into_iter().collect();
            let mut renamed: BTreeSet<String> = BTreeSet::new();
            for m in &missing {
                let Some(f) = e.fields.iter().find(|f| f.name == *m) else {
                    continue;
                };
                let to = Ty::of(&f.ty, self.ctx);
                let candidate = gone.iter().find(|(g, sh)| {
                    !renamed.contains(g) && widens(&Ty::parse(&sh.ty, self.ctx), &to)
                });
                let loc = self.field_loc(m).map_or(self.raw.name.loc, |r| r.name.loc);
                if let Some((old, _)) = candidate {
                    renamed.insert(old.clone());
                    problems
                        .entry(("field-renamed", (*m).to_string()))
                        .or_insert_with(|| {
                            Problem::new(loc, format!(
                                    "field `{old}` is gone and `{m}` is new and required: it looks renamed, but no step renames it"
                                ), if newest_step >= 1 {
                                    format!("add `rename: {{ {old}: {m} }}` to the step `from: {newest_step}`")
                                } else {
                                    format!("raise the version and add a step `{{ from: {}, rename: {{ {old}: {m} }} }}`", e.version)
                                })
                        })
                        .versions
                        .push(v);
                } else {
                    problems
                        .entry(("field-missing", (*m).to_string()))
                        .or_insert_with(|| {
                            Problem::new(loc, format!(
                                    "field `{m}` is required, but stored events lack it and no step adds it"
                                ), if newest_step >= 1 {
                                    format!("add `add: {{ {m}: <value> }}` to the step `from: {newest_step}`, give the field a `default:`, or make it an Option")
                                } else {
                                    format!("give the field a `default:`, make it an Option, or raise the version with a step `{{ from: {}, add: {{ {m}: <value> }} }}`", e.version)
                                })
                        })
                        .versions
                        .push(v);
                }
            }
            for (g, _) in gone.iter().filter(|(g, _)| !renamed.contains(g)) {
                problems
                    .entry(("field-removed", g.clone()))
                    .or_insert_with(|| {
                        Problem::new(
                            self.raw.name.loc,
                            format!(
                                "field `{g}` of the stored events is dropped without a step saying so"
                            ),
                            if newest_step >= 1 {
                                format!("add `remove: [{g}]` to the step `from: {newest_step}` (or `rename` it to a current field)")
                            } else {
                                format!("keep the field, or raise the version with a step `{{ from: {}, remove: [{g}] }}`", e.version)
                            },
                        )
                    })
                    .versions
                    .push(v);
            }
        }
        for (
            (rule, _),
            Problem {
                versions,
                loc,
                what,
                hint,
            },
        ) in problems
        {
            let vs = versions
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(", ");
            let plural = if versions.len() == 1 { "" } else { "s" };
            out.push(self.violation(
                rule,
                loc,
                format!(
                    "{stored}: stored version{plural} {vs} ({here}) would not read as version {}: {what}",
                    e.version
                ),
                hint,
            ));
        }
    }

    /// Where a version edited in place changed, and in what, for the message.
    fn edits(&self, locked: &Shape, now: &Shape) -> (Loc, String) {
        let mut what = Vec::new();
        let mut loc = None;
        for (name, f) in now {
            let at = self.field_loc(name);
            match locked.get(name) {
                None => {
                    what.push(format!("field `{name}` added"));
                    loc = loc.or(at.map(|r| r.name.loc));
                }
                Some(old) if old.ty != f.ty => {
                    what.push(format!("`{name}` was `{}`, now `{}`", old.ty, f.ty));
                    loc = loc.or(at.map(|r| r.ty.loc));
                }
                Some(old) if old.default != f.default => {
                    what.push(format!("the default of `{name}` changed"));
                    loc = loc.or(at
                        .and_then(|r| r.default.as_ref().map(|d| d.loc))
                        .or(at.map(|r| r.name.loc)));
                }
                Some(_) => {}
            }
        }
        for name in locked.keys().filter(|n| !now.contains_key(*n)) {
            what.push(format!("field `{name}` removed"));
        }
        (loc.unwrap_or(self.raw.name.loc), what.join(", "))
    }
}

/// One problem of one field, with the locked versions that have it.
struct Problem {
    versions: Vec<u32>,
    loc: Loc,
    what: String,
    hint: String,
}

impl Problem {
    fn new(loc: Loc, what: String, hint: String) -> Self {
        Problem {
            versions: Vec::new(),
            loc,
            what,
            hint,
        }
    }
}

/// Runs one step on a stored shape, as the runtime does; `false` at a `convert`.
fn run_step(ops: &[UpcastOp], s: &mut Shape, current: &Shape) -> bool {
    for op in ops {
        match op {
            UpcastOp::Rename { from, to } => {
                if let Some(f) = s.remove(from) {
                    s.insert(to.clone(), f);
                }
            }
            UpcastOp::Remove(f) => {
                s.remove(f);
            }
            UpcastOp::Add { field, .. } => {
                if !s.contains_key(field) {
                    // The checker made sure the value fits the field's type.
                    let ty = current
                        .get(field)
                        .map_or(shape::UNKNOWN.to_string(), |f| f.ty.clone());
                    s.insert(field.clone(), FieldShape { ty, default: None });
                }
            }
            UpcastOp::Convert(_) => return false,
        }
    }
    true
}

/// Declared types inside stored events change in place (they have no versions): only
/// changes every stored value survives are allowed.
fn check_types<'a>(
    contexts: &[model::Context],
    places: &Places<'a>,
    lock: &Lock,
    out: &mut Vec<Violation<'a>>,
) {
    for c in contexts {
        for t in &c.types {
            let name = format!("{}.{}", c.name, t.name());
            let Some(locked) = lock.file.types.get(&name) else {
                continue;
            };
            let Some(&(file, raw)) = places.types.get(&(c.name.clone(), t.name().to_string()))
            else {
                continue;
            };
            let here = lock.entry("types", &name);
            let mut push = |rule: &'static str, loc: Loc, message: String, hint: &str| {
                out.push(Violation {
                    rule,
                    subject: name.clone(),
                    file,
                    loc,
                    message,
                    hint: Some(hint.to_string()),
                });
            };
            match (t, locked.variants.as_ref(), locked.fields.as_ref()) {
                (TypeDef::Enum { variants, .. }, Some(old), _) => {
                    for v in old.iter().filter(|v| !variants.contains(v)) {
                        push(
                            "variant-removed",
                            raw.name.loc,
                            format!(
                                "variant `{v}` of `{name}` is locked ({here}) and was removed; stored events may hold it"
                            ),
                            "keep the variant (a new one can be added)",
                        );
                    }
                }
                (TypeDef::Struct { fields, .. }, _, Some(old)) => {
                    let raw_fields = match &raw.body {
                        RawTypeBody::Struct(f) => f.as_slice(),
                        RawTypeBody::Enum(_) => &[],
                    };
                    let at = |n: &str| raw_fields.iter().find(|r| r.name.text == n);
                    for f in fields {
                        let to = Ty::of(&f.ty, &c.name);
                        match old.get(&f.name) {
                            None if f.default.is_none() && !to.is_option() => push(
                                "field-missing",
                                at(&f.name).map_or(raw.name.loc, |r| r.name.loc),
                                format!(
                                    "field `{}` of `{name}` is new and required, but the stored values of the type ({here}) lack it",
                                    f.name
                                ),
                                "give it a `default:` or make it an Option",
                            ),
                            None => {}
                            Some(had) => {
                                let had = had.shape();
                                let from = Ty::parse(&had.ty, &c.name);
                                if let Some(rule) = shape::type_rule(&from, &to) {
                                    push(
                                        rule,
                                        at(&f.name).map_or(raw.name.loc, |r| r.ty.loc),
                                        format!(
                                            "field `{}` of `{name}` was `{}` ({here}) and is now `{}`, which not every stored value fits",
                                            f.name,
                                            had.ty,
                                            f.ty.schema_text(&c.name)
                                        ),
                                        "keep the type or widen it (i32 -> i64, T -> Option<T>, ...)",
                                    );
                                }
                            }
                        }
                    }
                    for gone in old.keys().filter(|k| !fields.iter().any(|f| &f.name == *k)) {
                        push(
                            "field-removed",
                            raw.name.loc,
                            format!(
                                "field `{gone}` of `{name}` is locked ({here}) and was removed; the values stored in events would lose it"
                            ),
                            "keep the field; declared types have no upcast steps",
                        );
                    }
                }
                _ => push(
                    "type-changed",
                    raw.name.loc,
                    format!(
                        "`{name}` changed between an enum and a struct ({here}); stored values are of the locked kind"
                    ),
                    "keep its kind; declare a new type for the new shape",
                ),
            }
        }
    }
}

/// Reports what no exception allows; checks the exceptions themselves.
fn apply_exceptions(found: Vec<Violation>, lock: &Lock, sink: &mut Sink) {
    let mut used: BTreeSet<(String, String)> = BTreeSet::new();
    let allowed: BTreeSet<(String, String)> = lock
        .file
        .exceptions
        .iter()
        .filter(|x| {
            x.reason
                .as_ref()
                .is_some_and(|r| !r.value.trim().is_empty())
        })
        .map(|x| (x.rule.value.clone(), x.event.value.clone()))
        .collect();
    for v in found {
        let key = (v.rule.to_string(), v.subject.clone());
        if allowed.contains(&key) {
            used.insert(key);
            continue;
        }
        let d = sink.error(v.file, v.loc, v.message);
        d.code = Some(v.rule.to_string());
        d.hint_opt(v.hint.map(|h| {
                format!(
                    "{h}; or, if no such event was ever stored, add to {}: `- {{ rule: {}, event: {}, reason: \"...\" }}` under `exceptions:`",
                    lock.path.display(),
                    v.rule,
                    v.subject
                )
            }));
    }
    for x in &lock.file.exceptions {
        let loc = |l: &serde_saphyr::Location| Loc {
            line: (l.line() as usize).max(1),
            column: (l.column() as usize).max(1),
        };
        if !RULES.iter().any(|(id, _)| *id == x.rule.value) {
            sink.error(
                &lock.path,
                loc(&x.rule.referenced),
                format!("exception for unknown rule `{}`", x.rule.value),
            )
            .hint_opt(
                super::suggest(&x.rule.value, RULES.iter().map(|(id, _)| *id)).or_else(|| {
                    Some(format!(
                        "the rules are {}",
                        RULES
                            .iter()
                            .map(|(id, _)| format!("`{id}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))
                }),
            );
            continue;
        }
        match &x.reason {
            Some(r) if !r.value.trim().is_empty() => {
                if !used.contains(&(x.rule.value.clone(), x.event.value.clone())) {
                    sink.warning(
                        &lock.path,
                        loc(&x.event.referenced),
                        format!(
                            "the exception for rule `{}` on `{}` is not needed any more",
                            x.rule.value, x.event.value
                        ),
                    )
                    .hint("remove it from the lock file");
                }
            }
            _ => {
                sink.error(
                    &lock.path,
                    loc(&x.rule.referenced),
                    format!(
                        "the exception for rule `{}` on `{}` has no reason",
                        x.rule.value, x.event.value
                    ),
                )
                .hint("write why breaking the rule is safe: `reason: \"...\"` (reviewers read it in the diff)");
            }
        }
    }
}

/// A warning when the schemas have events, versions or types the lock does not have yet:
/// they are allowed, but only `eskema lock` makes them part of the checked history.
pub(crate) fn warn_unlocked(contexts: &[model::Context], lock: &Lock, sink: &mut Sink) {
    let next = crate::lock::updated(contexts, Some(&lock.file));
    let mut new: Vec<String> = Vec::new();
    for (name, e) in &next.events {
        match lock.file.events.get(name) {
            None => new.push(format!("event `{name}`")),
            Some(old) => {
                for v in e.versions.keys().filter(|v| !old.versions.contains_key(v)) {
                    new.push(format!("`{name}` version {v}"));
                }
                if e.renamed_from != old.renamed_from {
                    new.push(format!("`{name}`'s old names"));
                }
            }
        }
    }
    for (name, t) in &next.types {
        if lock.file.types.get(name) != Some(t) {
            new.push(format!("type `{name}` as it is now"));
        }
    }
    if new.is_empty() {
        return;
    }
    let shown = new.len().min(5);
    let more = if new.len() > shown {
        format!(" and {} more", new.len() - shown)
    } else {
        String::new()
    };
    sink.warning(
        &lock.path,
        Loc::START,
        format!(
            "the lock does not have {}{more} yet",
            new[..shown].join(", ")
        ),
    )
    .hint("run `eskema lock <schemas>` and commit the lock before these events are stored");
}
