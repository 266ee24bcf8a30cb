//! The subscription conformance suite: what every [`ReadStore`] must do for handlers,
//! projections and process managers, run on each store (`subscriptions_memory.rs`,
//! `subscriptions_postgres.rs`).
//!
//! Each case takes a fresh, empty store. Every wait is bounded.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use eskema::read::store::{Lease, Progress};
use eskema::read::{Deliver, FailureOutcome, LagReason, ReadSide, ReadStore, UnitId, WaitError};
use eskema::{CommandContext, DispatchError, Engine, EventStore, Outcome};

use crate::support::read::*;
use crate::support::{Account, AccountEvent, deposit, open, withdraw};

/// Every `subscription_cases!(m)` runs `m!(case)` for each case.
#[macro_export]
macro_rules! subscription_cases {
    ($m:ident) => {
        $m!(a_handler_gets_history_then_live_events_in_order);
        $m!(strong_dispatch_returns_after_the_handler_saw_it);
        $m!(a_parked_event_is_reported_to_the_strong_dispatch);
        $m!(a_late_strong_handler_is_unconfirmed_not_an_error_of_the_command);
        $m!(eventual_handlers_are_not_waited_for);
        $m!(stop_keeps_the_handler_before_the_event_until_resumed);
        $m!(skip_records_the_event_and_goes_on);
        $m!(parked_events_are_listed_and_replayed);
        $m!(a_projection_applies_every_event_exactly_once);
        $m!(a_failed_projection_batch_leaves_no_trace);
        $m!(partitions_keep_each_stream_in_order);
        $m!(a_process_manager_dispatches_once_per_event);
        $m!(a_rebuild_starts_from_origin_and_resumes);
        $m!(start_from_current_skips_history);
        $m!(a_clean_restart_continues_from_the_checkpoint);
        $m!(a_crash_counts_as_an_attempt);
        $m!(two_read_sides_share_the_units);
        $m!(status_reports_every_unit);
        $m!(an_observer_waits_for_a_handler_another_process_runs);
        $m!(a_new_partition_count_neither_repeats_nor_skips_events);
        $m!(saves_made_together_are_each_fenced_by_their_own_lease);
        $m!(a_quiet_save_keeps_the_in_flight_marker_until_the_unit_is_idle);
    };
}

pub const WAIT: Duration = Duration::from_secs(10);

/// A store the suite runs on: its projections write through [`Kv`], and it can show what
/// the `Totals` projection wrote.
pub trait TestStore: ReadStore<Conn: Kv> + Clone {
    fn totals(&self) -> impl std::future::Future<Output = BTreeMap<String, i64>> + Send;
}

/// A read side with quick rounds, for tests.
pub fn read_side<S: ReadStore>(engine: &Engine<S>) -> eskema::read::ReadSideBuilder<S> {
    ReadSide::builder(engine)
        .tick(Duration::from_millis(50))
        .lease_ttl(Duration::from_millis(600))
        .poll_interval(Duration::from_millis(20))
}

/// A read side running `subscriber`, handled by `recorder`.
async fn recording<S: ReadStore, T: Deliver<Recorder>>(
    engine: &Engine<S>,
    subscriber: T,
    recorder: &Recorder,
) -> ReadSide<S> {
    read_side(engine)
        .handler(subscriber, recorder.clone())
        .start()
        .await
        .expect("start")
}

pub async fn run<S: EventStore>(
    engine: &Engine<S>,
    command: impl Into<crate::support::AccountCommand>,
) -> Result<Outcome<AccountEvent>, DispatchError<crate::support::AccountError>> {
    engine
        .execute::<Account>(command.into(), CommandContext::default())
        .await
}

async fn ok<S: EventStore>(
    engine: &Engine<S>,
    command: impl Into<crate::support::AccountCommand>,
) -> Outcome<AccountEvent> {
    run(engine, command).await.expect("command")
}

/// The position the next appended event gets (stores hand out positions without gaps
/// while nothing rolls back).
async fn next_position<S: ReadStore>(store: &S) -> u64 {
    store.safe_position().await.expect("head").safe + 1
}

