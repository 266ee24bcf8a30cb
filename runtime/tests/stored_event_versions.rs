//! The one read path in the read-side runner: a side-effect handler and a process manager
//! shaped like generated code (their `Subscription::decode` calls
//! `eskema::__private::decode_recorded`, as every generated one does) are handed events an
//! older deployment stored: `AccountOpened` at version 1 (no `currency`; the upcast adds
//! `EUR`) and `MoneyWithdrawn` under its old name `CashWithdrawn`. The demo schema has no
//! versioned event a process manager takes, so the process manager's old-version case is
//! here; the demo's own paths are in the demo's `tests/stored_event_versions.rs`.

pub mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use eskema::event::AnyEvent as _;
use eskema::read::{
    Commands, Deliver, EventKey, HandlerError, Kind, ProcessManager, ReadSide, Role, Spec,
    Subscription,
};
use eskema::serde::{Deserialize, Serialize};
use eskema::serde_json::json;
use eskema::store::{ExpectedVersion, Metadata, NewEvent};
use eskema::{
    CommandContext, DispatchError, Engine, EventStore, MemoryStore, RecordedEvent, UpcastError,
};

use support::{Account, AccountOpened, MoneyWithdrawn, deposit};

const OPENED: EventKey = EventKey::handle::<AccountOpened>("account-");
const WITHDRAWN: EventKey = EventKey::handle::<MoneyWithdrawn>("account-");

#[derive(Debug, Clone, PartialEq)]
pub enum LedgerEvent {
    Opened(AccountOpened),
    Withdrawn(MoneyWithdrawn),
}

fn decode(index: usize, recorded: &RecordedEvent) -> Result<LedgerEvent, UpcastError> {
    use eskema::__private::decode_recorded;
    match index {
        0 => decode_recorded(recorded, LedgerEvent::Opened),
        1 => decode_recorded(recorded, LedgerEvent::Withdrawn),
        _ => Err(UpcastError::unknown(&recorded.event_type, "LedgerEvent")),
    }
}

fn encode(event: &LedgerEvent) -> (usize, eskema::serde_json::Value) {
    match event {
        LedgerEvent::Opened(e) => (0, e.to_data()),
        LedgerEvent::Withdrawn(e) => (1, e.to_data()),
    }
}

/// A side-effect handler of both events.
#[derive(Debug, Clone, Copy, Default)]
pub struct Ledger;

impl Subscription for Ledger {
    type Event = LedgerEvent;
    const SPEC: Spec = Spec {
        context: "bank",
        name: "Ledger",
        kind: Kind::Effect,
        events: &[OPENED, WITHDRAWN],
        ..Spec::DEFAULT
    };

    fn decode(index: usize, recorded: &RecordedEvent) -> Result<LedgerEvent, UpcastError> {
        decode(index, recorded)
    }

    fn encode(event: &LedgerEvent) -> (usize, eskema::serde_json::Value) {
        encode(event)
    }
}

/// What [`Ledger`] was handed: the stored type and version, and the decoded event.
#[derive(Debug, Clone, Default)]
pub struct Log(Arc<Mutex<Vec<(String, u32, LedgerEvent)>>>);

impl Deliver<Log> for Ledger {
    async fn deliver(
        log: &Log,
        event: &LedgerEvent,
        recorded: &RecordedEvent,
    ) -> Result<(), HandlerError> {
        log.0.lock().expect("log").push((
            recorded.event_type.clone(),
            recorded.event_version,
            event.clone(),
        ));
        Ok(())
    }
}

/// A process manager with one instance: it remembers the account and currency from
/// `AccountOpened`, and on a withdrawal deposits 7 back when the currency is EUR (1
/// otherwise), so the deposit shows which value the upcast gave.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(crate = "eskema::serde")]
pub struct Refund {
    pub account_id: String,
    pub currency: String,
}

/// The refund in EUR: what the upcast's `currency: EUR` leads to.
const EUR_REFUND: i64 = 7;

impl Subscription for Refund {
    type Event = LedgerEvent;
    const SPEC: Spec = Spec {
        context: "bank",
        name: "Refund",
        kind: Kind::Process,
        events: &[
            EventKey {
                role: Role::Start,
                ..OPENED
            },
            EventKey {
                role: Role::Continue,
                ..WITHDRAWN
            },
        ],
        ..Spec::DEFAULT
    };

