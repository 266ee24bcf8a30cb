//! Event handlers (read side) and process managers (sagas).

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::{Cx, doc_lines, docs, event_ref_names, ident, stored_names, types};
use crate::model::{Consistency, EventRef, Handler, ProcessManager, StartFrom, TypeRef, names};

/// One subscribed event: its enum variant, method, Rust path and stored names.
struct Sub {
    variant: proc_macro2::Ident,
    method: proc_macro2::Ident,
    path: TokenStream,
    stored: Vec<String>,
    /// The stream prefix of the event's aggregate: with the type name, it tells this event
    /// from a same-named event of another context.
    prefix: String,
    name: String,
    r: EventRef,
}

fn subs(cx: &Cx, refs: &[&EventRef]) -> Vec<Sub> {
    event_ref_names(refs)
        .into_iter()
        .zip(refs)
        .map(|((variant, method), r)| Sub {
            variant: ident(&variant),
            method: format_ident!("on_{}", method),
            path: cx.item_path(&r.context, &r.name),
            stored: cx
                .event(r)
                .map(stored_names)
                .unwrap_or_else(|| vec![r.name.clone()]),
            prefix: cx
                .domain
                .contexts
                .iter()
                .find(|c| c.name == r.context)
                .and_then(|c| c.aggregates.iter().find(|a| a.name == r.aggregate))
                .map(|a| a.stream_prefix.clone())
                .unwrap_or_default(),
            name: if r.context == cx.ctx.name {
                r.name.clone()
            } else {
                format!("{}.{}", r.context, r.name)
            },
            r: (*r).clone(),
        })
        .collect()
}

/// The received-events enum shared by handlers and process managers, with `decode`.
fn event_enum(enum_id: &proc_macro2::Ident, owner: &str, subs: &[Sub]) -> TokenStream {
    let allow_large = super::allow_large_variants(subs.len());
    let variants = subs.iter().map(|s| {
        let (v, p) = (&s.variant, &s.path);
        let d = doc_lines(&format!("A `{}` event.", s.name));
        quote!(#d #v(#p),)
    });
    let froms = subs.iter().map(|s| {
        let (v, p) = (&s.variant, &s.path);
        quote! {
            impl From<#p> for #enum_id {
                fn from(event: #p) -> Self { #enum_id::#v(event) }
            }
        }
    });
    let arms = subs.iter().map(|s| {
        let (v, p, names, prefix) = (&s.variant, &s.path, &s.stored, &s.prefix);
        quote! {
            #(#names)|* if recorded.stream_id.starts_with(#prefix) => Some(#p::from_stored(recorded.event_version, recorded.data.clone()).map(#enum_id::#v)),
        }
    });
    let all_names: Vec<&String> = subs.iter().flat_map(|s| &s.stored).collect();
    let doc = doc_lines(&format!("The events `{owner}` receives."));
    quote! {
        #doc
        #[derive(Debug, Clone, PartialEq)]
        #allow_large
        pub enum #enum_id { #(#variants)* }
        #(#froms)*
        impl #enum_id {
            /// Every stored type name this receives (current names and `renamed_from`):
            /// what a subscription filters on.
            pub const EVENT_TYPES: &'static [&'static str] = &[#(#all_names),*];
            /// Decodes a stored event (upcasting it): `None` when it is not one of these. The
            /// stream id's prefix must match too, so a same-named event of another context
            /// is not taken for one of these.
            pub fn decode(recorded: &::eskema::RecordedEvent) -> Option<Result<Self, ::eskema::UpcastError>> {
                match recorded.event_type.as_str() {
                    #(#arms)*
                    _ => None,
                }
            }
        }
    }
}

pub(crate) fn emit_handler(cx: &Cx, h: &Handler) -> TokenStream {
    let refs: Vec<&EventRef> = h.subscribes.iter().collect();
    let subs = subs(cx, &refs);
    let trait_id = ident(&names::handler_trait(&h.name));
    let enum_id = ident(&names::handler_event_enum(&h.name));
    let name = &h.name;
    let doc = docs(
        h.doc.as_deref(),
        &format!(
            "The `{}` event handler: implement it, then run it on a subscription.",
            h.name
        ),
    );
    let methods = subs.iter().map(|s| {
        let (m, p) = (&s.method, &s.path);
        let d = doc_lines(&format!(
            "Handles a `{}` event; an error leaves the checkpoint before it, so it is retried.",
            s.name
        ));
        quote! {
            #d
            fn #m(&mut self, event: &#p, recorded: &::eskema::RecordedEvent) -> Result<(), ::eskema::HandlerError>;
        }
    });
    let arms = subs.iter().map(|s| {
        let (v, m) = (&s.variant, &s.method);
        quote!(Some(Ok(#enum_id::#v(event))) => handler.#m(&event, recorded),)
    });
    let strong = h.consistency == Consistency::Strong;
    let origin = h.start_from == StartFrom::Origin;
    let enum_ts = event_enum(&enum_id, &h.name, &subs);
    let consistency = if strong {
        "strong: dispatch returns after this handler saw the events"
    } else {
        "eventual"
    };
    let start = if origin {
        "origin (every stored event)"
    } else {
        "current (only events after it first starts)"
    };
    let meta_doc = doc_lines(&format!(
        "Consistency: {consistency}. Starts from: {start}."
    ));
    quote! {
        #doc
        ///
        #meta_doc
        pub trait #trait_id: Send {
            #(#methods)*
        }
        #enum_ts
        impl #enum_id {
            /// The handler's name: its checkpoint key.
            pub const HANDLER: &'static str = #name;
            /// `consistency: strong`: dispatch waits until this handler has seen the events.
            pub const STRONG_CONSISTENCY: bool = #strong;
            /// `start_from: origin` (true) or `current` (false).
            pub const START_FROM_ORIGIN: bool = #origin;
            /// Decodes `recorded` and calls the handler's method for it; events it does not
            /// subscribe to are skipped (`Ok`), undecodable ones are a `HandlerError`.
            pub fn handle<H: #trait_id + ?Sized>(handler: &mut H, recorded: &::eskema::RecordedEvent) -> Result<(), ::eskema::HandlerError> {
                match Self::decode(recorded) {
                    None => Ok(()),
                    Some(Err(e)) => Err(::eskema::HandlerError::new(e)),
                    #(#arms)*
                }
            }
        }
    }
}

