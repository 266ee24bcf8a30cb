//! Per aggregate: state, commands, events, emits enums (for commands with more than one
//! event), command / event / error enums, the logic trait and the `Aggregate` impl.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::{
    Cx, doc_lines, from_variants, ident, match_ref, stored_names, types, upcast, validate,
};
use crate::model::{Aggregate, IdentityType, names, struct_bytes};

pub(crate) fn emit(cx: &Cx, a: &Aggregate) -> TokenStream {
    let agg = ident(&a.name);
    let agg_name = &a.name;
    let ctx_name = &cx.ctx.name;
    let cmd_enum = ident(&names::command_enum(&a.name));
    let ev_enum = ident(&names::event_enum(&a.name));
    let err_enum = ident(&names::error_enum(&a.name));
    let logic = ident(&names::logic_trait(&a.name));
    let unimplemented = super::on_unimplemented(
        cx,
        &names::logic_trait(&a.name),
        &format!("aggregate `{}`", a.name),
    );

    // ---- state
    let state_doc = doc_lines(a.doc.as_deref().unwrap_or_default());
    let (state_fields, state_defaults) = types::struct_fields(cx, &a.name, &a.state, false);

    // ---- commands
    let commands = a.commands.iter().map(|c| {
        let id = ident(&c.name);
        let mut text = c.doc.clone().unwrap_or_default();
        if c.identity != a.identity {
            if !text.is_empty() {
                text.push_str("\n\n");
            }
            text.push_str(&format!("Identity: `{}`.", c.identity));
        }
        let doc = doc_lines(&text);
        let (fields, defaults) = types::struct_fields(cx, &c.name, &c.fields, true);
        let validate = validate::emit_impl(cx, &c.name, &c.fields);
        let attrs = cx.attrs(&c.name);
        quote! {
            #doc
            #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
            #[serde(crate = "::eskema::serde", deny_unknown_fields)]
            #attrs
            pub struct #id { #fields }
            #defaults
            #validate
        }
    });

    // ---- events
    let events = a.events.iter().map(|e| upcast::emit_event(cx, e));

    // ---- emits enums, for commands that may emit more than one event
    // Some of the aggregate's events: bounded by the enum of all of them.
    let events_bound = a.event_enum_bytes();
    let emits_enums = a.commands.iter().filter(|c| c.emits.len() > 1).map(|c| {
        let id = ident(&names::emits_enum(&c.name));
        let vs: Vec<_> = c.emits.iter().map(|e| ident(e)).collect();
        let allow_emits = super::allow_large_variants(vs.iter().map(|_| events_bound));
        let froms = from_variants(
            &id,
            vs.iter().map(|v| (quote!(#v), quote!(#v))).collect(),
            false,
        );
        let attrs = cx.attrs(&names::emits_enum(&c.name));
        quote! {
            #[derive(Debug, Clone, PartialEq)]
            #allow_emits
            #attrs
            pub enum #id { #(#vs(#vs),)* }
            #froms
            ::eskema::__from_variants!(#ev_enum from #id { #(#vs),* });
        }
    });

    // ---- command enum
    let cmd_ids: Vec<_> = a.commands.iter().map(|c| ident(&c.name)).collect();
    let cmd_names: Vec<&String> = a.commands.iter().map(|c| &c.name).collect();
    let allow_commands =
        super::allow_large_variants(a.commands.iter().map(|c| struct_bytes(&c.fields)));
    let validate_arms = cmd_ids.iter().map(|v| quote!(Self::#v(c) => c,)).collect();
    let validate_match = match_ref(quote!(self), validate_arms);
    let name_arms = cmd_ids
        .iter()
        .zip(&cmd_names)
        .map(|(v, n)| quote!(Self::#v(_) => #n,))
        .collect();
    let name_match = match_ref(quote!(self), name_arms);
    let identity_arms = a
        .commands
        .iter()
        .map(|c| {
            let v = ident(&c.name);
            let f = ident(&c.identity);
            match c.identity_type {
                IdentityType::String => quote!(Self::#v(c) => c.#f.clone(),),
                IdentityType::Uuid => quote!(Self::#v(c) => c.#f.to_string(),),
            }
        })
        .collect();
    let identity_match = match_ref(quote!(self), identity_arms);
    let validate_body = if a.commands.is_empty() {
        quote!(let _ = (prefix, errors); #validate_match)
    } else {
        quote! {
            let command: &dyn ::eskema::Validate = #validate_match;
            command.validate_into(prefix, errors);
        }
    };

    // ---- event enum
    let ev_ids: Vec<_> = a.events.iter().map(|e| ident(&e.name)).collect();
    let allow_events =
        super::allow_large_variants(a.events.iter().map(|e| struct_bytes(&e.fields)));
    let ev_froms = from_variants(
        &ev_enum,
        ev_ids.iter().map(|v| (quote!(#v), quote!(#v))).collect(),
        false,
    );
    let cmd_froms = from_variants(
        &cmd_enum,
        cmd_ids.iter().map(|v| (quote!(#v), quote!(#v))).collect(),
        false,
    );
    let as_event_match = match_ref(
        quote!(self),
        ev_ids.iter().map(|v| quote!(Self::#v(e) => e,)).collect(),
    );
    let stored_arms = a.events.iter().map(|e| {
        let v = ident(&e.name);
        let names = stored_names(e);
        quote!(#(#names)|* => decode(v, data, Self::#v),)
    });
    let ev_enum_name = names::event_enum(&a.name);
    let (version_param, data_param) = if a.events.is_empty() {
        (quote!(_v), quote!(_data))
    } else {
        (quote!(v), quote!(data))
    };
    let import_decode = (!a.events.is_empty()).then(|| {
        quote!(
            use ::eskema::__private::decode;
        )
    });

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
            quote!(Self::#v => #m,)
        })
        .collect::<Vec<_>>();
    let err_display = if err_arms.is_empty() {
        quote!(match *self {})
    } else {
        quote! {
            let message = match self { #(#err_arms)* };
            f.write_str(message)
        }
    };
    let fmt_arg = if err_arms.is_empty() {
        quote!(_f)
    } else {
        quote!(f)
    };

    // ---- logic trait
    let executors = a.commands.iter().map(|c| {
        let m = ident(&names::snake(&c.name));
        let cid = ident(&c.name);
        let item = ident(&c.executor_item());
        quote! {
            fn #m(&self, command: &#cid) -> Result<Vec<#item>, #err_enum>;
        }
    });
    let appliers = a.events.iter().map(|e| {
        let m = format_ident!("apply_{}", names::snake(&e.name));
        let eid = ident(&e.name);
        quote! {
            fn #m(&mut self, event: &#eid);
        }
    });
    let logic_doc = doc_lines(&format!(
        "The business logic of [`{}`]: executors decide (pure: no I/O, no mutation), appliers fold events into the state. `eskema scaffold` writes the stubs.",
        a.name
    ));

    // ---- Aggregate impl
    // The impl requires the logic (`where Self: Logic`): a missing impl is then one
    // unsatisfied bound, which shows the trait's `on_unimplemented` note (without it, each
    // call of a missing method would be an E0599, which ignores the note).
    let exec_arms = a
        .commands
        .iter()
        .map(|c| {
            let v = ident(&c.name);
            let m = ident(&names::snake(&c.name));
            quote! {
                Self::Command::#v(c) => emitted(self.#m(c)),
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
            quote!(Self::Event::#v(e) => self.#m(e),)
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
    let hash = &a.state_hash;
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
        quote! {
            use ::eskema::__private::emitted;
            #exec_match
        }
    };
    let apply_match = if a.events.is_empty() {
        quote!(match *_event {})
    } else {
        apply_match
    };

    let (state_attrs, cmd_attrs, ev_attrs, err_attrs) = (
        cx.attrs(&a.name),
        cx.attrs(&names::command_enum(&a.name)),
        cx.attrs(&names::event_enum(&a.name)),
        cx.attrs(&names::error_enum(&a.name)),
    );
    quote! {
        #state_doc
        #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
        #[serde(crate = "::eskema::serde")]
        #state_attrs
        pub struct #agg { #state_fields }
        #state_defaults

        #(#commands)*
        #(#events)*
        #(#emits_enums)*

        #[derive(Debug, Clone, PartialEq)]
        #allow_commands
        #cmd_attrs
        pub enum #cmd_enum { #(#cmd_ids(#cmd_ids),)* }
        #cmd_froms
        impl ::eskema::Validate for #cmd_enum {
            fn validate_into(&self, prefix: &str, errors: &mut ::eskema::ValidationErrors) {
                #validate_body
            }
        }
        impl ::eskema::aggregate::AggregateCommand for #cmd_enum {
            fn name(&self) -> &'static str { #name_match }
            fn identity(&self) -> String { #identity_match }
        }

        #[derive(Debug, Clone, PartialEq)]
        #allow_events
        #ev_attrs
        pub enum #ev_enum { #(#ev_ids(#ev_ids),)* }
        #ev_froms
        impl ::eskema::event::DomainEvent for #ev_enum {
            fn as_event(&self) -> &dyn ::eskema::event::AnyEvent { #as_event_match }
            fn from_stored(
                name: &str,
                #version_param: u32,
                #data_param: ::eskema::serde_json::Value,
            ) -> Result<Self, ::eskema::UpcastError> {
                #import_decode
                match name {
                    #(#stored_arms)*
                    _ => Err(::eskema::UpcastError::unknown(name, #ev_enum_name)),
                }
            }
        }

        #[derive(Debug, Clone, PartialEq, Eq)]
        #err_attrs
        pub enum #err_enum { #(#err_variants)* }
        impl ::std::fmt::Display for #err_enum {
            fn fmt(&self, #fmt_arg: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                #err_display
            }
        }
        impl ::std::error::Error for #err_enum {}

        #logic_doc
        #unimplemented
        pub trait #logic {
            #(#executors)*
            #(#appliers)*
        }

        impl ::eskema::aggregate::Aggregate for #agg where Self: #logic {
            const NAME: &'static str = #agg_name;
            const CONTEXT: &'static str = #ctx_name;
            const SNAPSHOT_EVERY: Option<u64> = #snapshot;
            const STATE_HASH: &'static str = #hash;
            type Command = #cmd_enum;
            type Event = #ev_enum;
            type Error = #err_enum;
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