async fn wait<S: ReadStore>(engine: &Engine<S>, position: u64, name: &str) {
    engine
        .wait_for(position, &[name], WAIT)
        .await
        .unwrap_or_else(|e| panic!("{name} did not reach {position}: {e}"));
}

/// Opens accounts `{prefix}0`..`{prefix}{n-1}` and deposits into each: 2n events; returns
/// the last position.
async fn accounts<S: EventStore>(engine: &Engine<S>, prefix: &str, n: usize) -> u64 {
    let mut last = 0;
    for i in 0..n {
        ok(engine, open(&format!("{prefix}{i}"), "Ann", 10)).await;
        last = ok(engine, deposit(&format!("{prefix}{i}"), i as i64 + 1))
            .await
            .position;
    }
    last
}

/// [`accounts`] `a0`, `a1`, ...
async fn history<S: EventStore>(engine: &Engine<S>, n: usize) -> u64 {
    accounts(engine, "a", n).await
}

pub async fn a_handler_gets_history_then_live_events_in_order<S: TestStore>(store: S) {
    let engine = Engine::new(store.clone());
    history(&engine, 5).await;
    let recorder = Recorder::default();
    let side = recording(&engine, AuditEventual, &recorder).await;
    ok(&engine, open("live", "Bob", 1)).await;
    let last = ok(&engine, withdraw("live", 1)).await.position;
    wait(&engine, last, "AuditEventual").await;
    let positions = recorder.positions();
    assert_eq!(
        positions,
        (1..=last).collect::<Vec<_>>(),
        "every event once, in order"
    );
    side.shutdown().await;
}

pub async fn strong_dispatch_returns_after_the_handler_saw_it<S: TestStore>(store: S) {
    let engine = Engine::new(store.clone());
    let recorder = Recorder::default();
    let side = recording(&engine, Audit, &recorder).await;
    for i in 0..20 {
        let out = ok(&engine, open(&format!("s{i}"), "Ann", 1)).await;
        assert!(
            recorder.positions().contains(&out.position),
            "dispatch returned before the strong handler saw position {}",
            out.position
        );
    }
    side.shutdown().await;
}

pub async fn a_parked_event_is_reported_to_the_strong_dispatch<S: TestStore>(store: S) {
    let engine = Engine::new(store.clone());
    let recorder = Recorder::default();
    let side = recording(&engine, Audit, &recorder).await;
    recorder.fail(next_position(&store).await, 100);
    let err = run(&engine, open("p", "Ann", 1))
        .await
        .expect_err("unconfirmed");
    assert!(err.is_committed(), "{err}");
    let DispatchError::Unconfirmed(u) = err else {
        unreachable!()
    };
    assert_eq!(u.lagging.len(), 1, "{u}");
    assert!(matches!(u.lagging[0].reason, LagReason::Parked(_)), "{u}");
    assert_eq!(u.lagging[0].handler, "bank.Audit");
    // The events are there: a retry of the same command is refused by the domain.
    assert!(matches!(
        run(&engine, open("p", "Ann", 1)).await,
        Err(DispatchError::Domain(_))
    ));
    assert_eq!(store.stream_version("account-p").await.expect("version"), 1);
    side.shutdown().await;
}

pub async fn a_late_strong_handler_is_unconfirmed_not_an_error_of_the_command<S: TestStore>(
    store: S,
) {
    let engine = Engine::new(store.clone()).with_consistency_timeout(Duration::from_millis(50));
    let recorder = Recorder::default();
    recorder
        .slow_ms
        .store(400, std::sync::atomic::Ordering::Relaxed);
    let side = recording(&engine, Audit, &recorder).await;
    let err = run(&engine, open("late", "Ann", 1))
        .await
        .expect_err("late");
    let DispatchError::Unconfirmed(u) = &err else {
        panic!("expected Unconfirmed, got {err}");
    };
    assert!(matches!(u.lagging[0].reason, LagReason::Late { .. }), "{u}");
    assert!(u.to_string().contains("committed"), "{u}");
    assert_eq!(u.recorded.len(), 1);
    // It catches up by itself.
    wait(&engine, u.position, "Audit").await;
    side.shutdown().await;
}

