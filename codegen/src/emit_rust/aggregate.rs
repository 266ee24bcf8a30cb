//! Per aggregate: state, commands, events, emits enums, command / event / error enums, the
//! logic trait and the `Aggregate` impl.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::{
    Cx, doc_lines, docs, ident, match_ref, state_hash, stored_names, types, upcast, validate,
};
use crate::model::{Aggregate, IdentityType, TypeRef, names};

pub(crate) fn emit(cx: &Cx, a: &Aggregate) -> TokenStream {
    let agg = ident(&a.name);
    let agg_name = &a.name;
    let ctx_name = &cx.ctx.name;
    let cmd_enum = ident(&names::command_enum(&a.name));
    let ev_enum = ident(&names::event_enum(&a.name));
    let err_enum = ident(&names::error_enum(&a.name));
    let logic = ident(&names::logic_trait(&a.name));

    // ---- state
    let state_doc = docs(
        a.doc.as_deref(),
        &format!(
            "The state of aggregate `{}`: folded from its events, every field starting at its default.",
            a.name
        ),
    );
    let (state_fields, state_defaults) = types::struct_fields(cx, &a.name, &a.state, false);

    // ---- commands
    let commands = a.commands.iter().map(|c| {
        let id = ident(&c.name);
        let doc = docs(
            c.doc.as_deref(),
            &format!("The `{}` command of aggregate `{}`.", c.name, a.name),
        );
        let emits: Vec<String> = c.emits.iter().map(|e| format!("`{e}`")).collect();
        let extra = doc_lines(&format!(
            "\nIdentity: `{}`. Emits {}. Unknown JSON fields are refused.",
            c.identity,
            emits.join(", ")
        ));
        let (fields, defaults) = types::struct_fields(cx, &c.name, &c.fields, true);
        let validate = validate::emit_impl(cx, &c.name, &c.fields);
        quote! {
            #doc
            #extra
            #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
            #[serde(crate = "::eskema::serde", deny_unknown_fields)]
            pub struct #id { #fields }
            #defaults
            #validate
        }
    });

    // ---- events
    let events = a.events.iter().map(|e| upcast::emit_event(cx, &a.name, e));

    // ---- emits enums
    let emits_enums = a.commands.iter().map(|c| {
        let id = ident(&names::emits_enum(&c.name));
        let doc = doc_lines(&format!(
            "The events `{}` may return: an executor can only build these.",
            c.name
        ));
        let vs: Vec<_> = c.emits.iter().map(|e| ident(e)).collect();
        let allow_emits = super::allow_large_variants(vs.len());
        let variants = vs.iter().map(|v| {
            let d = doc_lines(&format!("A [`{v}`] event."));
            quote!(#d #v(#v),)
        });
        let froms = vs.iter().map(|v| {
            quote! {
                impl From<#v> for #id {
                    fn from(event: #v) -> Self { #id::#v(event) }
                }
            }
        });
        let arms = vs.iter().map(|v| quote!(#id::#v(e) => #ev_enum::#v(e),));
        quote! {
            #doc
            #[derive(Debug, Clone, PartialEq)]
            #allow_emits
        pub enum #id { #(#variants)* }
            #(#froms)*
            impl From<#id> for #ev_enum {
                fn from(events: #id) -> Self {
                    match events { #(#arms)* }
                }
            }
        }
    });

    // ---- command enum
    let cmd_ids: Vec<_> = a.commands.iter().map(|c| ident(&c.name)).collect();
    let cmd_names: Vec<&String> = a.commands.iter().map(|c| &c.name).collect();
    let allow_commands = super::allow_large_variants(cmd_ids.len());
    let cmd_variants = cmd_ids.iter().map(|v| {
        let d = doc_lines(&format!("A [`{v}`] command."));
        quote!(#d #v(#v),)
    });
    let cmd_froms = cmd_ids.iter().map(|v| {
        quote! {
            impl From<#v> for #cmd_enum {
                fn from(command: #v) -> Self { #cmd_enum::#v(command) }
            }
        }
    });
    let validate_arms = cmd_ids
        .iter()
        .map(|v| quote!(#cmd_enum::#v(c) => ::eskema::Validate::validate_into(c, prefix, errors),))
        .collect();
    let validate_match = match_ref(quote!(self), validate_arms);
    let name_arms = cmd_ids
        .iter()
        .zip(&cmd_names)
        .map(|(v, n)| quote!(#cmd_enum::#v(_) => #n,))
        .collect();
    let name_match = match_ref(quote!(self), name_arms);
    let identity_arms = a
        .commands
        .iter()
        .map(|c| {
            let v = ident(&c.name);
            let f = ident(&c.identity);
            let is_string = c
                .fields
                .iter()
                .find(|x| x.name == c.identity)
                .is_some_and(|x| x.ty == TypeRef::String);
            if is_string {
                quote!(#cmd_enum::#v(c) => c.#f.clone(),)
            } else {
                quote!(#cmd_enum::#v(c) => c.#f.to_string(),)
            }
        })
        .collect();
    let identity_match = match_ref(quote!(self), identity_arms);
    let (vprefix, verrors) = if a.commands.is_empty() {
        (quote!(_prefix), quote!(_errors))
    } else {
        (quote!(prefix), quote!(errors))
    };
    let id_kind = match a.identity_type {
        IdentityType::String => "a `String`",
        IdentityType::Uuid => "a `Uuid`, rendered hyphenated",
    };
    let cmd_enum_doc = doc_lines(&format!(
        "Every command of aggregate `{}`; serialized as `{{\"<Command>\": {{..}}}}`.",
        a.name
    ));
    let identity_doc = doc_lines(&format!(
        "The command's identity field (by default `{}`, {id_kind}), as it appears in the stream id.",
        a.identity
    ));

    // ---- event enum
    let ev_ids: Vec<_> = a.events.iter().map(|e| ident(&e.name)).collect();
    let allow_events = super::allow_large_variants(ev_ids.len());
    let ev_variants = ev_ids.iter().map(|v| {
        let d = doc_lines(&format!("A [`{v}`] event."));
        quote!(#d #v(#v),)
    });
    let ev_froms = ev_ids.iter().map(|v| {
        quote! {
            impl From<#v> for #ev_enum {
                fn from(event: #v) -> Self { #ev_enum::#v(event) }
            }
        }
    });
    let type_arms = ev_ids
        .iter()
        .map(|v| quote!(#ev_enum::#v(_) => #v::EVENT_TYPE,))
        .collect();
    let type_match = match_ref(quote!(self), type_arms);
    let version_arms = ev_ids
        .iter()
        .map(|v| quote!(#ev_enum::#v(_) => #v::VERSION,))
        .collect();
    let version_match = match_ref(quote!(self), version_arms);
    let data_arms = ev_ids
        .iter()
        .map(|v| quote!(#ev_enum::#v(e) => ::eskema::engine::to_json(e),))
        .collect();
    let data_match = match_ref(quote!(self), data_arms);
    let stored_arms = a.events.iter().map(|e| {
        let v = ident(&e.name);
        let names = stored_names(e);
        quote!(#(#names)|* => #v::from_stored(event_version, data).map(#ev_enum::#v),)
    });
    let ev_enum_name = names::event_enum(&a.name);
    let ev_enum_doc = doc_lines(&format!(
        "Every event of aggregate `{}`; serialized as `{{\"<Event>\": {{..}}}}`. Stored events are decoded by `from_stored`, which also accepts `renamed_from` names and upcasts old versions.",
        a.name
    ));

    // ---- errors
    let err_variants = a.errors.iter().map(|e| {
        let v = ident(&e.name);
        let d = doc_lines(&e.message);
        quote!(#d #v,)
    });
    let err_arms = a
        .errors
        .iter()
        .map(|e| {
            let v = ident(&e.name);
            let m = &e.message;
            quote!(#err_enum::#v => #m,)
        })
        .collect::<Vec<_>>();
    let err_display = if err_arms.is_empty() {
        quote!(match *self {})
    } else {
        quote!(f.write_str(match self { #(#err_arms)* }))
    };
    let err_doc = doc_lines(&format!(
        "Domain errors of `{}` (from `errors:`); `Display` is the schema's message.{}",
        a.name,
        if a.errors.is_empty() {
            " It has no variants: the schema declares no errors, so no executor can fail."
        } else {
            ""
        }
    ));
    let fmt_arg = if err_arms.is_empty() {
        quote!(_f)
    } else {
        quote!(f)
    };

    // ---- logic trait
    let executors = a.commands.iter().map(|c| {
        let m = ident(&names::snake(&c.name));
        let cid = ident(&c.name);
        let emits = ident(&names::emits_enum(&c.name));
        let d = doc_lines(&format!(
            "Decides what [`{}`] does: the events it causes, or why not. Pure: no I/O, no mutation.",
            c.name
        ));
        quote! {
            #d
            fn #m(&self, command: &#cid) -> Result<Vec<#emits>, #err_enum>;
        }
    });
    let appliers = a.events.iter().map(|e| {
        let m = format_ident!("apply_{}", names::snake(&e.name));
        let eid = ident(&e.name);
        let d = doc_lines(&format!("Folds [`{}`] into the state.", e.name));
        quote! {
            #d
            fn #m(&mut self, event: &#eid);
        }
    });
    let logic_doc = doc_lines(&format!(
        "The business logic of `{}`: implement it on [`{}`] (`eskema scaffold` writes the stubs).",
        a.name, a.name
    ));

    // ---- Aggregate impl
    let exec_arms = a
        .commands
        .iter()
        .map(|c| {
            let v = ident(&c.name);
            let m = ident(&names::snake(&c.name));
            quote! {
                #cmd_enum::#v(c) => #logic::#m(self, c)
                    .map(|events| events.into_iter().map(#ev_enum::from).collect()),
            }
        })
        .collect();
    let exec_match = match_ref(quote!(command), exec_arms);
    let apply_arms = a
        .events
        .iter()
        .map(|e| {
            let v = ident(&e.name);
            let m = format_ident!("apply_{}", names::snake(&e.name));
            quote!(#ev_enum::#v(e) => #logic::#m(self, e),)
        })
        .collect();
    let apply_match = match_ref(quote!(event), apply_arms);
    let snapshot = match a.snapshot_every {
        Some(n) => {
            let n = proc_macro2::Literal::u64_unsuffixed(n);
            quote!(Some(#n))
        }
        None => quote!(None),
    };
    let hash = state_hash(cx.domain, &cx.ctx.name, &a.state);
    let stream_fmt = format!(
        "{}{{identity}}",
        a.stream_prefix.replace('{', "{{").replace('}', "}}")
    );
    let (exec_param, apply_param) = (
        if a.commands.is_empty() {
            quote!(_command)
        } else {
            quote!(command)
        },
        if a.events.is_empty() {
            quote!(_event)
        } else {
            quote!(event)
        },
    );
    let exec_match = if a.commands.is_empty() {
        quote!(match *_command {})
    } else {
        exec_match
    };
    let apply_match = if a.events.is_empty() {
        quote!(match *_event {})
    } else {
        apply_match
    };
    let stream_doc = doc_lines(&format!("`{}` + the identity value.", a.stream_prefix));

    quote! {
        #state_doc
        #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
        #[serde(crate = "::eskema::serde")]
        pub struct #agg { #state_fields }
        #state_defaults

        #(#commands)*
        #(#events)*
        #(#emits_enums)*

        #cmd_enum_doc
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(crate = "::eskema::serde")]
        #allow_commands
        pub enum #cmd_enum { #(#cmd_variants)* }
        #(#cmd_froms)*
        impl ::eskema::Validate for #cmd_enum {
            fn validate_into(&self, #vprefix: &str, #verrors: &mut ::eskema::ValidationErrors) {
                #validate_match
            }
        }
        impl ::eskema::AggregateCommand for #cmd_enum {
            fn name(&self) -> &'static str { #name_match }
            #identity_doc
            fn identity(&self) -> String { #identity_match }
        }

        #ev_enum_doc
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(crate = "::eskema::serde")]
        #allow_events
        pub enum #ev_enum { #(#ev_variants)* }
        #(#ev_froms)*
        impl ::eskema::DomainEvent for #ev_enum {
            fn event_type(&self) -> &'static str { #type_match }
            fn event_version(&self) -> u32 { #version_match }
            fn to_data(&self) -> ::eskema::serde_json::Value { #data_match }
            fn from_stored(
                event_type: &str,
                event_version: u32,
                data: ::eskema::serde_json::Value,
            ) -> Result<Self, ::eskema::UpcastError> {
                match event_type {
                    #(#stored_arms)*
                    _ => Err(::eskema::UpcastError::UnknownEventType {
                        event_type: event_type.to_string(),
                        target: #ev_enum_name.to_string(),
                    }),
                }
            }
        }

        #err_doc
        #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(crate = "::eskema::serde")]
        pub enum #err_enum { #(#err_variants)* }
        impl ::std::fmt::Display for #err_enum {
            fn fmt(&self, #fmt_arg: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                #err_display
            }
        }
        impl ::std::error::Error for #err_enum {}

        #logic_doc
        pub trait #logic {
            #(#executors)*
            #(#appliers)*
        }

        impl ::eskema::Aggregate for #agg {
            const NAME: &'static str = #agg_name;
            const CONTEXT: &'static str = #ctx_name;
            const SNAPSHOT_EVERY: Option<u64> = #snapshot;
            const STATE_HASH: &'static str = #hash;
            type Command = #cmd_enum;
            type Event = #ev_enum;
            type Error = #err_enum;
            #stream_doc
            fn stream_id(identity: &str) -> String {
                format!(#stream_fmt)
            }
            fn execute(&self, #exec_param: &#cmd_enum) -> Result<Vec<#ev_enum>, #err_enum> {
                #exec_match
            }
            fn apply(&mut self, #apply_param: &#ev_enum) {
                #apply_match
            }
        }
    }
}
