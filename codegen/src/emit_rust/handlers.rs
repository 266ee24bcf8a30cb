//! Event handlers (read side): the trait the user implements (async, one method per event;
//! a projection's methods also get the store's transaction), the unit struct that carries
//! the handler's spec, and the runtime trait that calls the user's methods.

use proc_macro2::TokenStream;
use quote::quote;

use super::subscriber::{Declared, event_enum, subs, subscription};
use super::{Cx, doc_lines, ident};
use crate::model::{Consistency, EventRef, Handler, HandlerKind, names};

pub(crate) fn emit_handler(cx: &Cx, h: &Handler) -> TokenStream {
    let refs: Vec<(&EventRef, TokenStream)> =
        h.subscribes.iter().map(|r| (r, quote!(handle))).collect();
    let subs = subs(cx, &refs);
    let target = ident(&h.name);
    let trait_id = ident(&names::handler_trait(&h.name));
    let unimplemented = super::on_unimplemented(
        cx,
        &names::handler_trait(&h.name),
        &format!("handler `{}`", h.name),
    );
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
            quote!(Self::Event::#v(e) => h.#m(conn, e, r).await,)
        });
        (
            quote!(Projection),
            quote! {
                #(#methods)*
                /// Empties the read model for a rebuild, in the transaction that moves the checkpoint back.
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
            quote!(Self::Event::#v(e) => h.#m(e, r).await,)
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
        #unimplemented
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