pub async fn eventual_handlers_are_not_waited_for<S: TestStore>(store: S) {
    let engine = Engine::new(store.clone()).with_consistency_timeout(Duration::from_millis(50));
    let recorder = Recorder::default();
    recorder
        .slow_ms
        .store(300, std::sync::atomic::Ordering::Relaxed);
    let side = recording(&engine, AuditEventual, &recorder).await;
    let out = ok(&engine, open("e", "Ann", 1)).await;
    assert!(
        recorder.positions().is_empty(),
        "an eventual handler was waited for"
    );
    wait(&engine, out.position, "AuditEventual").await;
    assert_eq!(recorder.positions(), vec![out.position]);
    side.shutdown().await;
}

pub async fn stop_keeps_the_handler_before_the_event_until_resumed<S: TestStore>(store: S) {
    let engine = Engine::new(store.clone());
    let recorder = Recorder::default();
    ok(&engine, open("x", "Ann", 1)).await;
    let poison = next_position(&store).await;
    recorder.fail(poison, 3);
    let side = recording(&engine, AuditStop, &recorder).await;
    let err = run(&engine, deposit("x", 1)).await.expect_err("stopped");
    let DispatchError::Unconfirmed(u) = &err else {
        panic!("expected Unconfirmed, got {err}");
    };
    assert!(matches!(u.lagging[0].reason, LagReason::Stopped(_)), "{u}");
    let after = run(&engine, deposit("x", 1))
        .await
        .expect_err("still stopped");
    assert!(after.is_committed());
    assert_eq!(
        recorder.positions(),
        vec![1],
        "nothing after the poison event is handled"
    );
    let status = side.status().await.expect("status");
    assert_eq!(status[0].position, poison - 1);
    assert!(status[0].stopped.is_some(), "{status:?}");
    assert_eq!(recorder.calls(poison), 3, "three attempts, then stop");
    side.resume("AuditStop").await.expect("resume");
    wait(&engine, poison + 1, "AuditStop").await;
    assert_eq!(recorder.positions(), vec![1, poison, poison + 1]);
    side.shutdown().await;
}

pub async fn skip_records_the_event_and_goes_on<S: TestStore>(store: S) {
    let engine = Engine::new(store.clone());
    let recorder = Recorder::default();
    let side = recording(&engine, AuditSkip, &recorder).await;
    ok(&engine, open("k", "Ann", 1)).await;
    let poison = next_position(&store).await;
    recorder.fail(poison, 100);
    let err = run(&engine, deposit("k", 1)).await.expect_err("skipped");
    let DispatchError::Unconfirmed(u) = &err else {
        panic!("expected Unconfirmed, got {err}");
    };
    assert!(matches!(u.lagging[0].reason, LagReason::Skipped(_)), "{u}");
    let last = ok(&engine, deposit("k", 1)).await.position;
    assert_eq!(recorder.positions(), vec![1, last]);
    let failures = side.failures(Some("AuditSkip")).await.expect("failures");
    assert_eq!(failures.len(), 1);
    assert_eq!(failures[0].outcome, FailureOutcome::Skipped);
    assert_eq!(failures[0].event.position, poison);
    assert_eq!(failures[0].attempts, 3);
    assert!(failures[0].error.contains("poisoned"), "{:?}", failures[0]);
    let err = side
        .replay(failures[0].id)
        .await
        .expect_err("skipped is not replayed");
    assert!(err.to_string().contains("skipped"), "{err}");
    side.shutdown().await;
}

