//! The one read path: events stored by an older deployment (an older version, an older
//! name) read as the current types on every path that reads a stored event. Each test
//! writes raw events into the store as the older code wrote them, then reads them through
//! one path: aggregate load (and a command decided on the result), the aggregate cache,
//! snapshots, a projection, a side-effect handler, parked-event replay, a process manager,
//! and the test helpers.
//!
//! The demo schema's old shapes: `bank.BankAccountOpened` v1 had no `currency` (`upcast:
//! from 1 add currency: EUR`); `bank.MoneyWithdrawn` was stored as `CashWithdrawn`;
//! `users.UserRegistered` v1 had `name` and a plain `password` (v3 has `first_name` and
//! `password_hash`); `users.UserCreated` was `ProfileCreated` v1 with the whole name in
//! `name`. The same paths on Postgres: `stored_event_versions_postgres.rs`.

mod old_events;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use eskema::read::ReadSide;
use eskema::serde_json::{Value, json};
use eskema::store::Snapshot;
use eskema::uuid::Uuid;
use eskema::{
    AggregateTestExt, DispatchError, Engine, EventStore, HandlerError, MemoryStore, MemoryTx,
    RecordedEvent, SubscriberTestExt,
};
use eskema_demo::atm::{self, AtmWithdrawal, WithdrawalStatus};
use eskema_demo::bank::{self, *};
use eskema_demo::logic::notifications::Outbox;
use eskema_demo::users::{self, User, UserError, UserProfile};
use old_events::*;

fn withdraw(amount: i64) -> WithdrawMoney {
    WithdrawMoney {
        account_number: ACC.into(),
        withdrawal_id: Uuid::from_u128(1),
        amount,
    }
}

#[tokio::test]
async fn aggregate_load_upcasts_old_versions_and_names_and_commands_decide_on_them() {
    let store = MemoryStore::new();
    old_account(&store).await;
    let engine = Engine::new(store.clone()).with_cache(eskema::CacheConfig::disabled());
    let loaded = engine.load::<BankAccount>(ACC).await.expect("load");
    assert_eq!(loaded.version, 2);
    assert_eq!(
        loaded.state.currency,
        Currency::EUR,
        "v1 upcast: currency EUR"
    );
    assert_eq!(
        loaded.state.balance, 50,
        "CashWithdrawn read as MoneyWithdrawn"
    );
    assert!(loaded.state.opened);

    // A command decides on the upcast history, and its event is stored in today's form.
    let out = dispatch(&engine, withdraw(20)).await.expect("withdraw");
    assert_eq!(out.version, 3);
    assert_eq!(
        out.recorded[0].event_type, "MoneyWithdrawn",
        "new events carry the current name"
    );
    assert_eq!(out.recorded[0].data["balance"], 30);
    let err = dispatch(&engine, withdraw(31)).await.expect_err("too much");
    assert!(
        matches!(
            err,
            DispatchError::Domain(bank::Error::BankAccount(
                BankAccountError::InsufficientFunds
            ))
        ),
        "{err}"
    );

    // users: v1 (`name`, plain `password`) and v2 (`first_name`, `password`) both read as v3.
    store_raw(
        &store,
        "User-bob",
        &[(
            "UserRegistered",
            1,
            json!({"user": "bob", "name": "Bob", "password": "hunter22"}),
        )],
        None,
    )
    .await;
    store_raw(
        &store,
        "User-eve",
        &[(
            "UserRegistered",
            2,
            json!({"user": "eve", "first_name": "Eve", "password": "hunter22"}),
        )],
        None,
    )
    .await;
    for (user, first_name) in [("bob", "Bob"), ("eve", "Eve")] {
        let loaded = engine.load::<User>(user).await.expect("load user");
        assert_eq!(loaded.state.first_name, first_name, "{user}");
        assert_eq!(
            loaded.state.password_hash, "",
            "{user}: the plain password is gone"
        );
        assert!(loaded.state.registered, "{user}");
        let err = users::dispatch(
            &engine,
            users::RegisterUser {
                user: user.into(),
                first_name: "Again".into(),
                password: "long enough".into(),
            },
        )
        .await
        .expect_err("taken");
        assert!(
            matches!(
                err,
                DispatchError::Domain(users::Error::User(UserError::UserAlreadyRegistered))
            ),
            "{err}"
        );
    }

    // users.UserCreated: old name and old version at once.
    let profile = Uuid::from_u128(42);
    store_raw(
        &store,
        &format!("UserProfile-{profile}"),
        &[(
            "ProfileCreated",
            1,
            json!({"user_id": profile, "name": "Ann", "email": "ann@example.com"}),
        )],
        None,
    )
    .await;
    let loaded = engine
        .load::<UserProfile>(&profile.to_string())
        .await
        .expect("load profile");
    assert_eq!(loaded.state.first_name, "Ann");
    assert_eq!(loaded.state.last_name, "", "added by the v1 step");
    assert!(loaded.state.created);
}

