//! Process managers (sagas): the state struct, the enum of the commands it dispatches, the
//! trait the user implements on the state, and the runtime traits that route events to it
//! and dispatch its commands.

use proc_macro2::TokenStream;
use quote::quote;

use super::subscriber::{Declared, event_enum, shown, subs, subscription};
use super::{Cx, doc_lines, ident, types};
use crate::model::{Consistency, EventRef, IdentityType, ProcessManager, StartFrom, names};

pub(crate) fn emit_process(cx: &Cx, p: &ProcessManager) -> TokenStream {
    // Each event once, in starts / continues / stops order.
    let mut refs: Vec<(&EventRef, TokenStream)> = Vec::new();
    let mut seen: std::collections::HashSet<(&str, &str)> = std::collections::HashSet::new();
    for (list, role) in [
        (&p.starts_on, quote!(start)),
        (&p.continues_on, quote!(proceed)),
        (&p.stops_on, quote!(stop)),
    ] {
        for r in list {
            // An event is named by its context and name (the rest follows from them).
            if seen.insert((r.context.as_str(), r.name.as_str())) {
                refs.push((r, role.clone()));
            }
        }
    }
    let subs = subs(cx, &refs);
    let state_id = ident(&p.name);
    let trait_id = ident(&names::process_trait(&p.name));
    let unimplemented = super::on_unimplemented(
        cx,
        &names::process_trait(&p.name),
        &format!("process manager `{}`", p.name),
    );
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
    let allow_large = super::allow_large_variants(cmds.iter().map(|(_, _, c)| c.bytes));
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
        quote!(Self::Event::#v(e) => self.#m(e, r),)
    });
    let enum_ts = event_enum(cx, &enum_id, &subs);

    // ---- the instance: the identity field of each event, as a string
    let f = ident(&p.identity);
    let instance_arms = subs
        .iter()
        .map(|s| {
            let v = &s.variant;
            match p.identity_type {
                IdentityType::String => quote!(Self::Event::#v(e) => e.#f.clone(),),
                IdentityType::Uuid => quote!(Self::Event::#v(e) => e.#f.to_string(),),
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
        #unimplemented
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