pub async fn parked_events_are_listed_and_replayed<S: TestStore>(store: S) {
    let engine = Engine::new(store.clone());
    let recorder = Recorder::default();
    let side = recording(&engine, Audit, &recorder).await;
    let poison = next_position(&store).await;
    recorder.fail(poison, 100);
    assert!(run(&engine, open("r", "Ann", 1)).await.is_err());
    let last = ok(&engine, deposit("r", 2)).await.position;
    assert_eq!(
        recorder.positions(),
        vec![last],
        "the parked event is passed by"
    );
    let parked = side.failures(None).await.expect("failures");
    assert_eq!(parked.len(), 1);
    assert_eq!(parked[0].outcome, FailureOutcome::Parked);
    assert_eq!(parked[0].subscriber, "bank.Audit");
    assert_eq!(parked[0].event.stream_id, "account-r");
    let status = side.status().await.expect("status");
    assert_eq!(status[0].parked, 1);
    // Still failing: the record stays.
    assert!(side.replay(parked[0].id).await.is_err());
    assert_eq!(side.failures(None).await.expect("failures").len(), 1);
    recorder.poison.lock().expect("poison").clear();
    side.replay(parked[0].id).await.expect("replay");
    assert_eq!(recorder.positions(), vec![last, poison]);
    assert!(side.failures(None).await.expect("failures").is_empty());
    side.shutdown().await;
}

pub async fn a_projection_applies_every_event_exactly_once<S>(store: S)
where
    S: TestStore,
{
    let engine = Engine::new(store.clone());
    history(&engine, 30).await;
    let side = read_side(&engine)
        .page_size(7)
        .projection(Totals, TotalsModel::default())
        .start()
        .await
        .expect("start");
    let last = accounts(&engine, "later", 5).await;
    ok(&engine, withdraw("a0", 1)).await;
    wait(&engine, last + 1, "Totals").await;
    side.shutdown().await;
    let expected = totals_from_log(&store).await;
    let got = read_totals(&store).await;
    for (stream, total) in &expected {
        assert_eq!(got.get(stream), Some(total), "{stream}");
    }
    // 35 opened, 35 deposits, 1 withdrawal: each applied once.
    assert_eq!(got.get("events"), Some(&71));
}

/// What the `Totals` projection wrote, wherever the store keeps it.
pub async fn read_totals<S: TestStore>(store: &S) -> BTreeMap<String, i64> {
    store.totals().await
}

pub async fn a_failed_projection_batch_leaves_no_trace<S>(store: S)
where
    S: TestStore,
{
    let engine = Engine::new(store.clone());
    history(&engine, 10).await;
    let model = TotalsModel::default();
    // The fifth event fails twice: its batch rolls back, then it succeeds alone.
    model.poison.lock().expect("poison").insert(5, 2);
    let side = read_side(&engine)
        .projection(Totals, model.clone())
        .start()
        .await
        .expect("start");
    wait(&engine, 20, "Totals").await;
    side.shutdown().await;
    let got = read_totals(&store).await;
    assert_eq!(
        got.get("events"),
        Some(&20),
        "each event applied once: {got:?}"
    );
    for (stream, total) in totals_from_log(&store).await {
        assert_eq!(got.get(&stream), Some(&total), "{stream}");
    }
}

pub async fn partitions_keep_each_stream_in_order<S: TestStore>(store: S) {
    let engine = Engine::new(store.clone());
    let recorder = Recorder::default();
    let side = recording(&engine, Audit4, &recorder).await;
    let mut last = 0;
    for round in 0..5 {
        for i in 0..8 {
            let account = format!("p{i}");
            last = if round == 0 {
                ok(&engine, open(&account, "Ann", 1)).await.position
            } else {
                ok(&engine, deposit(&account, 1)).await.position
            };
        }
    }
    wait(&engine, last, "Audit4").await;
    let deliveries = recorder.deliveries();
    assert_eq!(deliveries.len(), 40, "each event once");
    let mut per_stream: HashMap<String, Vec<u64>> = HashMap::new();
    for d in &deliveries {
        per_stream
            .entry(d.stream_id.clone())
            .or_default()
            .push(d.stream_version);
    }
    for (stream, versions) in per_stream {
        assert_eq!(versions, (1..=5).collect::<Vec<_>>(), "{stream} in order");
    }
    let status = side.status().await.expect("status");
    assert_eq!(status.len(), 4);
    assert!(status.iter().all(|s| s.partitions == 4));
    side.shutdown().await;
}

