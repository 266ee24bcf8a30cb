//! BankAccount: every executor and applier, then journeys through the engine.

use eskema::read::Subscription;
use eskema::{
    AggregateTestExt, CommandContext, DispatchError, Engine, EventStore, MemoryStore,
    SubscriberTestExt,
};
use eskema_demo::bank::*;
use eskema_demo::logic::account_balances::{Balance, BalancesInMemory, TABLE};

const ACC: &str = "ACC000001";

fn opened(balance: i64) -> BankAccountOpened {
    BankAccountOpened {
        account_number: ACC.into(),
        initial_balance: balance,
        currency: Currency::EUR,
        pin: "1234".into(),
    }
}

fn open_cmd(balance: i64) -> OpenBankAccount {
    OpenBankAccount {
        account_number: ACC.into(),
        initial_balance: balance,
        currency: Currency::EUR,
        pin: "1234".into(),
        owner_email: Some("ann@example.com".into()),
    }
}

fn withdraw(amount: i64) -> WithdrawMoney {
    WithdrawMoney {
        account_number: ACC.into(),
        withdrawal_id: eskema::uuid::Uuid::nil(),
        amount,
    }
}

#[test]
fn open_emits_opened_and_apply_sets_the_state() {
    BankAccount::given_nothing()
        .when(open_cmd(100))
        .then_events([opened(100)])
        .then_state(|s| {
            assert!(s.opened);
            assert_eq!(s.balance, 100);
            assert_eq!(s.pin, "1234");
        });
}

#[test]
fn open_twice_is_refused() {
    BankAccount::given([opened(100)])
        .when(open_cmd(5))
        .then_error(BankAccountError::AccountAlreadyOpened);
}

#[test]
fn initial_balance_must_be_positive() {
    BankAccount::given_nothing()
        .when(open_cmd(0))
        .then_invalid("initial_balance", "min");
}

#[test]
fn deposit_adds_to_the_balance() {
    BankAccount::given([opened(100)])
        .when(DepositMoney {
            account_number: ACC.into(),
            amount: 50,
        })
        .then_events([MoneyDeposited {
            account_number: ACC.into(),
            amount: 50,
            balance: 150,
        }])
        .then_state(|s| assert_eq!(s.balance, 150));
}

#[test]
fn deposit_needs_an_open_account() {
    BankAccount::given_nothing()
        .when(DepositMoney {
            account_number: ACC.into(),
            amount: 50,
        })
        .then_error(BankAccountError::AccountNotOpen);
}

#[test]
fn withdraw_takes_from_the_balance() {
    BankAccount::given([opened(100)])
        .when(withdraw(30))
        .then_events([MoneyWithdrawn {
            account_number: ACC.into(),
            withdrawal_id: eskema::uuid::Uuid::nil(),
            amount: 30,
            balance: 70,
        }])
        .then_state(|s| assert_eq!(s.balance, 70));
}

#[test]
fn withdraw_more_than_the_balance_is_refused() {
    BankAccount::given([opened(100)])
        .when(withdraw(101))
        .then_error(BankAccountError::InsufficientFunds);
}

#[test]
fn withdraw_needs_an_open_account() {
    BankAccount::given_nothing()
        .when(withdraw(1))
        .then_error(BankAccountError::AccountNotOpen);
}

#[test]
fn error_messages_come_from_the_schema() {
    assert_eq!(
        BankAccountError::InsufficientFunds.to_string(),
        "the balance does not cover the amount"
    );
}

#[tokio::test]
async fn a_bad_command_reports_every_violation_and_appends_nothing() {
    let engine = Engine::new(MemoryStore::new());
    let bad = OpenBankAccount {
        account_number: "nope".into(),
        initial_balance: 0,
        currency: Currency::EUR,
        pin: "12a".into(),
        owner_email: Some("not-an-email".into()),
    };
    let err = dispatch(&engine, bad).await.expect_err("invalid");
    let v = err.validation().expect("a validation error");
    for (field, rule) in [
        ("account_number", "pattern"),
        ("initial_balance", "min"),
        ("pin", "length"),
        ("pin", "pattern"),
        ("owner_email", "email"),
    ] {
        assert!(v.has(field, rule), "missing {field}/{rule} in {v}");
    }
    assert_eq!(v.len(), 5, "{v}");
    assert_eq!(
        engine.store().read_all(1, 100).await.expect("read").len(),
        0
    );
}

