//! An executor's return type admits only the events its command `emits`: returning any
//! other event does not compile. trybuild proves it (the expected compiler output is in
//! `tests/ui/*.stderr`; `TRYBUILD=overwrite cargo test --test compile_fail` refreshes it).

#[test]
fn an_executor_cannot_return_an_undeclared_event() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
