//! The given / when / then helpers on the hand-written account.

pub mod support;

use eskema::{AggregateTestExt, DispatchError};
use support::*;

fn opened(initial: i64) -> AccountOpened {
    AccountOpened {
        account_id: "a1".into(),
        owner: "Ann".into(),
        initial,
        currency: "EUR".into(),
    }
}

#[test]
fn given_when_then_events_and_state() {
    Account::given_nothing()
        .when(open("a1", "Ann", 10))
        .then_events([opened(10)])
        .then_state(|s| assert!(s.opened && s.balance == 10));

    Account::given([opened(10)])
        .and(MoneyDeposited {
            amount: 5,
            balance: 15,
        })
        .when(withdraw("a1", 15))
        .then_events([MoneyWithdrawn {
            amount: 15,
            balance: 0,
        }])
        .then_state(|s| assert_eq!(s.balance, 0));

    // Mixed event types through the event enum.
    Account::given([
        AccountEvent::from(opened(1)),
        MoneyDeposited {
            amount: 1,
            balance: 2,
        }
        .into(),
    ])
    .when(deposit("a1", 3))
    .then_events([MoneyDeposited {
        amount: 3,
        balance: 5,
    }]);
}

#[test]
fn then_error_and_then_invalid() {
    Account::given([opened(10)])
        .when(withdraw("a1", 11))
        .then_error(AccountError::InsufficientFunds);
    Account::given([opened(10)])
        .when(open("a1", "Ann", 1))
        .then_error(AccountError::AlreadyOpened);
    Account::given_nothing()
        .when(open("", "", -1))
        .then_invalid("account_id", "required")
        .then_invalid("owner", "required")
        .then_invalid("initial", "min");
}

#[test]
fn raw_results_for_custom_asserts() {
    let then = Account::given([opened(10)]).when(deposit("a1", 0));
    match then.result() {
        Err(DispatchError::Validation(v)) => assert_eq!(v.len(), 1),
        other => panic!("expected a validation error, got {other:?}"),
    }
    assert_eq!(then.state(), None);
    let events = Account::given([opened(10)])
        .when(deposit("a1", 1))
        .into_result()
        .expect("events");
    assert_eq!(events.len(), 1);
    let given = Account::given([opened(7)]);
    assert_eq!(given.state().balance, 7);
}

#[test]
#[should_panic(expected = "diff (- expected, + actual):\n  [\n-     MoneyWithdrawn(\n")]
fn wrong_events_panic_with_a_diff() {
    Account::given([opened(10)])
        .when(deposit("a1", 1))
        .then_events([MoneyWithdrawn {
            amount: 1,
            balance: 9,
        }]);
}

#[test]
#[should_panic(
    expected = "Account: expected domain error `the balance does not cover the amount`, but the command succeeded"
)]
fn a_missing_error_panics_readably() {
    Account::given([opened(10)])
        .when(withdraw("a1", 1))
        .then_error(AccountError::InsufficientFunds);
}

#[test]
#[should_panic(expected = "expected a `max` violation on `amount`; the violations were")]
fn a_different_violation_panics_with_the_list() {
    Account::given([opened(10)])
        .when(deposit("a1", 0))
        .then_invalid("amount", "max");
}
