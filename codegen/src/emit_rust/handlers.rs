//! Event handlers (read side) and process managers (sagas): the trait the user implements,
//! the enum of the events it takes, and the runtime traits that say only what differs per
//! subscriber (its [`eskema::read::Spec`], how to decode its events, how to call the trait).
//! Reading, checkpoints, retries and leases are the runtime's.

use proc_macro2::{Ident, Literal, TokenStream};
use quote::{format_ident, quote};

use super::{Cx, doc_lines, event_ref_names, ident, types};
use crate::model::{
    Consistency, EventRef, Exhausted, FailurePolicy, Handler, HandlerKind, IdentityType,
    ProcessManager, StartFrom, names,
};

/// One event a subscriber takes.
struct Sub {
    variant: Ident,
    method: Ident,
    path: TokenStream,
    r: EventRef,
    /// The `EventKey` constructor: `start`, `proceed`, `stop` for a process manager,
    /// `handle` for a handler.
    role: TokenStream,
}

fn subs(cx: &Cx, refs: &[(&EventRef, TokenStream)]) -> Vec<Sub> {
    let just: Vec<&EventRef> = refs.iter().map(|(r, _)| *r).collect();
    event_ref_names(&just)
        .into_iter()
        .zip(refs)
        .map(|((variant, method), (r, role))| Sub {
            variant: ident(&variant),
            method: format_ident!("on_{}", method),
            path: cx.item_path(&r.context, &r.name),
            r: (*r).clone(),
            role: role.clone(),
        })
        .collect()
}

/// The schema's name for an event seen from this context: `Event` or `context.Event`.
fn shown(cx: &Cx, r: &EventRef) -> String {
    if r.context == cx.ctx.name {
        r.name.clone()
    } else {
        format!("{}.{}", r.context, r.name)
    }
}

