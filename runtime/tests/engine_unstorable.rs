//! An event that would not read back as itself (a NaN float, stored by JSON as `null`) is
//! refused before the append, so the stream stays loadable.

use eskema::Event;
use eskema::aggregate::{Aggregate, AggregateCommand};
use eskema::event::{AnyEvent, DomainEvent};
use eskema::serde::{Deserialize, Serialize};
use eskema::{
    CommandContext, DispatchError, Engine, EventStore, MemoryStore, UpcastError, Validate,
    ValidationErrors,
};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(crate = "eskema::serde")]
struct Gauge {
    last: f64,
}

#[derive(Debug, Clone, Serialize)]
#[serde(crate = "eskema::serde")]
struct Measure {
    id: String,
    value: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(crate = "eskema::serde")]
struct Measured {
    value: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(crate = "eskema::serde")]
struct GaugeEvent(Measured);

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("never")]
struct Never;

impl Validate for Measure {
    fn validate_into(&self, _prefix: &str, _errors: &mut ValidationErrors) {}
}

impl AggregateCommand for Measure {
    fn name(&self) -> &'static str {
        "Measure"
    }
    fn identity(&self) -> String {
        self.id.clone()
    }
}

impl Event for Measured {
    const NAME: &'static str = "Measured";
    const CHECK_ROUND_TRIP: bool = true;
}

impl DomainEvent for GaugeEvent {
    fn as_event(&self) -> &dyn AnyEvent {
        &self.0
    }
    fn from_stored(t: &str, v: u32, data: eskema::serde_json::Value) -> Result<Self, UpcastError> {
        if !Measured::is_stored_as(t) {
            return Err(UpcastError::unknown(t, "GaugeEvent"));
        }
        Measured::from_stored(v, data).map(GaugeEvent)
    }
}

impl Aggregate for Gauge {
    const NAME: &'static str = "Gauge";
    const CONTEXT: &'static str = "test";
    const SNAPSHOT_EVERY: Option<u64> = None;
    const STATE_HASH: &'static str = "0";
    type Command = Measure;
    type Event = GaugeEvent;
    type Error = Never;
    fn stream_id(identity: &str) -> String {
        format!("gauge-{identity}")
    }
    fn execute(&self, command: &Measure) -> Result<Vec<GaugeEvent>, Never> {
        Ok(vec![GaugeEvent(Measured {
            value: command.value,
        })])
    }
    fn apply(&mut self, event: &GaugeEvent) {
        self.last = event.0.value;
    }
}

#[tokio::test]
async fn a_nan_event_is_refused_and_nothing_is_appended() {
    let engine = Engine::new(MemoryStore::new());
    let ok = Measure {
        id: "g".into(),
        value: 1.5,
    };
    engine
        .execute::<Gauge>(ok, CommandContext::default())
        .await
        .expect("finite");
    for bad in [f64::NAN, f64::INFINITY] {
        let err = engine
            .execute::<Gauge>(
                Measure {
                    id: "g".into(),
                    value: bad,
                },
                CommandContext::default(),
            )
            .await
            .expect_err("not storable");
        assert!(
            matches!(err, DispatchError::Unstorable { ref event_type, .. } if event_type == "Measured"),
            "{err}"
        );
    }
    assert_eq!(
        engine
            .store()
            .stream_version("gauge-g")
            .await
            .expect("version"),
        1
    );
    engine.clear_cache();
    let loaded = engine
        .load::<Gauge>("g")
        .await
        .expect("the stream still loads");
    assert_eq!(loaded.state.last, 1.5);
}