#[tokio::test]
async fn open_deposit_withdraw_through_the_router_and_the_read_model() {
    let engine = Engine::new(MemoryStore::new());
    let out = dispatch(&engine, open_cmd(100)).await.expect("open");
    assert_eq!(out.version, 1);
    assert_eq!(out.stream_id, "bank-account-ACC000001");
    dispatch(
        &engine,
        DepositMoney {
            account_number: ACC.into(),
            amount: 25,
        },
    )
    .await
    .expect("deposit");
    let err = dispatch(&engine, withdraw(1000))
        .await
        .expect_err("too much");
    assert!(matches!(
        err,
        DispatchError::Domain(Error::BankAccount(BankAccountError::InsufficientFunds))
    ));
    let out = dispatch(&engine, withdraw(25)).await.expect("withdraw");
    assert_eq!(out.version, 3);

    let loaded = engine.load::<BankAccount>(ACC).await.expect("load");
    assert_eq!((loaded.version, loaded.state.balance), (3, 100));
}

#[tokio::test]
async fn the_balances_projection_keeps_the_latest_balance() {
    let store = MemoryStore::new();
    let mut tx = store.transaction();
    AccountBalances::given([opened(100)])
        .and(MoneyDeposited {
            account_number: ACC.into(),
            amount: 25,
            balance: 125,
        })
        .and(MoneyWithdrawn {
            account_number: ACC.into(),
            withdrawal_id: eskema::uuid::Uuid::nil(),
            amount: 25,
            balance: 100,
        })
        .project(&BalancesInMemory, &mut tx)
        .await
        .expect("projected");
    assert_eq!(
        tx.get::<Balance>(TABLE, ACC).expect("decodes"),
        Some(Balance {
            balance: 100,
            events: 3
        })
    );
    // Nothing is visible outside the transaction until the read side commits it.
    assert_eq!(BalancesInMemory::balance(&store, ACC), None);
}

#[tokio::test]
async fn dispatch_json_validates_before_routing() {
    let engine = Engine::new(MemoryStore::new());
    let json = eskema::serde_json::json!({
        "account_number": ACC, "initial_balance": 10, "currency": "GBP", "pin": "9876"
    });
    let out = dispatch_json(&engine, "OpenBankAccount", json)
        .await
        .expect("open");
    assert_eq!(out.version, 1);
    let err = dispatch_json(
        &engine,
        "DepositMoney",
        eskema::serde_json::json!({"account_number": ACC, "amount": -1}),
    )
    .await
    .expect_err("invalid");
    assert!(err.validation().is_some_and(|v| v.has("amount", "range")));
    let err = dispatch_json(&engine, "DepositMony", eskema::serde_json::json!({}))
        .await
        .expect_err("unknown");
    assert!(matches!(err, DispatchError::UnknownCommand { .. }), "{err}");
    let err = dispatch_json(
        &engine,
        "DepositMoney",
        eskema::serde_json::json!({"amount": 5}),
    )
    .await
    .expect_err("bad json");
    assert!(matches!(err, DispatchError::Decode { .. }), "{err}");
    // The fields in order, as an array: refused, not read positionally.
    let err = dispatch_json(&engine, "DepositMoney", eskema::serde_json::json!([ACC, 5]))
        .await
        .expect_err("array");
    assert!(
        matches!(&err, DispatchError::Decode { message, .. }
            if message == "invalid type: sequence, expected struct DepositMoney"),
        "{err}"
    );
    assert_eq!(
        engine.store().read_all(1, 100).await.expect("read").len(),
        1
    );
}

