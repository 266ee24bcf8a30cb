//! The eskema demo: a bank account, an ATM withdrawal and a user registration, on the
//! embedded in-memory store, or on Postgres when `DATABASE_URL` is set:
//!
//! ```text
//! cargo run --example bank
//! DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres cargo run --example bank
//! ```
//!
//! On Postgres the events stay: run it again and it continues from the first run's events.
//! `ESKEMA_SCHEMA` picks the Postgres schema (default `eskema`).

use std::process::ExitCode;

use eskema::serde_json::json;
use eskema::uuid::Uuid;
use eskema::{DispatchError, Engine, EventStore, MemoryStore};
use eskema_demo::logic::account_balances::AccountBalances;
use eskema_demo::{atm, bank, domain, users};

const ACCOUNT: &str = "ACC000042";

#[tokio::main]
async fn main() -> ExitCode {
    let result = match std::env::var("DATABASE_URL") {
        #[cfg(feature = "postgres")]
        Ok(url) => on_postgres(&url).await,
        _ => {
            println!("store: in memory (set DATABASE_URL to use Postgres)");
            run(Engine::new(MemoryStore::new())).await
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(feature = "postgres")]
async fn on_postgres(url: &str) -> Result<(), String> {
    let schema = std::env::var("ESKEMA_SCHEMA")
        .unwrap_or_else(|_| eskema::postgres::DEFAULT_SCHEMA.to_string());
    let store = eskema::PostgresStore::builder(url)
        .schema(schema.as_str())
        .connect()
        .await
        .map_err(|e| e.to_string())?;
    println!(
        "store: Postgres (schema `{schema}`) at {}",
        eskema::postgres::redact_url(url)
    );
    run(Engine::new(store)).await
}

async fn run<S: EventStore>(engine: Engine<S>) -> Result<(), String> {
    println!("\n== 1. Open an account (or find it open from an earlier run)");
    let open = bank::OpenBankAccount {
        account_number: ACCOUNT.into(),
        initial_balance: 100,
        currency: bank::Currency::EUR,
        pin: "4321".into(),
        owner_email: Some("ann@example.com".into()),
    };
    match bank::dispatch(&engine, open).await {
        Ok(out) => println!("opened {} at version {}", out.stream_id, out.version),
        Err(DispatchError::Domain(e)) => println!("refused, as expected on a second run: {e}"),
        Err(e) => return Err(e.to_string()),
    }

    println!("\n== 2. Deposit through the JSON router (Seven Otters style)");
    let out = domain::dispatch_json(
        &engine,
        "bank.DepositMoney",
        json!({ "account_number": ACCOUNT, "amount": 50 }),
    )
    .await
    .map_err(|e| e.to_string())?;
    println!("deposited: stream version is now {}", out.version);

    println!("\n== 3. A bad command: every violation, nothing written");
    let bad = bank::OpenBankAccount {
        account_number: "12".into(),
        initial_balance: 0,
        currency: bank::Currency::USD,
        pin: "12x".into(),
        owner_email: Some("ann-at-example".into()),
    };
    if let Err(DispatchError::Validation(v)) = bank::dispatch(&engine, bad).await {
        for violation in &v.violations {
            println!(
                "  {:<16} {:<8} {}",
                violation.field, violation.rule, violation.message
            );
        }
    }

    println!("\n== 4. A domain error: withdrawing too much");
    let too_much = bank::WithdrawMoney {
        account_number: ACCOUNT.into(),
        withdrawal_id: Uuid::now_v7(),
        amount: 1_000_000,
    };
    match bank::dispatch(&engine, too_much).await {
        Err(e) => println!("refused: {e}"),
        Ok(_) => return Err("withdrawing a million should have been refused".into()),
    }

    println!("\n== 5. An ATM withdrawal: PIN check, debit, cash (the Withdrawal process manager)");
    let withdrawal_id = Uuid::now_v7();
    atm::dispatch(
        &engine,
        atm::InitiateWithdrawal {
            withdrawal_id,
            atm_id: "ATM-7".into(),
            account_number: ACCOUNT.into(),
            amount: 40,
        },
    )
    .await
    .map_err(|e| e.to_string())?;
    let wrong = atm::ConfirmAuthorization {
        withdrawal_id,
        entered_pin: "0000".into(),
        card_pin: "4321".into(),
    };
    let out = atm::dispatch(&engine, wrong)
        .await
        .map_err(|e| e.to_string())?;
    println!("wrong PIN: {:?}", out.events);
    let right = atm::ConfirmAuthorization {
        withdrawal_id,
        entered_pin: "4321".into(),
        card_pin: "4321".into(),
    };
    atm::dispatch(&engine, right)
        .await
        .map_err(|e| e.to_string())?;
    run_withdrawal_process(&engine, withdrawal_id).await?;

    println!("\n== 6. The AccountBalances read model, rebuilt from all events");
    let mut balances = AccountBalances::default();
    let mut next = 1;
    loop {
        let page = engine
            .store()
            .read_all(next, 500)
            .await
            .map_err(|e| e.to_string())?;
        let Some(last) = page.last() else { break };
        next = last.position + 1;
        for recorded in &page {
            bank::AccountBalancesEvent::handle(&mut balances, recorded)
                .map_err(|e| e.to_string())?;
        }
    }
    println!("balance of {ACCOUNT}: {:?}", balances.balances.get(ACCOUNT));

    println!("\n== 7. A user registers; the password never reaches an event");
    let user = format!("ann-{}", &Uuid::now_v7().simple().to_string()[20..]);
    let out = users::dispatch(
        &engine,
        users::RegisterUser {
            user,
            first_name: "Ann".into(),
            password: "correct horse".into(),
        },
    )
    .await
    .map_err(|e| e.to_string())?;
    println!("stored: {}", out.recorded[0].data);

    let account = engine
        .load::<bank::BankAccount>(ACCOUNT)
        .await
        .map_err(|e| e.to_string())?;
    println!(
        "\n{ACCOUNT}: balance {} after {} events",
        account.state.balance, account.version
    );
    Ok(())
}

/// Feeds the withdrawal's events to the process manager and dispatches what it asks for,
/// until it has nothing left to do (handler and process-manager subscriptions are a later
/// step of the runtime; here they are driven by hand over the log).
async fn run_withdrawal_process<S: EventStore>(
    engine: &Engine<S>,
    withdrawal_id: Uuid,
) -> Result<(), String> {
    let mut process = bank::Withdrawal::default();
    let mut next = 1;
    loop {
        let page = engine
            .store()
            .read_all(next, 500)
            .await
            .map_err(|e| e.to_string())?;
        let Some(last) = page.last() else {
            return Ok(());
        };
        next = last.position + 1;
        for recorded in &page {
            if recorded.data.get("withdrawal_id").and_then(|v| v.as_str())
                != Some(&withdrawal_id.to_string())
            {
                continue;
            }
            for command in
                bank::WithdrawalEvent::handle(&mut process, recorded).map_err(|e| e.to_string())?
            {
                match command {
                    bank::WithdrawalDispatch::WithdrawMoney(c) => {
                        let out = bank::dispatch(engine, c).await.map_err(|e| e.to_string())?;
                        println!("bank debited the account: version {}", out.version);
                    }
                    bank::WithdrawalDispatch::DispenseCash(c) => {
                        let out = atm::dispatch(engine, c).await.map_err(|e| e.to_string())?;
                        println!("ATM dispensed the cash: {:?}", out.events);
                    }
                }
            }
        }
    }
}
