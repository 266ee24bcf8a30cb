//! The Rust emitter: checked [`model::Domain`] -> formatted Rust source.
//!
//! One file per context (`<context>.rs`, holding `pub mod <context> { .. }`) and one
//! `eskema_domain.rs` that includes them all beside the whole-domain router. The shape of
//! every generated item is fixed by `shape.md`; the scaffold writer and the runtime rely on
//! it, so names come from [`model::names`] only.
//!
//! The model is valid by construction, so nothing here reports user errors. Tokens are
//! built with `quote!` and formatted by prettyplease; if formatting ever failed (a bug, not a
//! user error) the raw token string is returned with a comment saying so, rather than
//! panicking inside a build script.

use std::sync::atomic::{AtomicUsize, Ordering};

use proc_macro2::{Ident, Literal, Span, TokenStream};
use quote::{format_ident, quote};

pub(crate) use crate::model::names::{event_ref_names, stored_names, upper_camel};
#[cfg(test)]
pub(crate) use crate::model::state_hash;
use crate::model::{self, Aggregate, Context, Domain, Handler, ProcessManager, TypeRef};

mod aggregate;
mod domain;
#[cfg(test)]
mod fixture;
mod handlers;
mod process_managers;
mod router;
mod subscriber;
#[cfg(test)]
mod tests;
mod types;
mod upcast;
mod validate;

/// The formatted Rust file for one context: the `// @generated ...` line, then `pub mod <ctx> { ... }`.
#[cfg(test)]
pub fn emit_context(domain: &Domain, context: &Context) -> String {
    let mut pieces = Vec::new();
    context_pieces(context, &mut pieces);
    let texts = format_pieces(domain, &pieces);
    assemble(domain, &File::Context(context), texts)
}

/// The formatted `eskema_domain.rs`: includes every context file from OUT_DIR, plus `pub mod domain`
/// (the whole-domain router: `Event`, `Error` enums over contexts; `dispatch_json(engine, name, json)` /
/// `dispatch_json_with(..., ctx)` accepting `"bank.OpenBankAccount"` always and a bare `"OpenBankAccount"`
/// when that command name is unique across the domain; unknown -> DispatchError::UnknownCommand).
#[cfg(test)]
pub fn emit_domain(domain: &Domain) -> String {
    let pieces = [Piece::Domain];
    let texts = format_pieces(domain, &pieces);
    assemble(domain, &File::Domain, texts)
}

/// Every output file, `(file name, content)`: one `<context>.rs` per context, then
/// `eskema_domain.rs`. The same text as [`emit_context`] and [`emit_domain`], but every
/// piece of every file is formatted on one pool of threads.
pub fn emit_files(domain: &Domain) -> Vec<(String, String)> {
    let mut files: Vec<(File, Vec<Piece>)> = domain
        .contexts
        .iter()
        .map(|c| {
            let mut pieces = Vec::new();
            context_pieces(c, &mut pieces);
            (File::Context(c), pieces)
        })
        .collect();
    files.push((File::Domain, vec![Piece::Domain]));
    let all: Vec<Piece> = files.iter().flat_map(|(_, p)| p.iter().copied()).collect();
    let mut texts = format_pieces(domain, &all).into_iter();
    files
        .iter()
        .map(|(file, pieces)| {
            let name = match file {
                File::Context(c) => format!("{}.rs", c.name),
                File::Domain => "eskema_domain.rs".to_string(),
            };
            let texts: Vec<Option<String>> = texts.by_ref().take(pieces.len()).collect();
            (name, assemble(domain, file, texts))
        })
        .collect()
}

/// Where the emitter's time goes, for the generator benchmark: every piece of every file
/// built, parsed and printed on the calling thread, each stage timed on its own. Parsing
/// consumes the tokens, so freeing them counts to `parse`, as does freeing the syntax tree.
///
/// Not part of the API: the benchmark uses it to show which stage bounds the emitter.
#[doc(hidden)]
#[derive(Debug, Default, Clone, Copy)]
pub struct StageTimes {
    pub tokens: std::time::Duration,
    pub parse: std::time::Duration,
    pub print: std::time::Duration,
}

