//! Generates the demo domain from `schemas/` into OUT_DIR (see `src/lib.rs`).

include!("builder.rs");

fn main() {
    if let Err(err) = demo_builder().generate() {
        err.fail_build();
    }
}
