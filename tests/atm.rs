//! AtmWithdrawal: every executor and applier, the custom rule, and the whole withdrawal
//! across both contexts driven by the `Withdrawal` process manager.

use eskema::uuid::Uuid;
use eskema::{AggregateTestExt, Engine, EventStore, MemoryStore, SubscriberTestExt};
use eskema_demo::atm::*;

fn id() -> Uuid {
    Uuid::from_u128(7)
}

fn initiated() -> WithdrawalInitiated {
    WithdrawalInitiated {
        withdrawal_id: id(),
        atm_id: "ATM-1".into(),
        account_number: "ACC000001".into(),
        amount: 50,
    }
}

fn confirm(entered: &str) -> ConfirmAuthorization {
    ConfirmAuthorization {
        withdrawal_id: id(),
        entered_pin: entered.into(),
        card_pin: "1234".into(),
    }
}

#[test]
fn initiate_emits_initiated() {
    AtmWithdrawal::given_nothing()
        .when(InitiateWithdrawal {
            withdrawal_id: id(),
            atm_id: "ATM-1".into(),
            account_number: "ACC000001".into(),
            amount: 50,
        })
        .then_events([initiated()])
        .then_state(|s| {
            assert_eq!(s.status, Some(WithdrawalStatus::Initiated));
            assert_eq!(s.amount, 50);
        });
}

#[test]
fn initiate_twice_is_refused() {
    AtmWithdrawal::given([initiated()])
        .when(InitiateWithdrawal {
            withdrawal_id: id(),
            atm_id: "ATM-1".into(),
            account_number: "ACC000001".into(),
            amount: 50,
        })
        .then_error(AtmWithdrawalError::AlreadyInitiated);
}

#[test]
fn amounts_are_multiples_of_ten_by_a_custom_rule() {
    AtmWithdrawal::given_nothing()
        .when(InitiateWithdrawal {
            withdrawal_id: id(),
            atm_id: "ATM-1".into(),
            account_number: "ACC000001".into(),
            amount: 55,
        })
        .then_invalid("amount", "custom");
}

#[test]
fn the_right_pin_authorizes() {
    AtmWithdrawal::given([initiated()])
        .when(confirm("1234"))
        .then_events([AuthorizationConfirmed {
            withdrawal_id: id(),
            account_number: "ACC000001".into(),
            amount: 50,
        }])
        .then_state(|s| assert_eq!(s.status, Some(WithdrawalStatus::Authorized)));
}

#[test]
fn a_wrong_pin_is_counted_and_the_third_blocks_the_card() {
    AtmWithdrawal::given([initiated()])
        .when(confirm("9999"))
        .then_events([PinRejected {
            withdrawal_id: id(),
            attempts: 1,
        }])
        .then_state(|s| assert_eq!(s.failed_pin_attempts, 1));
    AtmWithdrawal::given([initiated()])
        .and(PinRejected {
            withdrawal_id: id(),
            attempts: 1,
        })
        .and(PinRejected {
            withdrawal_id: id(),
            attempts: 2,
        })
        .and(PinRejected {
            withdrawal_id: id(),
            attempts: 3,
        })
        .when(confirm("1234"))
        .then_error(AtmWithdrawalError::CardBlocked);
}

#[test]
fn confirm_needs_an_initiated_withdrawal() {
    AtmWithdrawal::given_nothing()
        .when(confirm("1234"))
        .then_error(AtmWithdrawalError::NotInitiated);
    AtmWithdrawal::given([initiated()])
        .and(AuthorizationConfirmed {
            withdrawal_id: id(),
            account_number: "ACC000001".into(),
            amount: 50,
        })
        .when(confirm("1234"))
        .then_error(AtmWithdrawalError::AlreadyAuthorized);
}

#[test]
fn pins_are_four_digits() {
    AtmWithdrawal::given([initiated()])
        .when(confirm("12"))
        .then_invalid("entered_pin", "length");
    AtmWithdrawal::given([initiated()])
        .when(confirm("12ab"))
        .then_invalid("entered_pin", "pattern");
}

#[test]
fn cash_is_dispensed_only_once_authorized() {
    let dispense = || DispenseCash {
        withdrawal_id: id(),
    };
    AtmWithdrawal::given_nothing()
        .when(dispense())
        .then_error(AtmWithdrawalError::NotInitiated);
    AtmWithdrawal::given([initiated()])
        .when(dispense())
        .then_error(AtmWithdrawalError::NotAuthorized);
    let authorized = AuthorizationConfirmed {
        withdrawal_id: id(),
        account_number: "ACC000001".into(),
        amount: 50,
    };
    AtmWithdrawal::given([initiated()])
        .and(authorized.clone())
        .when(dispense())
        .then_events([CashDispensed {
            withdrawal_id: id(),
            amount: 50,
        }])
        .then_state(|s| assert_eq!(s.status, Some(WithdrawalStatus::Dispensed)));
    AtmWithdrawal::given([initiated()])
        .and(authorized)
        .and(CashDispensed {
            withdrawal_id: id(),
            amount: 50,
        })
        .when(dispense())
        .then_error(AtmWithdrawalError::AlreadyDispensed);
}

