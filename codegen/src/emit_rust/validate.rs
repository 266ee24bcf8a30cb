//! `Validate` impls: every rule of every field, collecting all violations.

use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote};
use serde_json::{Number, Value};

use super::{Cx, ident, lit};
use crate::model::{Field, Rule, TypeRef, user_path};

/// `impl ::eskema::Validate for <owner>`: one call into the runtime's rule checks per rule.
pub(crate) fn emit_impl(cx: &Cx, owner: &str, fields: &[Field]) -> TokenStream {
    let owner_id = ident(owner);
    let body: Vec<TokenStream> = fields.iter().flat_map(|f| field_checks(cx, f)).collect();
    if body.is_empty() {
        return quote!(impl ::eskema::Validate for #owner_id {});
    }
    quote! {
        impl ::eskema::Validate for #owner_id {
            fn validate_into(&self, prefix: &str, errors: &mut ::eskema::ValidationErrors) {
                let mut check = ::eskema::__private::Check::new(prefix, errors);
                #(#body)*
            }
        }
    }
}

fn field_checks(cx: &Cx, f: &Field) -> Vec<TokenStream> {
    let mut out = Vec::new();
    let fid = ident(&f.name);
    let name = lit(&f.name);
    let field = quote!(#name);
    // `required` is about the field itself (Some / non-empty); every other rule is about
    // the value, which for an `Option` means the value when present.
    for rule in &f.rules {
        if let Rule::Required = rule {
            out.push(match &f.ty {
                TypeRef::Option(_) => quote!(check.present(#field, &self.#fid);),
                _ => quote!(check.not_empty(#field, self.#fid.is_empty());),
            });
        }
    }
    let (inner, optional) = match &f.ty {
        TypeRef::Option(inner) => (inner.as_ref(), true),
        other => (other, false),
    };
    let value = if optional {
        Val::binding(quote!(value))
    } else {
        Val {
            r: quote!(&self.#fid),
            p: quote!(self.#fid),
            d: quote!(self.#fid),
        }
    };
    // A vacuous rule (`min: 0` on a `u64`) generates nothing.
    let checks: Vec<TokenStream> = f
        .rules
        .iter()
        .filter(|r| !matches!(r, Rule::Required))
        .map(|rule| rule_check(cx, rule, inner, &value, &f.name))
        .filter(|c| !c.is_empty())
        .collect();
    if !checks.is_empty() {
        if optional {
            out.push(quote! {
                if let Some(value) = &self.#fid { #(#checks)* }
            });
        } else {
            out.extend(checks);
        }
    }
    if f.holds.rules
        && let Some(nested) = nested(&f.ty, quote!(self.#fid), false, field, &f.name, 0)
    {
        out.push(nested);
    }
    out
}

/// One rule on `value` (a reference to a `ty`), reported on `path` (the field's name, or an
/// item's `field[i]` as a format string). Value rules on a `Vec` (`pattern`, `email`,
/// `one_of`, `min` / `max`) apply to each item and report `field[i]`; `length`,
/// `required` and `custom` take the whole `Vec`.
fn rule_check(cx: &Cx, rule: &Rule, ty: &TypeRef, value: &Val, path: &str) -> TokenStream {
    let Val { r, p, d } = value;
    if let TypeRef::Vec(item_ty) = ty
        && matches!(
            rule,
            Rule::Pattern(_) | Rule::Email | Rule::OneOf(_) | Rule::Range { .. }
        )
    {
        let item_path = format!("{path}[{{i}}]");
        let inner = rule_check(cx, rule, item_ty, &Val::binding(quote!(item)), &item_path);
        if inner.is_empty() {
            return inner;
        }
        return quote! {
            for (i, item) in #p.iter().enumerate() { #inner }
        };
    }
    let field = if path.contains('{') {
        let p = lit(path);
        quote!(&format!(#p))
    } else {
        let p = lit(path);
        quote!(#p)
    };
    match rule {
        Rule::Required => quote!(),
        Rule::Range { min, max } => {
            let lo = min.as_ref().and_then(|n| bound_check(ty, n, true));
            let hi = max.as_ref().and_then(|n| bound_check(ty, n, false));
            let widen = |b: &Bound| b.widened;
            let wide = lo.as_ref().is_some_and(widen) || hi.as_ref().is_some_and(widen);
            let v = if wide {
                quote!(&i128::from(#d))
            } else {
                r.clone()
            };
            let bound = |b: Bound| if wide { b.wide } else { b.bound };
            match (lo, hi) {
                (None, None) => quote!(),
                (Some(a), None) => {
                    let a = bound(a);
                    quote!(check.min(#field, #v, #a);)
                }
                (None, Some(b)) => {
                    let b = bound(b);
                    quote!(check.max(#field, #v, #b);)
                }
                (Some(a), Some(b)) => {
                    let (a, b) = (bound(a), bound(b));
                    quote!(check.range(#field, #v, #a, #b);)
                }
            }
        }
        Rule::Length { min, max } => {
            if min.is_none_or(|m| m == 0) && max.is_none() {
                return quote!();
            }
            let opt = |n: &Option<u64>| match n {
                Some(n) => {
                    let n = Literal::u64_unsuffixed(*n);
                    quote!(Some(#n))
                }
                None => quote!(None),
            };
            let (lo, hi) = (opt(min), opt(max));
            match ty {
                TypeRef::String => quote!(check.text_length(#field, #r, #lo, #hi);),
                _ => quote!(check.items_length(#field, #p.len(), #lo, #hi);),
            }
        }
        Rule::Pattern(re) => {
            let re = lit(re);
            quote!(check.pattern(#field, #r, #re);)
        }
        Rule::Email => quote!(check.email(#field, #r);),
        Rule::OneOf(values) => {
            let allowed = one_of_allowed(cx, ty, value, values);
            if allowed.to_string() == "true" {
                return quote!();
            }
            let listed = lit(&one_of_list(values));
            quote!(check.one_of(#field, #allowed, #listed);)
        }
        Rule::Custom(path_str) => {
            let f: TokenStream = syn::parse_str::<syn::Path>(&user_path(path_str))
                .map(|p| quote!(#p))
                .unwrap_or_else(|_| quote!(compile_error!("invalid custom validator path")));
            quote!(check.custom(#field, #f(#r));)
        }
    }
}

/// One bound of a `min` / `max` rule, in the field's type (`bound`) and widened to `i128`
/// (`wide`) for an integer bound outside the field's type, which needs the value widened
/// too (`widened`).
struct Bound {
    bound: TokenStream,
    wide: TokenStream,
    widened: bool,
}

/// `None` when the bound can never be broken (a `min` at or below the type's minimum), so no
/// absurd comparison is generated.
fn bound_check(ty: &TypeRef, n: &Number, is_min: bool) -> Option<Bound> {
    let plain = |bound: TokenStream| Bound {
        wide: bound.clone(),
        bound,
        widened: false,
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
            let wide = Literal::i128_suffixed(b);
            if b < lo || b > hi {
                // Outside the type: compare widened, so the literal still fits.
                return Some(Bound {
                    bound: quote!(#wide),
                    wide: quote!(#wide),
                    widened: true,
                });
            }
            let bound = match ty {
                TypeRef::I32 => Literal::i32_suffixed(b as i32),
                TypeRef::I64 => Literal::i64_suffixed(b as i64),
                TypeRef::U32 => Literal::u32_suffixed(b as u32),
                _ => Literal::u64_suffixed(b as u64),
            };
            Some(Bound {
                bound: quote!(#bound),
                wide: quote!(#wide),
                widened: false,
            })
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

/// A value a rule checks, three ways: a reference to it (`r`), a place to call methods on
/// (`p`) and the value itself, for `Copy` types (`d`).
struct Val {
    r: TokenStream,
    p: TokenStream,
    d: TokenStream,
}

impl Val {
    /// A binding that holds a reference (`if let Some(value) = &self.x`, an item).
    fn binding(name: TokenStream) -> Self {
        Val {
            r: name.clone(),
            p: name.clone(),
            d: quote!(*#name),
        }
    }
}

/// Whether `value` is one of `values`, as an expression.
fn one_of_allowed(cx: &Cx, ty: &TypeRef, value: &Val, values: &[Value]) -> TokenStream {
    let Val { r, p, d } = value;
    let strs = || values.iter().filter_map(Value::as_str).collect::<Vec<_>>();
    match ty {
        TypeRef::String => {
            let s = strs();
            quote!(matches!(#p.as_str(), #(#s)|*))
        }
        TypeRef::Bool => {
            let t = values.iter().any(|v| v.as_bool() == Some(true));
            let f = values.iter().any(|v| v.as_bool() == Some(false));
            match (t, f) {
                (true, true) => quote!(true),
                (true, false) => quote!(#d),
                (false, true) => quote!(!#d),
                (false, false) => quote!(false),
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
            quote!([#(#lits),*].contains(#r))
        }
        TypeRef::F64 => {
            let lits = values
                .iter()
                .filter_map(Value::as_f64)
                .map(Literal::f64_suffixed);
            quote!([#(#lits),*].contains(#r))
        }
        TypeRef::Decimal => {
            let lits = values.iter().filter_map(|v| match v {
                Value::Number(n) => decimal_lit(n),
                _ => None,
            });
            quote!([#(#lits),*].contains(#r))
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
                return quote!(false);
            }
            quote!(matches!(#r, #(#vs)|*))
        }
        _ => {
            let s = strs();
            quote!(matches!(#p.to_string().as_str(), #(#s)|*))
        }
    }
}

/// The values of a `one_of` as its message lists them: strings as written, others as JSON.
fn one_of_list(values: &[Value]) -> String {
    values
        .iter()
        .map(|v| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .collect::<Vec<_>>()
        .join(", ")
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
        Rule::OneOf(values) => format!("must be one of {}", q(&one_of_list(values))),
        Rule::Custom(path) => {
            let _ = cx;
            format!("checked by {}", q(&user_path(path)))
        }
    }
}

/// Recursion into nested declared types, for a field whose value holds rules
/// ([`crate::model::Holds::rules`]; the wrappers around its declared type do not change
/// that): `expr` is a place (`self.money`) or, when `is_ref`, a reference binding; `field`
/// the path it is reported under (`path` as a format string: `lines[{i0}]`). Recurses only
/// over the type's wrappers, which the checker bounds.
fn nested(
    ty: &TypeRef,
    expr: TokenStream,
    is_ref: bool,
    field: TokenStream,
    path: &str,
    depth: usize,
) -> Option<TokenStream> {
    let borrowed = if is_ref { expr.clone() } else { quote!(&#expr) };
    let declared = |inner: &TypeRef| matches!(inner, TypeRef::Named { .. });
    match ty {
        TypeRef::Named { .. } => Some(quote!(check.nested(#field, #borrowed);)),
        // One wrapper around a declared type: one call, the runtime walks it.
        TypeRef::Option(inner) if declared(inner) => {
            Some(quote!(check.nested_some(#field, #expr.as_ref());))
        }
        TypeRef::Vec(inner) if declared(inner) => {
            Some(quote!(check.nested_each(#field, #borrowed);))
        }
        TypeRef::Map(inner) if declared(inner) => {
            Some(quote!(check.nested_values(#field, #borrowed);))
        }
        TypeRef::Option(inner) => {
            let v = format_ident!("v{}", depth);
            let body = nested(inner, quote!(#v), true, field, path, depth + 1)?;
            Some(quote!(if let Some(#v) = #borrowed { #body }))
        }
        TypeRef::Vec(inner) | TypeRef::Map(inner) => {
            let (k, bind, iter) = if matches!(ty, TypeRef::Vec(_)) {
                let i = format_ident!("i{}", depth);
                let v = format_ident!("v{}", depth);
                (
                    i.clone(),
                    quote!((#i, #v)),
                    quote!(#expr.iter().enumerate()),
                )
            } else {
                let k = format_ident!("k{}", depth);
                let v = format_ident!("v{}", depth);
                (k.clone(), quote!((#k, #v)), quote!(#expr.iter()))
            };
            let v = format_ident!("v{}", depth);
            let inner_path = format!("{path}[{{{k}}}]");
            let p = lit(&inner_path);
            let body = nested(
                inner,
                quote!(#v),
                true,
                quote!(&format!(#p)),
                &inner_path,
                depth + 1,
            )?;
            Some(quote!(for #bind in #iter { #body }))
        }
        _ => None,
    }
}
