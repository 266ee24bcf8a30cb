//! `eskema_domain.rs`: every context file, plus `pub mod domain`, the whole-domain router.

use std::collections::BTreeMap;

use proc_macro2::TokenStream;
use quote::quote;

use super::{ident, upper_camel};
use crate::model::{Context, Domain};

pub(crate) fn emit(domain: &Domain) -> TokenStream {
    let includes = domain.contexts.iter().map(|c| {
        let file = format!("/{}.rs", c.name);
        quote!(include!(concat!(env!("OUT_DIR"), #file));)
    });
    let ctxs: Vec<_> = domain
        .contexts
        .iter()
        .map(|c| (c, ident(&upper_camel(&c.name)), ident(&c.name)))
        .collect();
    let allow_commands =
        super::allow_large_variants(domain.contexts.iter().map(Context::command_enum_bytes));
    let allow_events =
        super::allow_large_variants(domain.contexts.iter().map(Context::event_enum_bytes));

    // Which contexts have a command of each bare name: a unique one may be used unqualified.
    let mut owners: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    let mut qualified = Vec::new();
    for c in &domain.contexts {
        for a in &c.aggregates {
            for cmd in &a.commands {
                owners
                    .entry(cmd.name.as_str())
                    .or_default()
                    .push(c.name.as_str());
                qualified.push(format!("{}.{}", c.name, cmd.name));
            }
        }
    }
    let known_all = qualified.join(", ");

    let cmd_variants = ctxs.iter().map(|(_, v, m)| quote!(#v(super::#m::Command),));
    let ev_variants = ctxs.iter().map(|(_, v, m)| quote!(#v(super::#m::Event),));
    let err_variants = ctxs.iter().map(|(_, v, m)| quote!(#v(super::#m::Error),));
    let pairs = |item: &str| {
        let item = ident(item);
        ctxs.iter()
            .map(|(_, v, m)| (quote!(#v), quote!(super::#m::#item)))
            .collect::<Vec<_>>()
    };
    let command_froms = super::from_variants(&ident("Command"), pairs("Command"), false);
    let event_froms = super::from_variants(&ident("Event"), pairs("Event"), false);
    let error_froms = super::from_variants(&ident("Error"), pairs("Error"), false);
    let each_command = super::from_variants(
        &ident("Command"),
        ctxs.iter()
            .flat_map(|(c, v, m)| {
                c.aggregates
                    .iter()
                    .flat_map(|a| &a.commands)
                    .map(move |cmd| {
                        let cid = ident(&cmd.name);
                        (quote!(#v), quote!(super::#m::#cid))
                    })
            })
            .collect(),
        true,
    );
    let err_arms: Vec<_> = ctxs
        .iter()
        .map(|(_, v, _)| quote!(Error::#v(e) => ::std::fmt::Display::fmt(e, f),))
        .collect();
    let fmt_param = if err_arms.is_empty() {
        quote!(_f)
    } else {
        quote!(f)
    };
    let err_display = super::match_ref(quote!(self), err_arms);

    let dispatch_arms: Vec<_> = ctxs
        .iter()
        .map(|(_, v, m)| {
            quote! {
                Command::#v(c) => super::#m::dispatch_with(engine, c, ctx)
                    .await
                    .map(|outcome| outcome.map_events(Event::#v))
                    .map_err(|e| e.map_domain(Error::#v)),
            }
        })
        .collect();
    let (engine_param, ctx_param, dispatch_body) = if dispatch_arms.is_empty() {
        (
            quote!(_engine),
            quote!(_ctx),
            quote!(match Into::<Command>::into(command) {}),
        )
    } else {
        (
            quote!(engine),
            quote!(ctx),
            quote!(match Into::<Command>::into(command) { #(#dispatch_arms)* }),
        )
    };

    let qualified_arms = ctxs.iter().map(|(c, v, m)| {
        let n = &c.name;
        quote! {
            // The context router strips its own `context.` prefix; passing the full name
            // keeps it in error messages.
            Some((#n, _)) => super::#m::dispatch_json_with(engine, name, json, ctx)
                .await
                .map(|outcome| outcome.map_events(Event::#v))
                .map_err(|e| e.map_domain(Error::#v)),
        }
    });
    let unique_arms = ctxs.iter().filter_map(|(c, v, m)| {
        let names: Vec<&str> = owners
            .iter()
            .filter(|(_, cs)| cs.len() == 1 && cs[0] == c.name)
            .map(|(n, _)| *n)
            .collect();
        if names.is_empty() {
            return None;
        }
        Some(quote! {
            #(#names)|* => super::#m::dispatch_json_with(engine, name, json, ctx)
                .await
                .map(|outcome| outcome.map_events(Event::#v))
                .map_err(|e| e.map_domain(Error::#v)),
        })
    });
    let ambiguous_arms = owners.iter().filter(|(_, cs)| cs.len() > 1).map(|(n, cs)| {
        let known = cs
            .iter()
            .map(|c| format!("{c}.{n}"))
            .collect::<Vec<_>>()
            .join(", ");
        quote! {
            #n => Err(::eskema::DispatchError::UnknownCommand {
                name: name.to_string(),
                known: String::from(#known),
            }),
        }
    });
    // With no context, nothing would use the parameters.
    let no_contexts = ctxs
        .is_empty()
        .then(|| quote!(let _ = (engine, json, ctx);));

    quote! {
        #(#includes)*

        /// The whole-domain router: dispatch by qualified (`context.Command`) or unique bare name.
        pub mod domain {
            pub const COMMANDS: &[&str] = &[#(#qualified),*];

            /// A command of any context: what [`dispatch`] takes.
            #[derive(Debug, Clone, PartialEq)]
            #allow_commands
        pub enum Command { #(#cmd_variants)* }
            /// An event of any context, as dispatch returns them.
            #[derive(Debug, Clone, PartialEq)]
            #allow_events
        pub enum Event { #(#ev_variants)* }
            /// A domain error of any context; `Display` is the schema's message.
            #[derive(Debug, Clone, PartialEq, Eq)]
            pub enum Error { #(#err_variants)* }
            #command_froms
            #each_command
            #event_froms
            #error_froms
            impl ::std::fmt::Display for Error {
                fn fmt(&self, #fmt_param: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                    #err_display
                }
            }
            impl ::std::error::Error for Error {}

            /// Dispatches a command of any context, with a fresh command id.
            pub async fn dispatch<S: ::eskema::EventStore>(
                engine: &::eskema::Engine<S>,
                command: impl Into<Command>,
            ) -> Result<::eskema::Outcome<Event>, ::eskema::DispatchError<Error>> {
                dispatch_with(engine, command, ::eskema::CommandContext::default()).await
            }

            /// [`dispatch`] with a [`::eskema::CommandContext`].
            pub async fn dispatch_with<S: ::eskema::EventStore>(
                #engine_param: &::eskema::Engine<S>,
                command: impl Into<Command>,
                #ctx_param: ::eskema::CommandContext,
            ) -> Result<::eskema::Outcome<Event>, ::eskema::DispatchError<Error>> {
                #dispatch_body
            }

            /// Decodes and dispatches a command by name: `"bank.OpenBankAccount"` always works,
            /// a bare `"OpenBankAccount"` when no other context has a command of that name. An
            /// unknown or ambiguous name is `DispatchError::UnknownCommand`, listing the
            /// qualified names it could mean (all of them for an unknown name).
            pub async fn dispatch_json<S: ::eskema::EventStore>(
                engine: &::eskema::Engine<S>,
                name: &str,
                json: ::eskema::serde_json::Value,
            ) -> Result<::eskema::Outcome<Event>, ::eskema::DispatchError<Error>> {
                dispatch_json_with(engine, name, json, ::eskema::CommandContext::default()).await
            }

            /// [`dispatch_json`] with a [`::eskema::CommandContext`].
            pub async fn dispatch_json_with<S: ::eskema::EventStore>(
                engine: &::eskema::Engine<S>,
                name: &str,
                json: ::eskema::serde_json::Value,
                ctx: ::eskema::CommandContext,
            ) -> Result<::eskema::Outcome<Event>, ::eskema::DispatchError<Error>> {
                #no_contexts
                match name.split_once('.') {
                    #(#qualified_arms)*
                    Some(_) => Err(unknown(name)),
                    None => match name {
                        #(#unique_arms)*
                        #(#ambiguous_arms)*
                        _ => Err(unknown(name)),
                    },
                }
            }

            fn unknown(name: &str) -> ::eskema::DispatchError<Error> {
                ::eskema::DispatchError::UnknownCommand {
                    name: name.to_string(),
                    known: String::from(#known_all),
                }
            }
        }
    }
}
