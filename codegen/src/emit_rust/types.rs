//! Declared types (`types:`) and the field lists every generated struct shares.

use proc_macro2::TokenStream;
use quote::{ToTokens, format_ident, quote};

use super::{Cx, doc_lines, ident, validate};
use crate::model::{DefaultValue, Field, TypeDef, TypeRef, names};

/// Structs and enums of `types:` (all of them or a run of them), each struct with its
/// `Validate` impl.
pub(crate) fn emit(cx: &Cx, types: &[TypeDef]) -> TokenStream {
    let items = types.iter().map(|t| match t {
        TypeDef::Enum {
            name,
            doc,
            variants,
        } => {
            let doc = doc_lines(doc.as_deref().unwrap_or_default());
            let id = ident(name);
            let attrs = cx.attrs(name);
            let vs = variants.iter().enumerate().map(|(i, v)| {
                let v_id = ident(v);
                let default = (i == 0).then(|| quote!(#[default]));
                quote!(#default #v_id,)
            });
            quote! {
                #doc
                #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
                #[serde(crate = "::eskema::serde")]
                #attrs
                pub enum #id { #(#vs)* }
            }
        }
        TypeDef::Struct { name, doc, fields } => {
            let doc = doc_lines(doc.as_deref().unwrap_or_default());
            let id = ident(name);
            let attrs = cx.attrs(name);
            let (fields_ts, defaults) = struct_fields(cx, name, fields, true);
            let validate = validate::emit_impl(cx, name, fields);
            quote! {
                #doc
                #[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
                #[serde(crate = "::eskema::serde")]
                #attrs
                pub struct #id { #fields_ts }
                #defaults
                #validate
            }
        }
    });
    quote!(#(#items)*)
}

/// The `pub` fields of a struct (with docs, `#[serde(default)]` on `Option` fields and
/// `#[serde(default = ..)]` for fields with a schema `default:`), and the private functions
/// those defaults call. `rules_in_docs` adds each validation rule to the field's docs.
pub(crate) fn struct_fields(
    cx: &Cx,
    owner: &str,
    fields: &[Field],
    rules_in_docs: bool,
) -> (TokenStream, TokenStream) {
    let mut default_fns = Vec::new();
    let fs = fields
        .iter()
        .map(|f| {
            let id = ident(&f.name);
            let ty = cx.ty(&f.ty);
            let mut text = f.doc.clone().unwrap_or_default();
            let mut para = |line: String| {
                if !text.trim().is_empty() {
                    text.push_str("\n\n");
                }
                text.push_str(&line);
            };
            if rules_in_docs && !f.rules.is_empty() {
                let rules: Vec<String> = f
                    .rules
                    .iter()
                    .map(|r| validate::describe(cx, r, &f.ty, true))
                    .collect();
                para(format!("Validated: {}.", rules.join("; ")));
            }
            let serde_attr = if let Some(value) = &f.default {
                // `__` between owner and field: a snake_case field never contains `__`
                // (the checker forbids it), so `Foo`.`bar_baz` and `FooBar`.`baz` differ.
                let fn_name = format!(
                    "__default_{}__{}",
                    names::snake(owner),
                    f.name.trim_start_matches("r#")
                );
                let fn_id = format_ident!("{}", fn_name);
                let body = default_expr(cx, &f.ty, value);
                default_fns.push(quote! {
                    fn #fn_id() -> #ty { #body }
                });
                para(format!("Defaults to `{value}` when absent."));
                quote!(#[serde(default = #fn_name)])
            } else if matches!(f.ty, TypeRef::Option(_)) {
                quote!(#[serde(default)])
            } else {
                quote!()
            };
            let doc = doc_lines(&text);
            quote! {
                #doc
                #serde_attr
                pub #id: #ty,
            }
        })
        .collect::<Vec<_>>();
    (quote!(#(#fs)*), quote!(#(#default_fns)*))
}

/// A Rust expression for a schema `default:`: a literal for strings, numbers and bools;
/// other types deserialize their JSON, which the checker found to fit (so
/// `unwrap_or_default` never runs; it keeps the code panic-free all the same).
fn default_expr(cx: &Cx, ty: &TypeRef, value: &DefaultValue) -> TokenStream {
    use proc_macro2::Literal;
    match value {
        DefaultValue::String(s) => quote!(String::from(#s)),
        DefaultValue::Bool(b) => quote!(#b),
        DefaultValue::I32(n) => Literal::i32_suffixed(*n).into_token_stream(),
        DefaultValue::I64(n) => Literal::i64_suffixed(*n).into_token_stream(),
        DefaultValue::U32(n) => Literal::u32_suffixed(*n).into_token_stream(),
        DefaultValue::U64(n) => Literal::u64_suffixed(*n).into_token_stream(),
        DefaultValue::F64(n) => Literal::f64_suffixed(*n).into_token_stream(),
        DefaultValue::None => quote!(None),
        DefaultValue::Json(json) => {
            let ty = cx.ty(ty);
            let json = json.to_string();
            quote!(::eskema::serde_json::from_str::<#ty>(#json).unwrap_or_default())
        }
    }
}

/// Whether a value with these fields may read back differently from its JSON: a float
/// (NaN and infinities become `null`) or a `Json` value (`Some(null)` becomes `None`),
/// here or in a declared type the fields hold.
pub(crate) fn may_not_round_trip(fields: &[Field]) -> bool {
    fields.iter().any(|f| f.holds.lossy)
}