fn authorized() -> AuthorizationConfirmed {
    AuthorizationConfirmed {
        withdrawal_id: id(),
        account_number: "ACC000001".into(),
        amount: 50,
    }
}

fn debited(withdrawal_id: Uuid) -> eskema_demo::bank::MoneyWithdrawn {
    eskema_demo::bank::MoneyWithdrawn {
        account_number: "ACC000001".into(),
        withdrawal_id,
        amount: 50,
        balance: 70,
    }
}

#[test]
fn the_process_manager_debits_the_account_once_the_pin_is_right() {
    use eskema_demo::bank::{WithdrawMoney, Withdrawal};
    Withdrawal::given([initiated()])
        .when(authorized())
        .then_commands([WithdrawMoney {
            account_number: "ACC000001".into(),
            withdrawal_id: id(),
            amount: 50,
        }])
        .then_state(|s| {
            assert_eq!(s.account_number, "ACC000001");
            assert_eq!(s.amount, 50);
        });
}

#[test]
fn the_debit_has_the_machine_pay_out_and_ends_the_withdrawal() {
    use eskema_demo::bank::{Withdrawal, WithdrawalEvent};
    let then = Withdrawal::given([WithdrawalEvent::from(initiated()), authorized().into()])
        .when(debited(id()))
        .then_commands([DispenseCash {
            withdrawal_id: id(),
        }])
        .then_stopped();
    // Caused by the debit, in the withdrawal's conversation, under an id derived from the
    // event: a redelivered debit dispatches the same id, which is a no-op.
    let planned = &then.planned()[0];
    assert_eq!(planned.context.causation_id, Some(then.event().event_id));
    assert_eq!(
        planned.context.correlation_id,
        Some(eskema::testing::TEST_CORRELATION)
    );
    assert_eq!(
        planned.context.command_id,
        Some(eskema::read::process::command_id(
            "bank.Withdrawal",
            &id().to_string(),
            then.event().position,
            0
        ))
    );
}

#[test]
fn a_counter_withdrawal_is_none_of_the_process_managers_business() {
    use eskema_demo::bank::Withdrawal;
    // No withdrawal was initiated at an ATM for this id.
    Withdrawal::given_nothing()
        .when(debited(Uuid::from_u128(99)))
        .then_ignored();
    Withdrawal::given([initiated()])
        .when(debited(Uuid::from_u128(99)))
        .then_ignored();
}

#[tokio::test]
async fn a_withdrawal_runs_from_pin_check_to_cash_by_itself() {
    use eskema_demo::bank;
    let store = MemoryStore::new();
    let engine = Engine::new(store.clone());
    let outbox = eskema_demo::logic::notifications::Outbox::default();
    let read_side = eskema_demo::read_side::in_memory(&engine, outbox.clone())
        .await
        .expect("read side");
    bank::dispatch(
        &engine,
        bank::OpenBankAccount {
            account_number: "ACC000001".into(),
            initial_balance: 120,
            currency: bank::Currency::EUR,
            pin: "1234".into(),
            owner_email: None,
        },
    )
    .await
    .expect("open");
    dispatch(
        &engine,
        InitiateWithdrawal {
            withdrawal_id: id(),
            atm_id: "ATM-1".into(),
            account_number: "ACC000001".into(),
            amount: 50,
        },
    )
    .await
    .expect("initiate");
    dispatch(&engine, confirm("1234")).await.expect("authorize");

    // No loop drives the process manager: it debits the account, then has the cash paid.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    let atm = loop {
        let atm = engine
            .load::<AtmWithdrawal>(&id().to_string())
            .await
            .expect("load");
        if atm.state.status == Some(WithdrawalStatus::Dispensed) {
            break atm;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not dispensed: {atm:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    };
    assert_eq!(atm.version, 3);
    let account = engine
        .load::<bank::BankAccount>("ACC000001")
        .await
        .expect("load");
    assert_eq!(account.state.balance, 70);
    let head = store.len() as u64;
    engine
        .wait_for(
            head,
            &["AccountBalances", "Notifications", "Withdrawal"],
            std::time::Duration::from_secs(10),
        )
        .await
        .expect("settled");
    let balance =
        eskema_demo::logic::account_balances::BalancesInMemory::balance(&store, "ACC000001");
    assert_eq!(balance.map(|b| b.balance), Some(70));
    assert_eq!(
        outbox.messages(),
        vec!["ACC000001: 50 withdrawn, balance 70".to_string()]
    );
    // Exactly one debit and one payout.
    let all = store.read_all(1, 100).await.expect("read");
    let count = |t: &str| all.iter().filter(|e| e.event_type == t).count();
    assert_eq!((count("MoneyWithdrawn"), count("CashDispensed")), (1, 1));
    read_side.shutdown().await;
}
