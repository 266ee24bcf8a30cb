//! Generates the demo domain from `schemas/` into OUT_DIR (see `src/lib.rs`).

fn main() {
    if let Err(err) = eskema_codegen::Builder::new().schemas("schemas").generate() {
        err.fail_build();
    }
}
