//! The context router: `Command`, `Event`, `Error`, `Router` and the dispatch functions.

use proc_macro2::TokenStream;
use quote::quote;

use super::{Cx, doc_lines, ident, match_ref, stored_names};
use crate::model::{Aggregate, Command, names};

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

/// Every command of the context with its aggregate, in schema order.
fn all_commands<'c>(cx: &Cx<'c>) -> Vec<(&'c Aggregate, &'c Command)> {
    cx.ctx
        .aggregates
        .iter()
        .flat_map(|a| a.commands.iter().map(move |c| (a, c)))
        .collect()
}

fn commands(cx: &Cx) -> TokenStream {
    let ctx = cx.ctx;
    let ctx_name = &ctx.name;
    let cmds = all_commands(cx);
    let allow_large = super::allow_large_variants(cmds.len());
    let ctx_doc = doc_lines(&format!(
        "Every command of context `{ctx_name}`: what [`dispatch`] takes."
    ));
    let cmd_variants = cmds.iter().map(|(a, c)| {
        let v = ident(&c.name);
        let d = doc_lines(&format!(
            "[`{}`], a command of aggregate `{}`.",
            c.name, a.name
        ));
        quote!(#d #v(#v),)
    });
    let cmd_froms = cmds.iter().map(|(_, c)| {
        let v = ident(&c.name);
        quote! {
            impl From<#v> for Command {
                fn from(command: #v) -> Self { Command::#v(command) }
            }
        }
    });
    let agg_cmd_froms = ctx.aggregates.iter().map(|a| {
        let e = ident(&names::command_enum(&a.name));
        let arms: Vec<_> = a
            .commands
            .iter()
            .map(|c| {
                let v = ident(&c.name);
                quote!(#e::#v(c) => Command::#v(c),)
            })
            .collect();
        let body = if arms.is_empty() {
            quote!(match command {})
        } else {
            quote!(match command { #(#arms)* })
        };
        quote! {
            impl From<#e> for Command {
                fn from(command: #e) -> Self { #body }
            }
        }
    });
    let validate_arms = cmds
        .iter()
        .map(|(_, c)| {
            let v = ident(&c.name);
            quote!(Command::#v(c) => ::eskema::Validate::validate_into(c, prefix, errors),)
        })
        .collect();
    let validate_match = match_ref(quote!(self), validate_arms);
    let (vp, ve) = if cmds.is_empty() {
        (quote!(_prefix), quote!(_errors))
    } else {
        (quote!(prefix), quote!(errors))
    };
    quote! {
        #ctx_doc
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(crate = "::eskema::serde")]
        #allow_large
        pub enum Command { #(#cmd_variants)* }
        #(#cmd_froms)*
        #(#agg_cmd_froms)*
        impl ::eskema::Validate for Command {
            fn validate_into(&self, #vp: &str, #ve: &mut ::eskema::ValidationErrors) {
                #validate_match
            }
        }
    }
}

fn events(cx: &Cx) -> TokenStream {
    let ctx = cx.ctx;
    let ctx_name = &ctx.name;
    let target = format!("{ctx_name}::Event");
    let evs: Vec<_> = ctx
        .aggregates
        .iter()
        .flat_map(|a| a.events.iter().map(move |e| (a, e)))
        .collect();
    let allow_large = super::allow_large_variants(evs.len());
    let ev_variants = evs.iter().map(|(a, e)| {
        let v = ident(&e.name);
        let d = doc_lines(&format!(
            "[`{}`], an event of aggregate `{}`.",
            e.name, a.name
        ));
        quote!(#d #v(#v),)
    });
    let ev_froms = evs.iter().map(|(_, e)| {
        let v = ident(&e.name);
        quote! {
            impl From<#v> for Event {
                fn from(event: #v) -> Self { Event::#v(event) }
            }
        }
    });
    let agg_ev_froms = ctx.aggregates.iter().map(|a| {
        let e = ident(&names::event_enum(&a.name));
        let arms: Vec<_> = a
            .events
            .iter()
            .map(|ev| {
                let v = ident(&ev.name);
                quote!(#e::#v(x) => Event::#v(x),)
            })
            .collect();
        let body = if arms.is_empty() {
            quote!(match event {})
        } else {
            quote!(match event { #(#arms)* })
        };
        quote! {
            impl From<#e> for Event {
                fn from(event: #e) -> Self { #body }
            }
        }
    });
    let ev_ids: Vec<_> = evs.iter().map(|(_, e)| ident(&e.name)).collect();
    let type_match = match_ref(
        quote!(self),
        ev_ids
            .iter()
            .map(|v| quote!(Event::#v(_) => #v::EVENT_TYPE,))
            .collect(),
    );
    let version_match = match_ref(
        quote!(self),
        ev_ids
            .iter()
            .map(|v| quote!(Event::#v(_) => #v::VERSION,))
            .collect(),
    );
    let data_match = match_ref(
        quote!(self),
        ev_ids
            .iter()
            .map(|v| quote!(Event::#v(e) => ::eskema::engine::to_json(e),))
            .collect(),
    );
    let stored_arms = evs.iter().map(|(_, e)| {
        let v = ident(&e.name);
        let names = stored_names(e);
        quote!(#(#names)|* => #v::from_stored(event_version, data).map(Event::#v),)
    });
    let data_param = if evs.is_empty() {
        quote!(_data)
    } else {
        quote!(data)
    };
    let ver_param = if evs.is_empty() {
        quote!(_event_version)
    } else {
        quote!(event_version)
    };

    quote! {
        /// Every event of the context, as dispatch returns them.
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(crate = "::eskema::serde")]
        #allow_large
        pub enum Event { #(#ev_variants)* }
        #(#ev_froms)*
        #(#agg_ev_froms)*
        impl ::eskema::DomainEvent for Event {
            fn event_type(&self) -> &'static str { #type_match }
            fn event_version(&self) -> u32 { #version_match }
            fn to_data(&self) -> ::eskema::serde_json::Value { #data_match }
            fn from_stored(
                event_type: &str,
                #ver_param: u32,
                #data_param: ::eskema::serde_json::Value,
            ) -> Result<Self, ::eskema::UpcastError> {
                match event_type {
                    #(#stored_arms)*
                    _ => Err(::eskema::UpcastError::UnknownEventType {
                        event_type: event_type.to_string(),
                        target: #target.to_string(),
                    }),
                }
            }
        }
    }
}

fn rest(cx: &Cx) -> TokenStream {
    let ctx = cx.ctx;
    let ctx_name = &ctx.name;
    let prefix = format!("{ctx_name}.");
    let cmds = all_commands(cx);
    let cmd_names: Vec<&String> = cmds.iter().map(|(_, c)| &c.name).collect();
    let decode_arms = cmds.iter().map(|(_, c)| {
        let v = ident(&c.name);
        let n = &c.name;
        quote! {
            #n => Some(::eskema::serde_json::from_value::<#v>(json).map(Command::#v)),
        }
    });
    let json_param = if cmds.is_empty() {
        quote!(_json)
    } else {
        quote!(json)
    };
    let dispatch_arms: Vec<_> = cmds
        .iter()
        .map(|(a, c)| {
            let v = ident(&c.name);
            let agg = ident(&a.name);
            let ce = ident(&names::command_enum(&a.name));
            let av = ident(&a.name);
            quote! {
                Command::#v(c) => engine
                    .execute::<#agg>(#ce::#v(c), ctx)
                    .await
                    .map(|outcome| outcome.map_events(Event::from))
                    .map_err(|e| e.map_domain(Error::#av)),
            }
        })
        .collect();
    let (engine_param, ctx_param, dispatch_body) = if cmds.is_empty() {
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

    let err_variants = ctx.aggregates.iter().map(|a| {
        let v = ident(&a.name);
        let e = ident(&names::error_enum(&a.name));
        let d = doc_lines(&format!("A domain error of aggregate `{}`.", a.name));
        quote!(#d #v(#e),)
    });
    let err_froms = ctx.aggregates.iter().map(|a| {
        let v = ident(&a.name);
        let e = ident(&names::error_enum(&a.name));
        quote! {
            impl From<#e> for Error {
                fn from(error: #e) -> Self { Error::#v(error) }
            }
        }
    });
    let err_arms: Vec<_> = ctx
        .aggregates
        .iter()
        .map(|a| {
            let v = ident(&a.name);
            quote!(Error::#v(e) => ::std::fmt::Display::fmt(e, f),)
        })
        .collect();
    let fmt_param = if err_arms.is_empty() {
        quote!(_f)
    } else {
        quote!(f)
    };
    let err_display = match_ref(quote!(self), err_arms);
    let known = cmd_names
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let json_doc = doc_lines(&format!(
        "`name` is a bare command name or one qualified with this context (`{prefix}<Command>`). An unknown name is `DispatchError::UnknownCommand` (known: {known}); JSON of the wrong shape (including unknown fields) is `DispatchError::Decode`."
    ));

    quote! {
        /// The domain errors of every aggregate of the context; `Display` is the schema's message.
        #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(crate = "::eskema::serde")]
        pub enum Error { #(#err_variants)* }
        #(#err_froms)*
        impl ::std::fmt::Display for Error {
            fn fmt(&self, #fmt_param: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                #err_display
            }
        }
        impl ::std::error::Error for Error {}

        /// Decodes the context's commands by name, for [`dispatch_json`].
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
        pub struct Router;
        impl ::eskema::Router for Router {
            const CONTEXT: &'static str = #ctx_name;
            const COMMANDS: &'static [&'static str] = &[#(#cmd_names),*];
            type Command = Command;
            fn decode(
                name: &str,
                #json_param: ::eskema::serde_json::Value,
            ) -> Option<Result<Command, ::eskema::serde_json::Error>> {
                match name {
                    #(#decode_arms)*
                    _ => None,
                }
            }
        }

        /// Validates `command`, then runs it on its aggregate (load, execute, append), with a
        /// fresh command id. See [`dispatch_with`] to pass ids and metadata.
        pub async fn dispatch<S: ::eskema::EventStore>(
            engine: &::eskema::Engine<S>,
            command: impl Into<Command>,
        ) -> Result<::eskema::Outcome<Event>, ::eskema::DispatchError<Error>> {
            dispatch_with(engine, command, ::eskema::CommandContext::default()).await
        }

        /// [`dispatch`] with a [`::eskema::CommandContext`]: a command id makes the dispatch
        /// idempotent; correlation and causation ids and extra metadata go into every event.
        pub async fn dispatch_with<S: ::eskema::EventStore>(
            #engine_param: &::eskema::Engine<S>,
            command: impl Into<Command>,
            #ctx_param: ::eskema::CommandContext,
        ) -> Result<::eskema::Outcome<Event>, ::eskema::DispatchError<Error>> {
            #dispatch_body
        }

        /// Decodes `json` as the command called `name`, then [`dispatch`]es it (which
        /// validates first).
        ///
        #json_doc
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
            let bare = name.strip_prefix(#prefix).unwrap_or(name);
            let command = match <Router as ::eskema::Router>::decode(bare, json) {
                Some(Ok(command)) => command,
                Some(Err(e)) => {
                    return Err(::eskema::DispatchError::Decode {
                        name: name.to_string(),
                        message: e.to_string(),
                    });
                }
                None => {
                    return Err(::eskema::DispatchError::UnknownCommand {
                        name: name.to_string(),
                        known: <Router as ::eskema::Router>::COMMANDS.join(", "),
                    });
                }
            };
            dispatch_with(engine, command, ctx).await
        }
    }
}
