//! The read-side benchmark: each workload through eskema's read side on Postgres beside raw
//! sqlx doing the same work in the same run, and the ratio.
//!
//! ```text
//! cargo run --release -p eskema --features postgres --example read_bench
//! DATABASE_URL=postgres://... ROUNDS=5 ONLY=replay-memory,saga cargo run --release ...
//! ```
//!
//! Workloads (`ONLY=` takes their names):
//!
//! - `latency`: append-to-handler latency at a steady 1,000 commands/s (`RATE`), from the
//!   moment a command is sent to the moment a side-effect handler holds its event; the
//!   handler in this process, then in another one. Raw: an INSERT, then `pg_notify` on
//!   another connection; a LISTENing reader (here, or in another process) reads the new
//!   rows.
//! - `replay-memory`: 100,000 events into an in-memory projection (a side-effect handler
//!   summing into a map), rebuilt from origin. Raw: `SELECT` in pages of the same size,
//!   each payload decoded into the same event type and summed into the same map.
//! - `replay-postgres`: the same into a Postgres projection, one upsert per event, one
//!   transaction per page with the checkpoint. Raw: the same upserts in the same pages, one
//!   transaction per page.
//! - `throughput`: 16 tasks dispatching one-event commands for 3 s, with 10 live
//!   side-effect handlers running in 2 other processes (caught up before the clock
//!   starts), against the same dispatch with no handlers (run twice per round, the
//!   baseline is their mean) and with two raw followers. The four runs of a round take
//!   each place in turn; the ratio of the second no-handler run to the first shows how
//!   far this machine drifts with nothing changed. `ROUNDS` is rounded up to a multiple of
//!   4 here, so that every run takes every place as often.
//! - `saga`: the demo's ATM withdrawal (initiate, confirm the PIN; the `Withdrawal` process
//!   manager debits the account and has the cash paid) until `CashDispensed` is handled:
//!   median and p99.
//!
//! Figures are medians over `ROUNDS` rounds (default 3). Every workload runs in a fresh
//! schema, dropped at the end. The other processes are this program run again with
//! `READ_BENCH_CHILD` set. To see where the throughput row's cost goes: `HANDLERS=0` (or 1)
//! runs that many no-op handlers in the other processes, `NOTIFY=0` turns the store's append
//! notifications off, `READ_EVERY_US=n` sets the read side's shortest look interval, and
//! `SHOW_CHILDREN=1` prints each handler process's statements and CPU, how the units were
//! spread, and each round's ratios. `RATE=n` runs the latency rows at n commands/s.

use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use eskema::event::AnyEvent;
use eskema::read::{
    Consistency, Deliver, EventKey, Exhausted, FailurePolicy, HandlerError, Kind, Project,
    ReadSide, ReadStore, Spec, StartFrom, Subscription,
};
use eskema::store::{ExpectedVersion, Metadata, NewEvent};
use eskema::{Engine, Event, EventStore, PostgresStore, RecordedEvent, UpcastError};
use eskema_demo::{atm, bank};
use sqlx::postgres::{PgListener, PgPool, PgPoolOptions};
use uuid::Uuid;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const REPLAY_EVENTS: usize = 100_000;
const PAGE: usize = 1_000;
const LATENCY_SECS: u64 = 5;
const THROUGHPUT_SECS: u64 = 3;
const SAGAS: usize = 200;

// ---------------------------------------------------------------------------------------
// Subscriptions written by hand (the generated ones belong to the demo's schema): each
// takes the demo's `MoneyDeposited` (or `CashDispensed`) events.

const DEPOSITED: EventKey = EventKey::handle::<bank::MoneyDeposited>("bank-account-");

const QUICK: FailurePolicy = FailurePolicy {
    attempts: 3,
    backoff_ms: &[10],
    then: Exhausted::Park,
};

macro_rules! deposits {
    ($($marker:ident = $name:literal, $kind:ident, $start:ident;)*) => {$(
        #[derive(Debug, Clone, Copy, Default)]
        struct $marker;
        impl Subscription for $marker {
            type Event = bank::MoneyDeposited;
            const SPEC: Spec = Spec {
                context: "bench",
                name: $name,
                kind: Kind::$kind,
                consistency: Consistency::Eventual,
                start_from: StartFrom::$start,
                partitions: 1,
                on_failure: QUICK,
                events: &[DEPOSITED],
            };
            fn decode(_: usize, recorded: &RecordedEvent) -> Result<bank::MoneyDeposited, UpcastError> {
                // As generated code decodes.
                bank::MoneyDeposited::from_recorded(recorded)
            }
            fn encode(event: &bank::MoneyDeposited) -> (usize, serde_json::Value) {
                (0, event.to_data())
            }
        }
    )*};
}

deposits! {
    Timer = "Timer", Effect, Current;
    Tally = "Tally", Effect, Origin;
    Totals = "Totals", Projection, Origin;
    Noop0 = "Noop0", Effect, Current;
    Noop1 = "Noop1", Effect, Current;
    Noop2 = "Noop2", Effect, Current;
    Noop3 = "Noop3", Effect, Current;
    Noop4 = "Noop4", Effect, Current;
    Noop5 = "Noop5", Effect, Current;
    Noop6 = "Noop6", Effect, Current;
    Noop7 = "Noop7", Effect, Current;
    Noop8 = "Noop8", Effect, Current;
    Noop9 = "Noop9", Effect, Current;
}

/// Records when each event arrived (as wall-clock nanoseconds, comparable across
/// processes on one machine).
#[derive(Debug, Clone, Default)]
struct Stopwatch {
    arrived: Arc<Mutex<HashMap<u64, u128>>>,
}

fn now_nanos() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

impl Deliver<Stopwatch> for Timer {
    async fn deliver(
        handler: &Stopwatch,
        _event: &bank::MoneyDeposited,
        recorded: &RecordedEvent,
    ) -> Result<(), HandlerError> {
        let at = now_nanos();
        handler
            .arrived
            .lock()
            .map_err(|_| HandlerError::new("poisoned"))?
            .insert(recorded.position, at);
        Ok(())
    }
}

