//! Validation rules: each must fit its field's type (for `Option<T>`, the rule applies to
//! `T` when present), and its values must make sense (bounds in range, min <= max, regexes
//! that compile).

use std::path::Path;

use serde_json::Number;

use super::types::{Decls, fits, is_integer, show, to_json};
use crate::diag::Sink;
use crate::model::{Rule, TypeRef};
use crate::raw::{Num, RawRule, RawRuleKind, Value};

/// Checks the rules of one field of type `ty`; returns the rules that are valid.
pub(crate) fn check_rules(
    rules: &[RawRule],
    ty: &TypeRef,
    field: &str,
    ctx: &str,
    decls: &Decls,
    file: &Path,
    sink: &mut Sink,
) -> Vec<Rule> {
    let (optional, base) = match ty {
        TypeRef::Option(inner) => (true, inner.as_ref()),
        other => (false, other),
    };
    let shown = show(base, ctx);
    let full = show(ty, ctx);
    let mut out = Vec::new();
    for rule in rules {
        let loc = rule.loc;
        let cannot = |name: &str, needs: &str, sink: &mut Sink| {
            let of = if optional {
                format!("`{full}` (the rule applies to its `{shown}` value)")
            } else {
                format!("`{shown}`")
            };
            sink.error(
                file,
                loc,
                format!("`{name}` cannot apply to field `{field}` of type {of}"),
            )
            .hint(format!("`{name}` applies to {needs}"));
        };
        match &rule.kind {
            RawRuleKind::Required => {
                if optional || matches!(base, TypeRef::String | TypeRef::Vec(_) | TypeRef::Map(_)) {
                    out.push(Rule::Required);
                } else {
                    sink.error(file, loc, format!("`required` cannot apply to field `{field}` of type `{shown}`: it always has a value"))
                        .hint(format!("make the field `Option<{shown}>` if it may be missing, or remove the rule"));
                }
            }
            RawRuleKind::Email => {
                if matches!(base, TypeRef::String) {
                    out.push(Rule::Email);
                } else {
                    cannot("email", "String fields", sink);
                }
            }
            RawRuleKind::Pattern(p) => {
                if !matches!(base, TypeRef::String) {
                    cannot("pattern", "String fields", sink);
                    continue;
                }
                match regex::Regex::new(&p.text) {
                    Ok(_) => out.push(Rule::Pattern(p.text.clone())),
                    Err(e) => {
                        let text = e.to_string();
                        let short = text
                            .lines()
                            .rev()
                            .find(|l| !l.trim().is_empty())
                            .unwrap_or("")
                            .trim();
                        let short = short.strip_prefix("error: ").unwrap_or(short);
                        sink.error(
                            file,
                            p.loc,
                            format!("`pattern` is not a valid regex: {short}"),
                        )
                        .hint(format!("the regex crate reports:\n{text}"));
                    }
                }
            }
            RawRuleKind::Custom(path) => match syn::parse_str::<syn::Path>(&path.text) {
                Ok(_) if !path.text.trim().is_empty() => {
                    out.push(Rule::Custom(path.text.trim().to_string()))
                }
                _ => {
                    sink.error(file, path.loc, format!("`custom` must be a Rust path to a function, found \"{}\"", path.text))
                        .hint("write e.g. `{ custom: rules::check_iban }` for `fn check_iban(value: &T) -> Result<(), String>` in your crate");
                }
            },
            RawRuleKind::OneOf(values) => {
                if !(matches!(base, TypeRef::String | TypeRef::Bool | TypeRef::F64)
                    || is_integer(base))
                {
                    cannot("one_of", "String, bool, integer and f64 fields", sink);
                    continue;
                }
                if values.is_empty() {
                    sink.error(file, loc, "`one_of` has no values")
                        .hint("list the allowed values: `{ one_of: [a, b] }`");
                    continue;
                }
                let mut ok = Vec::new();
                for v in values {
                    match to_json(v).and_then(|j| fits(&j, base, ctx, decls).map(|_| j)) {
                        Ok(j) => ok.push(j),
                        Err(e) => {
                            sink.error(
                                file,
                                v.loc,
                                format!("`one_of` value does not fit field `{field}`: {e}"),
                            );
                        }
                    }
                }
                if ok.len() == values.len() {
                    out.push(Rule::OneOf(ok));
                }
            }
            RawRuleKind::Range { min, max } => {
                let numeric = is_integer(base) || matches!(base, TypeRef::F64 | TypeRef::Decimal);
                if !numeric {
                    let name = if min.is_some() && max.is_none() {
                        "min"
                    } else if max.is_some() && min.is_none() {
                        "max"
                    } else {
                        "min/max"
                    };
                    let hint = if matches!(base, TypeRef::String | TypeRef::Vec(_)) {
                        "numbers (i32, i64, u32, u64, f64, Decimal); for the length of a string or list use `{ length: { min: N } }`"
                    } else {
                        "numbers (i32, i64, u32, u64, f64, Decimal)"
                    };
                    cannot(name, hint, sink);
                    continue;
                }
                let lo = min
                    .as_ref()
                    .map(|n| bound(n, base, field, "min", file, sink));
                let hi = max
                    .as_ref()
                    .map(|n| bound(n, base, field, "max", file, sink));
                let (Some(lo), Some(hi)) = (
                    lo.map_or(Some(None), |b| b.map(Some)),
                    hi.map_or(Some(None), |b| b.map(Some)),
                ) else {
                    continue;
                };
                if let (Some(a), Some(b), Some(m)) = (&lo, &hi, min)
                    && a.as_f64().unwrap_or(0.0) > b.as_f64().unwrap_or(0.0)
                {
                    sink.error(file, m.loc, format!("`min` ({a}) is greater than `max` ({b}): no value of `{field}` can pass"));
                    continue;
                }
                out.push(Rule::Range { min: lo, max: hi });
            }
            RawRuleKind::Length { min, max } => {
                if !matches!(base, TypeRef::String | TypeRef::Vec(_)) {
                    cannot(
                        "length",
                        "String (characters) and Vec (items) fields; for numbers use `{ min: N, max: N }`",
                        sink,
                    );
                    continue;
                }
                let lo = min.as_ref().map(|n| length(n, file, sink));
                let hi = max.as_ref().map(|n| length(n, file, sink));
                if lo.is_some_and(|b| b.is_none()) || hi.is_some_and(|b| b.is_none()) {
                    continue;
                }
                let (lo, hi) = (lo.flatten(), hi.flatten());
                if let (Some(a), Some(b), Some(m)) = (lo, hi, min)
                    && a > b
                {
                    sink.error(
                        file,
                        m.loc,
                        format!("`length` min ({a}) is greater than max ({b})"),
                    );
                    continue;
                }
                out.push(Rule::Length { min: lo, max: hi });
            }
        }
    }
    out
}