    fn decode(index: usize, recorded: &RecordedEvent) -> Result<LedgerEvent, UpcastError> {
        decode(index, recorded)
    }

    fn encode(event: &LedgerEvent) -> (usize, eskema::serde_json::Value) {
        encode(event)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct RefundCommand(support::Deposit);

impl Commands for RefundCommand {
    fn command_name(&self) -> &'static str {
        "bank.Deposit"
    }

    async fn dispatch<S: EventStore>(
        self,
        engine: &Engine<S>,
        ctx: CommandContext,
    ) -> Result<Vec<RecordedEvent>, DispatchError<String>> {
        support::read::dispatch_deposit(engine, self.0, ctx).await
    }
}

impl ProcessManager for Refund {
    type Command = RefundCommand;

    fn instance(_event: &LedgerEvent) -> String {
        "only".into()
    }

    fn handle(
        &mut self,
        event: &LedgerEvent,
        _recorded: &RecordedEvent,
    ) -> Result<Vec<RefundCommand>, HandlerError> {
        match event {
            LedgerEvent::Opened(e) => {
                self.account_id = e.account_id.clone();
                self.currency = e.currency.clone();
                Ok(vec![])
            }
            LedgerEvent::Withdrawn(_) => {
                let amount = if self.currency == "EUR" {
                    EUR_REFUND
                } else {
                    1
                };
                Ok(vec![RefundCommand(deposit(&self.account_id, amount))])
            }
        }
    }
}

/// Account `a1` as the older deployment stored it: opened with 10 at v1, 4 withdrawn as
/// `CashWithdrawn`.
async fn old_account(store: &MemoryStore) {
    let events = vec![
        NewEvent::new(
            "AccountOpened",
            1,
            json!({"account_id": "a1", "owner": "Ann", "initial": 10}),
            Metadata::default(),
        ),
        NewEvent::new(
            "CashWithdrawn",
            1,
            json!({"amount": 4, "balance": 6}),
            Metadata::default(),
        ),
    ];
    store
        .append("account-a1", ExpectedVersion::NoStream, events, None)
        .await
        .expect("append");
}

const SETTLE: Duration = Duration::from_secs(20);

#[tokio::test]
async fn a_side_effect_handler_is_handed_old_versions_and_names_decoded() {
    let store = MemoryStore::new();
    old_account(&store).await;
    let engine = Engine::new(store);
    let log = Log::default();
    let read_side = ReadSide::builder(&engine)
        .handler(Ledger, log.clone())
        .start()
        .await
        .expect("read side");
    read_side.settle(SETTLE).await.expect("settled");
    let seen = log.0.lock().expect("log").clone();
    assert_eq!(
        seen,
        vec![
            (
                "AccountOpened".to_string(),
                1,
                LedgerEvent::Opened(AccountOpened {
                    account_id: "a1".into(),
                    owner: "Ann".into(),
                    initial: 10,
                    currency: "EUR".into(),
                })
            ),
            (
                "CashWithdrawn".to_string(),
                1,
                LedgerEvent::Withdrawn(MoneyWithdrawn {
                    amount: 4,
                    balance: 6
                })
            ),
        ]
    );
    read_side.shutdown().await;
}

#[tokio::test]
async fn a_process_manager_is_handed_old_versions_and_names_decoded() {
    let store = MemoryStore::new();
    old_account(&store).await;
    let engine = Engine::new(store.clone());
    let read_side = ReadSide::builder(&engine)
        .process::<Refund>()
        .start()
        .await
        .expect("read side");
    read_side.settle(SETTLE).await.expect("settled");
    let all = store.read_all(1, 100).await.expect("read");
    let refunds: Vec<_> = all
        .iter()
        .filter(|e| e.event_type == "MoneyDeposited")
        .map(|e| e.data["amount"].clone())
        .collect();
    assert_eq!(
        refunds,
        [json!(EUR_REFUND)],
        "started by the v1 event (upcast to EUR), continued by the old-name one"
    );
    let account = engine.load::<Account>("a1").await.expect("load");
    assert_eq!(account.state.balance, 6 + EUR_REFUND);
    read_side.shutdown().await;
}
