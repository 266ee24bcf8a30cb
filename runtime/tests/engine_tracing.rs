//! Dispatch is traced: one `eskema.dispatch` span per command, carrying what it is about.

pub mod support;

use std::fmt::Debug;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use eskema::{CommandContext, Engine, MemoryStore};
use support::*;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

/// Records span names with their fields, and event messages.
#[derive(Default, Clone)]
struct Capture {
    lines: Arc<Mutex<Vec<String>>>,
    next: Arc<AtomicU64>,
}

struct Fields(String);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn Debug) {
        self.0.push_str(&format!(" {}={value:?}", field.name()));
    }
}

impl Subscriber for Capture {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &Attributes<'_>) -> Id {
        let mut fields = Fields(format!("span {}", span.metadata().name()));
        span.record(&mut fields);
        self.lines.lock().expect("lines").push(fields.0);
        Id::from_u64(self.next.fetch_add(1, Ordering::SeqCst) + 1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut fields = Fields("event".to_string());
        event.record(&mut fields);
        self.lines.lock().expect("lines").push(fields.0);
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

#[tokio::test(flavor = "current_thread")]
async fn each_dispatch_opens_a_span_and_reports_its_result() {
    let capture = Capture::default();
    let _guard = tracing::dispatcher::set_default(&tracing::Dispatch::new(capture.clone()));
    let engine = Engine::new(MemoryStore::new());
    engine
        .execute::<Account>(open("t1", "Ann", 1).into(), CommandContext::default())
        .await
        .expect("open");
    engine
        .execute::<Account>(withdraw("t1", 2).into(), CommandContext::default())
        .await
        .expect_err("insufficient");
    let lines = capture.lines.lock().expect("lines").clone();
    let spans: Vec<&String> = lines.iter().filter(|l| l.starts_with("span")).collect();
    assert_eq!(spans.len(), 2, "{lines:#?}");
    assert!(
        spans[0].starts_with(
            "span eskema.dispatch context=\"bank\" aggregate=\"Account\" command=\"OpenAccount\" stream_id=account-t1 command_id="
        ),
        "{}",
        spans[0]
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("message=command dispatched") && l.contains("version=1"))
    );
    assert!(lines.iter().any(|l| l.contains("message=command failed")
        && l.contains("the balance does not cover the amount")));
}
