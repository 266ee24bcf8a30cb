//! The read side on several processes sharing one Postgres, one of them SIGKILLed mid-stream
//! while writers keep appending: every event is handled, in order per stream; the
//! AccountBalances projection equals a rebuild from scratch (each event applied exactly
//! once); the Withdrawal process manager's commands took effect exactly once; and the
//! killed process, restarted under its old name, starts on the leases it left behind.
//!
//! The workers are `src/bin/bank_worker.rs`, started as child processes and killed by pid.

mod postgres;

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use eskema::read::ReadStore;
use eskema::sqlx;
use eskema::uuid::Uuid;
use eskema::{Engine, EventStore, PostgresStore};
use eskema_demo::{atm, bank};

const LEASE_TTL_MS: u64 = 1_500;
const ACCOUNTS: usize = 12;
/// Every wait in this test gives up after this.
const BOUND: Duration = Duration::from_secs(60);

/// A worker process, killed (by its pid, through its handle) when dropped.
struct Worker {
    name: String,
    child: Child,
}

impl Worker {
    fn start(db: &postgres::TestDb, name: &str) -> Worker {
        let mut child = Command::new(env!("CARGO_BIN_EXE_bank-worker"))
            .env("DATABASE_URL", &db.url)
            .env("ESKEMA_SCHEMA", &db.schema)
            .env("ESKEMA_NODE", name)
            .env("ESKEMA_LEASE_TTL_MS", LEASE_TTL_MS.to_string())
            .env("ESKEMA_TICK_MS", "200")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start bank-worker");
        // Its first line says it is running.
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            if let Some(Ok(line)) = lines.next() {
                let _ = tx.send(line);
            }
            // Keep draining, so the worker never blocks on a full pipe.
            for _ in lines {}
        });
        let line = rx
            .recv_timeout(BOUND)
            .unwrap_or_else(|_| panic!("worker {name} did not start"));
        assert!(line.starts_with("ready"), "{name}: {line}");
        Worker {
            name: name.to_string(),
            child,
        }
    }

    /// SIGKILL: no clean shutdown, leases left behind.
    fn kill(mut self) {
        eprintln!("SIGKILL {} (pid {})", self.name, self.child.id());
        self.child.kill().expect("SIGKILL");
        let _ = self.child.wait();
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Units by owner (live leases only).
async fn owners(store: &PostgresStore) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for (_, cp) in store.checkpoints(None).await.expect("checkpoints") {
        *out.entry(cp.owner.unwrap_or_else(|| "-".into()))
            .or_insert(0) += 1;
    }
    out
}

