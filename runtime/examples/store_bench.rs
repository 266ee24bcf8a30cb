//! The event store benchmark: each workload on `PostgresStore` beside raw sqlx doing the same
//! inserts (or reads) on an identically shaped table in the same run, and the ratio.
//!
//! ```text
//! cargo run --release -p eskema --features postgres --example store_bench
//! DATABASE_URL=postgres://... ROUNDS=9 cargo run --release ...
//! ```
//!
//! Figures are medians over `ROUNDS` rounds (default 5); `ONLY=engine-16,batches` runs the
//! named workloads only (names in `run`); `SHOW_CPU=1` prints this process's CPU time per
//! command for the engine rows and their raw baseline; `SHOW_CHUNKS=1` prints the rate of
//! every 500 operations of the one-stream rows (at least 9 rounds each). A second table
//! (`latency`) gives per-operation latency quartiles of a raw insert, two store appends and
//! an engine command run in turn, so noise lands on all four alike. Everything runs in a
//! fresh schema that is dropped at the end. To add a workload, write an `async fn` returning a [`Row`]
//! and push it in `main` (engine-level dispatch rows go the same way).

use std::sync::Arc;
use std::time::{Duration, Instant};

use eskema::__private::{as_object, rename};
use eskema::aggregate::{Aggregate, AggregateCommand};
use eskema::event::AnyEvent;
use eskema::event::DomainEvent;
use eskema::store::{ExpectedVersion, Metadata, NewEvent};
use eskema::{CommandContext, Engine, EventStore, PostgresStore, Validate, ValidationErrors};
use eskema::{Event, UpcastError};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::postgres::{PgPool, PgPoolOptions};
use uuid::Uuid;

/// A raw page row: position, id, stream, version, type, type version, data, metadata, time.
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

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// One line of the table.
struct Row {
    workload: String,
    /// Events (or commands) per second through the store.
    ours: f64,
    /// The raw sqlx baseline, when the workload has one.
    raw: Option<Baseline>,
    /// Statements the store sent per operation.
    round_trips: Option<f64>,
    note: String,
}

struct Bench {
    store: PostgresStore,
    /// Shares `store`'s pool and statement counter.
    engine: Engine<PostgresStore>,
    raw: PgPool,
    rounds: usize,
}

/// A hand-written aggregate shaped like generated code (the runtime crate cannot use the
/// generator): `Add` commands, an `Added` event at version 2 whose v1 payload was
/// `{value}` (one upcast step: rename `value` to `amount`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct Counter {
    total: i64,
    adds: u64,
}

#[derive(Debug, Clone, Serialize)]
enum CounterCommand {
    Add { id: String, amount: i64 },
}

impl Validate for CounterCommand {
    fn validate_into(&self, prefix: &str, errors: &mut ValidationErrors) {
        let CounterCommand::Add { amount, .. } = self;
        if *amount == 0 {
            errors.push(format!("{prefix}amount"), "not_zero", "must not be 0");
        }
    }
}