/// A numeric bound that the field's type can be compared with in generated code.
fn bound(
    n: &Num,
    ty: &TypeRef,
    field: &str,
    which: &str,
    file: &Path,
    sink: &mut Sink,
) -> Option<Number> {
    match &n.value {
        Value::Int(i) if is_integer(ty) => {
            let as_json = i64::try_from(*i)
                .map(Number::from)
                .or_else(|_| u64::try_from(*i).map(Number::from))
                .ok();
            let json = as_json.map(serde_json::Value::Number);
            match json.filter(|j| fits(j, ty, "", &Decls::new()).is_ok()) {
                Some(serde_json::Value::Number(num)) => Some(num),
                _ => {
                    sink.error(
                        file,
                        n.loc,
                        format!(
                            "`{which}: {i}` is out of range for field `{field}` of type `{}`",
                            show(ty, "")
                        ),
                    );
                    None
                }
            }
        }
        Value::Int(i) => i64::try_from(*i).ok().map(Number::from).or_else(|| {
            sink.error(file, n.loc, format!("`{which}: {i}` is too large"));
            None
        }),
        Value::Float(f) if !is_integer(ty) => Number::from_f64(*f).or_else(|| {
            sink.error(file, n.loc, format!("`{which}` must be a finite number"));
            None
        }),
        Value::Float(f) => {
            sink.error(
                file,
                n.loc,
                format!(
                    "`{which}: {f}` is not a whole number, but field `{field}` is `{}`",
                    show(ty, "")
                ),
            )
            .hint("integer fields take integer bounds");
            None
        }
        other => {
            sink.error(
                file,
                n.loc,
                format!("`{which}` must be a number, found {}", other.kind()),
            );
            None
        }
    }
}

fn length(n: &Num, file: &Path, sink: &mut Sink) -> Option<u64> {
    match &n.value {
        Value::Int(i) if *i >= 0 => u64::try_from(*i).ok(),
        other => {
            let found = match other {
                Value::Int(i) => format!("`{i}`"),
                Value::Float(f) => format!("`{f}`"),
                v => v.kind().to_string(),
            };
            sink.error(
                file,
                n.loc,
                format!("`length` must be a whole number >= 0, found {found}"),
            )
            .hint("write `{ length: 4 }` or `{ length: { min: 1, max: 80 } }`");
            None
        }
    }
}
