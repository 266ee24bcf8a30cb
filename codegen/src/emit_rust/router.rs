//! The context router: `Command`, `Event`, `Error`, `Router` and the dispatch functions.

use proc_macro2::TokenStream;
use quote::quote;

use super::{Cx, from_variants, ident, match_ref, stored_names};
use crate::model::{Aggregate, names};

/// The router in three parts, each built and formatted on its own (see
/// [`super::emit_files`]): the `Command` enum with its conversions and `Validate`; the
/// `Event` enum with its conversions and `DomainEvent`; then `Error`, `Router` and the
/// dispatch functions.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Part {
    Commands,
    Events,
    Rest,
}

pub(crate) const PARTS: [Part; 3] = [Part::Commands, Part::Events, Part::Rest];

/// The whole router, the parts in order.
pub(crate) fn emit(cx: &Cx) -> TokenStream {
    let parts = PARTS.map(|p| emit_part(cx, p));
    quote!(#(#parts)*)
}

pub(crate) fn emit_part(cx: &Cx, part: Part) -> TokenStream {
    match part {
        Part::Commands => commands(cx),
        Part::Events => events(cx),
        Part::Rest => rest(cx),
    }
}

fn commands(cx: &Cx) -> TokenStream {
    let ctx = cx.ctx;
    let attrs = cx.attrs("Command");
    let aggs: Vec<_> = ctx.aggregates.iter().map(|a| ident(&a.name)).collect();
    let enums: Vec<_> = ctx
        .aggregates
        .iter()
        .map(|a| ident(&names::command_enum(&a.name)))
        .collect();
    let allow_large =
        super::allow_large_variants(ctx.aggregates.iter().map(Aggregate::command_enum_bytes));
    let command = ident("Command");
    let agg_froms = from_variants(
        &command,
        aggs.iter()
            .zip(&enums)
            .map(|(v, e)| (quote!(#v), quote!(#e)))
            .collect(),
        false,
    );
    let cmd_froms = from_variants(
        &command,
        ctx.aggregates
            .iter()
            .zip(&aggs)
            .flat_map(|(a, v)| {
                a.commands.iter().map(move |c| {
                    let c = ident(&c.name);
                    (quote!(#v), quote!(#c))
                })
            })
            .collect(),
        true,
    );
    let validate_match = match_ref(
        quote!(self),
        aggs.iter().map(|v| quote!(Self::#v(c) => c,)).collect(),
    );
    let validate_body = if aggs.is_empty() {
        quote!(let _ = (prefix, errors); #validate_match)
    } else {
        quote! {
            let command: &dyn ::eskema::Validate = #validate_match;
            command.validate_into(prefix, errors);
        }
    };
    quote! {
        /// Every command of the context, by aggregate: what [`dispatch`] takes.
        #[derive(Debug, Clone, PartialEq)]
        #allow_large
        #attrs
        pub enum Command { #(#aggs(#enums),)* }
        #agg_froms
        #cmd_froms
        impl ::eskema::Validate for Command {
            fn validate_into(&self, prefix: &str, errors: &mut ::eskema::ValidationErrors) {
                #validate_body
            }
        }
    }
}

fn events(cx: &Cx) -> TokenStream {
    let ctx = cx.ctx;
    let attrs = cx.attrs("Event");
    let target = format!("{}::Event", ctx.name);
    let aggs: Vec<_> = ctx.aggregates.iter().map(|a| ident(&a.name)).collect();
    let enums: Vec<_> = ctx
        .aggregates
        .iter()
        .map(|a| ident(&names::event_enum(&a.name)))
        .collect();
    let allow_large =
        super::allow_large_variants(ctx.aggregates.iter().map(Aggregate::event_enum_bytes));
    let event = ident("Event");
    let agg_froms = from_variants(
        &event,
        aggs.iter()
            .zip(&enums)
            .map(|(v, e)| (quote!(#v), quote!(#e)))
            .collect(),
        false,
    );
    let ev_froms = from_variants(
        &event,
        ctx.aggregates
            .iter()
            .zip(&aggs)
            .flat_map(|(a, v)| {
                a.events.iter().map(move |e| {
                    let e = ident(&e.name);
                    (quote!(#v), quote!(#e))
                })
            })
            .collect(),
        true,
    );
    let as_event_match = match_ref(
        quote!(self),
        aggs.iter()
            .map(|v| quote!(Self::#v(e) => e.as_event(),))
            .collect(),
    );
    let stored_arms = ctx
        .aggregates
        .iter()
        .zip(aggs.iter().zip(&enums))
        .filter(|(a, _)| !a.events.is_empty())
        .map(|(a, (v, e))| {
            let names: Vec<String> = a.events.iter().flat_map(stored_names).collect();
            quote!(#(#names)|* => #e::from_stored(name, v, data).map(Self::#v),)
        });
    let any_events = ctx.aggregates.iter().any(|a| !a.events.is_empty());
    let (version_param, data_param) = if any_events {
        (quote!(v), quote!(data))
    } else {
        (quote!(_v), quote!(_data))
    };
    quote! {
        /// Every event of the context, by aggregate, as dispatch returns them.
        #[derive(Debug, Clone, PartialEq)]
        #allow_large
        #attrs
        pub enum Event { #(#aggs(#enums),)* }
        #agg_froms
        #ev_froms
        impl ::eskema::event::DomainEvent for Event {
            fn as_event(&self) -> &dyn ::eskema::event::AnyEvent { #as_event_match }
            fn from_stored(
                name: &str,
                #version_param: u32,
                #data_param: ::eskema::serde_json::Value,
            ) -> Result<Self, ::eskema::UpcastError> {
                match name {
                    #(#stored_arms)*
                    _ => Err(::eskema::UpcastError::unknown(name, #target)),
                }
            }
        }
    }
}

fn rest(cx: &Cx) -> TokenStream {
    let ctx = cx.ctx;
    let err_attrs = cx.attrs("Error");
    let ctx_name = &ctx.name;
    let cmd_names: Vec<&String> = ctx
        .aggregates
        .iter()
        .flat_map(|a| a.commands.iter().map(|c| &c.name))
        .collect();
    let decode_arms = ctx.aggregates.iter().flat_map(|a| {
        a.commands.iter().map(|c| {
            let (n, id) = (&c.name, ident(&c.name));
            quote!(#n => decode_command::<#id, _>(json),)
        })
    });
    let import_decode = (!cmd_names.is_empty()).then(|| {
        quote!(
            use ::eskema::__private::decode_command;
        )
    });
    let json_param = if cmd_names.is_empty() {
        quote!(_json)
    } else {
        quote!(json)
    };
    let dispatch_arms: Vec<_> = ctx
        .aggregates
        .iter()
        .map(|a| {
            let v = ident(&a.name);
            quote!(Command::#v(c) => execute::<#v, Self, S>(engine, c, ctx).await,)
        })
        .collect();
    let (engine_param, ctx_param) = if dispatch_arms.is_empty() {
        (quote!(_engine), quote!(_ctx))
    } else {
        (quote!(engine), quote!(ctx))
    };
    let dispatch_body = if dispatch_arms.is_empty() {
        quote!(async move { match command {} })
    } else {
        quote! {
            use ::eskema::__private::execute;
            async move { match command { #(#dispatch_arms)* } }
        }
    };

    let aggs: Vec<_> = ctx.aggregates.iter().map(|a| ident(&a.name)).collect();
    let errs: Vec<_> = ctx
        .aggregates
        .iter()
        .map(|a| ident(&names::error_enum(&a.name)))
        .collect();
    let err_froms = from_variants(
        &ident("Error"),
        aggs.iter()
            .zip(&errs)
            .map(|(v, e)| (quote!(#v), quote!(#e)))
            .collect(),
        false,
    );
    let err_arms: Vec<_> = aggs
        .iter()
        .map(|v| quote!(Self::#v(e) => ::std::fmt::Display::fmt(e, f),))
        .collect();
    let fmt_param = if err_arms.is_empty() {
        quote!(_f)
    } else {
        quote!(f)
    };
    let err_display = match_ref(quote!(self), err_arms);

    quote! {
        /// The domain errors of every aggregate of the context; `Display` is the schema's message.
        #[derive(Debug, Clone, PartialEq, Eq)]
        #err_attrs
        pub enum Error { #(#aggs(#errs),)* }
        #err_froms
        impl ::std::fmt::Display for Error {
            fn fmt(&self, #fmt_param: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                #err_display
            }
        }
        impl ::std::error::Error for Error {}

        /// The context's router: runs each command on its aggregate, decodes commands by name.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
        pub struct Router;
        impl ::eskema::aggregate::Router for Router {
            const CONTEXT: &'static str = #ctx_name;
            const COMMANDS: &'static [&'static str] = &[#(#cmd_names),*];
            type Command = Command;
            type Event = Event;
            type Error = Error;
            fn decode(
                name: &str,
                #json_param: ::eskema::serde_json::Value,
            ) -> Option<Result<Command, ::eskema::serde_json::Error>> {
                #import_decode
                match name {
                    #(#decode_arms)*
                    _ => None,
                }
            }
            fn dispatch<S: ::eskema::EventStore>(
                #engine_param: &::eskema::Engine<S>,
                command: Command,
                #ctx_param: ::eskema::CommandContext,
            ) -> impl ::std::future::Future<Output = ::eskema::aggregate::Dispatched<Self>> + Send {
                #dispatch_body
            }
        }

        ::eskema::__private::dispatch_fns!(Router, Command);
    }
}
