//! eskema-codegen: turns `schemas/*.yaml` into Rust for the `eskema` runtime.
//!
//! One direction of data flow: load (YAML with spans) -> check (every user-facing error) ->
//! model (valid by construction) -> emit (Rust via quote + prettyplease; docs via tera).

pub mod check;
pub mod diag;
pub mod load;
pub mod model;
pub mod raw;