#[tokio::test]
async fn the_aggregate_cache_catches_up_on_old_events_stored_behind_it() {
    let store = MemoryStore::new();
    store_raw(
        &store,
        STREAM,
        &[("BankAccountOpened", 1, opened_v1(80))],
        None,
    )
    .await;
    let engine = Engine::new(store.clone());
    let out = dispatch(
        &engine,
        DepositMoney {
            account_number: ACC.into(),
            amount: 20,
        },
    )
    .await
    .expect("deposit on the upcast history");
    assert_eq!(
        (out.version, out.recorded[0].data["balance"].clone()),
        (2, json!(100))
    );
    assert_eq!(
        engine.cached_aggregates(),
        1,
        "the command left the state cached"
    );
    // A process still on the old code withdraws behind the cache's back.
    store_raw(
        &store,
        STREAM,
        &[("CashWithdrawn", 1, cash_withdrawn(Uuid::nil(), 50, 50))],
        None,
    )
    .await;
    let out = dispatch(&engine, withdraw(50)).await.expect("withdraw");
    assert_eq!(out.version, 4);
    assert_eq!(
        out.recorded[0].data["balance"], 0,
        "decided on the cached state brought up to date with the old-name event"
    );
    assert_eq!(
        engine
            .load::<BankAccount>(ACC)
            .await
            .expect("load")
            .state
            .currency,
        Currency::EUR
    );
}

#[tokio::test]
async fn snapshots_are_taken_from_upcast_state_and_caught_up_through_the_upcast() {
    let store = MemoryStore::new();
    old_account(&store).await;
    let engine = Engine::new(store.clone());
    // `snapshot_every: 100`: 98 deposits take the stream from version 2 to 100.
    for _ in 0..98 {
        dispatch(
            &engine,
            DepositMoney {
                account_number: ACC.into(),
                amount: 1,
            },
        )
        .await
        .expect("deposit");
    }
    let snapshot = store
        .load_snapshot(STREAM)
        .await
        .expect("read snapshot")
        .expect("a snapshot at version 100");
    assert_eq!(snapshot.version, 100);
    assert_eq!(snapshot.state["currency"], "EUR", "{}", snapshot.state);
    assert_eq!(snapshot.state["balance"], 148);

    // After the snapshot, an old-name event from a process on the old code; a new engine
    // (empty cache) loads the snapshot and decodes what follows it through the same path.
    store_raw(
        &store,
        STREAM,
        &[("CashWithdrawn", 1, cash_withdrawn(Uuid::nil(), 8, 140))],
        None,
    )
    .await;
    let fresh = Engine::new(store.clone());
    let loaded = fresh.load::<BankAccount>(ACC).await.expect("load");
    assert_eq!((loaded.version, loaded.state.balance), (101, 140));
    assert_eq!(loaded.state.currency, Currency::EUR);
}

#[tokio::test]
async fn a_snapshot_of_an_older_state_shape_is_ignored_and_the_events_are_upcast_instead() {
    let store = MemoryStore::new();
    old_account(&store).await;
    // The previous deployment's snapshot: its state had no currency, so its shape hash
    // differs from today's `BankAccount::STATE_HASH`. Its balance is wrong on purpose, so
    // a load that used it would show.
    store
        .save_snapshot(Snapshot {
            stream_id: STREAM.into(),
            version: 2,
            state_hash: "00000000000000ff".into(),
            state: json!({"account_number": ACC, "balance": 999, "pin": "1111", "opened": true}),
        })
        .await
        .expect("save snapshot");
    let engine = Engine::new(store);
    let loaded = engine.load::<BankAccount>(ACC).await.expect("load");
    assert_eq!(
        (loaded.version, loaded.state.balance, loaded.state.currency),
        (2, 50, Currency::EUR),
        "replayed from the events, through the upcast, not read from the stale snapshot"
    );
}

/// What the test subscribers below were handed, and whether they fail for now.
#[derive(Debug, Clone, Default)]
struct Seen {
    withdrawn: Arc<Mutex<Vec<(RecordedEvent, MoneyWithdrawn)>>>,
    /// While set, every event fails (so it is retried, then parked).
    failing: Arc<AtomicBool>,
}

impl Seen {
    fn failing() -> Self {
        let seen = Seen::default();
        seen.failing.store(true, Ordering::SeqCst);
        seen
    }

