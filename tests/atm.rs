//! AtmWithdrawal: every executor and applier, the custom rule, and the whole withdrawal
//! across both contexts driven by the `Withdrawal` process manager.

use eskema::uuid::Uuid;
use eskema::{AggregateTestExt, Engine, EventStore, MemoryStore};
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

#[tokio::test]
async fn a_withdrawal_runs_from_pin_check_to_cash_through_the_process_manager() {
    use eskema_demo::bank;
    let engine = Engine::new(MemoryStore::new());
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

    // Drive the process manager by hand over the event log (subscriptions come later).
    let mut process = bank::Withdrawal::default();
    let mut next = 1;
    loop {
        let page = engine.store().read_all(next, 100).await.expect("read");
        let Some(last) = page.last() else { break };
        next = last.position + 1;
        for recorded in &page {
            for command in bank::WithdrawalEvent::handle(&mut process, recorded).expect("handled") {
                match command {
                    bank::WithdrawalDispatch::WithdrawMoney(c) => {
                        bank::dispatch(&engine, c).await.expect("debit");
                    }
                    bank::WithdrawalDispatch::DispenseCash(c) => {
                        dispatch(&engine, c).await.expect("dispense");
                    }
                }
            }
        }
    }
    let account = engine
        .load::<bank::BankAccount>("ACC000001")
        .await
        .expect("load");
    assert_eq!(account.state.balance, 70);
    let atm = engine
        .load::<AtmWithdrawal>(&id().to_string())
        .await
        .expect("load");
    assert_eq!(atm.state.status, Some(WithdrawalStatus::Dispensed));
}