/// The `EventKey`s of a spec: the event type (its stored names come from its `Event`
/// impl) and the stream prefix of its aggregate, which tells it from a same-named event of
/// another context.
fn event_keys(subs: &[Sub]) -> Vec<TokenStream> {
    subs.iter()
        .map(|s| {
            let prefix = &s.r.stream_prefix;
            let (role, path) = (&s.role, &s.path);
            quote!(::eskema::read::EventKey::#role::<#path>(#prefix))
        })
        .collect()
}

fn policy(p: &FailurePolicy) -> TokenStream {
    let attempts = Literal::u32_unsuffixed(p.attempts);
    let backoff = p.backoff_ms.iter().map(|ms| Literal::u64_unsuffixed(*ms));
    let then = match p.then {
        Exhausted::Stop => quote!(Stop),
        Exhausted::Skip => quote!(Skip),
        Exhausted::Park => quote!(Park),
    };
    quote! {
        ::eskema::read::FailurePolicy {
            attempts: #attempts,
            backoff_ms: &[#(#backoff),*],
            then: ::eskema::read::Exhausted::#then,
        }
    }
}

/// The enum of the events a subscriber takes, with `From` for each (what the test
/// helpers' `given` takes).
fn event_enum(cx: &Cx, enum_id: &Ident, subs: &[Sub]) -> TokenStream {
    let attrs = cx.attrs(&enum_id.to_string());
    let allow_large = super::allow_large_variants(subs.len());
    let variants = subs.iter().map(|s| {
        let (v, p) = (&s.variant, &s.path);
        quote!(#v(#p),)
    });
    let froms = super::from_variants(
        enum_id,
        subs.iter()
            .map(|s| {
                let (v, p) = (&s.variant, &s.path);
                (quote!(#v), quote!(#p))
            })
            .collect(),
        false,
    );
    quote! {
        #[derive(Debug, Clone, PartialEq)]
        #allow_large
        #attrs
        pub enum #enum_id { #(#variants)* }
        #froms
    }
}

/// What a subscriber's spec says besides its events.
struct Declared<'a> {
    name: &'a str,
    kind: TokenStream,
    consistency: Consistency,
    start_from: StartFrom,
    partitions: u32,
    on_failure: &'a FailurePolicy,
}

/// `impl Subscription for <target>`: the spec, and decoding by the key a stored event
/// matched.
fn subscription(
    cx: &Cx,
    target: &Ident,
    enum_id: &Ident,
    declared: Declared,
    subs: &[Sub],
) -> TokenStream {
    let Declared {
        name,
        kind,
        consistency,
        start_from,
        partitions,
        on_failure,
    } = declared;
    let context = &cx.ctx.name;
    // Only what differs from `Spec::DEFAULT`.
    let consistency = (consistency == Consistency::Strong)
        .then(|| quote!(consistency: ::eskema::read::Consistency::Strong,));
    let start_from = (start_from == StartFrom::Current)
        .then(|| quote!(start_from: ::eskema::read::StartFrom::Current,));
    let policy = (*on_failure != FailurePolicy::default()).then(|| {
        let policy = policy(on_failure);
        quote!(on_failure: #policy,)
    });
    let partitions = (partitions != 1).then(|| {
        let n = Literal::u32_unsuffixed(partitions);
        quote!(partitions: #n,)
    });
    let keys = event_keys(subs);
    let arms = subs.iter().enumerate().map(|(i, s)| {
        let v = &s.variant;
        let i = Literal::usize_unsuffixed(i);
        quote! {
            #i => decode_recorded(recorded, #enum_id::#v),
        }
    });
    let encode_arms = subs.iter().enumerate().map(|(i, s)| {
        let v = &s.variant;
        let i = Literal::usize_unsuffixed(i);
        quote!(#enum_id::#v(e) => (#i, e.to_data()),)
    });
    quote! {
        impl ::eskema::read::Subscription for #target {
            type Event = #enum_id;
            const SPEC: ::eskema::read::Spec = ::eskema::read::Spec {
                context: #context,
                name: #name,
                kind: ::eskema::read::Kind::#kind,
                #consistency
                #start_from
                #partitions
                #policy
                events: &[#(#keys),*],
                ..::eskema::read::Spec::DEFAULT
            };
            fn decode(index: usize, recorded: &::eskema::RecordedEvent) -> Result<#enum_id, ::eskema::UpcastError> {
                use ::eskema::__private::decode_recorded;
                match index {
                    #(#arms)*
                    _ => Err(::eskema::__private::unknown::<Self>(recorded)),
                }
            }
            fn encode(event: &#enum_id) -> (usize, ::eskema::serde_json::Value) {
                use ::eskema::event::AnyEvent as _;
                match event { #(#encode_arms)* }
            }
        }
    }
}

pub(crate) fn emit_handler(cx: &Cx, h: &Handler) -> TokenStream {
    let refs: Vec<(&EventRef, TokenStream)> =
        h.subscribes.iter().map(|r| (r, quote!(handle))).collect();
    let subs = subs(cx, &refs);
    let target = ident(&h.name);
    let trait_id = ident(&names::handler_trait(&h.name));
    let enum_id = ident(&names::handler_event_enum(&h.name));
    let projection = h.kind == HandlerKind::Projection;
    let strong = match h.consistency {
        Consistency::Strong => {
            "`consistency: strong`: a dispatch whose events it takes returns once it has processed \
             them, when a read side of the dispatching engine runs or observes it."
        }
        Consistency::Eventual => "",
    };
    let doc = doc_lines(h.doc.as_deref().unwrap_or_default());
    let strong = (!strong.is_empty()).then(|| {
        let d = doc_lines(strong);
        quote!(#[doc = ""] #d)
    });
    let (kind, methods, deliver) = if projection {
        let methods = subs.iter().map(|s| {
            let (m, p) = (&s.method, &s.path);
            quote! {
                fn #m(&self, conn: &mut C, event: &#p, recorded: &::eskema::RecordedEvent) -> impl ::eskema::read::Handled;
            }
        });
        let arms = subs.iter().map(|s| {
            let (v, m) = (&s.variant, &s.method);
            quote!(#enum_id::#v(e) => h.#m(conn, e, r).await,)
        });
        (
            quote!(Projection),
            quote! {
                #(#methods)*
                /// Empties the read model, for a rebuild from origin (in the same transaction
                /// that moves the checkpoint back).
                fn reset(&self, conn: &mut C) -> impl ::eskema::read::Handled;
            },
            quote! {
                impl<C: ?Sized + Send, H: #trait_id<C>> ::eskema::read::Project<H, C> for #target {
                    async fn project(h: &H, conn: &mut C, event: &#enum_id, r: &::eskema::RecordedEvent) -> Result<(), ::eskema::HandlerError> {
                        match event { #(#arms)* }
                    }
                    async fn reset(handler: &H, conn: &mut C) -> Result<(), ::eskema::HandlerError> {
                        handler.reset(conn).await
                    }
                }
            },
        )
    } else {
        let methods = subs.iter().map(|s| {
            let (m, p) = (&s.method, &s.path);
            quote! {
                fn #m(&self, event: &#p, recorded: &::eskema::RecordedEvent) -> impl ::eskema::read::Handled;
            }
        });
        let arms = subs.iter().map(|s| {
            let (v, m) = (&s.variant, &s.method);
            quote!(#enum_id::#v(e) => h.#m(e, r).await,)
        });
        (
            quote!(Effect),
            quote!(#(#methods)*),
            quote! {
                impl<H: #trait_id> ::eskema::read::Deliver<H> for #target {
                    async fn deliver(h: &H, event: &#enum_id, r: &::eskema::RecordedEvent) -> Result<(), ::eskema::HandlerError> {
                        match event { #(#arms)* }
                    }
                }
            },
        )
    };
    let (trait_doc, generics) = if projection {
        (
            doc_lines(
                "Writes the read model on `C`, the store's transaction that also moves the \
                 checkpoint (`sqlx::PgConnection` on Postgres, `eskema::MemoryTx` in memory): \
                 each event exactly once.",
            ),
            quote!(<C: ?Sized + Send>),
        )
    } else {
        (
            doc_lines(
                "Side effects, at least once: `recorded.position` is the event's idempotency key.",
            ),
            TokenStream::new(),
        )
    };
    let enum_ts = event_enum(cx, &enum_id, &subs);
    let marker_doc = doc_lines(&format!(
        "Runs [`{}`] on a read side: `ReadSide::builder(..).{}({}, ..)`.",
        names::handler_trait(&h.name),
        if projection { "projection" } else { "handler" },
        h.name
    ));
    let spec = subscription(
        cx,
        &target,
        &enum_id,
        Declared {
            name: &h.name,
            kind,
            consistency: h.consistency,
            start_from: h.start_from,
            partitions: h.partitions,
            on_failure: &h.on_failure,
        },
        &subs,
    );
    quote! {
        #doc
        #strong
        #[doc = ""]
        #trait_doc
        pub trait #trait_id #generics: Send + Sync + 'static {
            #methods
        }
        #enum_ts
        #marker_doc
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
        pub struct #target;
        #spec
        #deliver
    }
}

pub(crate) fn emit_process(cx: &Cx, p: &ProcessManager) -> TokenStream {
    // Each event once, in starts / continues / stops order.
    let mut refs: Vec<(&EventRef, TokenStream)> = Vec::new();
    for (list, role) in [
        (&p.starts_on, quote!(start)),
        (&p.continues_on, quote!(proceed)),
        (&p.stops_on, quote!(stop)),
    ] {
        for r in list {
            if !refs.iter().any(|(seen, _)| *seen == r) {
                refs.push((r, role.clone()));
            }
        }
    }
    let subs = subs(cx, &refs);
    let state_id = ident(&p.name);
    let trait_id = ident(&names::process_trait(&p.name));
    let enum_id = ident(&names::process_event_enum(&p.name));
    let dispatch_id = ident(&names::process_dispatch_enum(&p.name));
    let state_doc = doc_lines(p.doc.as_deref().unwrap_or_default());
    let (state_fields, state_defaults) = types::struct_fields(cx, &p.name, &p.state, false);
    let (state_attrs, dispatch_attrs) = (cx.attrs(&p.name), cx.attrs(&dispatch_id.to_string()));

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
    let cmd_variants = cmds.iter().map(|(v, path, _)| quote!(#v(#path),));
    let cmd_froms = super::from_variants(
        &dispatch_id,
        cmds.iter()
            .map(|(v, path, _)| (quote!(#v), quote!(#path)))
            .collect(),
        false,
    );
    let name_arms = cmds.iter().map(|(v, _, c)| {
        let q = format!("{}.{}", c.context, c.name);
        quote!(Self::#v(_) => #q,)
    });
    let dispatch_arms = cmds.iter().map(|(v, _, c)| {
        let f = cx.item_path(&c.context, "dispatch_with");
        quote!(Self::#v(c) => ::eskema::__private::recorded(#f(engine, c, ctx).await),)
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
        quote! {
            fn #m(&mut self, event: &#path, recorded: &::eskema::RecordedEvent) -> Result<Vec<#dispatch_id>, ::eskema::HandlerError>;
        }
    });
    let handle_arms = subs.iter().map(|s| {
        let (v, m) = (&s.variant, &s.method);
        quote!(#enum_id::#v(e) => self.#m(e, r),)
    });
    let enum_ts = event_enum(cx, &enum_id, &subs);

    // ---- the instance: the identity field of each event, as a string
    let f = ident(&p.identity);
    let instance_arms = subs
        .iter()
        .map(|s| {
            let v = &s.variant;
            match p.identity_type {
                IdentityType::String => quote!(#enum_id::#v(e) => e.#f.clone(),),
                IdentityType::Uuid => quote!(#enum_id::#v(e) => e.#f.to_string(),),
            }
        })
        .collect::<Vec<_>>();
    let instance_match = super::match_ref(quote!(event), instance_arms);
    let trait_doc = doc_lines(&format!(
        "The logic of process manager `{}`, implemented on [`{}`]: one instance per `{}` \
         value, started by {}, ended by {}. Each method updates the state and returns the \
         commands to dispatch; it must depend on the state and the event alone (a redelivered \
         event asks for the same commands, which are then no-ops).",
        p.name,
        p.name,
        p.identity,
        list(cx, &p.starts_on),
        if p.stops_on.is_empty() {
            "nothing".to_string()
        } else {
            list(cx, &p.stops_on)
        },
    ));
    let spec = subscription(
        cx,
        &state_id,
        &enum_id,
        Declared {
            name: &p.name,
            kind: quote!(Process),
            consistency: Consistency::Eventual,
            start_from: StartFrom::Origin,
            partitions: 1,
            on_failure: &p.on_failure,
        },
        &subs,
    );

    quote! {
        #state_doc
        #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
        #[serde(crate = "::eskema::serde")]
        #state_attrs
        pub struct #state_id { #state_fields }
        #state_defaults

        #[derive(Debug, Clone, PartialEq)]
        #allow_large
        #dispatch_attrs
        pub enum #dispatch_id { #(#cmd_variants)* }
        #cmd_froms
        impl ::eskema::read::Commands for #dispatch_id {
            fn command_name(&self) -> &'static str { #name_match }
            async fn dispatch<S: ::eskema::EventStore>(
                self,
                #engine_param: &::eskema::Engine<S>,
                #ctx_param: ::eskema::CommandContext,
            ) -> Result<Vec<::eskema::RecordedEvent>, ::eskema::DispatchError<String>> {
                #dispatch_match
            }
        }

        #trait_doc
        pub trait #trait_id {
            #(#methods)*
        }
        #enum_ts
        #spec
        impl ::eskema::read::ProcessManager for #state_id {
            type Command = #dispatch_id;
            fn instance(event: &#enum_id) -> String { #instance_match }
            fn handle(&mut self, event: &#enum_id, r: &::eskema::RecordedEvent) -> Result<Vec<#dispatch_id>, ::eskema::HandlerError> {
                match event { #(#handle_arms)* }
            }
        }
    }
}

/// `` `A`, `b.C` `` for docs.
fn list(cx: &Cx, refs: &[EventRef]) -> String {
    refs.iter()
        .map(|r| format!("`{}`", shown(cx, r)))
        .collect::<Vec<_>>()
        .join(", ")
}
