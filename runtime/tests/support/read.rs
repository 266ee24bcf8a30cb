//! Subscribers shaped like generated code, for the read-side tests: a side-effect handler
//! that records what it is handed (and fails on command), a projection of deposit totals
//! written through [`Kv`] (so one projection runs on both stores), and a process manager
//! that pays every new account a welcome bonus through a command.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use eskema::event::AnyEvent;
use eskema::read::{
    Commands, Consistency, Deliver, EventKey, Exhausted, FailurePolicy, HandlerError, Kind,
    ProcessManager, Project, Role, Spec, StartFrom, Subscription,
};
use eskema::serde::{Deserialize, Serialize};
use eskema::{CommandContext, DispatchError, Engine};
use eskema::{EventStore, MemoryTx, RecordedEvent, UpcastError};

use super::{Account, AccountOpened, MoneyDeposited, MoneyWithdrawn, deposit};

const OPENED: EventKey = EventKey::handle::<AccountOpened>("account-");
const DEPOSITED: EventKey = EventKey::handle::<MoneyDeposited>("account-");
const WITHDRAWN: EventKey = EventKey::handle::<MoneyWithdrawn>("account-");

/// The events the test handlers take.
#[derive(Debug, Clone, PartialEq)]
pub enum Money {
    Opened(AccountOpened),
    Deposited(MoneyDeposited),
    Withdrawn(MoneyWithdrawn),
}

fn decode_money(index: usize, recorded: &RecordedEvent) -> Result<Money, UpcastError> {
    use eskema::event::DomainEvent;
    let event = super::AccountEvent::from_stored(
        &recorded.event_type,
        recorded.event_version,
        recorded.data.clone(),
    )?;
    Ok(match (index, event) {
        (0, super::AccountEvent::AccountOpened(e)) => Money::Opened(e),
        (1, super::AccountEvent::MoneyDeposited(e)) => Money::Deposited(e),
        (_, super::AccountEvent::MoneyWithdrawn(e)) => Money::Withdrawn(e),
        (_, other) => {
            return Err(UpcastError::UnknownEventType {
                event_type: format!("{other:?}"),
                target: "Money".into(),
            });
        }
    })
}

fn encode_money(event: &Money) -> (usize, eskema::serde_json::Value) {
    match event {
        Money::Opened(e) => (0, e.to_data()),
        Money::Deposited(e) => (1, e.to_data()),
        Money::Withdrawn(e) => (2, e.to_data()),
    }
}

/// The policy the test subscribers use unless they say otherwise: quick retries.
pub const QUICK: FailurePolicy = FailurePolicy {
    attempts: 3,
    backoff_ms: &[5, 10],
    then: Exhausted::Park,
};

/// Declares a subscription marker with its spec, as codegen does for each handler.
macro_rules! money_subscription {
    ($marker:ident, $name:literal, $kind:expr, $consistency:expr, $partitions:expr, $policy:expr) => {
        money_subscription!(
            $marker,
            $name,
            $kind,
            $consistency,
            $partitions,
            $policy,
            StartFrom::Origin
        );
    };
    ($marker:ident, $name:literal, $kind:expr, $consistency:expr, $partitions:expr, $policy:expr, $start:expr) => {
        #[derive(Debug, Clone, Copy, Default)]
        pub struct $marker;
        impl Subscription for $marker {
            type Event = Money;
            const SPEC: Spec = Spec {
                context: "bank",
                name: $name,
                kind: $kind,
                consistency: $consistency,
                start_from: $start,
                partitions: $partitions,
                on_failure: $policy,
                events: &[OPENED, DEPOSITED, WITHDRAWN],
            };
            fn decode(index: usize, recorded: &RecordedEvent) -> Result<Money, UpcastError> {
                decode_money(index, recorded)
            }
            fn encode(event: &Money) -> (usize, eskema::serde_json::Value) {
                encode_money(event)
            }
        }
    };
}

money_subscription!(Audit, "Audit", Kind::Effect, Consistency::Strong, 1, QUICK);
money_subscription!(
    AuditEventual,
    "AuditEventual",
    Kind::Effect,
    Consistency::Eventual,
    1,
    QUICK
);
money_subscription!(
    Audit4,
    "Audit4",
    Kind::Effect,
    Consistency::Strong,
    4,
    QUICK
);
money_subscription!(
    AuditStop,
    "AuditStop",
    Kind::Effect,
    Consistency::Strong,
    1,
    FailurePolicy {
        then: Exhausted::Stop,
        ..QUICK
    }
);
money_subscription!(
    AuditSkip,
    "AuditSkip",
    Kind::Effect,
    Consistency::Strong,
    1,
    FailurePolicy {
        then: Exhausted::Skip,
        ..QUICK
    }
);
money_subscription!(
    AuditFromNow,
    "AuditFromNow",
    Kind::Effect,
    Consistency::Eventual,
    1,
    QUICK,
    StartFrom::Current
);
// One subscriber ("Repart") in two partitionings, for a change of `partitions:`.
money_subscription!(
    Repart4,
    "Repart",
    Kind::Effect,
    Consistency::Eventual,
    4,
    FailurePolicy {
        then: Exhausted::Stop,
        ..QUICK
    }
);
money_subscription!(
    Repart2,
    "Repart",
    Kind::Effect,
    Consistency::Eventual,
    2,
    QUICK
);
money_subscription!(
    Totals,
    "Totals",
    Kind::Projection,
    Consistency::Strong,
    1,
    QUICK
);
money_subscription!(
    Totals2,
    "Totals2",
    Kind::Projection,
    Consistency::Strong,
    2,
    QUICK
);

