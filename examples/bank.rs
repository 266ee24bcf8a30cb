//! The eskema demo: a bank account, an ATM withdrawal that the `Withdrawal` process manager
//! runs by itself, the `AccountBalances` projection and the `Notifications` outbox, on the
//! embedded in-memory store, or on Postgres when `DATABASE_URL` is set:
//!
//! ```text
//! cargo run --example bank
//! DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres cargo run --example bank
//! cargo run --example bank -- --status                     # every handler's checkpoint, lag, owner (only looks)
//! cargo run --example bank -- --rebuild AccountBalances    # from origin, with a progress bar
//! ```
//!
//! On Postgres the events stay: run it again and it continues from the first run's events.
//! `ESKEMA_SCHEMA` picks the Postgres schema (default `eskema`); `cargo run --bin
//! bank-worker` runs the same read side in more processes.

use std::process::ExitCode;
use std::time::Duration;

use eskema::read::{ReadSide, ReadStore};
use eskema::serde_json::json;
use eskema::uuid::Uuid;
use eskema::{DispatchError, Engine, MemoryStore};
use eskema_demo::logic::account_balances::{Balance, BalancesInMemory};
use eskema_demo::logic::notifications::Outbox;
use eskema_demo::{atm, bank, domain, read_side, users};

const ACCOUNT: &str = "ACC000042";
/// Every subscriber of the demo.
const SUBSCRIBERS: &[&str] = &["AccountBalances", "Notifications", "Withdrawal"];

#[derive(Debug, Clone, PartialEq)]
enum Mode {
    Demo,
    Status,
    Rebuild(String),
}