#[doc(hidden)]
pub fn stage_times(domain: &Domain) -> StageTimes {
    use std::time::Instant;
    let mut pieces = Vec::new();
    for c in &domain.contexts {
        context_pieces(c, &mut pieces);
    }
    pieces.push(Piece::Domain);
    let mut times = StageTimes::default();
    for piece in pieces {
        let t = Instant::now();
        let tokens = piece_tokens(domain, piece);
        times.tokens += t.elapsed();
        let t = Instant::now();
        let Ok(file) = syn::parse2::<syn::File>(tokens) else {
            continue;
        };
        times.parse += t.elapsed();
        let t = Instant::now();
        std::hint::black_box(prettyplease::unparse(&file));
        times.print += t.elapsed();
        let t = Instant::now();
        drop(file);
        times.parse += t.elapsed();
    }
    times
}

/// A generated file.
enum File<'d> {
    Context(&'d Context),
    Domain,
}

/// A run of consecutive items of a generated file, built, parsed and formatted on its own.
///
/// Formatting is most of the generator's time and grows with the output, so a context is
/// cut into pieces (its head with the declared types, each aggregate, handler and process
/// manager, the router's parts) that are formatted in parallel and concatenated. Each piece
/// of a context is formatted inside the same `pub mod <ctx> { .. }` wrapper it will live in,
/// so its text (indentation, line breaks) is exactly what formatting the whole file at
/// once would give; a piece is also small, which keeps syn's trees small and the
/// allocator fast.
#[derive(Clone, Copy)]
enum Piece<'d> {
    /// The context's docs, `pub mod <ctx> {`, its `use` and the first [`TYPES_PER_PIECE`]
    /// declared types; the formatted text keeps the opening brace and leaves out the
    /// closing one.
    Head(&'d Context),
    /// The next declared types, from this index on: a context with thousands of types is
    /// formatted in pieces of bounded size like everything else.
    Types(&'d Context, usize),
    Aggregate(&'d Context, &'d Aggregate),
    Handler(&'d Context, &'d Handler),
    Process(&'d Context, &'d ProcessManager),
    Router(&'d Context, router::Part),
    /// The whole `eskema_domain.rs`.
    Domain,
}

impl Piece<'_> {
    /// Pieces that grow with the whole context (the routers) are started first, so no thread
    /// is left with a big one at the end.
    fn is_big(&self) -> bool {
        matches!(self, Piece::Router(..) | Piece::Domain)
    }
}

/// Declared types per piece: few enough that a piece's syntax tree stays small.
const TYPES_PER_PIECE: usize = 64;

/// The declared types of the piece that starts at `start`.
fn types_from(context: &Context, start: usize) -> &[model::TypeDef] {
    let end = (start + TYPES_PER_PIECE).min(context.types.len());
    context.types.get(start..end).unwrap_or_default()
}

fn context_pieces<'d>(context: &'d Context, out: &mut Vec<Piece<'d>>) {
    out.push(Piece::Head(context));
    out.extend(
        (TYPES_PER_PIECE..context.types.len())
            .step_by(TYPES_PER_PIECE)
            .map(|start| Piece::Types(context, start)),
    );
    out.extend(
        context
            .aggregates
            .iter()
            .map(|a| Piece::Aggregate(context, a)),
    );
    out.extend(context.handlers.iter().map(|h| Piece::Handler(context, h)));
    out.extend(
        context
            .process_managers
            .iter()
            .map(|p| Piece::Process(context, p)),
    );
    out.extend(router::PARTS.map(|p| Piece::Router(context, p)));
}

/// The context module's docs and opening: the head piece's tokens wrap the head items in it.
fn context_module(context: &Context, items: TokenStream) -> TokenStream {
    let module = ident(&context.name);
    let doc = docs(
        context.doc.as_deref(),
        &format!(
            "The `{}` bounded context, generated from `{}`.",
            context.name,
            schema_path(context)
        ),
    );
    quote! {
        #doc
        pub mod #module { #items }
    }
}