    fn check(&self) -> Result<(), HandlerError> {
        if self.failing.load(Ordering::SeqCst) {
            return Err(HandlerError::new("failing on purpose"));
        }
        Ok(())
    }

    fn withdrawn(&self) -> Vec<(RecordedEvent, MoneyWithdrawn)> {
        self.withdrawn
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// Projection documents of [`Seen`]: the decoded event, by position.
const SEEN_OPENED: &str = "seen_opened";
const SEEN_WITHDRAWN: &str = "seen_withdrawn";

/// `bank.AccountBalances` (a projection) writing the decoded events it is handed.
impl AccountBalancesHandler<MemoryTx> for Seen {
    async fn on_bank_account_opened(
        &self,
        tx: &mut MemoryTx,
        event: &BankAccountOpened,
        recorded: &RecordedEvent,
    ) -> Result<(), HandlerError> {
        self.check()?;
        tx.put(SEEN_OPENED, &recorded.position.to_string(), event)?;
        Ok(())
    }

    async fn on_money_deposited(
        &self,
        _tx: &mut MemoryTx,
        _event: &MoneyDeposited,
        _recorded: &RecordedEvent,
    ) -> Result<(), HandlerError> {
        self.check()
    }

    async fn on_money_withdrawn(
        &self,
        tx: &mut MemoryTx,
        event: &MoneyWithdrawn,
        recorded: &RecordedEvent,
    ) -> Result<(), HandlerError> {
        self.check()?;
        tx.put(SEEN_WITHDRAWN, &recorded.position.to_string(), event)?;
        Ok(())
    }

    async fn reset(&self, tx: &mut MemoryTx) -> Result<(), HandlerError> {
        tx.clear(SEEN_OPENED);
        tx.clear(SEEN_WITHDRAWN);
        Ok(())
    }
}

/// `bank.Notifications` (a side-effect handler) keeping what it is handed.
impl NotificationsHandler for Seen {
    async fn on_money_withdrawn(
        &self,
        event: &MoneyWithdrawn,
        recorded: &RecordedEvent,
    ) -> Result<(), HandlerError> {
        self.check()?;
        self.withdrawn
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((recorded.clone(), event.clone()));
        Ok(())
    }
}

const SETTLE: Duration = Duration::from_secs(20);

#[tokio::test]
async fn a_projection_reads_old_versions_and_names() {
    let store = MemoryStore::new();
    old_account(&store).await;
    let engine = Engine::new(store.clone());
    let read_side = ReadSide::builder(&engine)
        .projection(AccountBalances, Seen::default())
        .start()
        .await
        .expect("read side");
    read_side
        .settle(SETTLE)
        .await
        .expect("settled, nothing parked");
    let opened: BankAccountOpened = store
        .document(SEEN_OPENED, "1")
        .expect("decodes")
        .expect("position 1 projected");
    assert_eq!(opened.currency, Currency::EUR, "upcast from v1");
    assert_eq!(opened.initial_balance, 80);
    let withdrawn: MoneyWithdrawn = store
        .document(SEEN_WITHDRAWN, "2")
        .expect("decodes")
        .expect("CashWithdrawn projected as MoneyWithdrawn");
    assert_eq!((withdrawn.amount, withdrawn.balance), (30, 50));
    read_side.shutdown().await;

    // The demo's own projection, on the same log in a store of its own.
    let store = MemoryStore::new();
    old_account(&store).await;
    let engine = Engine::new(store.clone());
    let read_side = eskema_demo::read_side::in_memory(&engine, Outbox::default())
        .await
        .expect("demo read side");
    read_side.settle(SETTLE).await.expect("settled");
    let balance = eskema_demo::logic::account_balances::BalancesInMemory::balance(&store, ACC);
    assert_eq!(balance.map(|b| (b.balance, b.events)), Some((50, 2)));
    read_side.shutdown().await;
}

#[tokio::test]
async fn a_side_effect_handler_reads_old_names() {
    let store = MemoryStore::new();
    old_account(&store).await;
    let engine = Engine::new(store);
    let seen = Seen::default();
    let read_side = ReadSide::builder(&engine)
        .handler(Notifications, seen.clone())
        .start()
        .await
        .expect("read side");
    read_side
        .settle(SETTLE)
        .await
        .expect("settled, nothing parked");
    let withdrawn = seen.withdrawn();
    assert_eq!(withdrawn.len(), 1, "{withdrawn:?}");
    let (recorded, event) = &withdrawn[0];
    assert_eq!(
        (recorded.event_type.as_str(), recorded.event_version),
        ("CashWithdrawn", 1),
        "the record as stored"
    );
    assert_eq!((event.amount, event.balance), (30, 50));
    read_side.shutdown().await;

    // The demo's outbox, on the same log in a store of its own.
    let store = MemoryStore::new();
    old_account(&store).await;
    let engine = Engine::new(store);
    let outbox = Outbox::default();
    let read_side = ReadSide::builder(&engine)
        .handler(Notifications, outbox.clone())
        .start()
        .await
        .expect("demo handler");
    read_side.settle(SETTLE).await.expect("settled");
    assert_eq!(
        outbox.messages(),
        vec![format!("{ACC}: 30 withdrawn, balance 50")]
    );
    read_side.shutdown().await;
}

#[tokio::test]
async fn parked_old_events_are_replayed_through_the_upcast() {
    let store = MemoryStore::new();
    old_account(&store).await;
    let engine = Engine::new(store.clone());
    // Both fail on everything: AccountBalances parks the v1 `BankAccountOpened` and the
    // `CashWithdrawn`, Notifications the `CashWithdrawn`.
    let projection = Seen::failing();
    let effect = Seen::failing();
    let read_side = ReadSide::builder(&engine)
        .projection(AccountBalances, projection.clone())
        .handler(Notifications, effect.clone())
        .start()
        .await
        .expect("read side");
    let failures = parked(&read_side, 3).await;
    let mut stored: Vec<(&str, &str, u32)> = failures
        .iter()
        .map(|f| {
            (
                f.subscriber.as_str(),
                f.event.event_type.as_str(),
                f.event.event_version,
            )
        })
        .collect();
    stored.sort();
    assert_eq!(
        stored,
        [
            ("bank.AccountBalances", "BankAccountOpened", 1),
            ("bank.AccountBalances", "CashWithdrawn", 1),
            ("bank.Notifications", "CashWithdrawn", 1),
        ],
        "parked as stored: old version, old name"
    );
    assert!(
        store
            .document::<Value>(SEEN_OPENED, "1")
            .expect("read")
            .is_none()
    );

    // The handlers are fixed; each parked event is replayed, decoded again.
    projection.failing.store(false, Ordering::SeqCst);
    effect.failing.store(false, Ordering::SeqCst);
    for failed in &failures {
        read_side.replay(failed.id).await.expect("replayed");
    }
    assert!(read_side.failures(None).await.expect("failures").is_empty());
    let opened: BankAccountOpened = store
        .document(SEEN_OPENED, "1")
        .expect("decodes")
        .expect("replayed into the projection");
    assert_eq!(opened.currency, Currency::EUR, "upcast on replay");
    let withdrawn: MoneyWithdrawn = store
        .document(SEEN_WITHDRAWN, "2")
        .expect("decodes")
        .expect("replayed into the projection");
    assert_eq!(withdrawn.balance, 50);
    let delivered = effect.withdrawn();
    assert_eq!(delivered.len(), 1, "{delivered:?}");
    assert_eq!((delivered[0].1.amount, delivered[0].1.balance), (30, 50));
    read_side.shutdown().await;
}

#[tokio::test]
async fn the_process_manager_reads_an_old_name_over_a_log_an_older_deployment_wrote() {
    // An ATM withdrawal as the previous deployment left it: initiated, authorized, and the
    // account debited by the `WithdrawMoney` the process manager dispatched (under the
    // command id it derives), stored as `CashWithdrawn`; the cash not yet dispensed. The
    // process manager starts from origin over this log.
    let store = MemoryStore::new();
    let id = Uuid::from_u128(7);
    store_raw(
        &store,
        STREAM,
        &[("BankAccountOpened", 1, opened_v1(120))],
        None,
    )
    .await;
    let atm_stream = format!("AtmWithdrawal-{id}");
    store_raw(
        &store,
        &atm_stream,
        &[
            (
                "WithdrawalInitiated",
                1,
                json!({"withdrawal_id": id, "atm_id": "ATM-1", "account_number": ACC, "amount": 50}),
            ),
            (
                "AuthorizationConfirmed",
                1,
                json!({"withdrawal_id": id, "account_number": ACC, "amount": 50}),
            ),
        ],
        None,
    )
    .await;
    // `AuthorizationConfirmed` is at position 3; its first command's id:
    let debit = eskema::read::process::command_id("bank.Withdrawal", &id.to_string(), 3, 0);
    store_raw(
        &store,
        STREAM,
        &[("CashWithdrawn", 1, cash_withdrawn(id, 50, 70))],
        Some(debit),
    )
    .await;

    let engine = Engine::new(store.clone());
    let read_side = ReadSide::builder(&engine)
        .process::<Withdrawal>()
        .start()
        .await
        .expect("read side");
    read_side
        .settle(SETTLE)
        .await
        .expect("settled, nothing parked");
    // Redelivered, `AuthorizationConfirmed` dispatches the same debit id again: a
    // duplicate, answered from the stored `CashWithdrawn`. The `CashWithdrawn` ends the
    // withdrawal (`stops_on: [MoneyWithdrawn]`) and has the machine pay out.
    let atm = engine
        .load::<AtmWithdrawal>(&id.to_string())
        .await
        .expect("load");
    assert_eq!(atm.state.status, Some(WithdrawalStatus::Dispensed));
    let all = store.read_all(1, 100).await.expect("read");
    let count = |t: &str| all.iter().filter(|e| e.event_type == t).count();
    assert_eq!(
        (
            count("CashWithdrawn"),
            count("MoneyWithdrawn"),
            count("CashDispensed")
        ),
        (1, 0, 1),
        "one debit (the old one), one payout"
    );
    let account = engine.load::<BankAccount>(ACC).await.expect("load");
    assert_eq!(account.state.balance, 70);
    read_side.shutdown().await;
}

#[test]
fn the_aggregate_test_helper_reads_stored_events_as_the_engine_does() {
    let given = BankAccount::given_nothing()
        .and_stored("BankAccountOpened", 1, opened_v1(80))
        .and_stored("CashWithdrawn", 1, cash_withdrawn(Uuid::nil(), 30, 50));
    assert_eq!(given.state().currency, Currency::EUR);
    given
        .clone()
        .when(withdraw(51))
        .then_error(BankAccountError::InsufficientFunds);
    given
        .when(withdraw(50))
        .then_state(|s| assert_eq!(s.balance, 0));
    User::given_nothing()
        .and_stored(
            "UserRegistered",
            1,
            json!({"user": "bob", "name": "Bob", "password": "hunter22"}),
        )
        .when(users::RegisterUser {
            user: "bob".into(),
            first_name: "Bob".into(),
            password: "long enough".into(),
        })
        .then_error(UserError::UserAlreadyRegistered);
}

#[tokio::test]
async fn the_subscriber_test_helpers_read_stored_events_as_the_read_side_does() {
    let store = MemoryStore::new();
    let mut tx = store.transaction();
    let given = AccountBalances::given_nothing()
        .and_stored("BankAccountOpened", 1, opened_v1(80))
        .and_stored("CashWithdrawn", 1, cash_withdrawn(Uuid::nil(), 30, 50));
    let recorded = given.recorded();
    assert_eq!(
        (recorded[1].event_type.as_str(), recorded[1].event_version),
        ("CashWithdrawn", 1),
        "handed over as stored"
    );
    given
        .project(&Seen::default(), &mut tx)
        .await
        .expect("projected");
    let opened: BankAccountOpened = tx.get(SEEN_OPENED, "1").expect("decodes").expect("row");
    assert_eq!(opened.currency, Currency::EUR);

    let seen = Seen::default();
    Notifications::given_nothing()
        .and_stored("CashWithdrawn", 1, cash_withdrawn(Uuid::nil(), 30, 50))
        .deliver(&seen)
        .await
        .expect("delivered");
    assert_eq!(seen.withdrawn()[0].1.balance, 50);

    // Events given typed are stored at their current version.
    let given = AccountBalances::given([BankAccountOpened {
        account_number: ACC.into(),
        initial_balance: 1,
        currency: Currency::GBP,
        pin: "1234".into(),
    }]);
    assert_eq!(given.recorded()[0].event_version, 2);

    // The process manager ends on the old name, as it does on the read side.
    let id = Uuid::from_u128(7);
    Withdrawal::given([
        WithdrawalEvent::from(atm::WithdrawalInitiated {
            withdrawal_id: id,
            atm_id: "ATM-1".into(),
            account_number: ACC.into(),
            amount: 50,
        }),
        atm::AuthorizationConfirmed {
            withdrawal_id: id,
            account_number: ACC.into(),
            amount: 50,
        }
        .into(),
    ])
    .when_stored("CashWithdrawn", 1, cash_withdrawn(id, 50, 70))
    .then_commands([atm::DispenseCash { withdrawal_id: id }])
    .then_stopped();
}

#[test]
#[should_panic(expected = "does not decode")]
fn the_test_helpers_refuse_a_stored_payload_the_decoder_refuses() {
    // v2 without its currency: no upcast step applies to v2.
    let _ = AccountBalances::given_nothing().and_stored("BankAccountOpened", 2, opened_v1(80));
}