pub async fn a_process_manager_dispatches_once_per_event<S: TestStore>(store: S) {
    let engine = Engine::new(store.clone());
    let side = read_side(&engine)
        .process::<Bonus>()
        .start()
        .await
        .expect("start");
    let mut last = 0;
    for i in 0..6 {
        last = ok(&engine, open(&format!("b{i}"), "Ann", 10))
            .await
            .position;
    }
    wait(&engine, last, "Bonus").await;
    // Handling every opening again (a rebuild re-delivers them) dispatches the same
    // command ids: no second bonus.
    side.rebuild("Bonus").await.expect("rebuild");
    let head = next_position(&store).await - 1;
    wait(&engine, head, "Bonus").await;
    side.shutdown().await;
    for i in 0..6 {
        let stream = format!("account-b{i}");
        let events = store.read_stream(&stream, 1, 100).await.expect("read");
        let bonuses = events
            .iter()
            .filter(|e| e.event_type == "MoneyDeposited")
            .count();
        assert_eq!(bonuses, 1, "{stream}: {events:#?}");
        let deposit = &events[1];
        assert_eq!(deposit.data["amount"], BONUS);
        // Caused by the opening, in its conversation.
        assert_eq!(deposit.metadata.causation_id, Some(events[0].event_id));
        assert_eq!(
            deposit.metadata.correlation_id,
            events[0].metadata.correlation_id
        );
    }
}

pub async fn a_rebuild_starts_from_origin_and_resumes<S>(store: S)
where
    S: TestStore,
{
    let engine = Engine::new(store.clone());
    let last = history(&engine, 10).await;
    let side = read_side(&engine)
        .projection(Totals, TotalsModel::default())
        .start()
        .await
        .expect("start");
    wait(&engine, last, "Totals").await;
    let rebuild = side.rebuild("Totals").await.expect("rebuild");
    assert!(!rebuild.resumed);
    assert_eq!(rebuild.target, last);
    wait(&engine, last, "Totals").await;
    side.shutdown().await;
    let got = read_totals(&store).await;
    assert_eq!(
        got.get("events"),
        Some(&20),
        "the reset emptied the model first: {got:?}"
    );
    // A rebuild that is still running is resumed, not started again.
    let model = TotalsModel::default();
    let side = read_side(&engine)
        .projection(Totals, model.clone())
        .start()
        .await
        .expect("start");
    model.poison.lock().expect("poison").insert(15, 1_000);
    let first = side.rebuild("Totals").await.expect("rebuild");
    assert!(!first.resumed);
    let again = side.rebuild("Totals").await.expect("rebuild");
    assert!(again.resumed, "{again:?}");
    assert_eq!(again.target, first.target);
    side.shutdown().await;
}

pub async fn start_from_current_skips_history<S: TestStore>(store: S) {
    let engine = Engine::new(store.clone());
    history(&engine, 3).await;
    let recorder = Recorder::default();
    let side = recording(&engine, AuditFromNow, &recorder).await;
    let out = ok(&engine, open("now", "Ann", 1)).await;
    wait(&engine, out.position, "AuditFromNow").await;
    assert_eq!(recorder.positions(), vec![out.position]);
    side.shutdown().await;
}

pub async fn a_clean_restart_continues_from_the_checkpoint<S: TestStore>(store: S) {
    let engine = Engine::new(store.clone());
    let recorder = Recorder::default();
    let side = recording(&engine, Audit, &recorder).await;
    let first = history(&engine, 3).await;
    side.shutdown().await;
    let second = accounts(&engine, "after", 2).await;
    let side = read_side(&engine)
        .handler(Audit, recorder.clone())
        .start()
        .await
        .expect("restart");
    wait(&engine, second, "Audit").await;
    assert_eq!(
        recorder.positions(),
        (1..=second).collect::<Vec<_>>(),
        "nothing twice after a clean stop"
    );
    assert!(first < second);
    side.shutdown().await;
}

