//! What handlers and process managers share: the events a subscriber takes (their enum and
//! its `From`s), its [`eskema::read::Spec`] and how to decode its events. Reading,
//! checkpoints, retries and leases are the runtime's.

use proc_macro2::{Ident, Literal, TokenStream};
use quote::{format_ident, quote};

use super::{Cx, event_ref_names, ident};
use crate::model::{Consistency, EventRef, Exhausted, FailurePolicy, StartFrom};

/// One event a subscriber takes.
pub(super) struct Sub {
    pub(super) variant: Ident,
    pub(super) method: Ident,
    pub(super) path: TokenStream,
    pub(super) r: EventRef,
    /// The `EventKey` constructor: `start`, `proceed`, `stop` for a process manager,
    /// `handle` for a handler.
    pub(super) role: TokenStream,
}

pub(super) fn subs(cx: &Cx, refs: &[(&EventRef, TokenStream)]) -> Vec<Sub> {
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
pub(super) fn shown(cx: &Cx, r: &EventRef) -> String {
    if r.context == cx.ctx.name {
        r.name.clone()
    } else {
        format!("{}.{}", r.context, r.name)
    }
}

/// The `EventKey`s of a spec: the event type (its stored names come from its `Event`
/// impl) and the stream prefix of its aggregate, which tells it from a same-named event of
/// another context.
pub(super) fn event_keys(subs: &[Sub]) -> Vec<TokenStream> {
    subs.iter()
        .map(|s| {
            let prefix = &s.r.stream_prefix;
            let (role, path) = (&s.role, &s.path);
            quote!(::eskema::read::EventKey::#role::<#path>(#prefix))
        })
        .collect()
}

pub(super) fn policy(p: &FailurePolicy) -> TokenStream {
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
pub(super) fn event_enum(cx: &Cx, enum_id: &Ident, subs: &[Sub]) -> TokenStream {
    let attrs = cx.attrs(&enum_id.to_string());
    let allow_large = super::allow_large_variants(subs.iter().map(|s| s.r.bytes));
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
pub(super) struct Declared<'a> {
    pub(super) name: &'a str,
    pub(super) kind: TokenStream,
    pub(super) consistency: Consistency,
    pub(super) start_from: StartFrom,
    pub(super) partitions: u32,
    pub(super) on_failure: &'a FailurePolicy,
}

/// `impl Subscription for <target>`: the spec, and decoding by the key a stored event
/// matched.
pub(super) fn subscription(
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
        quote!(Self::Event::#v(e) => (#i, e.to_data()),)
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
