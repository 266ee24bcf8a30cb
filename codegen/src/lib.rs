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
pub use diag::{Diagnostic, Report, Severity};