/// The in-memory projection: money in, per account.
#[derive(Debug, Clone, Default)]
struct Sums {
    totals: Arc<Mutex<HashMap<String, i64>>>,
}

impl Deliver<Sums> for Tally {
    async fn deliver(
        handler: &Sums,
        event: &bank::MoneyDeposited,
        _recorded: &RecordedEvent,
    ) -> Result<(), HandlerError> {
        *handler
            .totals
            .lock()
            .map_err(|_| HandlerError::new("poisoned"))?
            .entry(event.account_number.clone())
            .or_insert(0) += event.amount;
        Ok(())
    }
}

/// The Postgres projection: one upsert per event.
#[derive(Debug, Clone, Copy, Default)]
struct Upserts;

const UPSERT: &str = "INSERT INTO bench_totals (account, total) VALUES ($1, $2) \
                      ON CONFLICT (account) DO UPDATE SET total = bench_totals.total + EXCLUDED.total";

impl Project<Upserts, sqlx::PgConnection> for Totals {
    async fn project(
        _handler: &Upserts,
        conn: &mut sqlx::PgConnection,
        event: &bank::MoneyDeposited,
        _recorded: &RecordedEvent,
    ) -> Result<(), HandlerError> {
        sqlx::query(UPSERT)
            .bind(&event.account_number)
            .bind(event.amount)
            .execute(conn)
            .await?;
        Ok(())
    }

    async fn reset(_handler: &Upserts, conn: &mut sqlx::PgConnection) -> Result<(), HandlerError> {
        sqlx::query("DELETE FROM bench_totals")
            .execute(conn)
            .await?;
        Ok(())
    }
}

/// A read side with `READ_EVERY_US` (if set) as its read interval.
fn read_side(engine: &Engine<PostgresStore>) -> eskema::read::ReadSideBuilder<PostgresStore> {
    let b = ReadSide::builder(engine);
    match std::env::var("READ_EVERY_US")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        Some(us) => b.read_every(Duration::from_micros(us)),
        None => b,
    }
}

/// `RATE`: the latency rows' steady rate in commands/s (default 1,000).
fn rate() -> u64 {
    std::env::var("RATE")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|r| *r > 0)
        .unwrap_or(1_000)
}

/// The latency rows' ticks: how far apart, how many commands each sends (the timer does not
/// tick more often than once a millisecond), and how many commands in all.
fn ticks() -> (Duration, usize, usize) {
    let rate = rate();
    let per_tick = rate.div_ceil(1_000);
    let every = Duration::from_micros(1_000_000 * per_tick / rate);
    (every, per_tick as usize, (rate * LATENCY_SECS) as usize)
}