fn mode() -> Result<Mode, String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        [] => Ok(Mode::Demo),
        ["--status"] => Ok(Mode::Status),
        ["--rebuild", name] => Ok(Mode::Rebuild(name.to_string())),
        _ => Err(format!(
            "usage: bank [--status | --rebuild <{}>]",
            SUBSCRIBERS.join(" | ")
        )),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let result = match mode() {
        Err(usage) => Err(usage),
        Ok(mode) => match std::env::var("DATABASE_URL") {
            #[cfg(feature = "postgres")]
            Ok(url) => on_postgres(&url, mode).await,
            _ => in_memory(mode).await,
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// What the demo reads from each store's read models.
trait Models {
    fn balance(&self, account: &str) -> impl Future<Output = Result<Option<Balance>, String>>;
    fn notifications(&self) -> impl Future<Output = Result<Vec<String>, String>>;
}

struct InMemory {
    store: MemoryStore,
    outbox: Outbox,
}

async fn in_memory(mode: Mode) -> Result<(), String> {
    println!("store: in memory (set DATABASE_URL to use Postgres)");
    let store = MemoryStore::new();
    let outbox = Outbox::default();
    let engine = Engine::new(store.clone());
    let read_side = read_side::in_memory(&engine, outbox.clone())
        .await
        .map_err(|e| e.to_string())?;
    let models = InMemory { store, outbox };
    // Every run starts empty here: the demo's events come first.
    if mode != Mode::Demo {
        demo(&engine, &read_side, &models).await?;
    }
    finish(mode, &engine, read_side, &models).await
}

#[cfg(feature = "postgres")]
async fn on_postgres(url: &str, mode: Mode) -> Result<(), String> {
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
    let engine = Engine::new(store.clone());
    if mode == Mode::Status {
        // Only looks: the read side of whichever processes run the subscribers.
        let observer = ReadSide::builder(&engine)
            .observe::<bank::AccountBalances>()
            .observe::<bank::Notifications>()
            .observe::<bank::Withdrawal>()
            .start()
            .await
            .map_err(|e| e.to_string())?;
        println!("\n== The read side");
        status(&observer).await?;
        observer.shutdown().await;
        return Ok(());
    }
    let read_side = read_side::on_postgres(&engine, |b| b)
        .await
        .map_err(|e| e.to_string())?;
    finish(mode, &engine, read_side, &store).await
}

async fn finish<S: ReadStore, M: Models>(
    mode: Mode,
    engine: &Engine<S>,
    read_side: ReadSide<S>,
    models: &M,
) -> Result<(), String> {
    // `--status` on Postgres only looks; in memory (nothing stored before this run) it
    // follows the demo.
    match mode {
        Mode::Demo => demo(engine, &read_side, models).await?,
        Mode::Status => {}
        Mode::Rebuild(name) => rebuild(&read_side, &name).await?,
    }
    // Every subscriber at the head before it is shown (the last events need a moment).
    settle(&read_side).await?;
    println!("\n== The read side");
    status(&read_side).await?;
    read_side.shutdown().await;
    Ok(())
}

async fn demo<S: ReadStore, M: Models>(
    engine: &Engine<S>,
    read_side: &ReadSide<S>,
    models: &M,
) -> Result<(), String> {
    println!(
        "read side: {} running as node {}",
        SUBSCRIBERS.join(", "),
        read_side.node()
    );

    println!("\n== 1. Open an account (or find it open from an earlier run)");
    let open = bank::OpenBankAccount {
        account_number: ACCOUNT.into(),
        initial_balance: 100,
        currency: bank::Currency::EUR,
        pin: "4321".into(),
        owner_email: Some("ann@example.com".into()),
    };
    match bank::dispatch(engine, open).await {
        Ok(out) => println!("opened {} at version {}", out.stream_id, out.version),
        Err(DispatchError::Domain(e)) => println!("refused, as expected on a second run: {e}"),
        Err(e) => return Err(e.to_string()),
    }

    println!("\n== 2. Deposit through the JSON router (Seven Otters style)");
    let out = domain::dispatch_json(
        engine,
        "bank.DepositMoney",
        json!({ "account_number": ACCOUNT, "amount": 50 }),
    )
    .await
    .map_err(|e| e.to_string())?;
    // AccountBalances is `consistency: strong`: the dispatch returned after it was updated.
    let balance = models.balance(ACCOUNT).await?.map(|b| b.balance);
    println!(
        "deposited: stream version {}, and the AccountBalances read model already says {balance:?}",
        out.version
    );

    println!("\n== 3. A bad command: every violation, nothing written");
    let bad = bank::OpenBankAccount {
        account_number: "12".into(),
        initial_balance: 0,
        currency: bank::Currency::USD,
        pin: "12x".into(),
        owner_email: Some("ann-at-example".into()),
    };
    if let Err(DispatchError::Validation(v)) = bank::dispatch(engine, bad).await {
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
    match bank::dispatch(engine, too_much).await {
        Err(e) => println!("refused: {e}"),
        Ok(_) => return Err("withdrawing a million should have been refused".into()),
    }

    println!("\n== 5. An ATM withdrawal: the Withdrawal process manager runs it");
    let withdrawal_id = Uuid::now_v7();
    atm::dispatch(
        engine,
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
    let out = atm::dispatch(engine, wrong)
        .await
        .map_err(|e| e.to_string())?;
    println!("wrong PIN: {:?}", out.events);
    let right = atm::ConfirmAuthorization {
        withdrawal_id,
        entered_pin: "4321".into(),
        card_pin: "4321".into(),
    };
    atm::dispatch(engine, right)
        .await
        .map_err(|e| e.to_string())?;
    // The process manager debits the account (WithdrawMoney), then, on MoneyWithdrawn, has
    // the machine pay out (DispenseCash): no loop here drives it.
    settle(read_side).await?;
    let atm = engine
        .load::<atm::AtmWithdrawal>(&withdrawal_id.to_string())
        .await
        .map_err(|e| e.to_string())?;
    println!(
        "the process manager debited the account and the machine paid out: {:?}",
        atm.state.status
    );

    println!("\n== 6. The read models, kept by the read side");
    let balance = models.balance(ACCOUNT).await?;
    println!("AccountBalances for {ACCOUNT}: {balance:?}");
    for message in models.notifications().await? {
        println!("Notifications sent: {message}");
    }

    println!("\n== 7. A user registers; the password never reaches an event");
    let user = format!("ann-{}", &Uuid::now_v7().simple().to_string()[20..]);
    let out = users::dispatch(
        engine,
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

/// Waits until every subscriber has processed every event, the events its own commands
/// append included.
async fn settle<S: ReadStore>(read_side: &ReadSide<S>) -> Result<(), String> {
    read_side
        .settle(Duration::from_secs(10))
        .await
        .map_err(|e| e.to_string())
}

/// Rebuilds `name` from origin with a progress bar (on a terminal); Ctrl-C stops it, and
/// running it again resumes.
async fn rebuild<S: ReadStore>(read_side: &ReadSide<S>, name: &str) -> Result<(), String> {
    let rebuild = read_side.rebuild(name).await.map_err(|e| e.to_string())?;
    println!(
        "\n== {} {name} from origin, to position {}",
        if rebuild.resumed {
            "Resuming the rebuild of"
        } else {
            "Rebuilding"
        },
        rebuild.target
    );
    let bar = indicatif::ProgressBar::new(rebuild.target);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{bar:40} {pos}/{len} events, {per_sec}, ETA {eta}",
        )
        .map_err(|e| e.to_string())?,
    );
    let stop = tokio::signal::ctrl_c();
    tokio::pin!(stop);
    loop {
        let (position, _) = read_side.progress(name).await.map_err(|e| e.to_string())?;
        bar.set_position(position.min(rebuild.target));
        if position >= rebuild.target {
            bar.finish();
            println!("{name} rebuilt: {position} events");
            return Ok(());
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(100)) => {}
            _ = &mut stop => {
                bar.abandon();
                println!("stopped at position {position}: run --rebuild {name} again to resume");
                return Ok(());
            }
        }
    }
}

async fn status<S: ReadStore>(read_side: &ReadSide<S>) -> Result<(), String> {
    println!(
        "{:<22} {:>4} {:>10} {:>6} {:>11} {:>6}  {:<16} state",
        "subscriber", "part", "checkpoint", "head", "lag", "parked", "owner"
    );
    for s in read_side.status().await.map_err(|e| e.to_string())? {
        let state = match (&s.stopped, &s.last_error, s.rebuild_until) {
            (Some(e), _, _) => format!("stopped: {e}"),
            (None, _, Some(until)) => format!("rebuilding to {until}"),
            (None, Some(e), _) if s.attempts > 0 => format!("retrying: {e}"),
            _ => "running".to_string(),
        };
        let lag = format!("{} ({:.1}s)", s.lag_events, s.lag_seconds);
        println!(
            "{:<22} {:>4} {:>10} {:>6} {:>11} {:>6}  {:<16} {state}",
            s.subscriber,
            s.partition,
            s.position,
            s.head,
            lag,
            s.parked,
            s.owner.as_deref().unwrap_or("-"),
        );
    }
    Ok(())
}

impl Models for InMemory {
    async fn balance(&self, account: &str) -> Result<Option<Balance>, String> {
        Ok(BalancesInMemory::balance(&self.store, account))
    }

    async fn notifications(&self) -> Result<Vec<String>, String> {
        Ok(self.outbox.messages())
    }
}

#[cfg(feature = "postgres")]
impl Models for eskema::PostgresStore {
    async fn balance(&self, account: &str) -> Result<Option<Balance>, String> {
        eskema_demo::logic::account_balances::BalancesTable::balance(self.pool(), account)
            .await
            .map_err(|e| e.to_string())
    }

    async fn notifications(&self) -> Result<Vec<String>, String> {
        eskema::sqlx::query_scalar("SELECT message FROM notifications ORDER BY position")
            .fetch_all(self.pool())
            .await
            .map_err(|e| e.to_string())
    }
}