async fn wait_until<F: std::future::Future<Output = bool>>(what: &str, mut f: impl FnMut() -> F) {
    let deadline = Instant::now() + BOUND;
    while !f().await {
        assert!(Instant::now() < deadline, "gave up waiting until {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// One writer: deposits, counter withdrawals and ATM withdrawals on its accounts, until
/// told to stop. Returns the ATM withdrawals it authorized.
async fn writer(
    engine: Engine<PostgresStore>,
    accounts: Vec<String>,
    stop: Arc<AtomicBool>,
) -> Vec<Uuid> {
    let mut atm_withdrawals = Vec::new();
    let mut i = 0usize;
    while !stop.load(Ordering::Relaxed) {
        let account = &accounts[i % accounts.len()];
        match i % 3 {
            0 => {
                bank::dispatch(
                    &engine,
                    bank::DepositMoney {
                        account_number: account.clone(),
                        amount: 7,
                    },
                )
                .await
                .expect("deposit");
            }
            1 => {
                bank::dispatch(
                    &engine,
                    bank::WithdrawMoney {
                        account_number: account.clone(),
                        withdrawal_id: Uuid::now_v7(),
                        amount: 3,
                    },
                )
                .await
                .expect("counter withdrawal");
            }
            _ => {
                let withdrawal_id = Uuid::now_v7();
                atm::dispatch(
                    &engine,
                    atm::InitiateWithdrawal {
                        withdrawal_id,
                        atm_id: "ATM-1".into(),
                        account_number: account.clone(),
                        amount: 20,
                    },
                )
                .await
                .expect("initiate");
                atm::dispatch(
                    &engine,
                    atm::ConfirmAuthorization {
                        withdrawal_id,
                        entered_pin: "1234".into(),
                        card_pin: "1234".into(),
                    },
                )
                .await
                .expect("authorize");
                atm_withdrawals.push(withdrawal_id);
            }
        }
        i += 1;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    atm_withdrawals
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_read_side_survives_a_sigkilled_process() {
    let Some(db) = postgres::test_db("the_read_side_survives_a_sigkilled_process").await else {
        return;
    };
    let store = db.store.clone();
    let engine = Engine::new(store.clone());
    let accounts: Vec<String> = (0..ACCOUNTS).map(|i| format!("ACC{i:06}")).collect();
    for account in &accounts {
        bank::dispatch(
            &engine,
            bank::OpenBankAccount {
                account_number: account.clone(),
                initial_balance: 100_000,
                currency: bank::Currency::EUR,
                pin: "1234".into(),
                owner_email: None,
            },
        )
        .await
        .expect("open");
    }

    let one = Worker::start(&db, "w1");
    let two = Worker::start(&db, "w2");
    // 5 units (2 + 2 partitions and the process manager) spread over both.
    wait_until("both workers hold units", || {
        let store = store.clone();
        async move {
            let o = owners(&store).await;
            o.get("w1").is_some_and(|n| *n >= 2) && o.get("w2").is_some_and(|n| *n >= 2)
        }
    })
    .await;

    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = accounts
        .chunks(ACCOUNTS / 3)
        .map(|chunk| tokio::spawn(writer(engine.clone(), chunk.to_vec(), Arc::clone(&stop))))
        .collect();
    tokio::time::sleep(Duration::from_millis(1_500)).await;

    let held_by_one = owners(&store).await.get("w1").copied().unwrap_or(0);
    assert!(held_by_one > 0, "w1 held nothing to take over");
    let killed_at = Instant::now();
    one.kill();
    wait_until("w2 holds every unit", || {
        let store = store.clone();
        async move { owners(&store).await.get("w2").copied() == Some(5) }
    })
    .await;
    let takeover = killed_at.elapsed();
    eprintln!("takeover after SIGKILL: {takeover:?} (lease {LEASE_TTL_MS} ms)");

    // The killed node comes back under its old name: its leftover leases and checkpoints do
    // not stop it, and units move back to it.
    tokio::time::sleep(Duration::from_millis(800)).await;
    let one_again = Worker::start(&db, "w1");
    wait_until("the restarted w1 holds units again", || {
        let store = store.clone();
        async move { owners(&store).await.get("w1").is_some_and(|n| *n >= 2) }
    })
    .await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    stop.store(true, Ordering::Relaxed);
    let mut authorized = Vec::new();
    for w in writers {
        authorized.extend(w.await.expect("writer"));
    }
    assert!(
        authorized.len() >= 5,
        "too few ATM withdrawals: {}",
        authorized.len()
    );

    // Settle: every unit at the head, the head no longer moving (the process manager's
    // commands are events too).
    let deadline = Instant::now() + BOUND;
    loop {
        let head = store.safe_position().await.expect("head").safe;
        let checkpoints = store.checkpoints(None).await.expect("checkpoints");
        let settled = checkpoints.iter().all(|(_, cp)| cp.position >= head);
        if settled && store.safe_position().await.expect("head").safe == head {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the read side did not catch up: {checkpoints:#?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let all = read_everything(&store).await;
    let pool = store.pool();

    // Every withdrawal event was handed to Notifications, and in order per stream.
    let withdrawn: Vec<&eskema::RecordedEvent> = all
        .iter()
        .filter(|e| e.event_type == "MoneyWithdrawn")
        .collect();
    let rows: Vec<(i64, String, i64, i64, i32)> = sqlx::query_as(
        "SELECT position, stream_id, stream_version, sent_seq, deliveries FROM notifications",
    )
    .fetch_all(pool)
    .await
    .expect("notifications");
    assert_eq!(rows.len(), withdrawn.len(), "every withdrawal notified");
    let mut per_stream: HashMap<String, Vec<(i64, i64)>> = HashMap::new();
    for (_, stream, version, seq, _) in &rows {
        per_stream
            .entry(stream.clone())
            .or_default()
            .push((*seq, *version));
    }
    for (stream, mut firsts) in per_stream {
        firsts.sort();
        let versions: Vec<i64> = firsts.iter().map(|(_, v)| *v).collect();
        let mut sorted = versions.clone();
        sorted.sort();
        assert_eq!(
            versions, sorted,
            "{stream}: first deliveries out of stream order"
        );
    }
    let redelivered: i64 = rows.iter().map(|r| i64::from(r.4) - 1).sum();
    eprintln!(
        "notifications: {} events, {redelivered} redelivered after the kill (at least once)",
        rows.len()
    );

    // AccountBalances equals a rebuild from the log, each event applied once.
    let mut expected: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    for e in &all {
        let balance = match e.event_type.as_str() {
            "BankAccountOpened" => e.data["initial_balance"].as_i64(),
            "MoneyDeposited" | "MoneyWithdrawn" => e.data["balance"].as_i64(),
            _ => None,
        };
        if let Some(balance) = balance {
            let account = e.data["account_number"]
                .as_str()
                .expect("account")
                .to_string();
            let entry = expected.entry(account).or_insert((0, 0));
            *entry = (balance, entry.1 + 1);
        }
    }
    let table: BTreeMap<String, (i64, i64)> = sqlx::query_as::<_, (String, i64, i64)>(
        "SELECT account_number, balance, events FROM account_balances",
    )
    .fetch_all(pool)
    .await
    .expect("balances")
    .into_iter()
    .map(|(a, b, n)| (a, (b, n)))
    .collect();
    assert_eq!(
        table, expected,
        "the projection differs from a rebuild from scratch"
    );

    // The saga: for every authorized withdrawal one debit and one payout, no more.
    for id in &authorized {
        let debits = withdrawn
            .iter()
            .filter(|e| e.data["withdrawal_id"].as_str() == Some(&id.to_string()))
            .count();
        assert_eq!(debits, 1, "withdrawal {id} debited {debits} times");
        let atm_stream = store
            .read_stream(&format!("AtmWithdrawal-{id}"), 1, 100)
            .await
            .expect("atm stream");
        let paid = atm_stream
            .iter()
            .filter(|e| e.event_type == "CashDispensed")
            .count();
        assert_eq!(paid, 1, "withdrawal {id} paid out {paid} times");
    }

    let failures = store.failures(None).await.expect("failures");
    assert!(failures.is_empty(), "given up on events: {failures:#?}");
    assert!(
        store
            .checkpoints(None)
            .await
            .expect("checkpoints")
            .iter()
            .all(|(_, cp)| cp.stopped.is_none())
    );
    eprintln!(
        "{} events, {} ATM withdrawals; w1 held {held_by_one} units when killed",
        all.len(),
        authorized.len()
    );
    drop(two);
    drop(one_again);
}

async fn read_everything(store: &PostgresStore) -> Vec<eskema::RecordedEvent> {
    let mut out = Vec::new();
    let mut next = 1;
    loop {
        let page = store.read_all(next, 1_000).await.expect("read_all");
        let Some(last) = page.last() else { break };
        next = last.position + 1;
        out.extend(page);
    }
    out
}