pub(crate) fn emit_process(cx: &Cx, p: &ProcessManager) -> TokenStream {
    // Each event once, in starts / continues / stops order.
    let mut refs: Vec<&EventRef> = Vec::new();
    for r in p.starts_on.iter().chain(&p.continues_on).chain(&p.stops_on) {
        if !refs.contains(&r) {
            refs.push(r);
        }
    }
    let subs = subs(cx, &refs);
    let state_id = ident(&p.name);
    let trait_id = ident(&names::process_trait(&p.name));
    let enum_id = ident(&names::process_event_enum(&p.name));
    let dispatch_id = ident(&names::process_dispatch_enum(&p.name));
    let name = &p.name;
    let identity = &p.identity;
    let state_doc = docs(
        p.doc.as_deref(),
        &format!(
            "The state of process manager `{}`, one per `{}` value.",
            p.name, p.identity
        ),
    );
    let (state_fields, state_defaults) = types::struct_fields(cx, &p.name, &p.state, false);

    // ---- dispatch enum: variants named after the command, or Context+Command on a clash.
    let mut seen = std::collections::HashSet::new();
    let clash: std::collections::HashSet<&str> = p
        .dispatches
        .iter()
        .filter(|c| !seen.insert(c.name.as_str()))
        .map(|c| c.name.as_str())
        .collect();
    let cmds: Vec<_> = p
        .dispatches
        .iter()
        .map(|c| {
            let variant = if clash.contains(c.name.as_str()) {
                format!("{}{}", super::upper_camel(&c.context), c.name)
            } else {
                c.name.clone()
            };
            (ident(&variant), cx.item_path(&c.context, &c.name), c)
        })
        .collect();
    let allow_large = super::allow_large_variants(cmds.len());
    let cmd_variants = cmds.iter().map(|(v, path, c)| {
        let d = doc_lines(&format!("Dispatch `{}.{}`.", c.context, c.name));
        quote!(#d #v(#path),)
    });
    let cmd_froms = cmds.iter().map(|(v, path, _)| {
        quote! {
            impl From<#path> for #dispatch_id {
                fn from(command: #path) -> Self { #dispatch_id::#v(command) }
            }
        }
    });
    let name_arms = cmds.iter().map(|(v, _, c)| {
        let q = format!("{}.{}", c.context, c.name);
        quote!(#dispatch_id::#v(_) => #q,)
    });
    let dispatch_arms = cmds.iter().map(|(v, _, c)| {
        let f = cx.item_path(&c.context, "dispatch_with");
        quote! {
            #dispatch_id::#v(command) => #f(engine, command, ctx)
                .await
                .map(|outcome| outcome.recorded)
                .map_err(|e| e.map_domain(|d| d.to_string())),
        }
    });
    let (name_match, dispatch_match) = if cmds.is_empty() {
        (quote!(match *self {}), quote!(match self {}))
    } else {
        (
            quote!(match self { #(#name_arms)* }),
            quote!(match self { #(#dispatch_arms)* }),
        )
    };
    let (engine_param, ctx_param) = if cmds.is_empty() {
        (quote!(_engine), quote!(_ctx))
    } else {
        (quote!(engine), quote!(ctx))
    };

    // ---- trait
    let methods = subs.iter().map(|s| {
        let (m, path) = (&s.method, &s.path);
        let d = doc_lines(&format!(
            "Reacts to a `{}` event: updates the state, returns the commands to dispatch.",
            s.name
        ));
        quote! {
            #d
            fn #m(&mut self, event: &#path, recorded: &::eskema::RecordedEvent) -> Result<Vec<#dispatch_id>, ::eskema::HandlerError>;
        }
    });
    let arms = subs.iter().map(|s| {
        let (v, m) = (&s.variant, &s.method);
        quote!(Some(Ok(#enum_id::#v(event))) => process.#m(&event, recorded),)
    });
    let enum_ts = event_enum(&enum_id, &p.name, &subs);

    // ---- correlation: the identity field of each event, as a string
    let corr_arms = subs.iter().map(|s| {
        let v = &s.variant;
        let f = ident(&p.identity);
        let ty = cx
            .event(&s.r)
            .and_then(|e| e.fields.iter().find(|x| x.name == p.identity))
            .map(|x| x.ty.clone());
        match ty {
            Some(TypeRef::String) => quote!(#enum_id::#v(e) => e.#f.clone(),),
            Some(TypeRef::Option(_)) | Some(TypeRef::Vec(_)) | Some(TypeRef::Map(_)) | Some(TypeRef::Json) | Some(TypeRef::Named { .. }) => {
                quote!(#enum_id::#v(e) => ::eskema::serde_json::to_string(&e.#f).unwrap_or_default(),)
            }
            _ => quote!(#enum_id::#v(e) => e.#f.to_string(),),
        }
    }).collect::<Vec<_>>();
    let corr_match = super::match_ref(quote!(self), corr_arms);
    let set = |list: &[EventRef]| {
        let names: Vec<String> = list
            .iter()
            .map(|r| {
                if r.context == cx.ctx.name {
                    r.name.clone()
                } else {
                    format!("{}.{}", r.context, r.name)
                }
            })
            .collect();
        quote!(&[#(#names),*])
    };
    let is_in = |list: &[EventRef]| {
        let vs: Vec<_> = subs
            .iter()
            .filter(|s| list.contains(&s.r))
            .map(|s| {
                let v = &s.variant;
                quote!(#enum_id::#v(_))
            })
            .collect();
        if vs.is_empty() {
            quote!(false)
        } else {
            quote!(matches!(self, #(#vs)|*))
        }
    };
    let (starts, continues, stops) = (set(&p.starts_on), set(&p.continues_on), set(&p.stops_on));
    let (is_start, is_stop) = (is_in(&p.starts_on), is_in(&p.stops_on));
    let trait_doc = doc_lines(&format!(
        "The logic of process manager `{}`: implement it on [`{}`]. One instance runs per `{}` value.",
        p.name, p.name, p.identity
    ));
    let dispatch_doc = doc_lines(&format!("The commands `{}` may dispatch.", p.name));

    quote! {
        #state_doc
        #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
        #[serde(crate = "::eskema::serde")]
        pub struct #state_id { #state_fields }
        #state_defaults

        #dispatch_doc
        #[derive(Debug, Clone, PartialEq)]
        #allow_large
        pub enum #dispatch_id { #(#cmd_variants)* }
        #(#cmd_froms)*
        impl #dispatch_id {
            /// The command's qualified name (`context.Command`), as `domain::dispatch_json` takes it.
            pub fn command_name(&self) -> &'static str { #name_match }
            /// Dispatches the command through its context's router. Contexts differ in their
            /// error types, so the domain error is rendered to its message; on success, the
            /// events the command stored.
            pub async fn dispatch<S: ::eskema::EventStore>(
                self,
                #engine_param: &::eskema::Engine<S>,
                #ctx_param: ::eskema::CommandContext,
            ) -> Result<Vec<::eskema::RecordedEvent>, ::eskema::DispatchError<String>> {
                #dispatch_match
            }
        }

        #trait_doc
        pub trait #trait_id: Send {
            #(#methods)*
        }
        #enum_ts
        impl #enum_id {
            /// The process manager's name: its checkpoint key.
            pub const PROCESS: &'static str = #name;
            /// The correlation field every handled event carries.
            pub const IDENTITY: &'static str = #identity;
            /// `starts_on`: these events create an instance.
            pub const STARTS_ON: &'static [&'static str] = #starts;
            /// `continues_on`: these events reach an existing instance.
            pub const CONTINUES_ON: &'static [&'static str] = #continues;
            /// `stops_on`: after these events the instance ends.
            pub const STOPS_ON: &'static [&'static str] = #stops;
            /// The instance this event belongs to: its `identity` field, as a string.
            pub fn correlation_id(&self) -> String { #corr_match }
            /// Whether this event starts an instance.
            pub fn is_start(&self) -> bool { #is_start }
            /// Whether this event ends its instance.
            pub fn is_stop(&self) -> bool { #is_stop }
            /// Decodes `recorded` and calls the process's method for it; events it does not
            /// react to yield no commands, undecodable ones are a `HandlerError`.
            pub fn handle<P: #trait_id + ?Sized>(process: &mut P, recorded: &::eskema::RecordedEvent) -> Result<Vec<#dispatch_id>, ::eskema::HandlerError> {
                match Self::decode(recorded) {
                    None => Ok(Vec::new()),
                    Some(Err(e)) => Err(::eskema::HandlerError::new(e)),
                    #(#arms)*
                }
            }
        }
    }
}