#[tokio::test]
async fn the_same_command_id_twice_appends_once() {
    let engine = Engine::new(MemoryStore::new());
    dispatch(&engine, open_cmd(100)).await.expect("open");
    let ctx = CommandContext::with_command_id(eskema::uuid::Uuid::now_v7());
    let deposit = DepositMoney {
        account_number: ACC.into(),
        amount: 10,
    };
    let first = dispatch_with(&engine, deposit.clone(), ctx.clone())
        .await
        .expect("first");
    let second = dispatch_with(&engine, deposit, ctx).await.expect("second");
    assert!(!first.duplicate && second.duplicate);
    assert_eq!(first.recorded, second.recorded);
    assert_eq!(
        engine
            .store()
            .stream_version("bank-account-ACC000001")
            .await
            .expect("v"),
        2
    );
}

#[tokio::test]
async fn old_events_are_upcast_and_renamed_on_load() {
    let store = MemoryStore::new();
    let stream = "bank-account-ACC000001";
    let meta = eskema::store::Metadata::default();
    let v1 = eskema::store::NewEvent::new(
        "BankAccountOpened",
        1,
        eskema::serde_json::json!({"account_number": ACC, "initial_balance": 80, "pin": "1111"}),
        meta.clone(),
    );
    let old_name = eskema::store::NewEvent::new(
        "CashWithdrawn",
        1,
        eskema::serde_json::json!({"account_number": ACC, "withdrawal_id": eskema::uuid::Uuid::nil(), "amount": 30, "balance": 50}),
        meta,
    );
    store
        .append(
            stream,
            eskema::store::ExpectedVersion::NoStream,
            vec![v1, old_name],
            None,
        )
        .await
        .expect("append");
    let engine = Engine::new(store);
    let loaded = engine.load::<BankAccount>(ACC).await.expect("load");
    assert_eq!(
        loaded.state.currency,
        Currency::EUR,
        "v1 had no currency: the upcast adds EUR"
    );
    assert_eq!(
        loaded.state.balance, 50,
        "CashWithdrawn loads as MoneyWithdrawn"
    );
}

#[test]
fn the_read_model_ignores_a_same_named_event_of_another_aggregate() {
    let recorded = |stream_id: &str| eskema::RecordedEvent {
        event_id: eskema::uuid::Uuid::now_v7(),
        stream_id: stream_id.into(),
        stream_version: 1,
        position: 1,
        event_type: "MoneyDeposited".into(),
        event_version: 1,
        data: eskema::serde_json::json!({"account_number": ACC, "amount": 5, "balance": 5}),
        metadata: eskema::store::Metadata::default(),
        created_at: eskema::chrono::Utc::now(),
    };
    let spec = AccountBalances::SPEC;
    assert_eq!(spec.accepts(&recorded("wallet-7")), None);
    let index = spec
        .accepts(&recorded("bank-account-ACC000001"))
        .expect("taken");
    assert!(matches!(
        AccountBalances::decode(index, &recorded("bank-account-ACC000001")),
        Ok(AccountBalancesEvent::MoneyDeposited(_))
    ));
}

#[tokio::test]
async fn a_redelivered_withdrawal_is_notified_once() {
    use eskema_demo::logic::notifications::Outbox;
    let outbox = Outbox::default();
    let given = Notifications::given([MoneyWithdrawn {
        account_number: ACC.into(),
        withdrawal_id: eskema::uuid::Uuid::nil(),
        amount: 30,
        balance: 70,
    }]);
    // At least once: the same event, twice.
    given.deliver(&outbox).await.expect("delivered");
    given.deliver(&outbox).await.expect("delivered again");
    assert_eq!(
        outbox.messages(),
        vec![format!("{ACC}: 30 withdrawn, balance 70")]
    );
}

/// `build.rs` adds `#[derive(PartialOrd, Ord)]` to `bank.Currency` through
/// `Builder::type_attribute`: currencies sort in schema order.
#[test]
fn an_extra_derive_from_the_builder_reaches_the_generated_type() {
    let mut currencies = vec![Currency::GBP, Currency::EUR, Currency::USD];
    currencies.sort();
    assert_eq!(currencies, [Currency::EUR, Currency::USD, Currency::GBP]);
}