/// One delivery a [`Recorder`] saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub position: u64,
    pub stream_id: String,
    pub stream_version: u64,
}

/// Failures to inject: position -> how many more attempts fail.
pub type Poison = Arc<Mutex<HashMap<u64, u32>>>;

fn poisoned(poison: &Poison, position: u64) -> bool {
    let mut p = poison.lock().expect("poison");
    match p.get_mut(&position) {
        Some(left) if *left > 0 => {
            *left -= 1;
            true
        }
        _ => false,
    }
}

/// A side-effect handler that records every event it is handed.
#[derive(Debug, Clone, Default)]
pub struct Recorder {
    pub log: Arc<Mutex<Vec<Delivery>>>,
    pub poison: Poison,
    /// Positions it never returns from (a crash is simulated by dropping the read side).
    pub hang: Arc<Mutex<HashSet<u64>>>,
    /// Calls per position, whatever their outcome.
    pub calls: Arc<Mutex<HashMap<u64, u32>>>,
    /// Milliseconds each call takes.
    pub slow_ms: Arc<AtomicU64>,
}

impl Recorder {
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.log.lock().expect("log").clone()
    }

    pub fn positions(&self) -> Vec<u64> {
        self.deliveries().iter().map(|d| d.position).collect()
    }

    /// Makes the next `times` attempts at the event at `position` fail.
    pub fn fail(&self, position: u64, times: u32) {
        self.poison.lock().expect("poison").insert(position, times);
    }

    pub fn calls(&self, position: u64) -> u32 {
        self.calls
            .lock()
            .expect("calls")
            .get(&position)
            .copied()
            .unwrap_or(0)
    }
}

macro_rules! deliver_to_recorder {
    ($($marker:ident),*) => {$(
        impl Deliver<Recorder> for $marker {
            async fn deliver(
                handler: &Recorder,
                _event: &Money,
                recorded: &RecordedEvent,
            ) -> Result<(), HandlerError> {
                *handler.calls.lock().expect("calls").entry(recorded.position).or_insert(0) += 1;
                let slow = handler.slow_ms.load(Ordering::Relaxed);
                if slow > 0 {
                    tokio::time::sleep(std::time::Duration::from_millis(slow)).await;
                }
                if handler.hang.lock().expect("hang").contains(&recorded.position) {
                    std::future::pending::<()>().await;
                }
                if poisoned(&handler.poison, recorded.position) {
                    return Err(HandlerError::new(format!("poisoned at {}", recorded.position)));
                }
                handler.log.lock().expect("log").push(Delivery {
                    position: recorded.position,
                    stream_id: recorded.stream_id.clone(),
                    stream_version: recorded.stream_version,
                });
                Ok(())
            }
        }
    )*};
}

deliver_to_recorder!(
    Audit,
    AuditEventual,
    Audit4,
    AuditStop,
    AuditSkip,
    AuditFromNow,
    Repart4,
    Repart2
);

/// Where a projection keeps counters: a [`MemoryTx`] in memory, a table on Postgres.
pub trait Kv: Send {
    fn add(
        &mut self,
        key: &str,
        by: i64,
    ) -> impl std::future::Future<Output = Result<(), HandlerError>> + Send;
    fn clear(&mut self) -> impl std::future::Future<Output = Result<(), HandlerError>> + Send;
}

/// The document table the in-memory projection writes.
pub const TOTALS: &str = "totals";

impl Kv for MemoryTx {
    async fn add(&mut self, key: &str, by: i64) -> Result<(), HandlerError> {
        let now: i64 = self.get(TOTALS, key)?.unwrap_or(0);
        self.put(TOTALS, key, &(now + by))?;
        Ok(())
    }

    async fn clear(&mut self) -> Result<(), HandlerError> {
        MemoryTx::clear(self, TOTALS);
        Ok(())
    }
}

/// A projection: per account, the money that came in, and `events`, how many events it
/// applied (exactly once: it must equal the number of events it takes).
#[derive(Debug, Clone, Default)]
pub struct TotalsModel {
    pub poison: Poison,
}

