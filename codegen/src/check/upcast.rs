//! Event versions and upcast chains.
//!
//! Only the current shape of an event is declared; older shapes exist only implicitly, in
//! the upcast steps. "Every stored version is reachable to the current shape" therefore
//! means the following, and nothing more can be checked:
//!
//! 1. The chain is complete: a step `from: N` for every N in `1..version`, exactly once,
//!    oldest first, none at or beyond `version`.
//! 2. Working backwards from the current fields, we derive the fields each older version
//!    must have had: the shape after step N is known, and undoing the step's operations in
//!    reverse order (convert, adds, removes, renames) gives the shape before it. A field a
//!    later step removes or renames is part of the shape before that step, with an
//!    unknown type. Then, for each step:
//!    - `add: {f: v}`: `f` must exist after the step (a current field, or one a later step
//!      renames or removes); `v` must fit its type when known;
//!    - `rename: {a: b}`: `b` must exist after the step, and `a` must not (the step moves
//!      it away); `b`'s type carries back to `a`;
//!    - `remove: [f]`: `f` must NOT exist after the step, unless the same step adds it back
//!      (that is, a current field that no later step re-adds cannot be removed).
//! 3. `convert: path` is opaque: the user function may produce any shape. Before a convert,
//!    nothing is known, so the checks of point 2 stop at the newest convert.
//!
//! What cannot be checked: a field that appeared in the current version without any step
//! adding it. The old payloads are not declared, so we trust that each field not
//! introduced by a step was there all along (give such a field a `default:` if not).

use std::collections::{BTreeMap, BTreeSet};

use super::Cx;
use super::types::{fits, show, to_json};
use crate::diag::Sink;
use crate::model::{Field, TypeRef, UpcastOp, UpcastStep};
use crate::raw::RawEvent;

