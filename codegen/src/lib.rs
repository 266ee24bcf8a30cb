//! eskema-codegen: turns `schemas/*.yaml` into Rust for the `eskema` runtime.
//!
//! One direction of data flow: [`load`] (YAML with spans) -> [`check`] (every user-facing
//! error) -> [`model`] (valid by construction) -> [`emit_rust`] (quote + prettyplease) and
//! [`scaffold`] (stub files via tera). Use it from `build.rs` through [`Builder`]:
//!
//! ```no_run
//! // in build.rs's `fn main`:
//! if let Err(err) = eskema_codegen::Builder::new().schemas("schemas").generate() {
//!     err.fail_build();
//! }
//! ```
//!
//! and include the output with `eskema::include_domain!("bank");`.

pub mod check;
pub mod diag;
pub mod emit_rust;
pub mod load;
pub mod model;
pub mod raw;
pub mod scaffold;

mod build;
pub mod cli;

pub use build::{Builder, Error, Generated, render_files};

/// JSON Schema (draft-07) of the YAML format, for editors: point yaml-language-server at it
/// with `# yaml-language-server: $schema=<path>/eskema.schema.json`. `eskema generate`
/// writes it beside the Rust files. `eskema check` stays the authority (it knows names,
/// types and upcast chains the JSON Schema cannot).
pub const JSON_SCHEMA: &str = include_str!("eskema.schema.json");

/// The file name [`JSON_SCHEMA`] is written under.
pub const JSON_SCHEMA_FILE: &str = "eskema.schema.json";
pub use diag::{Diagnostic, Report, Severity};