macro_rules! project_totals {
    ($($marker:ident),*) => {$(
        impl<C: Kv + ?Sized> Project<TotalsModel, C> for $marker {
            async fn project(
                handler: &TotalsModel,
                conn: &mut C,
                event: &Money,
                recorded: &RecordedEvent,
            ) -> Result<(), HandlerError> {
                conn.add("events", 1).await?;
                if poisoned(&handler.poison, recorded.position) {
                    return Err(HandlerError::new(format!("poisoned at {}", recorded.position)));
                }
                match event {
                    Money::Opened(e) => conn.add(&recorded.stream_id, e.initial).await,
                    Money::Deposited(e) => conn.add(&recorded.stream_id, e.amount).await,
                    Money::Withdrawn(_) => Ok(()),
                }
            }

            async fn reset(_handler: &TotalsModel, conn: &mut C) -> Result<(), HandlerError> {
                conn.clear().await
            }
        }
    )*};
}

project_totals!(Totals, Totals2);

/// The process manager: every new account gets a bonus of 5, once.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(crate = "eskema::serde")]
pub struct Bonus {
    pub paid: bool,
}

/// The welcome bonus.
pub const BONUS: i64 = 5;

#[derive(Debug, Clone, PartialEq)]
pub enum BonusEvent {
    Opened(AccountOpened),
}

impl Subscription for Bonus {
    type Event = BonusEvent;
    const SPEC: Spec = Spec {
        context: "bank",
        name: "Bonus",
        kind: Kind::Process,
        consistency: Consistency::Eventual,
        start_from: StartFrom::Origin,
        partitions: 1,
        on_failure: QUICK,
        events: &[EventKey {
            role: Role::Start,
            ..OPENED
        }],
    };

    fn encode(event: &BonusEvent) -> (usize, eskema::serde_json::Value) {
        let BonusEvent::Opened(e) = event;
        (0, e.to_data())
    }

    fn decode(index: usize, recorded: &RecordedEvent) -> Result<BonusEvent, UpcastError> {
        match decode_money(index, recorded)? {
            Money::Opened(e) => Ok(BonusEvent::Opened(e)),
            other => Err(UpcastError::UnknownEventType {
                event_type: format!("{other:?}"),
                target: "BonusEvent".into(),
            }),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum BonusCommand {
    Deposit(super::Deposit),
}

impl Commands for BonusCommand {
    fn command_name(&self) -> &'static str {
        "bank.Deposit"
    }

    async fn dispatch<S: EventStore>(
        self,
        engine: &Engine<S>,
        ctx: CommandContext,
    ) -> Result<Vec<RecordedEvent>, DispatchError<String>> {
        let BonusCommand::Deposit(c) = self;
        dispatch_deposit(engine, c, ctx).await
    }
}

/// A process manager's `Deposit`, as generated `Commands::dispatch` runs one: on the
/// account, its events as recorded, the domain error as text.
pub async fn dispatch_deposit<S: EventStore>(
    engine: &Engine<S>,
    deposit: super::Deposit,
    ctx: CommandContext,
) -> Result<Vec<RecordedEvent>, DispatchError<String>> {
    engine
        .execute::<Account>(deposit.into(), ctx)
        .await
        .map(|o| o.recorded)
        .map_err(|e| e.map_domain(|d| d.to_string()))
}

impl ProcessManager for Bonus {
    type Command = BonusCommand;

    fn instance(event: &BonusEvent) -> String {
        let BonusEvent::Opened(e) = event;
        e.account_id.clone()
    }

    fn handle(
        &mut self,
        event: &BonusEvent,
        _recorded: &RecordedEvent,
    ) -> Result<Vec<BonusCommand>, HandlerError> {
        let BonusEvent::Opened(e) = event;
        if self.paid {
            return Ok(vec![]);
        }
        self.paid = true;
        Ok(vec![BonusCommand::Deposit(deposit(&e.account_id, BONUS))])
    }
}

/// Deposit totals per stream, computed from the log directly: what [`TotalsModel`] must hold.
pub async fn totals_from_log<S: EventStore>(store: &S) -> BTreeMap<String, i64> {
    let mut out = BTreeMap::new();
    let mut next = 1;
    loop {
        let page = store.read_all(next, 500).await.expect("read_all");
        let Some(last) = page.last() else { break };
        next = last.position + 1;
        for e in &page {
            let by = match e.event_type.as_str() {
                "AccountOpened" => e.data["initial"].as_i64(),
                "MoneyDeposited" => e.data["amount"].as_i64(),
                _ => None,
            };
            if let Some(by) = by {
                *out.entry(e.stream_id.clone()).or_insert(0) += by;
            }
        }
    }
    out
}

/// Every stored event, in order.
pub async fn all_events<S: EventStore>(store: &S) -> Vec<RecordedEvent> {
    let mut out = Vec::new();
    let mut next = 1;
    loop {
        let page = store.read_all(next, 500).await.expect("read_all");
        let Some(last) = page.last() else { break };
        next = last.position + 1;
        out.extend(page);
    }
    out
}
