// The demo's generator settings, shared by build.rs and the snapshot test (tests/generated.rs),
// so the checked-in output is exactly what the build writes.

/// The builder for `schemas/`: the currencies also get `PartialOrd` and `Ord` (an extra
/// derive, as a user adds one with `type_attribute`).
fn demo_builder() -> eskema_codegen::Builder {
    eskema_codegen::Builder::new()
        .schemas("schemas")
        .type_attribute("bank.Currency", "#[derive(PartialOrd, Ord)]")
}
