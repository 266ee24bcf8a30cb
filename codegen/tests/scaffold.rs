//! `eskema scaffold`: fresh files, idempotent re-runs, and additions that never disturb the
//! bytes a user wrote.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use eskema_codegen::__private::model::{
    Aggregate, Command, CommandRef, Consistency, Context, Domain, Event, EventRef, FailurePolicy,
    Field, Handler, HandlerKind, IdentityType, ProcessManager, StartFrom, TypeRef,
};
use eskema_codegen::__private::{ScaffoldReport, scaffold};
use expect_test::expect;

/// A temporary directory, unique per test and per process, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let dir =
            std::env::temp_dir().join(format!("eskema-scaffold-{name}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        TempDir(dir)
    }

    fn path(&self) -> &Path {
        &self.0
    }

    fn file(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.file(name)).expect("file exists")
    }

    fn write(&self, name: &str, text: &str) {
        std::fs::write(self.file(name), text).expect("write");
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn field(name: &str, ty: TypeRef) -> Field {
    Field {
        name: name.into(),
        doc: None,
        ty,
        rules: Vec::new(),
        default: None,
        holds: Default::default(),
    }
}

fn command(name: &str, doc: Option<&str>, emits: &[&str]) -> Command {
    Command {
        name: name.into(),
        doc: doc.map(Into::into),
        fields: vec![field("account_number", TypeRef::String)],
        identity: "account_number".into(),
        identity_type: IdentityType::String,
        emits: emits.iter().map(|e| e.to_string()).collect(),
    }
}

fn event(name: &str) -> Event {
    Event {
        name: name.into(),
        doc: None,
        version: 1,
        fields: vec![field("account_number", TypeRef::String)],
        upcasts: Vec::new(),
        renamed_from: Vec::new(),
    }
}

fn event_ref(context: &str, aggregate: &str, name: &str) -> EventRef {
    EventRef {
        context: context.into(),
        aggregate: aggregate.into(),
        name: name.into(),
        stream_prefix: format!("{aggregate}-"),
        bytes: None,
    }
}

fn context(name: &str) -> Context {
    Context {
        name: name.into(),
        file: PathBuf::from(format!("schemas/{name}.yaml")),
        doc: None,
        types: Vec::new(),
        aggregates: Vec::new(),
        handlers: Vec::new(),
        process_managers: Vec::new(),
    }
}

fn aggregate(name: &str, commands: Vec<Command>, events: Vec<Event>) -> Aggregate {
    Aggregate {
        name: name.into(),
        doc: None,
        identity: "account_number".into(),
        identity_type: IdentityType::String,
        stream_prefix: format!("{name}-"),
        snapshot_every: None,
        state: vec![field("balance", TypeRef::I64)],
        errors: Vec::new(),
        commands,
        events,
        state_hash: String::new(),
    }
}

/// The bank / atm domain of schema-format.md, abridged.
fn bank_domain() -> Domain {
    let mut atm = context("atm");
    atm.aggregates.push(aggregate(
        "Atm",
        vec![
            command("InitiateWithdrawal", None, &["WithdrawalInitiated"]),
            command("ConfirmAuthorization", None, &["AuthorizationConfirmed"]),
        ],
        vec![
            event("WithdrawalInitiated"),
            event("AuthorizationConfirmed"),
        ],
    ));

    let mut bank = context("bank");
    bank.aggregates.push(aggregate(
        "BankAccount",
        vec![
            command(
                "OpenBankAccount",
                Some("Opens a new account with an initial deposit."),
                &["BankAccountOpened"],
            ),
            command("WithdrawMoney", None, &["MoneyWithdrawn"]),
        ],
        vec![event("BankAccountOpened"), event("MoneyWithdrawn")],
    ));
    bank.handlers.push(Handler {
        name: "AccountBalances".into(),
        doc: None,
        subscribes: vec![
            event_ref("bank", "BankAccount", "BankAccountOpened"),
            event_ref("bank", "BankAccount", "MoneyWithdrawn"),
        ],
        kind: HandlerKind::Projection,
        consistency: Consistency::Strong,
        start_from: StartFrom::Origin,
        partitions: 1,
        on_failure: FailurePolicy::default(),
    });
    bank.process_managers.push(ProcessManager {
        name: "Withdrawal".into(),
        doc: None,
        identity: "withdrawal_id".into(),
        identity_type: IdentityType::String,
        starts_on: vec![event_ref("atm", "Atm", "WithdrawalInitiated")],
        continues_on: vec![event_ref("atm", "Atm", "AuthorizationConfirmed")],
        stops_on: vec![event_ref("bank", "BankAccount", "MoneyWithdrawn")],
        dispatches: vec![
            CommandRef {
                context: "bank".into(),
                aggregate: "BankAccount".into(),
                name: "WithdrawMoney".into(),
                bytes: None,
            },
            CommandRef {
                context: "atm".into(),
                aggregate: "Atm".into(),
                name: "ConfirmAuthorization".into(),
                bytes: None,
            },
        ],
        state: vec![field("amount", TypeRef::I64)],
        on_failure: FailurePolicy::default(),
    });
    Domain {
        contexts: vec![atm, bank],
        type_attributes: Vec::new(),
    }
}

const FILES: &[&str] = &[
    "atm.rs",
    "bank_account.rs",
    "account_balances.rs",
    "withdrawal.rs",
    "mod.rs",
];

fn run(domain: &Domain, dir: &TempDir) -> ScaffoldReport {
    scaffold(domain, dir.path()).expect("scaffold runs")
}

fn assert_parses(dir: &TempDir, name: &str) {
    let text = dir.read(name);
    if let Err(e) = syn::parse_file(&text) {
        panic!("{name} does not parse: {e}\n{text}");
    }
}

/// Every path of the report that is not in `unchanged`.
fn touched(report: &ScaffoldReport) -> usize {
    report.created.len() + report.updated.len() + report.skipped.len()
}

#[test]
fn fresh_scaffold_creates_one_file_per_unit_and_a_mod_rs() {
    let dir = TempDir::new("fresh");
    let report = run(&bank_domain(), &dir);
    let created: Vec<PathBuf> = FILES.iter().map(|f| dir.file(f)).collect();
    assert_eq!(report.created, created);
    assert!(report.updated.is_empty() && report.unchanged.is_empty() && report.skipped.is_empty());
    for f in FILES {
        assert_parses(&dir, f);
        assert!(!dir.read(f).contains("\r\n"));
    }

    expect![[r#"
        //! The domain's business logic: the implementations of the traits eskema generates.
        //!
        //! Written by `eskema scaffold`, then yours. Re-running it declares new files here and adds
        //! the methods that schema changes ask for; it never changes code that exists.

        pub mod account_balances;
        pub mod atm;
        pub mod bank_account;
        pub mod withdrawal;
    "#]]
    .assert_eq(&dir.read("mod.rs"));

    expect![[r#"
        //! The business logic of aggregate `BankAccount` (context `bank`).
        //!
        //! Executors decide which events a command causes, or why it is refused; appliers fold those
        //! events into the state. Written by `eskema scaffold`, then yours: re-running it only adds the
        //! methods that schema changes ask for.

        use crate::bank::*;

        impl BankAccountLogic for BankAccount {
            /// Opens a new account with an initial deposit.
            fn open_bank_account(
                &self,
                command: &OpenBankAccount,
            ) -> Result<Vec<BankAccountOpened>, BankAccountError> {
                todo!("decide {command:?}")
            }

            fn withdraw_money(
                &self,
                command: &WithdrawMoney,
            ) -> Result<Vec<MoneyWithdrawn>, BankAccountError> {
                todo!("decide {command:?}")
            }

            fn apply_bank_account_opened(&mut self, event: &BankAccountOpened) {
                todo!("apply {event:?}")
            }

            fn apply_money_withdrawn(&mut self, event: &MoneyWithdrawn) {
                todo!("apply {event:?}")
            }
        }
    "#]]
    .assert_eq(&dir.read("bank_account.rs"));

    expect![[r#"
        //! Event handler `AccountBalances` (context `bank`): one method per subscribed event.
        //!
        //! Written by `eskema scaffold`, then yours: re-running it only adds the methods that schema
        //! changes ask for.

        use crate::bank::*;

        /// The read model `AccountBalances` keeps. It writes on the transaction that moves its
        /// checkpoint: `eskema::MemoryTx` in memory, `eskema::sqlx::PgConnection` on Postgres
        /// (implement `AccountBalancesHandler<_>` for the one the app runs on, or for both).
        #[derive(Debug, Default)]
        pub struct AccountBalancesProjection {}

        impl AccountBalancesHandler<eskema::MemoryTx> for AccountBalancesProjection {
            async fn on_bank_account_opened(
                &self,
                tx: &mut eskema::MemoryTx,
                event: &BankAccountOpened,
                recorded: &eskema::RecordedEvent,
            ) -> Result<(), eskema::HandlerError> {
                todo!("project {event:?} from {} on {tx:?}", recorded.stream_id)
            }

            async fn on_money_withdrawn(
                &self,
                tx: &mut eskema::MemoryTx,
                event: &MoneyWithdrawn,
                recorded: &eskema::RecordedEvent,
            ) -> Result<(), eskema::HandlerError> {
                todo!("project {event:?} from {} on {tx:?}", recorded.stream_id)
            }

            async fn reset(&self, tx: &mut eskema::MemoryTx) -> Result<(), eskema::HandlerError> {
                todo!("empty the read model on {tx:?}, for a rebuild")
            }
        }
    "#]]
    .assert_eq(&dir.read("account_balances.rs"));

    expect![[r#"
        //! Process manager `Withdrawal` (context `bank`): reacts to events by updating its
        //! state and returning the commands to dispatch next.
        //!
        //! Written by `eskema scaffold`, then yours: re-running it only adds the methods that schema
        //! changes ask for.

        use crate::bank::*;

        impl WithdrawalProcess for Withdrawal {
            fn on_withdrawal_initiated(
                &mut self,
                event: &crate::atm::WithdrawalInitiated,
                recorded: &eskema::RecordedEvent,
            ) -> Result<Vec<WithdrawalDispatch>, eskema::HandlerError> {
                todo!("react to {event:?} from {}", recorded.stream_id)
            }

            fn on_authorization_confirmed(
                &mut self,
                event: &crate::atm::AuthorizationConfirmed,
                recorded: &eskema::RecordedEvent,
            ) -> Result<Vec<WithdrawalDispatch>, eskema::HandlerError> {
                todo!("react to {event:?} from {}", recorded.stream_id)
            }

            fn on_money_withdrawn(
                &mut self,
                event: &MoneyWithdrawn,
                recorded: &eskema::RecordedEvent,
            ) -> Result<Vec<WithdrawalDispatch>, eskema::HandlerError> {
                todo!("react to {event:?} from {}", recorded.stream_id)
            }
        }
    "#]]
    .assert_eq(&dir.read("withdrawal.rs"));
}

#[test]
fn second_run_changes_nothing() {
    let dir = TempDir::new("twice");
    let domain = bank_domain();
    run(&domain, &dir);
    let before: Vec<Vec<u8>> = FILES
        .iter()
        .map(|f| std::fs::read(dir.file(f)).expect("read"))
        .collect();
    let report = run(&domain, &dir);
    let after: Vec<Vec<u8>> = FILES
        .iter()
        .map(|f| std::fs::read(dir.file(f)).expect("read"))
        .collect();
    assert_eq!(before, after);
    assert_eq!(touched(&report), 0, "{report:?}");
    let unchanged: Vec<PathBuf> = FILES.iter().map(|f| dir.file(f)).collect();
    assert_eq!(report.unchanged, unchanged);
}

#[test]
fn hand_written_bodies_survive_a_rerun_byte_for_byte() {
    let dir = TempDir::new("edited");
    let domain = bank_domain();
    run(&domain, &dir);
    let original = dir.read("bank_account.rs");
    let edited = original.replacen(
        "todo!(\"decide {command:?}\")",
        "// the first hand-written body\n        if self.balance != 0 {\n            return Err(BankAccountError::AccountAlreadyOpened);\n        }\n        Ok(vec![BankAccountOpened { account_number: command.account_number.clone() }.into()])",
        1,
    );
    assert_ne!(edited, original);
    dir.write("bank_account.rs", &edited);

    let report = run(&domain, &dir);
    assert_eq!(dir.read("bank_account.rs"), edited);
    assert!(report.unchanged.contains(&dir.file("bank_account.rs")));
    assert_eq!(touched(&report), 0, "{report:?}");
}

#[test]
fn a_new_command_and_event_add_exactly_two_methods() {
    let dir = TempDir::new("grow");
    let mut domain = bank_domain();
    run(&domain, &dir);
    // A user's edits, which must come through untouched.
    let edited = dir
        .read("bank_account.rs")
        .replace(
            "todo!(\"apply {event:?}\")",
            "self.balance += 1; // counted",
        )
        .replace("use crate::bank::*;", "use crate::bank::*; // the domain");
    dir.write("bank_account.rs", &edited);

    let account = &mut domain.contexts[1].aggregates[0];
    account
        .commands
        .push(command("CloseBankAccount", None, &["BankAccountClosed"]));
    account.events.push(event("BankAccountClosed"));
    let report = run(&domain, &dir);

    assert_eq!(
        report.updated,
        vec![(
            dir.file("bank_account.rs"),
            vec![
                "close_bank_account".to_string(),
                "apply_bank_account_closed".to_string()
            ]
        )]
    );
    assert_eq!(report.created, Vec::<PathBuf>::new());
    assert_eq!(report.unchanged.len(), FILES.len() - 1);

    let after = dir.read("bank_account.rs");
    let inserted = "
    fn close_bank_account(
        &self,
        command: &CloseBankAccount,
    ) -> Result<Vec<BankAccountClosed>, BankAccountError> {
        todo!(\"decide {command:?}\")
    }

    fn apply_bank_account_closed(&mut self, event: &BankAccountClosed) {
        todo!(\"apply {event:?}\")
    }
";
    // The file is the edited one with the two methods inserted before the impl's last line.
    let close = edited.rfind("}\n").expect("closing brace");
    let expected = format!("{}{inserted}{}", &edited[..close], &edited[close..]);
    assert_eq!(after, expected);
    assert_parses(&dir, "bank_account.rs");

    // And a third run finds nothing left to add.
    let report = run(&domain, &dir);
    assert_eq!(touched(&report), 0, "{report:?}");
}

#[test]
fn a_file_that_does_not_parse_is_reported_and_left_alone() {
    let dir = TempDir::new("broken");
    let domain = bank_domain();
    run(&domain, &dir);
    let broken = "use crate::bank::*;\n\nimpl BankAccountLogic for BankAccount {\n    fn open_bank_account(&self\n";
    dir.write("bank_account.rs", broken);
    std::fs::remove_file(dir.file("withdrawal.rs")).expect("remove");

    let report = run(&domain, &dir);
    assert_eq!(dir.read("bank_account.rs"), broken);
    assert_eq!(report.skipped.len(), 1, "{report:?}");
    let (path, why) = &report.skipped[0];
    assert_eq!(path, &dir.file("bank_account.rs"));
    assert!(why.contains("does not parse"), "{why}");
    // The rest of the run still happens.
    assert_eq!(report.created, vec![dir.file("withdrawal.rs")]);
}

#[test]
fn multi_byte_characters_before_the_insertion_point_do_not_shift_it() {
    let dir = TempDir::new("utf8");
    let domain = bank_domain();
    std::fs::create_dir_all(dir.path()).expect("mkdir");
    // Only one method written by hand; non-ASCII text on the lines before and on the line of
    // the closing brace (a char-vs-byte mix-up would split a character or miss the brace).
    let by_hand = "\u{feff}//! Kontoführung 🏦 für Ümlaut-Freunde.\nuse crate::bank::*;\n\nimpl BankAccountLogic for BankAccount {\n    // Grüße 👋🏽 — 日本語\n    fn open_bank_account(&self, command: &OpenBankAccount) -> Result<Vec<OpenBankAccountEmits>, BankAccountError> { let _ = command; Err(BankAccountError::Nope) } /* ü🎉 */ }\n// trailer ✓\n";
    dir.write("bank_account.rs", by_hand);

    let report = run(&domain, &dir);
    let after = dir.read("bank_account.rs");
    assert_eq!(
        report.updated,
        vec![(
            dir.file("bank_account.rs"),
            vec![
                "withdraw_money".to_string(),
                "apply_bank_account_opened".to_string(),
                "apply_money_withdrawn".to_string()
            ]
        )]
    );
    let brace = by_hand.find("/* ü🎉 */ }").expect("marker") + "/* ü🎉 */ ".len();
    assert!(after.starts_with(&by_hand[..brace]));
    assert!(after.ends_with(&by_hand[brace..]));
    let inserted = &after[brace..after.len() - (by_hand.len() - brace)];
    let expected = "

    fn withdraw_money(
        &self,
        command: &WithdrawMoney,
    ) -> Result<Vec<MoneyWithdrawn>, BankAccountError> {
        todo!(\"decide {command:?}\")
    }

    fn apply_bank_account_opened(&mut self, event: &BankAccountOpened) {
        todo!(\"apply {event:?}\")
    }

    fn apply_money_withdrawn(&mut self, event: &MoneyWithdrawn) {
        todo!(\"apply {event:?}\")
    }
";
    assert_eq!(inserted, expected);
    assert_parses(&dir, "bank_account.rs");
}

#[test]
fn crlf_files_get_crlf_insertions() {
    let dir = TempDir::new("crlf");
    let domain = bank_domain();
    std::fs::create_dir_all(dir.path()).expect("mkdir");
    let by_hand = "use crate::bank::*;\r\n\r\nimpl AccountBalancesHandler<eskema::MemoryTx> for AccountBalancesProjection {\r\n}\r\n\r\n#[derive(Default)]\r\npub struct AccountBalancesProjection;\r\n";
    dir.write("account_balances.rs", by_hand);
    run(&domain, &dir);
    let after = dir.read("account_balances.rs");
    assert!(after.starts_with(
        "use crate::bank::*;\r\n\r\nimpl AccountBalancesHandler<eskema::MemoryTx> for AccountBalancesProjection {\r\n    async fn on_bank_account_opened(\r\n"
    ));
    assert!(after.ends_with(
        "    }\r\n}\r\n\r\n#[derive(Default)]\r\npub struct AccountBalancesProjection;\r\n"
    ));
    assert_eq!(after.matches('\n').count(), after.matches("\r\n").count());
    assert_parses(&dir, "account_balances.rs");
}

#[test]
fn a_missing_impl_is_appended_with_full_paths_when_the_glob_import_is_gone() {
    let dir = TempDir::new("append");
    let domain = bank_domain();
    std::fs::create_dir_all(dir.path()).expect("mkdir");
    let by_hand = "// my notes\nuse crate::bank::MoneyWithdrawn;";
    dir.write("account_balances.rs", by_hand);
    let by_hand_process = "use crate::bank::*;\n";
    dir.write("withdrawal.rs", by_hand_process);
    let report = run(&domain, &dir);

    let after = dir.read("account_balances.rs");
    let appended = after.strip_prefix(by_hand).expect("prefix kept");
    expect![[r#"


        /// The read model `AccountBalances` keeps. It writes on the transaction that moves its
        /// checkpoint: `eskema::MemoryTx` in memory, `eskema::sqlx::PgConnection` on Postgres
        /// (implement `AccountBalancesHandler<_>` for the one the app runs on, or for both).
        #[derive(Debug, Default)]
        pub struct AccountBalancesProjection {}

        impl crate::bank::AccountBalancesHandler<eskema::MemoryTx> for AccountBalancesProjection {
            async fn on_bank_account_opened(
                &self,
                tx: &mut eskema::MemoryTx,
                event: &crate::bank::BankAccountOpened,
                recorded: &eskema::RecordedEvent,
            ) -> Result<(), eskema::HandlerError> {
                todo!("project {event:?} from {} on {tx:?}", recorded.stream_id)
            }

            async fn on_money_withdrawn(
                &self,
                tx: &mut eskema::MemoryTx,
                event: &crate::bank::MoneyWithdrawn,
                recorded: &eskema::RecordedEvent,
            ) -> Result<(), eskema::HandlerError> {
                todo!("project {event:?} from {} on {tx:?}", recorded.stream_id)
            }

            async fn reset(&self, tx: &mut eskema::MemoryTx) -> Result<(), eskema::HandlerError> {
                todo!("empty the read model on {tx:?}, for a rebuild")
            }
        }
    "#]]
    .assert_eq(appended);

    let after = dir.read("withdrawal.rs");
    assert!(after.starts_with("use crate::bank::*;\n\nimpl WithdrawalProcess for Withdrawal {\n"));
    assert!(after.contains("-> Result<Vec<WithdrawalDispatch>, eskema::HandlerError> {"));
    assert_parses(&dir, "account_balances.rs");
    assert_parses(&dir, "withdrawal.rs");
    let updated: Vec<&PathBuf> = report.updated.iter().map(|(p, _)| p).collect();
    assert_eq!(
        updated,
        vec![&dir.file("account_balances.rs"), &dir.file("withdrawal.rs")]
    );
}

#[test]
fn mod_rs_gains_only_the_missing_declarations() {
    let dir = TempDir::new("mods");
    let domain = bank_domain();
    std::fs::create_dir_all(dir.path()).expect("mkdir");
    let by_hand = "// hand-kept\nmod atm;\n#[cfg(test)]\nmod tests;\npub(crate) mod withdrawal;";
    dir.write("mod.rs", by_hand);
    let report = run(&domain, &dir);
    assert_eq!(
        dir.read("mod.rs"),
        format!("{by_hand}\npub mod account_balances;\npub mod bank_account;\n")
    );
    assert!(report.updated.contains(&(
        dir.file("mod.rs"),
        vec![
            "mod account_balances".to_string(),
            "mod bank_account".to_string()
        ]
    )));
}

#[test]
fn file_names_stay_unique_and_valid_across_contexts() {
    let dir = TempDir::new("names");
    let mut a = context("alpha");
    a.aggregates.push(aggregate(
        "Ledger",
        vec![command("Post", None, &["Posted"])],
        vec![event("Posted")],
    ));
    a.aggregates.push(aggregate(
        "Type",
        vec![command("Retype", None, &["Retyped"])],
        vec![event("Retyped")],
    ));
    a.aggregates.push(aggregate(
        "Mod",
        vec![command("Modify", None, &["Modified"])],
        vec![event("Modified")],
    ));
    let mut b = context("beta");
    b.aggregates.push(aggregate(
        "Ledger",
        vec![command("Post", None, &["Posted"])],
        vec![event("Posted")],
    ));
    b.handlers.push(Handler {
        name: "AlphaLedger".into(),
        doc: None,
        subscribes: vec![event_ref("alpha", "Ledger", "Posted")],
        kind: HandlerKind::Effect,
        consistency: Consistency::Eventual,
        start_from: StartFrom::Current,
        partitions: 4,
        on_failure: FailurePolicy::default(),
    });
    let domain = Domain {
        contexts: vec![a, b],
        type_attributes: Vec::new(),
    };
    let report = run(&domain, &dir);
    let names: Vec<String> = report
        .created
        .iter()
        .map(|p| p.file_name().expect("name").to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        [
            "alpha_ledger.rs",
            "type.rs",
            "alpha_mod.rs",
            "beta_ledger.rs",
            "beta_alpha_ledger.rs",
            "mod.rs"
        ]
    );
    let mods = dir.read("mod.rs");
    assert!(mods.contains("pub mod r#type;\n"), "{mods}");
    for name in &names {
        assert_parses(&dir, name);
    }
    assert!(
        dir.read("beta_alpha_ledger.rs")
            .contains("event: &crate::alpha::Posted,")
    );
}

#[test]
fn a_renamed_command_leaves_a_stale_method_that_is_named() {
    let dir = TempDir::new("stale");
    let mut domain = bank_domain();
    run(&domain, &dir);
    assert_eq!(
        run(&domain, &dir).stale,
        vec![],
        "nothing stale to begin with"
    );
    let before = dir.read("bank_account.rs");
    let line = before
        .lines()
        .position(|l| l.contains("fn withdraw_money("))
        .expect("withdraw_money")
        + 1;

    let account = &mut domain.contexts[1].aggregates[0];
    let withdraw = account
        .commands
        .iter_mut()
        .find(|c| c.name == "WithdrawMoney")
        .expect("WithdrawMoney");
    withdraw.name = "TakeMoney".to_string();
    let report = run(&domain, &dir);

    assert_eq!(
        report.updated,
        vec![(dir.file("bank_account.rs"), vec!["take_money".to_string()])]
    );
    assert_eq!(
        report.stale,
        vec![(
            dir.file("bank_account.rs"),
            "withdraw_money".to_string(),
            line
        )]
    );
    assert!(
        dir.read("bank_account.rs").contains("fn withdraw_money("),
        "scaffold never deletes code"
    );
}
