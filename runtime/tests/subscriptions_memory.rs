//! The subscription conformance suite on `MemoryStore`.

#[macro_use]
mod subscriptions;
pub mod support;

use std::collections::BTreeMap;

use eskema::MemoryStore;

impl subscriptions::TestStore for MemoryStore {
    /// The documents the in-memory `Totals` projection wrote.
    async fn totals(&self) -> BTreeMap<String, i64> {
        self.documents::<i64>(support::read::TOTALS)
            .expect("documents")
    }
}

macro_rules! memory_case {
    ($case:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn $case() {
            subscriptions::$case(MemoryStore::new()).await;
        }
    };
}

subscription_cases!(memory_case);
