//! `Validate` impls: every rule of every field, collecting all violations.

use std::collections::HashSet;

use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote};
use serde_json::{Number, Value};

use super::{Cx, doc_lines, ident, lit};
use crate::model::{Field, Rule, TypeDef, TypeRef, names, user_path};

/// The pattern statics and `impl ::eskema::Validate for <owner>`.
pub(crate) fn emit_impl(cx: &Cx, owner: &str, fields: &[Field]) -> TokenStream {
    let owner_id = ident(owner);
    let mut statics = Vec::new();
    let mut body = Vec::new();
    for f in fields {
        body.extend(field_checks(cx, owner, f, &mut statics));
    }
    let (prefix, errors) = if body.is_empty() {
        (quote!(_prefix), quote!(_errors))
    } else {
        (quote!(prefix), quote!(errors))
    };
    let doc = doc_lines(&format!(
        "Checks every rule of every field of `{owner}` (nested declared types included) and reports all violations."
    ));
    quote! {
        #(#statics)*
        #doc
        impl ::eskema::Validate for #owner_id {
            fn validate_into(&self, #prefix: &str, #errors: &mut ::eskema::ValidationErrors) {
                #(#body)*
            }
        }
    }
}

fn field_checks(
    cx: &Cx,
    owner: &str,
    f: &Field,
    statics: &mut Vec<TokenStream>,
) -> Vec<TokenStream> {
    let mut out = Vec::new();
    let fid = ident(&f.name);
    let path = format!("{{prefix}}{}", f.name);
    let path_lit = lit(&path);
    // `required` is about the field itself (Some / non-empty); every other rule is about
    // the value, which for an `Option` means the value when present.
    for rule in &f.rules {
        if let Rule::Required = rule {
            let (cond, msg) = match &f.ty {
                TypeRef::Option(_) => (quote!(self.#fid.is_none()), "is required"),
                _ => (quote!(self.#fid.is_empty()), "must not be empty"),
            };
            out.push(quote! {
                if #cond {
                    errors.push(format!(#path_lit), "required", #msg);
                }
            });
        }
    }
    let (inner, optional) = match &f.ty {
        TypeRef::Option(inner) => (inner.as_ref(), true),
        other => (other, false),
    };
    let patterns = f
        .rules
        .iter()
        .filter(|r| matches!(r, Rule::Pattern(_)))
        .count();
    let mut pattern_index = 0;
    let mut live = Vec::new();
    for rule in &f.rules {
        if let Rule::Required = rule {
            continue;
        }
        let pattern_static = if let Rule::Pattern(re) = rule {
            pattern_index += 1;
            // `__` between owner and field, as for default fns: `Foo`.`bar_baz` and
            // `FooBar`.`baz` must not share a static.
            let mut name = format!(
                "{}__{}_PATTERN",
                names::snake(owner).to_uppercase(),
                f.name.to_uppercase()
            );
            if patterns > 1 {
                name.push_str(&format!("_{pattern_index}"));
            }
            let id = format_ident!("{}", name);
            let re_lit = lit(re);
            let doc = doc_lines(&format!(
                "The `pattern` rule of `{owner}::{}`. eskema-codegen compiled this regex when it generated the code, so the `expect` cannot fire.",
                f.name
            ));
            statics.push(quote! {
                #doc
                static #id: ::eskema::__private::LazyLock<::eskema::__private::Regex> =
                    ::eskema::__private::LazyLock::new(|| {
                        ::eskema::__private::Regex::new(#re_lit).expect("pattern checked by eskema-codegen")
                    });
            });
            Some(id)
        } else {
            None
        };
        live.push((rule, pattern_static));
    }
    // A vacuous rule (`min: 0` on a `u64`) generates nothing. A lone check inside
    // `if let Some(value)` takes its bound form (see `rule_check`).
    let checks: Vec<TokenStream> = {
        let gen_all = |bind: bool| -> Vec<TokenStream> {
            live.iter()
                .map(|(rule, pat)| {
                    rule_check(cx, rule, inner, quote!(value), &path, pat.as_ref(), bind)
                })
                .filter(|c| !c.is_empty())
                .collect()
        };
        let first = gen_all(false);
        if optional && first.len() == 1 {
            gen_all(true)
        } else {
            first
        }
    };
    if !checks.is_empty() {
        if optional {
            out.push(quote! {
                if let Some(value) = &self.#fid { #(#checks)* }
            });
        } else {
            out.push(quote! {
                {
                    let value = &self.#fid;
                    #(#checks)*
                }
            });
        }
    }
    if let Some(nested) = nested(cx, &f.ty, quote!(self.#fid), false, &path, 0) {
        out.push(nested);
    }
    out
}

/// One rule on `value` (a reference to a `ty`), reporting at `path` (a format string).
/// Value rules on a `Vec` (`pattern`, `email`, `one_of`, `min` / `max`) apply to each item
/// and report `field[i]`; `length`, `required` and `custom` take the whole `Vec`.
fn rule_check(
    cx: &Cx,
    rule: &Rule,
    ty: &TypeRef,
    value: TokenStream,
    path: &str,
    pattern: Option<&proc_macro2::Ident>,
    bind: bool,
) -> TokenStream {
    let rule_name = rule.name();
    if let TypeRef::Vec(item_ty) = ty
        && matches!(
            rule,
            Rule::Pattern(_) | Rule::Email | Rule::OneOf(_) | Rule::Range { .. }
        )
    {
        let item_path = format!("{path}[{{i}}]");
        let inner = rule_check(cx, rule, item_ty, quote!(item), &item_path, pattern, false);
        if inner.is_empty() {
            return inner;
        }
        return quote! {
            for (i, item) in #value.iter().enumerate() { #inner }
        };
    }
    let path_lit = lit(path);
    let message = describe(cx, rule, ty, false);
    let push = quote!(errors.push(format!(#path_lit), #rule_name, #message););
    let cond = match rule {
        Rule::Required => return quote!(),
        Rule::Range { min, max } => {
            let lo = min.as_ref().and_then(|n| bound_check(ty, &value, n, true));
            let hi = max.as_ref().and_then(|n| bound_check(ty, &value, n, false));
            match (lo, hi) {
                (None, None) => return quote!(),
                (Some(b), None) => {
                    let (lhs, bound) = (&b.lhs, &b.bound);
                    if let TypeRef::F64 = ty {
                        // NaN is neither at least nor at most anything.
                        quote!(#value.is_nan() || #lhs < #bound)
                    } else {
                        quote!(#lhs < #bound)
                    }
                }
                (None, Some(b)) => {
                    let (lhs, bound) = (&b.lhs, &b.bound);
                    if let TypeRef::F64 = ty {
                        quote!(#value.is_nan() || #lhs > #bound)
                    } else {
                        quote!(#lhs > #bound)
                    }
                }
                // A range excludes NaN by itself.
                (Some(a), Some(b)) if a.lhs.to_string() == b.lhs.to_string() => {
                    let (r, lo, hi) = (&a.by_ref, &a.bound, &b.bound);
                    quote!(!(#lo..=#hi).contains(#r))
                }
                (Some(a), Some(b)) => {
                    let (la, ba, lb, bb) = (&a.lhs, &a.bound, &b.lhs, &b.bound);
                    quote!(#la < #ba || #lb > #bb)
                }
            }
        }
        Rule::Length { min, max } => {
            let n = match ty {
                TypeRef::String => quote!(::eskema::validate::char_len(#value)),
                _ => quote!(#value.len()),
            };
            if let (Some(a), Some(b)) = (min, max)
                && a == b
            {
                let m = Literal::u64_unsuffixed(*a);
                return quote! {
                    if #n != #m { #push }
                };
            }
            let cond = match (min.filter(|m| *m > 0), max) {
                (None, None) => return quote!(),
                (Some(a), None) => {
                    let a = Literal::u64_unsuffixed(a);
                    quote!(n < #a)
                }
                (None, Some(b)) => {
                    let b = Literal::u64_unsuffixed(*b);
                    quote!(n > #b)
                }
                (Some(a), Some(b)) => {
                    let (a, b) = (Literal::u64_unsuffixed(a), Literal::u64_unsuffixed(*b));
                    quote!(!(#a..=#b).contains(&n))
                }
            };
            return quote! {
                {
                    let n = #n;
                    if #cond { #push }
                }
            };
        }
        Rule::Pattern(_) => match pattern {
            Some(id) => quote!(!#id.is_match(#value)),
            None => return quote!(),
        },
        Rule::Email => quote!(!::eskema::validate::is_email(#value)),
        Rule::OneOf(values) => one_of_check(cx, ty, &value, values),
        Rule::Custom(path_str) => {
            let f: TokenStream = syn::parse_str::<syn::Path>(&user_path(path_str))
                .map(|p| quote!(#p))
                .unwrap_or_else(|_| quote!(compile_error!("invalid custom validator path")));
            if bind {
                return quote! {
                    let result = #f(#value);
                    if let Err(message) = result {
                        errors.push(format!(#path_lit), #rule_name, message);
                    }
                };
            }
            return quote! {
                if let Err(message) = #f(#value) {
                    errors.push(format!(#path_lit), #rule_name, message);
                }
            };
        }
    };
    if cond.to_string() == "false" {
        return quote!();
    }
    if bind {
        // Alone inside `if let Some(value)`, a bare `if` would trip clippy's
        // `collapsible_if`, whose fix (let chains) needs edition 2024; user crates may not be.
        return quote! {
            let broken = #cond;
            if broken { #push }
        };
    }
    quote! {
        if #cond { #push }
    }
}

/// One bound of a `min` / `max` rule, in the field's type: compare `lhs` with `bound`
/// (`by_ref` is `lhs` as a reference, for `RangeInclusive::contains`).
struct Bound {
    lhs: TokenStream,
    by_ref: TokenStream,
    bound: TokenStream,
}

/// `None` when the bound can never be broken (a `min` at or below the type's minimum), so no
/// absurd comparison is generated.
fn bound_check(ty: &TypeRef, value: &TokenStream, n: &Number, is_min: bool) -> Option<Bound> {
    let plain = |bound: TokenStream| Bound {
        lhs: quote!(*#value),
        by_ref: value.clone(),
        bound,
    };
    match ty {
        TypeRef::I32 | TypeRef::I64 | TypeRef::U32 | TypeRef::U64 => {
            let (lo, hi): (i128, i128) = match ty {
                TypeRef::I32 => (i32::MIN.into(), i32::MAX.into()),
                TypeRef::I64 => (i64::MIN.into(), i64::MAX.into()),
                TypeRef::U32 => (0, u32::MAX.into()),
                _ => (0, u64::MAX.into()),
            };
            // A fractional bound on an integer field means the next integer inward.
            let b: i128 = if let Some(v) = n.as_i64() {
                v.into()
            } else if let Some(v) = n.as_u64() {
                v.into()
            } else {
                let f = n.as_f64()?;
                let r = if is_min { f.ceil() } else { f.floor() };
                if !r.is_finite() || r.abs() > 1e38 {
                    return None;
                }
                r as i128
            };
            if (is_min && b <= lo) || (!is_min && b >= hi) {
                return None;
            }
            if b < lo || b > hi {
                // Outside the type: compare widened, so the literal still fits.
                let b = Literal::i128_suffixed(b);
                return Some(Bound {
                    lhs: quote!(i128::from(*#value)),
                    by_ref: quote!(&i128::from(*#value)),
                    bound: quote!(#b),
                });
            }
            let b = match ty {
                TypeRef::I32 => Literal::i32_suffixed(b as i32),
                TypeRef::I64 => Literal::i64_suffixed(b as i64),
                TypeRef::U32 => Literal::u32_suffixed(b as u32),
                _ => Literal::u64_suffixed(b as u64),
            };
            Some(plain(quote!(#b)))
        }
        TypeRef::F64 => {
            let b = Literal::f64_suffixed(n.as_f64()?);
            Some(plain(quote!(#b)))
        }
        TypeRef::Decimal => Some(plain(decimal_lit(n)?)),
        _ => None,
    }
}

/// A `Decimal` constant for a YAML number, exact for what YAML wrote (`2.5` is 25 scale 1).
fn decimal_lit(n: &Number) -> Option<TokenStream> {
    if let Some(v) = n.as_i64() {
        let v = Literal::i64_suffixed(v);
        return Some(quote!(::eskema::rust_decimal::Decimal::from(#v)));
    }
    if let Some(v) = n.as_u64() {
        let v = Literal::u64_suffixed(v);
        return Some(quote!(::eskema::rust_decimal::Decimal::from(#v)));
    }
    // Display of f64 never uses exponent notation, so this is digits, a dot, digits.
    let text = format!("{}", n.as_f64()?);
    let (int, frac) = text.split_once('.').unwrap_or((&text, ""));
    let scale = u32::try_from(frac.len()).ok().filter(|s| *s <= 28)?;
    let mantissa: i128 = format!("{int}{frac}").parse().ok()?;
    let m = Literal::i128_suffixed(mantissa);
    let s = Literal::u32_suffixed(scale);
    Some(quote!(::eskema::rust_decimal::Decimal::from_i128_with_scale(#m, #s)))
}

fn one_of_check(cx: &Cx, ty: &TypeRef, value: &TokenStream, values: &[Value]) -> TokenStream {
    let strs = || values.iter().filter_map(Value::as_str).collect::<Vec<_>>();
    match ty {
        TypeRef::String => {
            let s = strs();
            quote!(!matches!(#value.as_str(), #(#s)|*))
        }
        TypeRef::Bool => {
            let t = values.iter().any(|v| v.as_bool() == Some(true));
            let f = values.iter().any(|v| v.as_bool() == Some(false));
            match (t, f) {
                (true, true) => quote!(false),
                (true, false) => quote!(!*#value),
                (false, true) => quote!(*#value),
                (false, false) => quote!(true),
            }
        }
        TypeRef::I32 | TypeRef::I64 | TypeRef::U32 | TypeRef::U64 => {
            let lits: Vec<Literal> = values
                .iter()
                .filter_map(|v| {
                    let v = v
                        .as_i64()
                        .map(i128::from)
                        .or_else(|| v.as_u64().map(i128::from))?;
                    Some(match ty {
                        TypeRef::I32 => Literal::i32_suffixed(i32::try_from(v).ok()?),
                        TypeRef::I64 => Literal::i64_suffixed(i64::try_from(v).ok()?),
                        TypeRef::U32 => Literal::u32_suffixed(u32::try_from(v).ok()?),
                        _ => Literal::u64_suffixed(u64::try_from(v).ok()?),
                    })
                })
                .collect();
            quote!(![#(#lits),*].contains(#value))
        }
        TypeRef::F64 => {
            let lits = values
                .iter()
                .filter_map(Value::as_f64)
                .map(Literal::f64_suffixed);
            quote!(![#(#lits),*].contains(#value))
        }
        TypeRef::Decimal => {
            let lits = values.iter().filter_map(|v| match v {
                Value::Number(n) => decimal_lit(n),
                _ => None,
            });
            quote!(![#(#lits),*].contains(#value))
        }
        TypeRef::Named { context, name } => {
            let path = cx.item_path(context, name);
            let vs: Vec<_> = strs()
                .into_iter()
                .map(|v| {
                    let v = ident(v);
                    quote!(#path::#v)
                })
                .collect();
            if vs.is_empty() {
                return quote!(true);
            }
            quote!(!matches!(#value, #(#vs)|*))
        }
        _ => {
            let s = strs();
            quote!(!matches!(#value.to_string().as_str(), #(#s)|*))
        }
    }
}

/// The message of a violation of `rule` on a field of type `ty` (for `Option<T>`, `T`).
/// `code` wraps user text (patterns, values) in backticks, for docs.
pub(crate) fn describe(cx: &Cx, rule: &Rule, ty: &TypeRef, code: bool) -> String {
    let q = |s: &str| {
        if code {
            format!("`{s}`")
        } else {
            s.to_string()
        }
    };
    let ty = match ty {
        TypeRef::Option(inner) if !matches!(rule, Rule::Required) => inner.as_ref(),
        other => other,
    };
    match rule {
        Rule::Required => match ty {
            TypeRef::Option(_) => "is required".into(),
            _ => "must not be empty".into(),
        },
        Rule::Range { min, max } => match (min, max) {
            (Some(a), Some(b)) => format!("must be between {a} and {b}"),
            (Some(a), None) => format!("must be at least {a}"),
            (None, Some(b)) => format!("must be at most {b}"),
            (None, None) => "is unconstrained".into(),
        },
        Rule::Length { min, max } => {
            let unit = |n: u64| match (ty, n) {
                (TypeRef::String, 1) => "character",
                (TypeRef::String, _) => "characters",
                (_, 1) => "item",
                _ => "items",
            };
            let verb = if matches!(ty, TypeRef::String) {
                "be"
            } else {
                "have"
            };
            match (min, max) {
                (Some(a), Some(b)) if a == b => format!("must {verb} exactly {a} {}", unit(*a)),
                (Some(a), Some(b)) => format!("must {verb} between {a} and {b} {}", unit(*b)),
                (Some(a), None) => format!("must {verb} at least {a} {}", unit(*a)),
                (None, Some(b)) => format!("must {verb} at most {b} {}", unit(*b)),
                (None, None) => "is unconstrained".into(),
            }
        }
        Rule::Pattern(re) => format!("must match {}", q(re)),
        Rule::Email => "must be a valid e-mail address".into(),
        Rule::OneOf(values) => {
            let vs: Vec<String> = values
                .iter()
                .map(|v| match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect();
            format!("must be one of {}", q(&vs.join(", ")))
        }
        Rule::Custom(path) => {
            let _ = cx;
            format!("checked by {}", q(&user_path(path)))
        }
    }
}

/// Recursion into nested declared types: `expr` is a place (`self.money`) or, when
/// `is_ref`, a reference binding. Reports under `path.` / `path[i].` / `path[key].`.
fn nested(
    cx: &Cx,
    ty: &TypeRef,
    expr: TokenStream,
    is_ref: bool,
    path: &str,
    depth: usize,
) -> Option<TokenStream> {
    if !needs_validation(cx, ty, &mut HashSet::new()) {
        return None;
    }
    let borrowed = if is_ref { expr.clone() } else { quote!(&#expr) };
    match ty {
        TypeRef::Named { .. } => {
            let p = lit(&format!("{path}."));
            Some(quote!(::eskema::Validate::validate_into(#borrowed, &format!(#p), errors);))
        }
        TypeRef::Option(inner) => {
            let v = format_ident!("v{}", depth);
            let body = nested(cx, inner, quote!(#v), true, path, depth + 1)?;
            Some(quote!(if let Some(#v) = #borrowed { #body }))
        }
        TypeRef::Vec(inner) => {
            let i = format_ident!("i{}", depth);
            let v = format_ident!("v{}", depth);
            let body = nested(
                cx,
                inner,
                quote!(#v),
                true,
                &format!("{path}[{{{i}}}]"),
                depth + 1,
            )?;
            Some(quote!(for (#i, #v) in #expr.iter().enumerate() { #body }))
        }
        TypeRef::Map(inner) => {
            let k = format_ident!("k{}", depth);
            let v = format_ident!("v{}", depth);
            let body = nested(
                cx,
                inner,
                quote!(#v),
                true,
                &format!("{path}[{{{k}}}]"),
                depth + 1,
            )?;
            Some(quote!(for (#k, #v) in #expr.iter() { #body }))
        }
        _ => None,
    }
}

/// Whether a value of `ty` can hold a declared struct with a rule somewhere inside.
fn needs_validation(cx: &Cx, ty: &TypeRef, seen: &mut HashSet<(String, String)>) -> bool {
    match ty {
        TypeRef::Named { context, name } => {
            if !seen.insert((context.clone(), name.clone())) {
                return false;
            }
            match cx.typedef(context, name) {
                Some(TypeDef::Struct { fields, .. }) => fields
                    .iter()
                    .any(|f| !f.rules.is_empty() || needs_validation(cx, &f.ty, seen)),
                _ => false,
            }
        }
        TypeRef::Option(i) | TypeRef::Vec(i) | TypeRef::Map(i) => needs_validation(cx, i, seen),
        _ => false,
    }
}