/// The tokens of one piece, as a whole file: context pieces inside their module.
fn piece_tokens(domain: &Domain, piece: Piece) -> TokenStream {
    let (context, items) = match piece {
        Piece::Domain => return domain::emit(domain),
        Piece::Head(ctx) => {
            let cx = Cx { domain, ctx };
            let types = types::emit(&cx, types_from(ctx, 0));
            let import = serde_import(ctx);
            let items = quote! {
                #import
                #types
            };
            return context_module(ctx, items);
        }
        Piece::Types(ctx, start) => (
            ctx,
            types::emit(&Cx { domain, ctx }, types_from(ctx, start)),
        ),
        Piece::Aggregate(ctx, a) => (ctx, aggregate::emit(&Cx { domain, ctx }, a)),
        Piece::Handler(ctx, h) => (ctx, handlers::emit_handler(&Cx { domain, ctx }, h)),
        Piece::Process(ctx, p) => (ctx, process_managers::emit_process(&Cx { domain, ctx }, p)),
        Piece::Router(ctx, part) => (ctx, router::emit_part(&Cx { domain, ctx }, part)),
    };
    let module = ident(&context.name);
    quote!(pub mod #module { #items })
}

/// Formats one piece; `None` if its tokens do not parse (a bug: see [`assemble`]).
fn format_piece(domain: &Domain, piece: Piece) -> Option<String> {
    let file = syn::parse2::<syn::File>(piece_tokens(domain, piece)).ok()?;
    let text = prettyplease::unparse(&file);
    match piece {
        Piece::Domain => Some(text),
        // Everything but the module's closing brace.
        Piece::Head(_) => text.strip_suffix("}\n").map(str::to_string),
        // Only the items: without the wrapper's first and last line.
        _ => {
            if text.ends_with("{}\n") {
                return Some(String::new());
            }
            let (_, body) = text.split_once('\n')?;
            body.strip_suffix("}\n").map(str::to_string)
        }
    }
}

/// Formats every piece, in parallel on the available cores; the texts in piece order.
fn format_pieces(domain: &Domain, pieces: &[Piece]) -> Vec<Option<String>> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(pieces.len());
    if threads <= 1 {
        return pieces.iter().map(|p| format_piece(domain, *p)).collect();
    }
    // Big pieces first, the rest in file order.
    let mut order: Vec<usize> = (0..pieces.len()).collect();
    order.sort_by_key(|&i| !pieces[i].is_big());
    let next = AtomicUsize::new(0);
    let work = || {
        let mut done = Vec::new();
        loop {
            let k = next.fetch_add(1, Ordering::Relaxed);
            let Some(&i) = order.get(k) else {
                return done;
            };
            done.push((i, format_piece(domain, pieces[i])));
        }
    };
    let mut texts = vec![None; pieces.len()];
    std::thread::scope(|scope| {
        // A thread that cannot be started leaves its share to the others (this one works too).
        let helpers: Vec<_> = (1..threads)
            .filter_map(|_| {
                std::thread::Builder::new()
                    .stack_size(WORKER_STACK)
                    .spawn_scoped(scope, work)
                    .ok()
            })
            .collect();
        let mut results = work();
        for helper in helpers {
            match helper.join() {
                Ok(done) => results.extend(done),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        for (i, text) in results {
            texts[i] = text;
        }
    });
    texts
}

/// syn and prettyplease recurse over nested types and expressions; as much stack as the
/// main thread has.
const WORKER_STACK: usize = 8 * 1024 * 1024;

/// The file from its formatted pieces. If a piece did not parse (a bug, not a user error),
/// the whole file is built again in one token stream and [`render`]ed, which keeps the raw
/// tokens with a comment saying so.
fn assemble(domain: &Domain, file: &File, texts: Vec<Option<String>>) -> String {
    let (header, close) = match file {
        File::Context(c) => (schema_path(c), "}\n"),
        File::Domain => {
            let files: Vec<String> = domain.contexts.iter().map(schema_path).collect();
            let header = if files.is_empty() {
                "no schema files".to_string()
            } else {
                files.join(", ")
            };
            (header, "")
        }
    };
    let header = format!("// @generated by eskema-codegen from {header}. Do not edit.");
    let Some(texts) = texts.into_iter().collect::<Option<Vec<String>>>() else {
        let tokens = match file {
            File::Context(c) => whole_context(domain, c),
            File::Domain => domain::emit(domain),
        };
        return render(&header, tokens);
    };
    let mut out = String::with_capacity(
        header.len() + 1 + texts.iter().map(String::len).sum::<usize>() + close.len(),
    );
    out.push_str(&header);
    out.push('\n');
    for text in &texts {
        out.push_str(text);
    }
    out.push_str(close);
    out
}

/// The derives name serde's traits short: one-line derive lists. The checker refuses
/// `Serialize` and `Deserialize` as schema names, so nothing collides. Only declared types,
/// aggregate states and commands and events, and process-manager states derive them.
fn serde_import(ctx: &Context) -> Option<TokenStream> {
    let derives =
        !ctx.types.is_empty() || !ctx.aggregates.is_empty() || !ctx.process_managers.is_empty();
    derives.then(|| {
        quote!(
            use ::eskema::serde::{Deserialize, Serialize};
        )
    })
}

/// One context file's tokens in one stream: what the pieces add up to.
fn whole_context(domain: &Domain, context: &Context) -> TokenStream {
    let cx = Cx {
        domain,
        ctx: context,
    };
    let types = types::emit(&cx, &context.types);
    let aggregates = context.aggregates.iter().map(|a| aggregate::emit(&cx, a));
    let handlers = context
        .handlers
        .iter()
        .map(|h| handlers::emit_handler(&cx, h));
    let processes = context
        .process_managers
        .iter()
        .map(|p| process_managers::emit_process(&cx, p));
    let router = router::emit(&cx);
    let import = serde_import(context);
    context_module(
        context,
        quote! {
            #import
            #types
            #(#aggregates)*
            #(#handlers)*
            #(#processes)*
            #router
        },
    )
}

/// Prepends the `@generated` line and formats; never panics (see the module docs).
fn render(header: &str, tokens: TokenStream) -> String {
    let text = tokens.to_string();
    match syn::parse2::<syn::File>(tokens) {
        Ok(file) => format!("{header}\n{}", prettyplease::unparse(&file)),
        Err(e) => format!("{header}\n// eskema: formatting failed: {e}\n{text}\n"),
    }
}

/// The schema path with `/` separators, so output does not depend on the host OS.
fn schema_path(context: &Context) -> String {
    context.file.to_string_lossy().replace('\\', "/")
}

/// `#[diagnostic::on_unimplemented]` for a generated trait the user implements: a type
/// without its impl (a new aggregate, handler or process manager before `eskema scaffold`)
/// fails with this message and a note that names the command, instead of a bare "trait
/// bound not satisfied" pointing into OUT_DIR.
pub(crate) fn on_unimplemented(cx: &Cx<'_>, trait_name: &str, item: &str) -> TokenStream {
    let dir = cx
        .ctx
        .file
        .parent()
        .map(|d| d.to_string_lossy().replace('\\', "/"))
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| ".".to_string());
    let message = format!("`{{Self}}` does not implement `{trait_name}`, the logic of {item}");
    let note = format!(
        "run `eskema scaffold {dir} --out src/logic` to write a stub `impl {trait_name}` (it adds what is missing and never overwrites your code), then fill it in"
    );
    quote! { #[diagnostic::on_unimplemented(message = #message, note = #note)] }
}

/// What the emitters of one context need: the context, and the domain to resolve
/// references to other contexts.
pub(crate) struct Cx<'a> {
    pub domain: &'a Domain,
    pub ctx: &'a Context,
}

impl Cx<'_> {
    /// The Rust type of a field.
    pub fn ty(&self, t: &TypeRef) -> TokenStream {
        match t {
            TypeRef::String => quote!(String),
            TypeRef::Bool => quote!(bool),
            TypeRef::I32 => quote!(i32),
            TypeRef::I64 => quote!(i64),
            TypeRef::U32 => quote!(u32),
            TypeRef::U64 => quote!(u64),
            TypeRef::F64 => quote!(f64),
            TypeRef::Uuid => quote!(::eskema::uuid::Uuid),
            TypeRef::DateTime => quote!(::eskema::chrono::DateTime<::eskema::chrono::Utc>),
            TypeRef::Decimal => quote!(::eskema::rust_decimal::Decimal),
            TypeRef::Json => quote!(::eskema::serde_json::Value),
            TypeRef::Named { context, name } => self.item_path(context, name),
            TypeRef::Option(inner) => {
                let inner = self.ty(inner);
                quote!(Option<#inner>)
            }
            TypeRef::Vec(inner) => {
                let inner = self.ty(inner);
                quote!(Vec<#inner>)
            }
            TypeRef::Map(inner) => {
                let inner = self.ty(inner);
                quote!(::std::collections::BTreeMap<String, #inner>)
            }
        }
    }

    /// `Name` in the current context, `super::<context>::Name` in another: for types and
    /// for free functions (`dispatch_with`) alike.
    pub fn item_path(&self, context: &str, name: &str) -> TokenStream {
        let name = ident(name);
        if context == self.ctx.name {
            quote!(#name)
        } else {
            let context = ident(context);
            quote!(super::#context::#name)
        }
    }

    /// The builder's extra attributes for generated type `name` of this context.
    pub fn attrs(&self, name: &str) -> TokenStream {
        self.domain
            .type_attributes
            .iter()
            .filter(|a| a.matches(&self.ctx.name, name))
            .filter_map(|a| a.attributes.parse::<TokenStream>().ok())
            .collect()
    }
}

/// An identifier for a schema name. The checker only lets valid, non-keyword names through;
/// this never panics even if that invariant broke (a keyword becomes a raw identifier, any
/// other invalid character becomes `_`), so a checker bug shows as a compile error in the
/// generated code instead of a panic in a build script.
pub(crate) fn ident(name: &str) -> Ident {
    // The common case without running syn's parser (a measurable share of emit time).
    if plain_ident(name) {
        return Ident::new(name, Span::call_site());
    }
    if syn::parse_str::<Ident>(name).is_ok() {
        return Ident::new(name, Span::call_site());
    }
    let mut clean: String = name
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if clean.is_empty() || clean.starts_with(|c: char| c.is_ascii_digit()) {
        clean.insert(0, '_');
    }
    if syn::parse_str::<Ident>(&clean).is_ok() {
        Ident::new(&clean, Span::call_site())
    } else if matches!(clean.as_str(), "self" | "Self" | "super" | "crate" | "_") {
        format_ident!("{}_", clean)
    } else {
        Ident::new_raw(&clean, Span::call_site())
    }
}

/// An ASCII identifier that is not a keyword, or not one syn's `Ident` parser refuses.
fn plain_ident(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name != "_"
        && !crate::check::names::is_keyword(name)
}

/// `#[doc]` lines: the schema's `doc:` when given, else `fallback`.
pub(crate) fn docs(doc: Option<&str>, fallback: &str) -> TokenStream {
    doc_lines(doc.filter(|d| !d.trim().is_empty()).unwrap_or(fallback))
}

/// `#[doc]` lines for a text, one per line, each with the leading space `///` would give.
pub(crate) fn doc_lines(text: &str) -> TokenStream {
    let lines = text.trim_end().lines().map(|l| {
        let line = if l.is_empty() {
            String::new()
        } else {
            format!(" {l}")
        };
        quote!(#[doc = #line])
    });
    quote!(#(#lines)*)
}

/// A string literal token.
pub(crate) fn lit(s: &str) -> Literal {
    Literal::string(s)
}

/// `match *x {}` for an empty enum, else `match x { arms }`: an empty enum cannot be
/// matched through a reference without arms.
pub(crate) fn match_ref(scrutinee: TokenStream, arms: Vec<TokenStream>) -> TokenStream {
    if arms.is_empty() {
        quote!(match *#scrutinee {})
    } else {
        quote!(match #scrutinee { #(#arms)* })
    }
}

/// On enums whose variants wrap the schema's commands or events: their sizes are the user's
/// to choose, and boxing variants would change the shape every caller relies on
/// (`Command::OpenBankAccount(OpenBankAccount)`), so clippy's size advice does not apply.
/// Nothing for an enum of fewer than two variants, or whose variants are all known to be
/// under the lint's threshold (200 bytes of difference; `bytes` are upper bounds, see
/// [`Holds::bytes`](crate::model::Holds::bytes)): the lint cannot fire on those.
pub(crate) fn allow_large_variants(bytes: impl IntoIterator<Item = Option<u32>>) -> TokenStream {
    let bytes: Vec<Option<u32>> = bytes.into_iter().collect();
    let small = bytes.iter().all(|b| b.is_some_and(|b| b < LARGE_VARIANT));
    if bytes.len() < 2 || small {
        return TokenStream::new();
    }
    quote!(#[allow(clippy::large_enum_variant, reason = "mirrors the schema")])
}

/// clippy's default `enum-variant-size-threshold`.
const LARGE_VARIANT: u32 = 200;

/// `From<Type> for Enum` for each `(Variant, Type)`, as one call of the runtime's
/// `from_variants!` (a type spelled as its variant is left out); with `through`, each
/// converts into the variant's own type first, the types grouped by variant.
pub(crate) fn from_variants(
    enum_id: &Ident,
    pairs: Vec<(TokenStream, TokenStream)>,
    through: bool,
) -> TokenStream {
    if pairs.is_empty() {
        return TokenStream::new();
    }
    let entries: Vec<TokenStream> = if through {
        let mut groups: Vec<(String, TokenStream, Vec<TokenStream>)> = Vec::new();
        for (v, t) in pairs {
            let key = v.to_string();
            match groups.last_mut() {
                Some((last, _, types)) if *last == key => types.push(t),
                _ => groups.push((key, v, vec![t])),
            }
        }
        groups
            .into_iter()
            .map(|(_, v, types)| quote!(#v: [#(#types),*]))
            .collect()
    } else {
        pairs
            .into_iter()
            .map(|(v, t)| {
                if v.to_string() == t.to_string() {
                    v
                } else {
                    quote!(#v(#t))
                }
            })
            .collect()
    };
    quote!(::eskema::__from_variants!(#enum_id { #(#entries),* });)
}
