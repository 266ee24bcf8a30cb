//! Event structs and their stored-payload decoding: `upcast` steps and `from_stored`.

use proc_macro2::TokenStream;
use quote::quote;

use super::{Cx, doc_lines, docs, ident, stored_names, types};
use crate::model::{Event, UpcastOp, user_path};

/// The event struct, its constants, `upcast` (when VERSION > 1) and `from_stored`.
pub(crate) fn emit_event(cx: &Cx, aggregate: &str, e: &Event) -> TokenStream {
    let id = ident(&e.name);
    let doc = docs(
        e.doc.as_deref(),
        &format!("The `{}` event of aggregate `{aggregate}`.", e.name),
    );
    let (fields, defaults) = types::struct_fields(cx, &e.name, &e.fields, false);
    let name = &e.name;
    let version = proc_macro2::Literal::u32_unsuffixed(e.version);
    let names = stored_names(e);
    let has_upcast = e.version > 1;
    let upcast_fn = has_upcast.then(|| upcast_fn(e));
    let upcast_call = has_upcast.then(|| quote!(let data = Self::upcast(version, data)?;));
    quote! {
        #doc
        ///
        /// Stored payloads may carry fields this version does not know; they are ignored.
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(crate = "::eskema::serde")]
        pub struct #id { #fields }
        #defaults
        impl #id {
            /// The type name events are stored under.
            pub const EVENT_TYPE: &'static str = #name;
            /// The current schema version; stored payloads of older versions are upcast.
            pub const VERSION: u32 = #version;
            /// Every type name a stored event of this kind may carry: the current one, then
            /// `renamed_from`.
            pub const STORED_NAMES: &'static [&'static str] = &[#(#names),*];
            #upcast_fn
            /// Decodes a stored payload of any known version: refuses versions newer than
            /// [`Self::VERSION`], runs the upcast steps, then deserializes.
            pub fn from_stored(version: u32, data: ::eskema::serde_json::Value) -> Result<Self, ::eskema::UpcastError> {
                if version > Self::VERSION {
                    return Err(::eskema::UpcastError::FutureVersion {
                        event_type: Self::EVENT_TYPE.to_string(),
                        version,
                        current: Self::VERSION,
                    });
                }
                #upcast_call
                ::eskema::aggregate::decode_event(Self::EVENT_TYPE, version, data)
            }
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
                    let map = ::eskema::upcast::as_object(&mut data, Self::EVENT_TYPE, #from)?;
                    #(#ops)*
                });
            }
        };
        for op in &step.ops {
            match op {
                UpcastOp::Rename { from: old, to } => {
                    declarative.push(quote!(::eskema::upcast::rename(map, #old, #to);));
                }
                UpcastOp::Remove(field) => {
                    declarative.push(quote!(::eskema::upcast::remove(map, #field);));
                }
                UpcastOp::Add { field, value } => {
                    let json = value.to_string();
                    let value_expr = json_expr(value, &json);
                    declarative.push(quote!(::eskema::upcast::add(map, #field, #value_expr);));
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
                            event_type: Self::EVENT_TYPE.to_string(),
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
    let doc = doc_lines(&upcast_doc(e));
    quote! {
        #doc
        pub fn upcast(version: u32, mut data: ::eskema::serde_json::Value) -> Result<::eskema::serde_json::Value, ::eskema::UpcastError> {
            #(#steps)*
            Ok(data)
        }
    }
}

/// Docs listing each step, so a reader sees what happens to an old payload.
fn upcast_doc(e: &Event) -> String {
    let mut s = String::from(
        "Runs the upcast steps from `version` to [`Self::VERSION`] on a stored payload, oldest first:\n",
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

/// A `serde_json::Value` expression: literals for scalars, parsed JSON text otherwise.
fn json_expr(value: &serde_json::Value, json: &str) -> TokenStream {
    use serde_json::Value;
    match value {
        Value::Null => quote!(::eskema::serde_json::Value::Null),
        Value::Bool(b) => quote!(::eskema::serde_json::Value::Bool(#b)),
        Value::String(s) => quote!(::eskema::serde_json::Value::String(String::from(#s))),
        Value::Number(n) if n.as_i64().is_some() => {
            let lit = proc_macro2::Literal::i64_suffixed(n.as_i64().unwrap_or_default());
            quote!(::eskema::serde_json::Value::from(#lit))
        }
        Value::Number(n) if n.as_u64().is_some() => {
            let lit = proc_macro2::Literal::u64_suffixed(n.as_u64().unwrap_or_default());
            quote!(::eskema::serde_json::Value::from(#lit))
        }
        Value::Number(n) if n.as_f64().is_some() => {
            let lit = proc_macro2::Literal::f64_suffixed(n.as_f64().unwrap_or_default());
            quote!(::eskema::serde_json::Value::from(#lit))
        }
        _ => {
            // The checker verified the default fits the field; an object or array default
            // is kept as JSON text (parsing JSON that serde_json itself printed cannot fail,
            // and a failure would only yield Null, caught by the event's decode).
            quote!(::eskema::serde_json::from_str::<::eskema::serde_json::Value>(#json).unwrap_or_default())
        }
    }
}
