//! Middleware: before / after / on_failure around every dispatch; a rejection appends
//! nothing.

pub mod support;

use std::sync::{Arc, Mutex};

use eskema::middleware::{CommandInfo, DomainFailure, Middleware, OutcomeSummary, Rejection};
use eskema::serde_json::json;
use eskema::{CommandContext, DispatchError, Engine, MemoryStore};
use support::*;

type Log = Arc<Mutex<Vec<String>>>;

struct Recorder {
    name: &'static str,
    log: Log,
}

impl Recorder {
    fn push(&self, line: String) {
        self.log
            .lock()
            .expect("log")
            .push(format!("{}:{line}", self.name));
    }
}

impl Middleware for Recorder {
    fn before(&self, info: &CommandInfo, _ctx: &mut CommandContext) -> Result<(), Rejection> {
        self.push(format!(
            "before {} {} {}",
            info.aggregate, info.command, info.stream_id
        ));
        Ok(())
    }

    fn after(&self, info: &CommandInfo, outcome: &OutcomeSummary<'_>) {
        self.push(format!(
            "after {} v{} events={} dup={}",
            info.command,
            outcome.version,
            outcome.recorded.len(),
            outcome.duplicate
        ));
    }

    fn on_failure(&self, info: &CommandInfo, error: &DispatchError<DomainFailure>) {
        // Typed: the kind of failure, and the domain error itself, not only its text.
        let kind = match error {
            DispatchError::Validation(v) => format!("validation({})", v.len()),
            DispatchError::Domain(e) => match e.downcast_ref::<AccountError>() {
                Some(AccountError::InsufficientFunds) => "domain(InsufficientFunds)".into(),
                Some(other) => format!("domain({other:?})"),
                None => "domain(?)".into(),
            },
            DispatchError::Rejected(_) => "rejected".into(),
            other => format!("other({other})"),
        };
        self.push(format!("failure {} {kind} {error}", info.command));
    }
}

/// Authorization: only commands carrying a `user` may pass; stamps who it was.
struct RequireUser;

impl Middleware for RequireUser {
    fn before(&self, _info: &CommandInfo, ctx: &mut CommandContext) -> Result<(), Rejection> {
        match ctx.extra.get("user") {
            Some(user) => {
                let user = user.clone();
                ctx.extra.insert("authorized_by".into(), user);
                Ok(())
            }
            None => Err(Rejection::new("no user")),
        }
    }
}

fn log() -> Log {
    Arc::new(Mutex::new(Vec::new()))
}

fn lines(log: &Log) -> Vec<String> {
    log.lock().expect("log").clone()
}

#[tokio::test]
async fn hooks_run_around_success_and_failure_in_layer_order() {
    let log = log();
    let engine = Engine::new(MemoryStore::new())
        .with_middleware(Recorder {
            name: "outer",
            log: Arc::clone(&log),
        })
        .with_middleware(Recorder {
            name: "inner",
            log: Arc::clone(&log),
        });
    engine
        .execute::<Account>(open("a1", "Ann", 5).into(), CommandContext::default())
        .await
        .expect("open");
    engine
        .execute::<Account>(withdraw("a1", 6).into(), CommandContext::default())
        .await
        .expect_err("insufficient");
    assert_eq!(
        lines(&log),
        vec![
            "outer:before Account OpenAccount account-a1",
            "inner:before Account OpenAccount account-a1",
            "inner:after OpenAccount v1 events=1 dup=false",
            "outer:after OpenAccount v1 events=1 dup=false",
            "outer:before Account Withdraw account-a1",
            "inner:before Account Withdraw account-a1",
            "inner:failure Withdraw domain(InsufficientFunds) command rejected: the balance does not cover the amount",
            "outer:failure Withdraw domain(InsufficientFunds) command rejected: the balance does not cover the amount",
        ]
    );
}

#[tokio::test]
async fn a_rejection_appends_nothing_and_is_reported_as_rejected() {
    let log = log();
    let engine = Engine::new(MemoryStore::new())
        .with_middleware(Recorder {
            name: "audit",
            log: Arc::clone(&log),
        })
        .with_middleware(RequireUser);
    let err = engine
        .execute::<Account>(open("a1", "Ann", 5).into(), CommandContext::default())
        .await
        .expect_err("no user");
    assert_eq!(err, DispatchError::Rejected("no user".into()));
    assert_eq!(
        err.clone().map_domain(|e| e.to_string()),
        DispatchError::Rejected("no user".into())
    );
    assert!(engine.store().is_empty());
    assert_eq!(
        lines(&log).last().map(String::as_str),
        Some("audit:failure OpenAccount rejected command refused: no user")
    );

    let mut ctx = CommandContext::default();
    ctx.extra.insert("user".into(), json!("ann"));
    let out = engine
        .execute::<Account>(open("a1", "Ann", 5).into(), ctx)
        .await
        .expect("authorized");
    let extra = &out.recorded[0].metadata.extra;
    assert_eq!(extra.get("user"), Some(&json!("ann")));
    assert_eq!(
        extra.get("authorized_by"),
        Some(&json!("ann")),
        "before may edit the context"
    );
}

#[tokio::test]
async fn validation_failures_reach_on_failure_too() {
    let log = log();
    let engine = Engine::new(MemoryStore::new()).with_middleware(Recorder {
        name: "m",
        log: Arc::clone(&log),
    });
    engine
        .execute::<Account>(open("a1", "", 5).into(), CommandContext::default())
        .await
        .expect_err("invalid");
    assert_eq!(
        lines(&log),
        vec![
            "m:before Account OpenAccount account-a1",
            "m:failure OpenAccount validation(1) invalid command: owner: must not be empty",
        ]
    );
    assert!(engine.store().is_empty());
}