/// `HANDLERS`: how many of the ten no-op handlers the throughput row runs (default 10).
fn live_handlers() -> usize {
    std::env::var("HANDLERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10)
        .min(10)
}

/// Does nothing with its events: a live handler's cost to the store, and no more.
#[derive(Debug, Clone, Copy, Default)]
struct Nothing;

macro_rules! deliver_nothing {
    ($($marker:ident),*) => {$(
        impl Deliver<Nothing> for $marker {
            async fn deliver(_: &Nothing, _: &bank::MoneyDeposited, _: &RecordedEvent) -> Result<(), HandlerError> {
                Ok(())
            }
        }
    )*};
}

deliver_nothing!(
    Noop0, Noop1, Noop2, Noop3, Noop4, Noop5, Noop6, Noop7, Noop8, Noop9
);

/// When each ATM withdrawal's cash was paid out (the saga's last event, handled).
#[derive(Debug, Clone, Copy, Default)]
struct Dispensed;

impl Subscription for Dispensed {
    type Event = atm::CashDispensed;
    const SPEC: Spec = Spec {
        context: "bench",
        name: "Dispensed",
        kind: Kind::Effect,
        consistency: Consistency::Eventual,
        start_from: StartFrom::Current,
        partitions: 1,
        on_failure: QUICK,
        events: &[EventKey::handle::<atm::CashDispensed>("AtmWithdrawal-")],
    };
    fn decode(_: usize, recorded: &RecordedEvent) -> Result<atm::CashDispensed, UpcastError> {
        atm::CashDispensed::from_recorded(recorded)
    }
    fn encode(event: &atm::CashDispensed) -> (usize, serde_json::Value) {
        (0, event.to_data())
    }
}

#[derive(Debug, Clone, Default)]
struct SagaEnds {
    at: Arc<Mutex<HashMap<Uuid, Instant>>>,
}

impl Deliver<SagaEnds> for Dispensed {
    async fn deliver(
        handler: &SagaEnds,
        event: &atm::CashDispensed,
        _recorded: &RecordedEvent,
    ) -> Result<(), HandlerError> {
        handler
            .at
            .lock()
            .map_err(|_| HandlerError::new("poisoned"))?
            .insert(event.withdrawal_id, Instant::now());
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------
// Set-up.

struct Bench {
    url: String,
    rounds: usize,
    schemas: Mutex<Vec<String>>,
}

impl Bench {
    /// A store in a fresh schema (dropped at the end) and a raw pool on the same schema.
    async fn fresh(&self, tag: &str) -> Result<(PostgresStore, PgPool, String), BoxError> {
        let schema = format!("eskema_rb_{tag}_{}", Uuid::now_v7().simple());
        self.schemas
            .lock()
            .map_err(|_| "poisoned")?
            .push(schema.clone());
        let store = PostgresStore::builder(self.url.clone())
            .schema(schema.clone())
            .max_connections(16)
            .notify(std::env::var("NOTIFY").map_or(true, |v| v != "0"))
            .connect()
            .await?;
        let raw = raw_pool(&self.url, &schema).await?;
        Ok((store, raw, schema))
    }
}

async fn raw_pool(url: &str, schema: &str) -> Result<PgPool, BoxError> {
    let options: sqlx::postgres::PgConnectOptions = url.parse()?;
    Ok(PgPoolOptions::new()
        .max_connections(16)
        .test_before_acquire(false)
        // As the store's pool: see "Generic plans" in the store's docs.
        .connect_with(options.options([
            ("search_path", schema),
            ("plan_cache_mode", "force_generic_plan"),
        ]))
        .await?)
}

fn account(i: usize) -> String {
    format!("ACC{i:06}")
}

async fn open_accounts(
    engine: &Engine<PostgresStore>,
    from: usize,
    n: usize,
) -> Result<(), BoxError> {
    for i in from..from + n {
        bank::dispatch(
            engine,
            bank::OpenBankAccount {
                account_number: account(i),
                initial_balance: 1_000_000,
                currency: bank::Currency::EUR,
                pin: "1234".into(),
                owner_email: None,
            },
        )
        .await?;
    }
    Ok(())
}

async fn deposit(engine: &Engine<PostgresStore>, i: usize) -> Result<u64, BoxError> {
    let out = bank::dispatch(
        engine,
        bank::DepositMoney {
            account_number: account(i),
            amount: 1,
        },
    )
    .await?;
    Ok(out.position)
}

/// The next events until `head`, waiting for `name` to reach it.
async fn caught_up<S: ReadStore>(
    side: &ReadSide<S>,
    name: &str,
    head: u64,
) -> Result<(), BoxError> {
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let (position, _) = side.progress(name).await?;
        if position >= head {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!("{name} stuck at {position} of {head}").into());
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

fn median(xs: &mut [f64]) -> f64 {
    xs.sort_by(f64::total_cmp);
    if xs.is_empty() {
        return 0.0;
    }
    xs[xs.len() / 2]
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Milliseconds between sends and arrivals, sorted.
fn latencies(sent: &HashMap<u64, u128>, arrived: &HashMap<u64, u128>) -> Vec<f64> {
    let mut out: Vec<f64> = sent
        .iter()
        .filter_map(|(p, s)| arrived.get(p).map(|a| (*a as f64 - *s as f64) / 1e6))
        .collect();
    out.sort_by(f64::total_cmp);
    out
}

// ---------------------------------------------------------------------------------------
// Child processes.

/// Starts this program again as `role`, on `schema`; waits for its "ready" line.
fn child(
    url: &str,
    schema: &str,
    role: &str,
) -> Result<
    (
        Child,
        std::io::Lines<std::io::BufReader<std::process::ChildStdout>>,
    ),
    BoxError,
> {
    let mut child = Command::new(std::env::current_exe()?)
        .env("READ_BENCH_CHILD", role)
        .env("DATABASE_URL", url)
        .env("READ_BENCH_SCHEMA", schema)
        .env("PGAPPNAME", format!("read_bench {role}"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut lines = std::io::BufReader::new(stdout).lines();
    match lines.next() {
        Some(Ok(line)) if line.starts_with("ready") => Ok((child, lines)),
        other => Err(format!("child {role} did not start: {other:?}").into()),
    }
}

/// The raw reader's step: the rows after `after`, each noted as arrived now; returns the
/// last position read.
async fn raw_read(pool: &PgPool, after: i64, arrived: &Mutex<HashMap<u64, u128>>) -> i64 {
    let rows: Vec<(i64,)> = sqlx::query_as(
        "SELECT position FROM raw_events WHERE position > $1 ORDER BY position LIMIT 1000",
    )
    .bind(after)
    .fetch_all(pool)
    .await
    .unwrap_or_default();
    let at = now_nanos();
    if let Ok(mut a) = arrived.lock() {
        for (p,) in &rows {
            a.insert(*p as u64, at);
        }
    }
    rows.last().map_or(after, |(p,)| *p)
}

/// Tells a child to finish once it has seen `last` and reads what it measured.
fn finish_child(
    mut child: Child,
    mut lines: std::io::Lines<std::io::BufReader<std::process::ChildStdout>>,
    last: u64,
) -> Result<HashMap<u64, u128>, BoxError> {
    let mut stdin = child.stdin.take().ok_or("no stdin")?;
    writeln!(stdin, "{last}")?;
    drop(stdin);
    let mut arrived = HashMap::new();
    for line in lines.by_ref() {
        let line = line?;
        if line == "done" {
            break;
        }
        if let Some((p, t)) = line.split_once(' ') {
            arrived.insert(p.parse()?, t.parse()?);
        }
    }
    child.wait()?;
    Ok(arrived)
}

/// This process's CPU time so far (user and system, in clock ticks of 10 ms) divided by the
/// wall time since `since` (its start, about), in percent of a core.
fn cpu_percent(since: Instant) -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat.split(' ').collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(13) + ticks(14)) / since.elapsed().as_secs_f64()
}

/// The last position the parent sent (read from stdin), or `None` when stdin closed.
async fn read_last() -> Option<u64> {
    tokio::task::spawn_blocking(|| {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line).ok()?;
        line.trim().parse().ok()
    })
    .await
    .ok()
    .flatten()
}

fn report(arrived: &HashMap<u64, u128>) {
    let mut out = std::io::stdout().lock();
    for (p, t) in arrived {
        let _ = writeln!(out, "{p} {t}");
    }
    let _ = writeln!(out, "done");
    let _ = out.flush();
}

async fn run_child(role: &str) -> Result<(), BoxError> {
    let url = std::env::var("DATABASE_URL")?;
    let schema = std::env::var("READ_BENCH_SCHEMA")?;
    match role {
        "timer" => {
            let store = PostgresStore::builder(url).schema(schema).connect().await?;
            let engine = Engine::new(store);
            let watch = Stopwatch::default();
            let side = read_side(&engine)
                .handler(Timer, watch.clone())
                .start()
                .await?;
            println!("ready");
            let last = read_last().await.ok_or("no last position")?;
            let deadline = Instant::now() + Duration::from_secs(60);
            while !watch
                .arrived
                .lock()
                .map_err(|_| "poisoned")?
                .contains_key(&last)
                && Instant::now() < deadline
            {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            let arrived = watch.arrived.lock().map_err(|_| "poisoned")?.clone();
            side.shutdown().await;
            report(&arrived);
        }
        "raw-listener" => {
            let pool = raw_pool(&url, &schema).await?;
            let mut listener = PgListener::connect_with(&pool).await?;
            listener.listen("raw_bench").await?;
            println!("ready");
            let arrived = Arc::new(Mutex::new(HashMap::new()));
            let last = Arc::new(Mutex::new(None::<u64>));
            let reader = {
                let (arrived, last) = (Arc::clone(&arrived), Arc::clone(&last));
                tokio::spawn(async move {
                    let mut after = 0i64;
                    loop {
                        let _ = listener.recv().await;
                        after = raw_read(&pool, after, &arrived).await;
                        let done = last
                            .lock()
                            .ok()
                            .and_then(|l| *l)
                            .is_some_and(|l| after as u64 >= l);
                        if done {
                            return;
                        }
                    }
                })
            };
            let end = read_last().await.ok_or("no last position")?;
            *last.lock().map_err(|_| "poisoned")? = Some(end);
            let _ = tokio::time::timeout(Duration::from_secs(60), reader).await;
            let arrived = arrived.lock().map_err(|_| "poisoned")?.clone();
            report(&arrived);
        }
        "noop" => {
            let store = PostgresStore::builder(url).schema(schema).connect().await?;
            let engine = Engine::new(store);
            let mut b = read_side(&engine);
            let n = live_handlers();
            macro_rules! noops {
                ($($i:literal => $marker:ident),*) => {$(
                    if n > $i {
                        b = b.handler($marker, Nothing);
                    }
                )*};
            }
            noops!(0 => Noop0, 1 => Noop1, 2 => Noop2, 3 => Noop3, 4 => Noop4, 5 => Noop5, 6 => Noop6, 7 => Noop7, 8 => Noop8, 9 => Noop9);
            let side = b.start().await?;
            println!("ready");
            let started = Instant::now();
            let before = engine.store().statements_sent();
            let _ = read_last().await;
            if std::env::var("SHOW_CHILDREN").is_ok() {
                eprintln!(
                    "handler process: {:.0} statements/s, {:.0}% of a core from start to stop",
                    (engine.store().statements_sent() - before) as f64
                        / started.elapsed().as_secs_f64(),
                    cpu_percent(started)
                );
            }
            side.shutdown().await;
            report(&HashMap::new());
        }
        "raw-follower" => {
            // What a hand-written follower costs at the least: every event read into this
            // process in pages and decoded once per handler, a checkpoint per handler saved
            // every 200 ms; looks spaced as the read side spaces them, and no look for a
            // safe head (so it can skip an event a slow append commits late: the cheapest
            // follower, not a correct one).
            let pool = raw_pool(&url, &schema).await?;
            let handlers = live_handlers().div_ceil(2);
            let stop = Arc::new(AtomicBool::new(false));
            let mut after: i64 =
                sqlx::query_scalar("SELECT coalesce(max(position), 0) FROM events")
                    .fetch_one(&pool)
                    .await?;
            println!("ready");
            let follower = {
                let stop = Arc::clone(&stop);
                tokio::spawn(async move {
                    let mut saved = Instant::now();
                    while !stop.load(Ordering::Relaxed) {
                        let rows: Vec<RawRow> = sqlx::query_as(RAW_PAGE)
                            .bind(after)
                            .bind(PAGE as i64)
                            .fetch_all(&pool)
                            .await?;
                        let found = rows.len();
                        if let Some(last) = rows.last() {
                            after = last.0;
                        }
                        for row in rows {
                            for _ in 0..handlers {
                                let e =
                                    bank::MoneyDeposited::from_stored(row.5 as u32, row.6.clone())?;
                                std::hint::black_box(e);
                            }
                        }
                        if saved.elapsed() >= Duration::from_millis(200) {
                            let mut tx = pool.begin().await?;
                            for h in 0..handlers {
                                sqlx::query(
                                    "INSERT INTO raw_checkpoints (name, position) VALUES ($1, $2) \
                                     ON CONFLICT (name) DO UPDATE SET position = excluded.position",
                                )
                                .bind(format!("{}-{h}", std::process::id()))
                                .bind(after)
                                .execute(&mut *tx)
                                .await?;
                            }
                            tx.commit().await?;
                            saved = Instant::now();
                        }
                        let gap = if found >= 50 { 10 } else { 2 };
                        tokio::time::sleep(Duration::from_millis(gap)).await;
                    }
                    Ok::<(), BoxError>(())
                })
            };
            let started = Instant::now();
            let _ = read_last().await;
            if std::env::var("SHOW_CHILDREN").is_ok() {
                eprintln!(
                    "raw follower: {:.0}% of a core from start to stop",
                    cpu_percent(started)
                );
            }
            stop.store(true, Ordering::Relaxed);
            follower.await??;
            report(&HashMap::new());
        }
        other => return Err(format!("unknown child role {other}").into()),
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Workloads.

/// One line of the table.
struct Row {
    workload: String,
    ours: String,
    raw: String,
    ratio: String,
    target: String,
}

/// Sends deposits at the steady `RATE` for `LATENCY_SECS`, each on a task of its own so the
/// rate holds whatever a dispatch takes; returns each event's position and send time.
async fn steady_deposits(
    engine: &Engine<PostgresStore>,
    accounts: usize,
) -> Result<HashMap<u64, u128>, BoxError> {
    let sent = Arc::new(Mutex::new(HashMap::new()));
    let (every, per_tick, total) = ticks();
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut tasks = Vec::new();
    for i in 0..total {
        if i % per_tick == 0 {
            ticker.tick().await;
        }
        let (engine, sent) = (engine.clone(), Arc::clone(&sent));
        tasks.push(tokio::spawn(async move {
            let at = now_nanos();
            let position = deposit(&engine, i % accounts).await?;
            sent.lock().map_err(|_| "poisoned")?.insert(position, at);
            Ok::<(), BoxError>(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    let sent = sent.lock().map_err(|_| "poisoned")?.clone();
    Ok(sent)
}

/// The raw version: INSERT, then `pg_notify` on another connection, at the same rate.
async fn steady_raw_inserts(
    raw: &PgPool,
    local: Option<Arc<tokio::sync::Notify>>,
) -> Result<HashMap<u64, u128>, BoxError> {
    let sent = Arc::new(Mutex::new(HashMap::new()));
    let (every, per_tick, total) = ticks();
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut tasks = Vec::new();
    for i in 0..total {
        if i % per_tick == 0 {
            ticker.tick().await;
        }
        let (raw, sent, local) = (raw.clone(), Arc::clone(&sent), local.clone());
        tasks.push(tokio::spawn(async move {
            let at = now_nanos();
            let position: i64 = sqlx::query_scalar(
                "INSERT INTO raw_events (position, stream_id, data) VALUES (nextval('raw_seq'), $1, $2) RETURNING position",
            )
            .bind(account(i % 100))
            .bind(serde_json::json!({ "amount": 1 }))
            .fetch_one(&raw)
            .await?;
            sent.lock().map_err(|_| "poisoned")?.insert(position as u64, at);
            match local {
                Some(n) => n.notify_one(),
                None => {
                    sqlx::query("SELECT pg_notify('raw_bench', $1)")
                        .bind(position.to_string())
                        .execute(&raw)
                        .await?;
                }
            }
            Ok::<(), BoxError>(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    let sent = sent.lock().map_err(|_| "poisoned")?.clone();
    Ok(sent)
}

const RAW_EVENTS: &str = "CREATE TABLE raw_events (position bigint PRIMARY KEY, stream_id text NOT NULL, data jsonb NOT NULL, created_at timestamptz NOT NULL DEFAULT now())";

async fn latency(bench: &Bench) -> Result<Vec<Row>, BoxError> {
    let (store, raw, schema) = bench.fresh("latency").await?;
    sqlx::query(RAW_EVENTS).execute(&raw).await?;
    sqlx::query("CREATE SEQUENCE raw_seq").execute(&raw).await?;
    let engine = Engine::new(store.clone());
    // About ten deposits a second per account, whatever the rate: more, and concurrent
    // deposits to one account conflict past the engine's retries.
    let accounts = (rate() / 10).max(100) as usize;
    open_accounts(&engine, 0, accounts).await?;
    let mut rows = Vec::new();

    // In this process.
    let watch = Stopwatch::default();
    let side = read_side(&engine)
        .handler(Timer, watch.clone())
        .start()
        .await?;
    let sent = steady_deposits(&engine, accounts).await?;
    let last = sent.keys().copied().max().unwrap_or(0);
    caught_up(&side, "Timer", last).await?;
    side.shutdown().await;
    let ours = latencies(&sent, &*watch.arrived.lock().map_err(|_| "poisoned")?);

    // Raw, in this process: the writer wakes the reader directly, as the store does.
    let notify = Arc::new(tokio::sync::Notify::new());
    let arrived = Arc::new(Mutex::new(HashMap::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let reader = {
        let (raw, notify, arrived, stop) = (
            raw.clone(),
            Arc::clone(&notify),
            Arc::clone(&arrived),
            Arc::clone(&stop),
        );
        tokio::spawn(async move {
            let mut after = 0i64;
            while !stop.load(Ordering::Relaxed) {
                let _ = tokio::time::timeout(Duration::from_millis(50), notify.notified()).await;
                after = raw_read(&raw, after, &arrived).await;
            }
        })
    };
    let raw_sent = steady_raw_inserts(&raw, Some(Arc::clone(&notify))).await?;
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.store(true, Ordering::Relaxed);
    notify.notify_one();
    reader.await?;
    let raw_local = latencies(&raw_sent, &*arrived.lock().map_err(|_| "poisoned")?);
    rows.push(latency_row("same process", &ours, &raw_local, "-"));

    // In another process.
    let (proc, lines) = child(&bench.url, &schema, "timer")?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let sent = steady_deposits(&engine, accounts).await?;
    let last = sent.keys().copied().max().unwrap_or(0);
    let arrived = finish_child(proc, lines, last)?;
    let ours = latencies(&sent, &arrived);
    let (proc, lines) = child(&bench.url, &schema, "raw-listener")?;
    let raw_sent = steady_raw_inserts(&raw, None).await?;
    let last = raw_sent.keys().copied().max().unwrap_or(0);
    let arrived = finish_child(proc, lines, last)?;
    let raw_remote = latencies(&raw_sent, &arrived);
    rows.push(latency_row(
        "across processes",
        &ours,
        &raw_remote,
        "p50 <= 5 ms, p99 <= 25 ms",
    ));
    Ok(rows)
}

fn latency_row(where_: &str, ours: &[f64], raw: &[f64], target: &str) -> Row {
    Row {
        workload: format!(
            "append-to-handler latency at {}/s, {where_} (p50 / p99, ms, {} events)",
            rate(),
            ours.len()
        ),
        ours: format!(
            "{:.2} / {:.2}",
            percentile(ours, 0.5),
            percentile(ours, 0.99)
        ),
        raw: format!("{:.2} / {:.2}", percentile(raw, 0.5), percentile(raw, 0.99)),
        ratio: "-".into(),
        target: target.to_string(),
    }
}

/// Appends `REPLAY_EVENTS` deposits in batches of 100 (one stream each).
async fn load_deposits(store: &PostgresStore) -> Result<(), BoxError> {
    let streams = REPLAY_EVENTS / 100;
    for s in 0..streams {
        let account = account(s);
        let events = (0..100)
            .map(|i| {
                NewEvent::new(
                    "MoneyDeposited",
                    1,
                    serde_json::json!({ "account_number": account, "amount": 1, "balance": i + 1 }),
                    Metadata::default(),
                )
            })
            .collect();
        store
            .append(
                &format!("bank-account-{account}"),
                ExpectedVersion::NoStream,
                events,
                None,
            )
            .await?;
    }
    Ok(())
}

async fn replay_memory(bench: &Bench) -> Result<Vec<Row>, BoxError> {
    let (store, raw, _) = bench.fresh("replay").await?;
    load_deposits(&store).await?;
    let engine = Engine::new(store.clone());
    let head = store.safe_position().await?.safe;
    let (mut ours, mut theirs, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    let sums = Sums::default();
    let side = read_side(&engine)
        .page_size(PAGE)
        .handler(Tally, sums.clone())
        .start()
        .await?;
    caught_up(&side, "Tally", head).await?;
    for _ in 0..bench.rounds {
        sums.totals.lock().map_err(|_| "poisoned")?.clear();
        let started = Instant::now();
        side.rebuild("Tally").await?;
        caught_up(&side, "Tally", head).await?;
        let rate = REPLAY_EVENTS as f64 / started.elapsed().as_secs_f64();

        let started = Instant::now();
        let mut totals: HashMap<String, i64> = HashMap::new();
        let mut after = 0i64;
        loop {
            let rows: Vec<RawRow> = sqlx::query_as(RAW_PAGE)
                .bind(after)
                .bind(PAGE as i64)
                .fetch_all(&raw)
                .await?;
            let Some(last) = rows.last() else { break };
            after = last.0;
            for row in rows {
                let e: bank::MoneyDeposited =
                    bank::MoneyDeposited::from_stored(row.5 as u32, row.6)?;
                *totals.entry(e.account_number).or_insert(0) += e.amount;
            }
        }
        let raw_rate = REPLAY_EVENTS as f64 / started.elapsed().as_secs_f64();
        assert_eq!(
            totals,
            *sums.totals.lock().map_err(|_| "poisoned")?,
            "the projection and the raw read disagree"
        );
        ours.push(rate);
        theirs.push(raw_rate);
        ratios.push(rate / raw_rate);
    }
    side.shutdown().await;
    Ok(vec![Row {
        workload: format!("replay {REPLAY_EVENTS} events into an in-memory projection (events/s)"),
        ours: format!("{:.0}", median(&mut ours)),
        raw: format!("{:.0}", median(&mut theirs)),
        ratio: format!("{:.0}%", 100.0 * median(&mut ratios)),
        target: ">= 80%".into(),
    }])
}

/// A page of events as raw sqlx reads it: the store's nine columns.
type RawRow = (
    i64,
    Uuid,
    String,
    i64,
    String,
    i32,
    serde_json::Value,
    serde_json::Value,
    chrono::DateTime<chrono::Utc>,
);

const RAW_PAGE: &str = "SELECT position, event_id, stream_id, stream_version, event_type, event_version, \
                        data, metadata, created_at FROM events WHERE position > $1 ORDER BY position LIMIT $2";

async fn replay_postgres(bench: &Bench) -> Result<Vec<Row>, BoxError> {
    let (store, raw, _) = bench.fresh("replaypg").await?;
    load_deposits(&store).await?;
    sqlx::query("CREATE TABLE bench_totals (account text PRIMARY KEY, total bigint NOT NULL)")
        .execute(&raw)
        .await?;
    sqlx::query("CREATE TABLE raw_totals (account text PRIMARY KEY, total bigint NOT NULL)")
        .execute(&raw)
        .await?;
    let engine = Engine::new(store.clone());
    let head = store.safe_position().await?.safe;
    let (mut ours, mut theirs, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    let side = read_side(&engine)
        .page_size(PAGE)
        .projection(Totals, Upserts)
        .start()
        .await?;
    caught_up(&side, "Totals", head).await?;
    let raw_upsert = UPSERT.replace("bench_totals", "raw_totals");
    for round in 0..bench.rounds {
        // Which goes first alternates: the second of a pair may find the first's dead rows
        // and WAL.
        let mut rate = 0.0;
        let mut raw_rate = 0.0;
        for turn in 0..2 {
            if (turn == 0) == (round % 2 == 0) {
                let started = Instant::now();
                side.rebuild("Totals").await?;
                caught_up(&side, "Totals", head).await?;
                rate = REPLAY_EVENTS as f64 / started.elapsed().as_secs_f64();
            } else {
                sqlx::query("DELETE FROM raw_totals").execute(&raw).await?;
                let started = Instant::now();
                let mut after = 0i64;
                loop {
                    let rows: Vec<RawRow> = sqlx::query_as(RAW_PAGE)
                        .bind(after)
                        .bind(PAGE as i64)
                        .fetch_all(&raw)
                        .await?;
                    let Some(last) = rows.last() else { break };
                    after = last.0;
                    let mut tx = raw.begin().await?;
                    for row in rows {
                        let e: bank::MoneyDeposited =
                            bank::MoneyDeposited::from_stored(row.5 as u32, row.6)?;
                        sqlx::query(&raw_upsert)
                            .bind(&e.account_number)
                            .bind(e.amount)
                            .execute(&mut *tx)
                            .await?;
                    }
                    tx.commit().await?;
                }
                raw_rate = REPLAY_EVENTS as f64 / started.elapsed().as_secs_f64();
            }
        }
        let (a, b): (i64, i64) = sqlx::query_as("SELECT (SELECT sum(total) FROM bench_totals)::bigint, (SELECT sum(total) FROM raw_totals)::bigint")
            .fetch_one(&raw)
            .await?;
        assert_eq!(a, b, "the projection and the raw upserts disagree");
        ours.push(rate);
        theirs.push(raw_rate);
        ratios.push(rate / raw_rate);
    }
    side.shutdown().await;
    Ok(vec![Row {
        workload: format!(
            "replay {REPLAY_EVENTS} events into a Postgres projection, an upsert each (events/s)"
        ),
        ours: format!("{:.0}", median(&mut ours)),
        raw: format!("{:.0}", median(&mut theirs)),
        ratio: format!("{:.0}%", 100.0 * median(&mut ratios)),
        target: ">= 50%".into(),
    }])
}

/// Commands per second from 16 tasks for `THROUGHPUT_SECS`.
async fn dispatch_rate(engine: &Engine<PostgresStore>, accounts: usize) -> Result<f64, BoxError> {
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let tasks: Vec<_> = (0..16)
        .map(|t| {
            let (engine, stop) = (engine.clone(), Arc::clone(&stop));
            tokio::spawn(async move {
                let mut n = 0u64;
                let mut i = t;
                while !stop.load(Ordering::Relaxed) {
                    deposit(&engine, i % accounts).await?;
                    i += 16;
                    n += 1;
                }
                Ok::<u64, BoxError>(n)
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(THROUGHPUT_SECS)).await;
    stop.store(true, Ordering::Relaxed);
    let mut total = 0;
    for t in tasks {
        total += t.await??;
    }
    Ok(total as f64 / started.elapsed().as_secs_f64())
}

/// The throughput row's four runs of one round.
#[derive(Clone, Copy, Debug)]
enum Run {
    Bare,
    BareAgain,
    Handlers,
    RawFollowers,
}

async fn throughput(bench: &Bench) -> Result<Vec<Row>, BoxError> {
    let (store, raw, schema) = bench.fresh("throughput").await?;
    let engine = Engine::new(store.clone());
    open_accounts(&engine, 0, 1_000).await?;
    // Warm the aggregate cache, as a running service's would be.
    dispatch_rate(&engine, 1_000).await?;
    sqlx::query("CREATE TABLE raw_checkpoints (name text PRIMARY KEY, position bigint NOT NULL)")
        .execute(&raw)
        .await?;
    let (mut bare, mut with, mut followed) = (Vec::new(), Vec::new(), Vec::new());
    let (mut ratios, mut raw_ratios, mut same_ratios) = (Vec::new(), Vec::new(), Vec::new());
    let runs = [Run::Bare, Run::Handlers, Run::BareAgain, Run::RawFollowers];
    // Whole turns of the rotation below.
    let rounds = bench.rounds.div_ceil(runs.len()) * runs.len();
    for round in 0..rounds {
        // Each run takes each place in the round in turn: the table grows through a round,
        // and this machine drifts, so no run should always come first or last.
        let mut rates = [0.0; 4];
        for k in 0..runs.len() {
            let run = runs[(round + k) % runs.len()];
            rates[run as usize] = match run {
                Run::Bare | Run::BareAgain => dispatch_rate(&engine, 1_000).await?,
                Run::Handlers => with_handlers(bench, &schema, &engine, &raw).await?,
                Run::RawFollowers => with_raw_followers(bench, &schema, &engine).await?,
            };
            if std::env::var("SHOW_CHILDREN").is_ok() {
                eprintln!("{run:?}: {:.0} commands/s", rates[run as usize]);
            }
        }
        let rate = |run: Run| rates[run as usize];
        let (first, again) = (rate(Run::Bare), rate(Run::BareAgain));
        let (loaded, raw_loaded) = (rate(Run::Handlers), rate(Run::RawFollowers));
        let baseline = (first + again) / 2.0;
        bare.push(baseline);
        with.push(loaded);
        followed.push(raw_loaded);
        ratios.push(loaded / baseline);
        raw_ratios.push(raw_loaded / baseline);
        same_ratios.push(again / first);
        if std::env::var("SHOW_CHILDREN").is_ok() {
            eprintln!(
                "round: {:.0}% with handlers, {:.0}% with raw followers, no handlers twice {:.0}%",
                100.0 * loaded / baseline,
                100.0 * raw_loaded / baseline,
                100.0 * again / first
            );
        }
    }
    let handlers = live_handlers();
    Ok(vec![
        Row {
            workload: format!(
                "16-task dispatch, {handlers} live handlers in 2 other processes (commands/s)"
            ),
            ours: format!("{:.0}", median(&mut with)),
            raw: format!("{:.0} (no handlers)", median(&mut bare)),
            ratio: format!("{:.0}%", 100.0 * median(&mut ratios)),
            target: ">= 90%".into(),
        },
        Row {
            workload: format!(
                "16-task dispatch, raw followers for {handlers} handlers in 2 other processes (commands/s)"
            ),
            ours: "-".into(),
            raw: format!("{:.0}", median(&mut followed)),
            ratio: format!("{:.0}%", 100.0 * median(&mut raw_ratios)),
            target: "-".into(),
        },
        Row {
            workload: "16-task dispatch, no handlers, second run against first (noise)".into(),
            ours: "-".into(),
            raw: "-".into(),
            ratio: format!("{:.0}%", 100.0 * median(&mut same_ratios)),
            target: "-".into(),
        },
    ])
}

/// The 16-task dispatch rate with two raw followers running (see `raw-follower`).
async fn with_raw_followers(
    bench: &Bench,
    schema: &str,
    engine: &Engine<PostgresStore>,
) -> Result<f64, BoxError> {
    let children = [
        child(&bench.url, schema, "raw-follower")?,
        child(&bench.url, schema, "raw-follower")?,
    ];
    let rate = dispatch_rate(engine, 1_000).await?;
    for (proc, lines) in children {
        finish_child(proc, lines, 0)?;
    }
    Ok(rate)
}

/// The 16-task dispatch rate with the no-op handlers running in two processes.
async fn with_handlers(
    bench: &Bench,
    schema: &str,
    engine: &Engine<PostgresStore>,
    raw: &PgPool,
) -> Result<f64, BoxError> {
    let store = engine.store();
    let children = [
        child(&bench.url, schema, "noop")?,
        child(&bench.url, schema, "noop")?,
    ];
    // Both hold their share of the 10 handlers, and the handlers are live, before the
    // clock starts: after the first round they resume from their checkpoints, behind
    // the events the rounds without them appended, and a catch-up is not what this row
    // measures (the raw followers start at the head too).
    let head: i64 = sqlx::query_scalar("SELECT coalesce(max(position), 0) FROM events")
        .fetch_one(raw)
        .await?;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let units = store.checkpoints(None).await?;
        let mut owners: Vec<String> = units
            .iter()
            .filter_map(|(_, cp)| cp.owner.clone())
            .collect();
        let held = owners.len();
        let live = units.iter().all(|(_, cp)| cp.position >= head as u64);
        owners.sort();
        owners.dedup();
        let want = live_handlers();
        if held == want && (owners.len() == 2 || want < 2) && live {
            if std::env::var("SHOW_CHILDREN").is_ok() {
                let mut count: HashMap<String, usize> = HashMap::new();
                for owner in units.iter().filter_map(|(_, cp)| cp.owner.clone()) {
                    *count.entry(owner).or_default() += 1;
                }
                eprintln!("units per process at the start: {:?}", count.values());
            }
            break;
        }
        if Instant::now() > deadline {
            return Err(format!("the handlers did not spread: {units:?}").into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let loaded = dispatch_rate(engine, 1_000).await?;
    for (proc, lines) in children {
        finish_child(proc, lines, 0)?;
    }
    Ok(loaded)
}

async fn saga(bench: &Bench) -> Result<Vec<Row>, BoxError> {
    let (store, _, _) = bench.fresh("saga").await?;
    let engine = Engine::new(store.clone());
    open_accounts(&engine, 0, 10).await?;
    let ends = SagaEnds::default();
    let side = eskema_demo::read_side::on_postgres(&engine, |b| b.handler(Dispensed, ends.clone()))
        .await?;
    let mut took = Vec::new();
    for i in 0..SAGAS {
        let withdrawal_id = Uuid::now_v7();
        let started = Instant::now();
        atm::dispatch(
            &engine,
            atm::InitiateWithdrawal {
                withdrawal_id,
                atm_id: "ATM-1".into(),
                account_number: account(i % 10),
                amount: 10,
            },
        )
        .await?;
        atm::dispatch(
            &engine,
            atm::ConfirmAuthorization {
                withdrawal_id,
                entered_pin: "1234".into(),
                card_pin: "1234".into(),
            },
        )
        .await?;
        let deadline = Instant::now() + Duration::from_secs(30);
        let done = loop {
            if let Some(at) = ends.at.lock().map_err(|_| "poisoned")?.get(&withdrawal_id) {
                break *at;
            }
            if Instant::now() > deadline {
                return Err(format!("withdrawal {withdrawal_id} never paid out").into());
            }
            tokio::time::sleep(Duration::from_micros(200)).await;
        };
        took.push(done.duration_since(started).as_secs_f64() * 1e3);
    }
    side.shutdown().await;
    took.sort_by(f64::total_cmp);
    Ok(vec![Row {
        workload: format!("ATM saga, initiate to cash dispensed, {SAGAS} in turn (p50 / p99, ms)"),
        ours: format!(
            "{:.1} / {:.1}",
            percentile(&took, 0.5),
            percentile(&took, 0.99)
        ),
        raw: "-".into(),
        ratio: "-".into(),
        target: "-".into(),
    }])
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    // On a worker thread, as the read side's own tasks are: the thread `main` blocks on
    // would add a cross-thread wake-up to every round trip of the raw loops.
    tokio::spawn(bench_main()).await?
}

async fn bench_main() -> Result<(), BoxError> {
    if let Ok(role) = std::env::var("READ_BENCH_CHILD") {
        return run_child(&role).await;
    }
    let url = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let rounds = std::env::var("ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(3);
    let only: Option<Vec<String>> = std::env::var("ONLY")
        .ok()
        .map(|o| o.split(',').map(str::to_string).collect());
    let wanted = |name: &str| only.as_ref().is_none_or(|o| o.iter().any(|w| w == name));
    let bench = Bench {
        url: url.clone(),
        rounds,
        schemas: Mutex::new(Vec::new()),
    };
    let started = Instant::now();
    let mut rows = Vec::new();
    let mut result: Result<(), BoxError> = Ok(());
    for (name, run) in [
        ("latency", 0),
        ("replay-memory", 1),
        ("replay-postgres", 2),
        ("throughput", 3),
        ("saga", 4),
    ] {
        if !wanted(name) {
            continue;
        }
        eprintln!("running {name} ...");
        let out = match run {
            0 => latency(&bench).await,
            1 => replay_memory(&bench).await,
            2 => replay_postgres(&bench).await,
            3 => throughput(&bench).await,
            _ => saga(&bench).await,
        };
        match out {
            Ok(r) => rows.extend(r),
            Err(e) => {
                result = Err(format!("{name}: {e}").into());
                break;
            }
        }
    }
    let admin = PgPoolOptions::new()
        .max_connections(1)
        .connect(&url)
        .await?;
    let version: String = sqlx::query_scalar("SELECT version()")
        .fetch_one(&admin)
        .await?;
    let schemas = bench.schemas.lock().map_err(|_| "poisoned")?.clone();
    for schema in schemas {
        sqlx::query(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
            .execute(&admin)
            .await?;
    }
    result?;
    println!(
        "\neskema read_bench, {} UTC, {} CPUs, {}",
        chrono::Utc::now().format("%Y-%m-%d %H:%M"),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        version.split(',').next().unwrap_or(&version)
    );
    println!(
        "medians of {rounds} rounds; total {:.0} s\n",
        started.elapsed().as_secs_f64()
    );
    println!(
        "| {:<78} | {:>15} | {:>19} | {:>11} | target |",
        "workload", "eskema", "raw sqlx", "ratio"
    );
    println!(
        "|{:-<80}|{:->17}|{:->21}|{:->13}|{:-<8}|",
        "", "", "", "", ""
    );
    for r in rows {
        println!(
            "| {:<78} | {:>15} | {:>19} | {:>11} | {} |",
            r.workload, r.ours, r.raw, r.ratio, r.target
        );
    }
    Ok(())
}
