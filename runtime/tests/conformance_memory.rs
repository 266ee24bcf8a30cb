//! The `EventStore` conformance suite on `MemoryStore`.

#[macro_use]
mod conformance;
pub mod support;

macro_rules! memory_case {
    ($case:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn $case() {
            conformance::$case(std::sync::Arc::new(eskema::MemoryStore::new())).await;
        }
    };
}

conformance_cases!(memory_case);
