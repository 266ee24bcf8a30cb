//! eskema-codegen: turns `schemas/*.yaml` into Rust for the `eskema` runtime.
//!
//! One direction of data flow inside: load (YAML with spans) -> check (every user-facing
//! error) -> model (valid by construction) -> emit (quote + prettyplease), docs (Markdown
//! and Mermaid via tera) and scaffold (stub files via tera). Use it from `build.rs` through
//! [`Builder`]:
//!
//! ```no_run
//! // in build.rs's `fn main`:
//! if let Err(err) = eskema_codegen::Builder::new().schemas("schemas").generate() {
//!     err.fail_build();
//! }
//! ```
//!
//! and include the output with `eskema::include_domain!("bank");`.

mod builder;
mod check;
pub mod cli;
mod diag;
mod emit_docs;
mod emit_rust;
mod init;
mod load;
mod lock;
mod model;
mod raw;
mod scaffold;
mod template;

pub use builder::{Builder, Error, Generated};

/// JSON Schema (draft-07) of the YAML format, for editors: point yaml-language-server at it
/// with `# yaml-language-server: $schema=<path>/eskema.schema.json`. `eskema generate`
/// writes it beside the Rust files. `eskema check` stays the authority (it knows names,
/// types and upcast chains the JSON Schema cannot).
pub const JSON_SCHEMA: &str = include_str!("eskema.schema.json");

/// The file name [`JSON_SCHEMA`] is written under.
pub const JSON_SCHEMA_FILE: &str = "eskema.schema.json";
pub use diag::{Diagnostic, Report, Severity};

/// Not public API: the stages, for this crate's tests and benchmarks.
#[doc(hidden)]
pub mod __private {
    pub use crate::builder::render_files;
    pub use crate::check::{Checked, RULES, check_paths, check_sources, check_sources_locked};
    pub use crate::emit_docs::{DocsError, INDEX_PAGE, outdir, render as render_docs};
    pub use crate::emit_rust::{StageTimes, stage_times};
    pub mod model {
        pub use crate::model::*;
    }
    pub use crate::scaffold::{ScaffoldReport, scaffold};
}