/// Returns the event's version and its checked steps, ordered by `from`.
pub(crate) fn check_upcasts(
    raw: &RawEvent,
    fields: &[Field],
    cx: &Cx,
    sink: &mut Sink,
) -> (u32, Vec<UpcastStep>) {
    let event = &raw.name.text;
    let version = raw.version.map_or(1, |(v, _)| v);
    let version_loc = raw.version.map_or(raw.name.loc, |(_, l)| l);

    // 1. The chain.
    let mut seen = BTreeSet::new();
    let mut newest: Option<i128> = None;
    let mut sound = true;
    for step in &raw.upcast {
        let Some((from, loc)) = step.from else {
            sound = false;
            continue;
        };
        if from < 1 {
            sink.error(cx.file, loc, "`from: 0`: versions start at 1")
                .hint("the oldest step is `from: 1`");
            sound = false;
        } else if from >= i128::from(version) {
            sink.error(cx.file, loc, format!(
                "step `from: {from}` upgrades version {from} to {}, but event `{event}` is at version {version}", from.saturating_add(1)
            ))
            .hint(if from == i128::from(version) {
                format!("raise the event's `version:` to {}, or remove this step", from.saturating_add(1))
            } else {
                "steps run from 1 up to the event's version minus 1".to_string()
            });
            sound = false;
        } else if seen.contains(&from) {
            sink.error(
                cx.file,
                loc,
                format!("a second step `from: {from}`; each stored version has exactly one step"),
            )
            .hint("merge the two steps: one step may hold several operations");
            sound = false;
        } else if let Some(prev) = newest.filter(|p| from < *p) {
            sink.error(
                cx.file,
                loc,
                format!("step `from: {from}` comes after step `from: {prev}`"),
            )
            .hint("list the steps oldest first");
            sound = false;
        }
        if from >= 1 {
            seen.insert(from);
            newest = newest.max(Some(from));
        }
    }
    // Gaps in 1..version, as ranges (a huge `version:` must not mean a huge loop).
    let mut missing: Vec<(u32, u32)> = Vec::new();
    let mut next = 1u32;
    for &from in seen.iter().filter(|f| **f < i128::from(version)) {
        let from = u32::try_from(from).unwrap_or(u32::MAX);
        if from > next {
            missing.push((next, from - 1));
        }
        next = from.saturating_add(1);
    }
    if next < version {
        missing.push((next, version - 1));
    }
    if let Some(&(first, _)) = missing.first() {
        let count: u64 = missing.iter().map(|(a, b)| u64::from(b - a) + 1).sum();
        let which = missing
            .iter()
            .map(|(a, b)| match b - a {
                0 => a.to_string(),
                1 => format!("{a}, {b}"),
                _ => format!("{a} to {b}"),
            })
            .collect::<Vec<_>>()
            .join(", ");
        let plural = if count == 1 { "" } else { "s" };
        sink.error(cx.file, version_loc, format!(
            "event `{event}` is at version {version} but has no upcast step{plural} `from: {which}`; stored events of th{} version{plural} could not be read",
            if count == 1 { "at" } else { "ose" }
        ))
        .hint(format!("add `upcast: [{{ from: {first}, ... }}]` saying what changed since (`rename: {{ old: new }}`, `add: {{ field: default }}`, `remove: [field]`), one step per older version, oldest first"));
        sound = false;
    }

    // Convert paths, and the step list for the model.
    let mut steps = Vec::new();
    for step in &raw.upcast {
        let mut ops = Vec::new();
        ops.extend(step.renames.iter().map(|(a, b)| UpcastOp::Rename {
            from: a.text.clone(),
            to: b.text.clone(),
        }));
        ops.extend(
            step.removes
                .iter()
                .map(|f| UpcastOp::Remove(f.text.clone())),
        );
        for (f, node) in &step.adds {
            match to_json(node) {
                Ok(value) => ops.push(UpcastOp::Add {
                    field: f.text.clone(),
                    value,
                }),
                Err(e) => {
                    sink.error(
                        cx.file,
                        node.loc,
                        format!("invalid value for `add: {}`: {e}", f.text),
                    );
                }
            }
        }
        if let Some(c) = &step.convert {
            if c.text.trim().is_empty() || syn::parse_str::<syn::Path>(&c.text).is_err() {
                sink.error(cx.file, c.loc, format!("`convert` must be a Rust path to a function, found \"{}\"", c.text))
                    .hint("write e.g. `convert: upcasts::split_name` for `fn split_name(data: Value) -> Result<Value, String>`");
            } else {
                ops.push(UpcastOp::Convert(c.text.trim().to_string()));
            }
        }
        let from = step
            .from
            .and_then(|(f, _)| u32::try_from(f).ok())
            .unwrap_or(0);
        steps.push(UpcastStep { from, ops });
    }
    if !sound {
        return (version, steps);
    }

    // 2. Backwards from the current shape. `None` = unknown (before a convert).
    let mut shape: Option<BTreeMap<String, Option<TypeRef>>> = Some(
        fields
            .iter()
            .map(|f| (f.name.clone(), Some(f.ty.clone())))
            .collect(),
    );
    for step in raw.upcast.iter().rev() {
        let n = step.from.map_or(0, |(f, _)| f);
        let after = format!("version {}", n.saturating_add(1));
        if step.convert.is_some() {
            shape = None;
        }
        let Some(s) = shape.as_mut() else { continue };
        // Within a step renames run first, then `add` fills only what is still missing, so
        // `rename: { name: full_name }` with `add: { full_name: "" }` means "the old value
        // if there was one, else the default": the rename below may target an added field.
        let mut added: BTreeMap<String, Option<TypeRef>> = BTreeMap::new();
        for (f, node) in &step.adds {
            let removed = s.remove(&f.text);
            if let Some(ty) = &removed {
                added.insert(f.text.clone(), ty.clone());
            }
            match removed {
                None => {
                    sink.error(cx.file, f.loc, format!(
                        "step `from: {n}` adds `{}`, which is not a field of `{event}` and no later step renames or removes it", f.text
                    ))
                    .hint_opt(super::suggest(&f.text, s.keys().map(String::as_str)).or_else(|| Some(format!("add `{}` to the fields of `{event}`", f.text))));
                }
                Some(Some(ty)) => {
                    if let Ok(value) = to_json(node)
                        && let Err(e) = fits(&value, &ty, cx.ctx, cx.decls)
                    {
                        sink.error(
                            cx.file,
                            node.loc,
                            format!(
                                "the value added for `{}` does not fit its type `{}`: {e}",
                                f.text,
                                show(&ty, cx.ctx)
                            ),
                        );
                    }
                }
                Some(None) => {}
            }
        }
        for f in &step.removes {
            if s.contains_key(&f.text) {
                sink.error(cx.file, f.loc, format!(
                    "step `from: {n}` removes `{}`, but {after} still has it: it is a field of `{event}` or a later step uses it, and nothing adds it back", f.text
                ))
                .hint(format!("to reset it, also `add` it in this step; otherwise drop the removal of `{}`", f.text));
            } else {
                s.insert(f.text.clone(), None);
            }
        }
        for (old, new) in step.renames.iter().rev() {
            match s.remove(&new.text).or_else(|| added.remove(&new.text)) {
                None => {
                    sink.error(cx.file, new.loc, format!(
                        "step `from: {n}` renames `{}` to `{}`, which is not a field of `{event}` and no later step renames or removes it", old.text, new.text
                    ))
                    .hint_opt(super::suggest(&new.text, s.keys().map(String::as_str)));
                }
                Some(ty) => {
                    if s.contains_key(&old.text) {
                        sink.error(cx.file, old.loc, format!(
                            "step `from: {n}` renames `{}` away, but {after} still has a field `{}`", old.text, old.text
                        ))
                        .hint(format!("also `add` `{}` in this step, or rename a different field", old.text));
                    } else {
                        s.insert(old.text.clone(), ty);
                    }
                }
            }
        }
    }
    (version, steps)
}