impl AggregateCommand for CounterCommand {
    fn name(&self) -> &'static str {
        "Add"
    }
    fn identity(&self) -> String {
        let CounterCommand::Add { id, .. } = self;
        id.clone()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Added {
    amount: i64,
}

impl Event for Added {
    const NAME: &'static str = "Added";
    const VERSION: u32 = 2;

    fn upcast(version: u32, mut data: Value) -> Result<Value, UpcastError> {
        if version < 2 {
            rename(
                as_object(&mut data, Self::NAME, version)?,
                "value",
                "amount",
            );
        }
        Ok(data)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
enum CounterEvent {
    Added(Added),
}

impl DomainEvent for CounterEvent {
    fn as_event(&self) -> &dyn AnyEvent {
        let CounterEvent::Added(e) = self;
        e
    }
    fn from_stored(event_type: &str, version: u32, data: Value) -> Result<Self, UpcastError> {
        if !Added::is_stored_as(event_type) {
            return Err(UpcastError::unknown(event_type, "CounterEvent"));
        }
        Added::from_stored(version, data).map(CounterEvent::Added)
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
enum CounterError {
    #[error("the total may not go below zero")]
    Negative,
}

impl Aggregate for Counter {
    const NAME: &'static str = "Counter";
    const CONTEXT: &'static str = "bench";
    const SNAPSHOT_EVERY: Option<u64> = None;
    const STATE_HASH: &'static str = "counter:total=i64,adds=u64";
    type Command = CounterCommand;
    type Event = CounterEvent;
    type Error = CounterError;

    fn stream_id(identity: &str) -> String {
        format!("counter-{identity}")
    }
    fn execute(&self, command: &CounterCommand) -> Result<Vec<CounterEvent>, CounterError> {
        let CounterCommand::Add { amount, .. } = command;
        if self.total + amount < 0 {
            return Err(CounterError::Negative);
        }
        Ok(vec![CounterEvent::Added(Added { amount: *amount })])
    }
    fn apply(&mut self, event: &CounterEvent) {
        let CounterEvent::Added(Added { amount }) = event;
        self.total += amount;
        self.adds += 1;
    }
}

fn add(id: &str, amount: i64) -> CounterCommand {
    CounterCommand::Add {
        id: id.into(),
        amount,
    }
}

async fn dispatch(engine: &Engine<PostgresStore>, id: &str) -> Result<(), BoxError> {
    engine
        .execute::<Counter>(add(id, 1), CommandContext::default())
        .await
        .map_err(|e| format!("dispatch: {e}"))?;
    Ok(())
}

/// The row the engine writes for one `Add` command (see `Engine::execute`): the same
/// payload, and the command id as command, correlation and causation id, so the raw
/// baseline of the engine rows inserts the same bytes into the same indexes. The
/// idempotency record (the command id on the event, under its unique index) is the
/// engine's own extra work.
fn engine_event() -> NewEvent {
    let command_id = Uuid::now_v7();
    NewEvent::new(
        "Added",
        2,
        json!({ "amount": 1 }),
        Metadata {
            command_id: Some(command_id),
            correlation_id: Some(command_id),
            causation_id: Some(command_id),
            ..Metadata::default()
        },
    )
}

fn event(n: u64) -> NewEvent {
    NewEvent::new(
        "Deposited",
        1,
        json!({ "account": "acc", "amount": n, "currency": "EUR" }),
        Metadata::default(),
    )
}

/// The least rounds of the one-stream rows: a chunk of 500 operations lasts a fifth of a
/// second, and on this shared machine single chunks swing by 15%; the median of 9 paired
/// ratios is steadier than that of 5. A round costs about 2 s.
const ONE_STREAM_ROUNDS: usize = 9;

/// One round of 3,000 operations on one stream, timed one by one.
#[derive(Default)]
struct OneStream {
    took: Vec<Duration>,
}

impl OneStream {
    fn took(&mut self, elapsed: Duration) {
        self.took.push(elapsed);
    }

    /// Adds this round's first and last 500 to `growth`. `SHOW_CHUNKS=1` prints the rate of
    /// every 500 operations on stderr.
    fn finish(self, growth: &mut Growth) {
        let chunks: Vec<&[Duration]> = self.took.chunks(500).collect();
        let rate_of = |chunk: &[Duration]| rate(chunk.len(), chunk.iter().sum());
        let (first, last) = (chunks[0], chunks[chunks.len() - 1]);
        growth.firsts.push(rate_of(first));
        growth.lasts.push(rate_of(last));
        growth
            .latency
            .push(median_duration(first) / median_duration(last));
        if std::env::var_os("SHOW_CHUNKS").is_some() {
            let rates: Vec<String> = chunks
                .iter()
                .map(|c| format!("{:.0}", rate_of(c)))
                .collect();
            eprintln!("rates per 500: {}", rates.join(" "));
        }
    }
}

/// The one-stream rows' per-round figures.
#[derive(Default)]
struct Growth {
    /// Rates of the first and of the last 500 operations, one per round.
    firsts: Vec<f64>,
    lasts: Vec<f64>,
    /// Median latency of the first 500 / of the last 500, one per round: above 1 when the
    /// last are faster, as for the rates.
    latency: Vec<f64>,
}

/// "last/first = r (median latency: r)": each the median of the per-round ratios, as for
/// [`baseline`] (a ratio of two medians could pair chunks from different rounds). The rate
/// ratio is the benchmark's target; the median-latency ratio is the same question (does a
/// command cost more on a long stream?) asked so that a burst of load from a neighbour,
/// which slows some operations of one chunk, barely moves it.
impl std::fmt::Display for Growth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let rates: Vec<f64> = self
            .lasts
            .iter()
            .zip(&self.firsts)
            .map(|(l, r)| l / r)
            .collect();
        write!(
            f,
            "last/first = {:.2} (median latency: {:.2})",
            median(&rates),
            median(&self.latency)
        )
    }
}

fn median_duration(xs: &[Duration]) -> f64 {
    let secs: Vec<f64> = xs.iter().map(Duration::as_secs_f64).collect();
    median(&secs)
}

fn median(xs: &[f64]) -> f64 {
    let mut xs = xs.to_vec();
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

/// A workload's raw sqlx figures beside ours.
struct Baseline {
    /// The median raw rate.
    rate: f64,
    /// ours / raw: the median of the per-round ratios `ours[i] / raw[i]`. Each round's
    /// pair ran back to back, so a burst of load from a neighbour on this shared machine
    /// moves both sides of a pair and cancels out, which a ratio of two medians does not.
    ratio: f64,
}

/// The baseline from the per-round rates of ours and raw, in round order.
fn baseline(ours: &[f64], raw: &[f64]) -> Baseline {
    let ratios: Vec<f64> = ours.iter().zip(raw).map(|(o, r)| o / r).collect();
    Baseline {
        rate: median(raw),
        ratio: median(&ratios),
    }
}

/// CPU seconds this process has used (user + system), from /proc; 0 elsewhere.
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the command name (which may hold spaces) start at state; utime and
    // stime are fields 14 and 15 of the whole line, in clock ticks (100 per second).
    let Some((_, rest)) = stat.rsplit_once(')') else {
        return 0.0;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

/// Operations per round of the one-task rows: about a second per half at ~3,500/s, so a
/// checkpoint or a neighbour's burst moves one round's ratio less than it did at 1,000.
const SEQUENTIAL_OPS: usize = 3000;

/// Operations of each kind in the latency table: 10 per stream.
const LATENCY_OPS: usize = 10_000;

/// One line of the latency table.
struct LatencyRow {
    name: &'static str,
    /// The 25th, 50th and 75th percentile, in microseconds.
    quartiles: [f64; 3],
    /// The raw insert's median over this one's: a rate ratio, as in the main table.
    vs_raw: f64,
}

fn rate(count: usize, elapsed: Duration) -> f64 {
    count as f64 / elapsed.as_secs_f64().max(1e-9)
}

/// The store's events table without its command-id columns (the engine rows' raw inserts
/// carry no command id); payloads `json`, as the store keeps them.
const RAW_TABLE: &str = "
CREATE TABLE raw_events (
    position       bigserial PRIMARY KEY,
    event_id       uuid NOT NULL UNIQUE,
    stream_id      text NOT NULL,
    stream_version bigint NOT NULL,
    event_type     text NOT NULL,
    event_version  int NOT NULL,
    data           json NOT NULL,
    metadata       json NOT NULL,
    causation_id   uuid,
    correlation_id uuid,
    created_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (stream_id, stream_version)
)";

/// The store's events table has this index too: same indexes, same insert work.
const RAW_INDEX: &str = "CREATE INDEX raw_events_correlation_id_idx ON raw_events \
     (correlation_id) WHERE correlation_id IS NOT NULL";

const RAW_INSERT: &str = "INSERT INTO raw_events (event_id, stream_id, stream_version, \
     event_type, event_version, data, metadata, causation_id, correlation_id) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";

const RAW_UNNEST: &str = "INSERT INTO raw_events (event_id, stream_id, stream_version, \
     event_type, event_version, data, metadata) \
     SELECT u.id, $2, u.v, $3, 1, u.d, u.m FROM unnest($1::uuid[], $4::bigint[], $5::jsonb[], \
     $6::jsonb[]) AS u(id, v, d, m)";

async fn raw_insert(
    pool: &PgPool,
    stream: &str,
    version: i64,
    e: &NewEvent,
) -> Result<(), BoxError> {
    sqlx::query(RAW_INSERT)
        .bind(e.event_id)
        .bind(stream)
        .bind(version)
        .bind(&e.event_type)
        .bind(e.event_version as i32)
        .bind(&e.data)
        .bind(serde_json::to_value(&e.metadata)?)
        .bind(e.metadata.causation_id)
        .bind(e.metadata.correlation_id)
        .execute(pool)
        .await?;
    Ok(())
}

impl Bench {
    /// (L) per-operation latency, interleaved: one raw insert, one store append with a
    /// caller's command id (duplicate probes), one without, and one engine command (an id
    /// the engine made: no probes), in turn, 10,000 of each over 1,000 streams. Each kind
    /// sees the same machine at the same moments, so drift and bursts of load do not land
    /// on one side, as they can on the rows that run one workload after another.
    async fn latency(&self) -> Result<Vec<LatencyRow>, BoxError> {
        let tag = Uuid::now_v7().simple().to_string();
        for i in 0..1000 {
            dispatch(&self.engine, &format!("lat-engine-{tag}-{i}")).await?;
        }
        let mut took: [Vec<Duration>; 4] = Default::default();
        for i in 0..LATENCY_OPS {
            let k = i % 1000;
            let v = (i / 1000) as u64;
            let t = Instant::now();
            raw_insert(
                &self.raw,
                &format!("lat-raw-{tag}-{k}"),
                v as i64 + 1,
                &engine_event(),
            )
            .await?;
            took[0].push(t.elapsed());
            let e = engine_event();
            let (id, expected) = (e.metadata.command_id, ExpectedVersion::Exactly(v));
            let t = Instant::now();
            self.store
                .append(&format!("lat-id-{tag}-{k}"), expected, vec![e], id)
                .await?;
            took[1].push(t.elapsed());
            let t = Instant::now();
            self.store
                .append(&format!("lat-{tag}-{k}"), expected, vec![event(v)], None)
                .await?;
            took[2].push(t.elapsed());
            let t = Instant::now();
            dispatch(&self.engine, &format!("lat-engine-{tag}-{k}")).await?;
            took[3].push(t.elapsed());
        }
        let names = [
            "raw single-row INSERT",
            "store: 1-event append, caller's command id",
            "store: 1-event append, no command id",
            "ENGINE: 1-event command, cached (id made by the engine)",
        ];
        let quartiles = took.map(|mut took| {
            took.sort();
            [1, 2, 3].map(|q| took[took.len() * q / 4].as_secs_f64() * 1e6)
        });
        let raw_median = quartiles[0][1];
        Ok(names
            .into_iter()
            .zip(quartiles)
            .map(|(name, quartiles)| LatencyRow {
                name,
                quartiles,
                vs_raw: raw_median / quartiles[1],
            })
            .collect())
    }

    /// (1) one-event appends over 1,000 streams, `tasks` at a time.
    async fn spread(
        &self,
        tasks: usize,
        appends: usize,
        with_follower: bool,
    ) -> Result<Row, BoxError> {
        let mut ours = Vec::new();
        let mut raw = Vec::new();
        let mut trips = Vec::new();
        for round in 0..self.rounds {
            let tag = Uuid::now_v7().simple().to_string();
            let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
            let follower = with_follower.then(|| {
                let store = self.store.clone();
                let stop = Arc::clone(&stop);
                tokio::spawn(async move {
                    let mut next = 1;
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        match store.read_all(next, 1000).await {
                            Ok(page) => {
                                if let Some(last) = page.last() {
                                    next = last.position + 1;
                                }
                            }
                            Err(e) => eprintln!("follower: {e}"),
                        }
                    }
                })
            });
            let before = self.store.statements_sent();
            let started = Instant::now();
            let mut set = tokio::task::JoinSet::new();
            for t in 0..tasks {
                let store = self.store.clone();
                let tag = tag.clone();
                set.spawn(async move {
                    let mine: Vec<usize> =
                        (0..appends).filter(|i| (i % 1000) % tasks == t).collect();
                    for i in mine {
                        let stream = format!("spread-{tag}-{}", i % 1000);
                        let expected = ExpectedVersion::Exactly((i / 1000) as u64);
                        store
                            .append(&stream, expected, vec![event(i as u64)], None)
                            .await?;
                    }
                    Ok::<_, eskema::StoreError>(())
                });
            }
            while let Some(r) = set.join_next().await {
                r??;
            }
            let elapsed = started.elapsed();
            let sent = self.store.statements_sent() - before;
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
            // The follower's reads share the counter: count appends only without it.
            if let Some(f) = follower {
                f.await?;
            } else {
                trips.push(sent as f64 / appends as f64);
            }
            ours.push(rate(appends, elapsed));

            let raw_tag = format!("raw{round}-{tag}");
            let started = Instant::now();
            let mut set = tokio::task::JoinSet::new();
            for t in 0..tasks {
                let pool = self.raw.clone();
                let tag = raw_tag.clone();
                set.spawn(async move {
                    for i in (0..appends).filter(|i| (i % 1000) % tasks == t) {
                        let stream = format!("spread-{tag}-{}", i % 1000);
                        raw_insert(&pool, &stream, (i / 1000 + 1) as i64, &event(i as u64)).await?;
                    }
                    Ok::<_, BoxError>(())
                });
            }
            while let Some(r) = set.join_next().await {
                r??;
            }
            raw.push(rate(appends, started.elapsed()));
        }
        Ok(Row {
            workload: format!(
                "1-event appends, 1,000 streams, {tasks} task{}{}",
                if tasks == 1 { "" } else { "s" },
                if with_follower {
                    " + read_all follower"
                } else {
                    ""
                }
            ),
            ours: median(&ours),
            raw: Some(baseline(&ours, &raw)),
            round_trips: (!trips.is_empty()).then(|| median(&trips)),
            note: format!("{appends} appends/round; raw = single-row INSERT, {tasks} conn"),
        })
    }

    /// (2) 3,000 appends on one stream: the last 500 against the first 500.
    async fn one_stream(&self) -> Result<Row, BoxError> {
        let mut growth = Growth::default();
        let mut raw_rates = Vec::new();
        for _ in 0..self.rounds.max(ONE_STREAM_ROUNDS) {
            let stream = format!("hot-{}", Uuid::now_v7().simple());
            let mut round = OneStream::default();
            for v in 0..3000u64 {
                let started = Instant::now();
                self.store
                    .append(&stream, ExpectedVersion::Exactly(v), vec![event(v)], None)
                    .await?;
                round.took(started.elapsed());
            }
            round.finish(&mut growth);
            let raw_stream = format!("raw-{stream}");
            let started = Instant::now();
            for v in 0..3000u64 {
                raw_insert(&self.raw, &raw_stream, v as i64 + 1, &event(v)).await?;
            }
            raw_rates.push(rate(3000, started.elapsed()));
        }
        let first = median(&growth.firsts);
        Ok(Row {
            workload: "3,000 appends on ONE stream: last 500".into(),
            ours: median(&growth.lasts),
            raw: Some(baseline(&growth.lasts, &raw_rates)),
            round_trips: Some(1.0),
            note: format!("first 500: {first:.0}/s; {growth}"),
        })
    }

    /// (3) 100-event batches against a raw 100-row UNNEST insert.
    async fn batches(&self) -> Result<Row, BoxError> {
        let batches = 100;
        let mut ours = Vec::new();
        let mut raw = Vec::new();
        for _ in 0..self.rounds {
            let tag = Uuid::now_v7().simple().to_string();
            let started = Instant::now();
            for b in 0..batches {
                let batch: Vec<NewEvent> = (0..100).map(event).collect();
                self.store
                    .append(
                        &format!("batch-{tag}-{b}"),
                        ExpectedVersion::NoStream,
                        batch,
                        None,
                    )
                    .await?;
            }
            ours.push(rate(batches * 100, started.elapsed()));
            let started = Instant::now();
            for b in 0..batches {
                let batch: Vec<NewEvent> = (0..100).map(event).collect();
                let ids: Vec<Uuid> = batch.iter().map(|e| e.event_id).collect();
                let versions: Vec<i64> = (1..=100).collect();
                let data: Vec<&serde_json::Value> = batch.iter().map(|e| &e.data).collect();
                let meta = batch
                    .iter()
                    .map(|e| serde_json::to_value(&e.metadata))
                    .collect::<Result<Vec<_>, _>>()?;
                sqlx::query(RAW_UNNEST)
                    .bind(&ids[..])
                    .bind(format!("raw-batch-{tag}-{b}"))
                    .bind("Deposited")
                    .bind(&versions[..])
                    .bind(&data[..])
                    .bind(&meta[..])
                    .execute(&self.raw)
                    .await?;
            }
            raw.push(rate(batches * 100, started.elapsed()));
        }
        Ok(Row {
            workload: "100-event batch appends (events/s)".into(),
            ours: median(&ours),
            raw: Some(baseline(&ours, &raw)),
            round_trips: Some(1.0),
            note: "raw = one 100-row UNNEST INSERT".into(),
        })
    }

    /// Raw single-row inserts over 1,000 streams, `tasks` connections at a time.
    async fn raw_spread(&self, tasks: usize, inserts: usize) -> Result<f64, BoxError> {
        let tag = Uuid::now_v7().simple().to_string();
        let started = Instant::now();
        let mut set = tokio::task::JoinSet::new();
        for t in 0..tasks {
            let pool = self.raw.clone();
            let tag = tag.clone();
            set.spawn(async move {
                for i in (0..inserts).filter(|i| (i % 1000) % tasks == t) {
                    let stream = format!("rawspread-{tag}-{}", i % 1000);
                    raw_insert(&pool, &stream, (i / 1000 + 1) as i64, &engine_event()).await?;
                }
                Ok::<_, BoxError>(())
            });
        }
        while let Some(r) = set.join_next().await {
            r??;
        }
        Ok(rate(inserts, started.elapsed()))
    }

    /// (E1) one-event commands through `Engine::execute` over 1,000 aggregates whose states
    /// are cached (each got one command before the clock starts), `tasks` at a time.
    /// [`Bench::raw_spread`], its rate pushed to `rates`; returns the client CPU it used.
    async fn raw_spread_timed(
        &self,
        tasks: usize,
        inserts: usize,
        rates: &mut Vec<f64>,
    ) -> Result<f64, BoxError> {
        let cpu = cpu_seconds();
        rates.push(self.raw_spread(tasks, inserts).await?);
        Ok(cpu_seconds() - cpu)
    }

    async fn engine_spread(&self, tasks: usize, commands: usize) -> Result<Row, BoxError> {
        let mut ours = Vec::new();
        let mut raw = Vec::new();
        let mut trips = Vec::new();
        for round in 0..self.rounds {
            let tag = Uuid::now_v7().simple().to_string();
            let ids: Arc<Vec<String>> = Arc::new((0..1000).map(|i| format!("{tag}-{i}")).collect());
            let run = |count: usize| {
                let mut set = tokio::task::JoinSet::new();
                for t in 0..tasks {
                    let engine = self.engine.clone();
                    let ids = Arc::clone(&ids);
                    set.spawn(async move {
                        for i in (0..count).filter(|i| (i % 1000) % tasks == t) {
                            dispatch(&engine, &ids[i % 1000]).await?;
                        }
                        Ok::<_, BoxError>(())
                    });
                }
                set
            };
            let mut warm = run(1000);
            while let Some(r) = warm.join_next().await {
                r??;
            }
            // Every other round the raw half goes first, so a checkpoint or vacuum that
            // follows one half's writes does not always land on the same half.
            let raw_first = round % 2 == 1;
            let mut raw_cpu = 0.0;
            if raw_first {
                raw_cpu = self.raw_spread_timed(tasks, commands, &mut raw).await?;
            }
            let before = self.store.statements_sent();
            let cpu = cpu_seconds();
            let started = Instant::now();
            let mut set = run(commands);
            while let Some(r) = set.join_next().await {
                r??;
            }
            ours.push(rate(commands, started.elapsed()));
            let ours_cpu = cpu_seconds() - cpu;
            trips.push((self.store.statements_sent() - before) as f64 / commands as f64);
            if !raw_first {
                raw_cpu = self.raw_spread_timed(tasks, commands, &mut raw).await?;
            }
            if std::env::var_os("SHOW_CPU").is_some() {
                eprintln!(
                    "client CPU per command: engine {:.0} us, raw {:.0} us",
                    ours_cpu * 1e6 / commands as f64,
                    raw_cpu * 1e6 / commands as f64
                );
            }
        }
        Ok(Row {
            workload: format!(
                "ENGINE: 1-event commands, 1,000 cached aggregates, {tasks} task{}",
                if tasks == 1 { "" } else { "s" }
            ),
            ours: median(&ours),
            raw: Some(baseline(&ours, &raw)),
            round_trips: Some(median(&trips)),
            note: format!(
                "{commands} commands/round; command id recorded; raw = single-row INSERT, \
                 {tasks} conn"
            ),
        })
    }

    /// (E2) 3,000 commands on ONE aggregate through the engine: the last 500 against the
    /// first 500.
    async fn engine_one_aggregate(&self) -> Result<Row, BoxError> {
        let mut growth = Growth::default();
        let mut raw_rates = Vec::new();
        let mut trips = Vec::new();
        for _ in 0..self.rounds.max(ONE_STREAM_ROUNDS) {
            let id = format!("hot-{}", Uuid::now_v7().simple());
            let mut round = OneStream::default();
            let before = self.store.statements_sent();
            for _ in 0..3000 {
                let started = Instant::now();
                dispatch(&self.engine, &id).await?;
                round.took(started.elapsed());
            }
            trips.push((self.store.statements_sent() - before) as f64 / 3000.0);
            round.finish(&mut growth);
            let raw_stream = format!("raw-engine-{id}");
            let started = Instant::now();
            for v in 0..3000u64 {
                raw_insert(&self.raw, &raw_stream, v as i64 + 1, &engine_event()).await?;
            }
            raw_rates.push(rate(3000, started.elapsed()));
        }
        let first = median(&growth.firsts);
        Ok(Row {
            workload: "ENGINE: 3,000 commands on ONE aggregate: last 500".into(),
            ours: median(&growth.lasts),
            raw: Some(baseline(&growth.lasts, &raw_rates)),
            round_trips: Some(median(&trips)),
            note: format!("first 500: {first:.0}/s; {growth}"),
        })
    }

    /// (E3) `Engine::load` of a 100,000-event aggregate with the cache cleared; every
    /// event is stored as v1 and upcast to v2. Raw: sqlx reading what the engine reads
    /// (version, type, event version, data) in pages of the same size into tuples, one
    /// page after the other, with nothing applied.
    async fn engine_rehydrate(&self) -> Result<Row, BoxError> {
        let total = 100_000u64;
        let id = format!("long-{}", Uuid::now_v7().simple());
        let stream = Counter::stream_id(&id);
        for chunk in 0..total / 1000 {
            let batch: Vec<NewEvent> = (0..1000)
                .map(|i| {
                    NewEvent::new(
                        "Added",
                        1,
                        json!({ "value": (chunk * 1000 + i) % 7 + 1 }),
                        Metadata::default(),
                    )
                })
                .collect();
            self.store
                .append(&stream, ExpectedVersion::Exactly(chunk * 1000), batch, None)
                .await?;
        }
        sqlx::query("ANALYZE events").execute(&self.raw).await?;
        let mut ours = Vec::new();
        let mut raw = Vec::new();
        let mut trips = Vec::new();
        for _ in 0..self.rounds {
            self.engine.clear_cache();
            let before = self.store.statements_sent();
            let started = Instant::now();
            let loaded = self
                .engine
                .load::<Counter>(&id)
                .await
                .map_err(|e| format!("load: {e}"))?;
            ours.push(rate(total as usize, started.elapsed()));
            trips.push((self.store.statements_sent() - before) as f64);
            if loaded.version != total || loaded.state.adds != total {
                return Err(format!("loaded {loaded:?}, expected {total} events").into());
            }
            let started = Instant::now();
            let mut next = 1i64;
            let mut seen = 0;
            loop {
                let page: Vec<(i64, String, i32, serde_json::Value)> = sqlx::query_as(
                    "SELECT stream_version, event_type, event_version, data FROM events \
                         WHERE stream_id = $1 AND stream_version >= $2 \
                         ORDER BY stream_version LIMIT $3",
                )
                .bind(&stream)
                .bind(next)
                .bind(eskema::__private::READ_PAGE as i64)
                .fetch_all(&self.raw)
                .await?;
                let Some(last) = page.last() else { break };
                next = last.0 + 1;
                seen += page.len();
            }
            raw.push(rate(seen, started.elapsed()));
        }
        Ok(Row {
            workload: "ENGINE: load a 100,000-event aggregate, 1 upcast/event (events/s)".into(),
            ours: median(&ours),
            raw: Some(baseline(&ours, &raw)),
            round_trips: Some(median(&trips)),
            note: format!(
                "cache cleared; pages of {}; raw = sqlx reading the same columns and pages; \
                 stmts = per load",
                eskema::__private::READ_PAGE
            ),
        })
    }

    /// (4) reading a 100,000-event stream in pages of 1,000.
    async fn read_long_stream(&self) -> Result<Vec<Row>, BoxError> {
        let total = 100_000u64;
        let stream = format!("long-{}", Uuid::now_v7().simple());
        for chunk in 0..total / 1000 {
            let batch: Vec<NewEvent> = (0..1000).map(|i| event(chunk * 1000 + i)).collect();
            self.store
                .append(&stream, ExpectedVersion::Exactly(chunk * 1000), batch, None)
                .await?;
        }
        sqlx::query(
            "INSERT INTO raw_events (event_id, stream_id, stream_version, event_type, \
             event_version, data, metadata) SELECT gen_random_uuid(), 'raw-long', g, \
             'Deposited', 1, jsonb_build_object('account', 'acc', 'amount', g, 'currency', \
             'EUR'), '{}' FROM generate_series(1, $1) g",
        )
        .bind(total as i64)
        .execute(&self.raw)
        .await?;
        sqlx::query("ANALYZE").execute(&self.raw).await?;

        let mut ours = Vec::new();
        let mut raw = Vec::new();
        let mut trips = Vec::new();
        for _ in 0..self.rounds {
            let before = self.store.statements_sent();
            let started = Instant::now();
            let mut next = 1;
            let mut seen = 0;
            loop {
                let page = self.store.read_stream(&stream, next, 1000).await?;
                let Some(last) = page.last() else { break };
                next = last.stream_version + 1;
                seen += page.len();
            }
            ours.push(rate(seen, started.elapsed()));
            trips.push((self.store.statements_sent() - before) as f64);

            let started = Instant::now();
            let mut next = 1i64;
            let mut seen = 0;
            loop {
                let page: Vec<RawRow> = sqlx::query_as(
                    "SELECT position, event_id, stream_id, stream_version, event_type, \
                         event_version, data, metadata, created_at FROM raw_events \
                         WHERE stream_id = 'raw-long' AND stream_version >= $1 \
                         ORDER BY stream_version LIMIT 1000",
                )
                .bind(next)
                .fetch_all(&self.raw)
                .await?;
                let Some(last) = page.last() else { break };
                next = last.3 + 1;
                seen += page.len();
            }
            raw.push(rate(seen, started.elapsed()));
        }
        let mut rows = vec![Row {
            workload: "read a 100,000-event stream (events/s)".into(),
            ours: median(&ours),
            raw: Some(baseline(&ours, &raw)),
            round_trips: Some(median(&trips)),
            note: "pages of 1,000; round trips = per full read".into(),
        }];

        // read_all over the whole store (gap-free: safe_position() + page per call).
        let mut all = Vec::new();
        for _ in 0..self.rounds {
            let started = Instant::now();
            let mut next = 1;
            let mut seen = 0;
            loop {
                let page = self.store.read_all(next, 1000).await?;
                let Some(last) = page.last() else { break };
                next = last.position + 1;
                seen += page.len();
            }
            all.push(rate(seen, started.elapsed()));
        }
        rows.push(Row {
            workload: "read_all, whole store (events/s)".into(),
            ours: median(&all),
            raw: None,
            round_trips: Some(2.0),
            note: "2 statements per page of 1,000".into(),
        });
        Ok(rows)
    }
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let url = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let rounds: usize = std::env::var("ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(5);
    let schema = format!("eskema_bench_{}", Uuid::now_v7().simple());
    let mut options = PostgresStore::builder(url.clone())
        .schema(schema.clone())
        .max_connections(16);
    // `GROUP=n` sets the group-commit slots (0: off); default: the store's default.
    if let Some(slots) = std::env::var("GROUP").ok().and_then(|g| g.parse().ok()) {
        options = options.group_commit(slots);
    }
    let store = options.connect().await?;
    let raw_options: sqlx::postgres::PgConnectOptions = url.parse()?;
    let raw = PgPoolOptions::new()
        .max_connections(16)
        .test_before_acquire(false)
        .connect_with(raw_options.options([("search_path", schema.as_str())]))
        .await?;
    sqlx::query(RAW_TABLE).execute(&raw).await?;
    sqlx::query(RAW_INDEX).execute(&raw).await?;
    let version: String = sqlx::query_scalar("SELECT version()")
        .fetch_one(&raw)
        .await?;
    let engine = Engine::new(store.clone());
    let bench = Bench {
        store,
        engine,
        raw,
        rounds,
    };

    let started = Instant::now();
    let result = run(&bench).await;
    let cleanup = sqlx::query(&format!("DROP SCHEMA \"{schema}\" CASCADE"))
        .execute(&bench.raw)
        .await;
    let (rows, latency) = result?;
    cleanup?;

    println!(
        "\neskema store_bench, {} UTC, {} CPUs, {}",
        chrono::Utc::now().format("%Y-%m-%d %H:%M"),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        version.split(',').next().unwrap_or(&version)
    );
    println!(
        "medians of {rounds} rounds; total {:.0} s\n",
        started.elapsed().as_secs_f64()
    );
    println!(
        "| {:<60} | {:>10} | {:>10} | {:>6} | {:>8} | note |",
        "workload", "eskema/s", "raw sqlx/s", "ratio", "stmts/op"
    );
    println!(
        "|{:-<58}|{:->12}|{:->12}|{:->8}|{:->13}|{:-<7}|",
        "", "", "", "", "", ""
    );
    for r in rows {
        println!(
            "| {:<60} | {:>10.0} | {:>10} | {:>6} | {:>8} | {} |",
            r.workload,
            r.ours,
            r.raw
                .as_ref()
                .map_or("-".into(), |b| format!("{:.0}", b.rate)),
            r.raw
                .as_ref()
                .map_or("-".into(), |b| format!("{:.0}%", 100.0 * b.ratio)),
            r.round_trips.map_or("-".into(), |x| format!("{x:.2}")),
            r.note
        );
    }
    if !latency.is_empty() {
        println!("\nlatency, one connection, the four kinds interleaved ({LATENCY_OPS} of each)\n");
        println!(
            "| {:<56} | {:>7} | {:>10} | {:>7} | vs raw |",
            "operation", "p25 µs", "median µs", "p75 µs"
        );
        println!("|{:-<58}|{:->9}|{:->12}|{:->9}|{:->8}|", "", "", "", "", "");
        for r in latency {
            let [p25, p50, p75] = r.quartiles;
            println!(
                "| {:<56} | {p25:>7.0} | {p50:>10.0} | {p75:>7.0} | {:>5.0}% |",
                r.name,
                100.0 * r.vs_raw
            );
        }
    }
    Ok(())
}

async fn run(bench: &Bench) -> Result<(Vec<Row>, Vec<LatencyRow>), BoxError> {
    // `ONLY=engine-16,batches` runs just those workloads (names below); default: all.
    let only = std::env::var("ONLY").ok();
    let want = |name: &str| {
        only.as_deref()
            .is_none_or(|list| list.split(',').any(|w| w.trim() == name))
    };
    let mut rows = Vec::new();
    if want("store-1") {
        rows.push(bench.spread(1, SEQUENTIAL_OPS, false).await?);
    }
    if want("store-16") {
        rows.push(bench.spread(16, 4000, false).await?);
    }
    if want("follower") {
        rows.push(bench.spread(16, 4000, true).await?);
    }
    if want("one-stream") {
        rows.push(bench.one_stream().await?);
    }
    if want("batches") {
        rows.push(bench.batches().await?);
    }
    if want("read") {
        rows.extend(bench.read_long_stream().await?);
    }
    if want("engine-1") {
        rows.push(bench.engine_spread(1, SEQUENTIAL_OPS).await?);
    }
    if want("engine-16") {
        rows.push(bench.engine_spread(16, 4000).await?);
    }
    if want("engine-one") {
        rows.push(bench.engine_one_aggregate().await?);
    }
    if want("rehydrate") {
        rows.push(bench.engine_rehydrate().await?);
    }
    let latency = if want("latency") {
        bench.latency().await?
    } else {
        Vec::new()
    };
    Ok((rows, latency))
}
