//! Event structs and their `eskema::Event` impls: name, version, old names and upcast
//! steps; the runtime trait's provided methods do the decoding.

use proc_macro2::TokenStream;
use quote::quote;

use super::{Cx, doc_lines, ident, types};
use crate::model::{Event, UpcastOp, user_path};

/// The event struct and its `impl ::eskema::Event`, declaring only what differs from the
/// trait's defaults.
pub(crate) fn emit_event(cx: &Cx, e: &Event) -> TokenStream {
    let id = ident(&e.name);
    let mut text = e.doc.clone().unwrap_or_default();
    if e.version > 1 {
        if !text.is_empty() {
            text.push_str("\n\n");
        }
        text.push_str(&upcast_doc(e));
    }
    let doc = doc_lines(&text);
    let (fields, defaults) = types::struct_fields(cx, &e.name, &e.fields, false);
    let name = &e.name;
    let version = (e.version > 1).then(|| {
        let v = proc_macro2::Literal::u32_unsuffixed(e.version);
        quote!(const VERSION: u32 = #v;)
    });
    let renamed = (!e.renamed_from.is_empty()).then(|| {
        let names = &e.renamed_from;
        quote!(const RENAMED_FROM: &'static [&'static str] = &[#(#names),*];)
    });
    let round_trip = types::may_not_round_trip(&e.fields).then(|| {
        quote!(
            const CHECK_ROUND_TRIP: bool = true;
        )
    });
    let upcast_fn = (e.version > 1).then(|| upcast_fn(e));
    let attrs = cx.attrs(&e.name);
    quote! {
        #doc
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(crate = "::eskema::serde")]
        #attrs
        pub struct #id { #fields }
        #defaults
        impl ::eskema::Event for #id {
            const NAME: &'static str = #name;
            #version
            #renamed
            #round_trip
            #upcast_fn
        }
    }
}

/// `upcast(version, data)`: the steps `from: version ..< VERSION`, oldest first, each one
/// the schema's operations in model order (renames, removes, adds, then convert).
fn upcast_fn(e: &Event) -> TokenStream {
    let steps = e.upcasts.iter().map(|step| {
        let from = proc_macro2::Literal::u32_unsuffixed(step.from);
        let mut parts = Vec::new();
        let mut declarative = Vec::new();
        let flush = |declarative: &mut Vec<TokenStream>, parts: &mut Vec<TokenStream>| {
            if !declarative.is_empty() {
                let ops = std::mem::take(declarative);
                parts.push(quote! {
                    let map = ::eskema::__private::as_object(&mut data, Self::NAME, #from)?;
                    #(#ops)*
                });
            }
        };
        for op in &step.ops {
            match op {
                UpcastOp::Rename { from: old, to } => {
                    declarative.push(quote!(::eskema::__private::rename(map, #old, #to);));
                }
                UpcastOp::Remove(field) => {
                    declarative.push(quote!(::eskema::__private::remove(map, #field);));
                }
                UpcastOp::Add { field, value } => {
                    let json = value.to_string();
                    declarative.push(quote!(::eskema::__private::add_json(map, #field, #json);));
                }
                UpcastOp::Convert(path) => {
                    flush(&mut declarative, &mut parts);
                    let f: TokenStream = syn::parse_str::<syn::Path>(&user_path(path))
                        .map(|p| quote!(#p))
                        .unwrap_or_else(|_| {
                            quote!(compile_error!("invalid convert function path"))
                        });
                    parts.push(quote! {
                        data = #f(data).map_err(|message| ::eskema::UpcastError::Step {
                            event_type: Self::NAME.to_string(),
                            from: #from,
                            message,
                        })?;
                    });
                }
            }
        }
        flush(&mut declarative, &mut parts);
        quote! {
            if version <= #from {
                #(#parts)*
            }
        }
    });
    quote! {
        fn upcast(version: u32, mut data: ::eskema::serde_json::Value) -> Result<::eskema::serde_json::Value, ::eskema::UpcastError> {
            #(#steps)*
            Ok(data)
        }
    }
}

/// Docs listing each step, so a reader sees what happens to an old payload.
fn upcast_doc(e: &Event) -> String {
    let mut s = format!(
        "Version {}; stored payloads of older versions are upcast:\n",
        e.version
    );
    for step in &e.upcasts {
        let ops: Vec<String> = step
            .ops
            .iter()
            .map(|op| match op {
                UpcastOp::Rename { from, to } => format!("rename `{from}` to `{to}`"),
                UpcastOp::Remove(f) => format!("remove `{f}`"),
                UpcastOp::Add { field, value } => format!("add `{field}` = `{value}` when absent"),
                UpcastOp::Convert(p) => format!("convert with `{}`", user_path(p)),
            })
            .collect();
        s.push_str(&format!(
            "\n- v{} -> v{}: {}.",
            step.from,
            step.from + 1,
            ops.join(", ")
        ));
    }
    s
}