pub async fn a_crash_counts_as_an_attempt<S: TestStore>(store: S) {
    let engine = Engine::new(store.clone()).with_consistency_timeout(Duration::from_millis(200));
    let recorder = Recorder::default();
    history(&engine, 2).await;
    let poison = 3;
    recorder.hang.lock().expect("hang").insert(poison);
    ok(&engine, withdraw("a0", 1)).await;
    let last = ok(&engine, deposit("a1", 1)).await.position;
    // Each run hangs on the poison event; dropping the read side is the crash.
    for run in 1..=8 {
        let side = recording(&engine, AuditEventual, &recorder).await;
        let deadline = tokio::time::Instant::now() + WAIT;
        let done = loop {
            if recorder.positions().contains(&last) {
                break true;
            }
            if recorder.calls(poison) >= run || tokio::time::Instant::now() > deadline {
                break false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        };
        // Let the hung call sit a moment, as a crashing process would.
        tokio::time::sleep(Duration::from_millis(30)).await;
        drop(side);
        if done {
            break;
        }
    }
    // Two crashes among the events in flight pin the poison event down (the first only
    // counts, so a process killed for a deploy loses nothing); then each crash on it is one
    // of its three attempts (QUICK); then it is parked, never handed over again, and the
    // events after it go on.
    let calls = recorder.calls(poison);
    assert!((3..=QUICK.attempts + 2).contains(&calls), "calls: {calls}");
    assert!(
        recorder.positions().contains(&last),
        "{:?}",
        recorder.positions()
    );
    let side = recording(&engine, AuditEventual, &recorder).await;
    let parked = side.failures(None).await.expect("failures");
    assert_eq!(parked.len(), 1, "{parked:?}");
    assert_eq!(parked[0].event.position, poison);
    assert!(parked[0].error.contains("crash"), "{:?}", parked[0]);
    side.shutdown().await;
}

pub async fn two_read_sides_share_the_units<S: TestStore>(store: S) {
    let engine = Engine::new(store.clone());
    let (one, two) = (Recorder::default(), Recorder::default());
    let a = read_side(&engine)
        .node("node-a")
        .handler(Audit4, one.clone())
        .start()
        .await
        .expect("start a");
    let other = Engine::new(store.clone());
    let b = read_side(&other)
        .node("node-b")
        .handler(Audit4, two.clone())
        .start()
        .await
        .expect("start b");
    // Both take units once they see each other.
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let owners: Vec<Option<String>> = a
            .status()
            .await
            .expect("status")
            .into_iter()
            .map(|s| s.owner)
            .collect();
        let a_owns = owners
            .iter()
            .filter(|o| o.as_deref() == Some("node-a"))
            .count();
        let b_owns = owners
            .iter()
            .filter(|o| o.as_deref() == Some("node-b"))
            .count();
        if a_owns == 2 && b_owns == 2 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "units not spread: {owners:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut last = 0;
    for i in 0..12 {
        last = ok(&engine, open(&format!("t{i}"), "Ann", 1)).await.position;
    }
    wait(&engine, last, "Audit4").await;
    // One leaves cleanly; the other takes everything and goes on.
    b.shutdown().await;
    for i in 0..12 {
        last = ok(&engine, deposit(&format!("t{i}"), 1)).await.position;
    }
    wait(&engine, last, "Audit4").await;
    let mut all: Vec<u64> = one.positions().into_iter().chain(two.positions()).collect();
    all.sort_unstable();
    assert_eq!(
        all,
        (1..=last).collect::<Vec<_>>(),
        "every event once across both"
    );
    assert!(!two.positions().is_empty() && !one.positions().is_empty());
    a.shutdown().await;
}

pub async fn status_reports_every_unit<S>(store: S)
where
    S: TestStore,
{
    let engine = Engine::new(store.clone());
    let last = history(&engine, 4).await;
    let side = read_side(&engine)
        .node("status-node")
        .handler(Audit, Recorder::default())
        .projection(Totals2, TotalsModel::default())
        .process::<Bonus>()
        .start()
        .await
        .expect("start");
    wait(&engine, last, "Audit").await;
    wait(&engine, last, "Totals2").await;
    wait(&engine, last, "Bonus").await;
    // The bonuses the process dispatched are events too.
    let head = next_position(&store).await - 1;
    wait(&engine, head, "Audit").await;
    wait(&engine, head, "Totals2").await;
    let status = side.status().await.expect("status");
    let names: Vec<(String, u32)> = status
        .iter()
        .map(|s| (s.subscriber.clone(), s.partition))
        .collect();
    assert_eq!(
        names,
        vec![
            ("bank.Audit".into(), 0),
            ("bank.Totals2".into(), 0),
            ("bank.Totals2".into(), 1),
            ("bank.Bonus".into(), 0)
        ]
    );
    for s in &status {
        assert_eq!(s.head, head, "{s:?}");
        assert_eq!(s.owner.as_deref(), Some("status-node"), "{s:?}");
        assert_eq!(s.parked, 0);
        assert!(s.stopped.is_none());
    }
    let audit = &status[0];
    assert_eq!((audit.position, audit.lag_events), (head, 0));
    assert_eq!(
        engine.wait_for(head, &["NoSuchHandler"], WAIT).await,
        Err(WaitError::UnknownHandler("NoSuchHandler".into()))
    );
    side.shutdown().await;
}

pub async fn an_observer_waits_for_a_handler_another_process_runs<S: TestStore>(store: S) {
    // This "process" runs the strong handler, slowly.
    let runner = Engine::new(store.clone());
    let recorder = Recorder::default();
    recorder
        .slow_ms
        .store(50, std::sync::atomic::Ordering::Relaxed);
    let side = read_side(&runner)
        .handler(Audit, recorder.clone())
        .start()
        .await
        .expect("start");
    // This one only dispatches: it observes the handler, so its dispatches wait for it
    // through the store's checkpoints.
    let dispatcher = Engine::new(store.clone());
    let observer = read_side(&dispatcher)
        .observe::<Audit>()
        .start()
        .await
        .expect("observe");
    for i in 0..5 {
        let out = ok(&dispatcher, open(&format!("o{i}"), "Ann", 1)).await;
        assert!(
            recorder.positions().contains(&out.position),
            "the observing dispatch returned before the handler elsewhere saw {}",
            out.position
        );
    }
    // A failure there is reported here too.
    let poison = next_position(&store).await;
    recorder.fail(poison, 100);
    let err = run(&dispatcher, open("o-poison", "Ann", 1))
        .await
        .expect_err("unconfirmed");
    let DispatchError::Unconfirmed(u) = &err else {
        panic!("expected Unconfirmed, got {err}");
    };
    assert!(matches!(u.lagging[0].reason, LagReason::Parked(_)), "{u}");
    observer.shutdown().await;
    side.shutdown().await;
}

pub async fn a_new_partition_count_neither_repeats_nor_skips_events<S: TestStore>(store: S) {
    use eskema::read::spec::partition_of;
    let engine = Engine::new(store.clone());
    let head = accounts(&engine, "r", 8).await;
    // Four partitions; the one of stream `account-r3` stops on its deposit, so the four
    // checkpoints end up apart.
    let stream = "account-r3";
    let stuck = partition_of(stream, 4);
    let deposit_of_r3 = store.read_stream(stream, 2, 1).await.expect("read")[0].position;
    let first = Recorder::default();
    first.fail(deposit_of_r3, 1_000);
    let side = read_side(&engine)
        .handler(Repart4, first.clone())
        .start()
        .await
        .expect("start");
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let status = side.status().await.expect("status");
        let done = status.iter().all(|s| {
            if s.partition == stuck {
                s.stopped.is_some()
            } else {
                s.position >= head
            }
        });
        if done {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{status:#?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    side.shutdown().await;
    // Now two partitions: only what the stopped old partition had not passed is handed
    // over, each event once, and nothing the others had.
    let second = Recorder::default();
    let side = read_side(&engine)
        .handler(Repart2, second.clone())
        .start()
        .await
        .expect("restart");
    wait(&engine, head, "Repart").await;
    side.shutdown().await;
    let all = crate::support::read::all_events(&store).await;
    let expected: Vec<u64> = all
        .iter()
        .filter(|e| partition_of(&e.stream_id, 4) == stuck && e.position >= deposit_of_r3)
        .map(|e| e.position)
        .collect();
    let mut got = second.positions();
    got.sort_unstable();
    assert_eq!(got, expected, "handed over after the change");
    let mut before = first.positions();
    before.sort_unstable();
    let mut both: Vec<u64> = before.iter().chain(&got).copied().collect();
    both.sort_unstable();
    assert_eq!(
        both,
        (1..=head).collect::<Vec<_>>(),
        "every event once over both runs"
    );
}

/// Checkpoint saves made at the same moment (a process's handlers after one page; the
/// Postgres store writes them in one statement) each move their own unit, and only while
/// its lease token is the one given: a stale token moves nothing, whatever it is saved with.
pub async fn saves_made_together_are_each_fenced_by_their_own_lease<S: TestStore>(store: S) {
    let units: Vec<UnitId> = (0..4)
        .map(|i| UnitId {
            subscriber: format!("test.Saves{i}"),
            partition: 0,
        })
        .collect();
    let mut leases = Vec::new();
    for unit in &units {
        store
            .register(&unit.subscriber, 1, 0)
            .await
            .expect("register");
        let lease = store
            .acquire(unit, "node-a", Duration::from_secs(30))
            .await
            .expect("acquire")
            .expect("a free unit");
        leases.push(lease);
    }
    // Unit 1 is saved with a token that is not its own.
    leases[1] = Lease {
        token: leases[1].token + 1,
    };
    let saves = units
        .iter()
        .zip(&leases)
        .enumerate()
        .map(|(i, (unit, lease))| {
            let store = store.clone();
            let (unit, lease) = (unit.clone(), *lease);
            tokio::spawn(async move {
                let progress = Progress {
                    position: 10 + i as u64,
                    suspect_until: 10 + i as u64,
                    attempt: None,
                };
                store.save_progress(&unit, lease, &progress).await
            })
        });
    let mut moved = Vec::new();
    for save in saves.collect::<Vec<_>>() {
        moved.push(save.await.expect("task").expect("save"));
    }
    assert_eq!(moved, [true, false, true, true]);
    let positions: Vec<u64> = store
        .checkpoints(None)
        .await
        .expect("checkpoints")
        .into_iter()
        .filter(|(id, _)| units.contains(id))
        .map(|(_, cp)| cp.position)
        .collect();
    assert_eq!(positions, [10, 0, 12, 13]);
}

/// A side-effect handler's checkpoint is saved soon after its events stop, with its
/// in-flight marker still ahead (under load most quiet moments are gaps between two
/// pages, and the next page would have to set the marker again); once nothing came for
/// the save interval (200 ms), the marker comes back to the checkpoint, so a process
/// killed while idle had nothing in flight.
pub async fn a_quiet_save_keeps_the_in_flight_marker_until_the_unit_is_idle<S: TestStore>(
    store: S,
) {
    let engine = Engine::new(store.clone());
    let recorder = Recorder::default();
    let side = recording(&engine, AuditEventual, &recorder).await;
    let last = history(&engine, 3).await;
    let checkpoint = || async {
        let units = store
            .checkpoints(Some("bank.AuditEventual"))
            .await
            .expect("checkpoints");
        // No row until the unit is first taken.
        units
            .into_iter()
            .next()
            .map_or((0, 0), |(_, cp)| (cp.position, cp.suspect_until))
    };
    let deadline = tokio::time::Instant::now() + WAIT;
    let (mut saved_with_marker, mut idle) = (false, false);
    while tokio::time::Instant::now() < deadline && !idle {
        let (position, suspect_until) = checkpoint().await;
        if position == last {
            saved_with_marker |= suspect_until > position;
            idle = saved_with_marker && suspect_until == position;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(saved_with_marker, "the quiet save kept the marker ahead");
    assert!(
        idle,
        "the marker came back to the checkpoint: {:?}",
        checkpoint().await
    );
    assert_eq!(recorder.positions(), (1..=last).collect::<Vec<_>>());
    side.shutdown().await;
}
