//! The complete example of schema-format.md (`good/bank.yaml`, beside `good/atm.yaml`)
//! checks clean, and the model holds what the YAML says.

use std::path::PathBuf;

use eskema_codegen::__private::model::*;
use eskema_codegen::__private::{Checked, check_paths};
use serde_json::json;

fn checked() -> Checked {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/good");
    match check_paths(&[dir]) {
        Ok(c) => c,
        Err(report) => panic!("the documented example must check clean:\n{report}"),
    }
}

fn context<'a>(c: &'a Checked, name: &str) -> &'a Context {
    c.domain
        .contexts
        .iter()
        .find(|x| x.name == name)
        .unwrap_or_else(|| panic!("no context {name}"))
}

fn aggregate<'a>(c: &'a Context, name: &str) -> &'a Aggregate {
    c.aggregates
        .iter()
        .find(|a| a.name == name)
        .unwrap_or_else(|| panic!("no aggregate {name}"))
}

#[test]
fn the_documented_example_checks_clean_without_warnings() {
    let c = checked();
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    let names: Vec<&str> = c.domain.contexts.iter().map(|x| x.name.as_str()).collect();
    assert_eq!(names, ["atm", "bank"], "contexts are sorted by name");
    let files: Vec<String> = c
        .files
        .iter()
        .filter_map(|f| f.file_name())
        .map(|f| f.to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        files,
        ["atm.yaml", "bank.yaml"],
        "a directory is read in sorted order"
    );
    let bank = context(&c, "bank");
    assert_eq!(
        bank.doc.as_deref(),
        Some("Retail bank accounts and ATM withdrawals.")
    );
    assert!(bank.file.ends_with("bank.yaml"));
}

#[test]
fn types_resolve_with_their_rules() {
    let c = checked();
    let bank = context(&c, "bank");
    assert_eq!(
        bank.types[0],
        TypeDef::Enum {
            name: "Currency".into(),
            doc: None,
            variants: vec!["EUR".into(), "USD".into(), "GBP".into()]
        }
    );
    let TypeDef::Struct { name, fields, .. } = &bank.types[1] else {
        panic!("Money is a struct")
    };
    assert_eq!(name, "Money");
    assert_eq!(fields[0].ty, TypeRef::I64);
    assert_eq!(
        fields[0].rules,
        vec![Rule::Range {
            min: Some(0.into()),
            max: None
        }]
    );
    assert_eq!(
        fields[1].ty,
        TypeRef::Named {
            context: "bank".into(),
            name: "Currency".into()
        }
    );
}

#[test]
fn aggregates_commands_and_rules() {
    let c = checked();
    let bank = context(&c, "bank");
    let acc = aggregate(bank, "BankAccount");
    assert_eq!(acc.identity, "account_number");
    assert_eq!(acc.identity_type, IdentityType::String);
    assert_eq!(acc.stream_prefix, "bank-account-");
    assert_eq!(acc.snapshot_every, Some(100));
    assert_eq!(
        acc.state
            .iter()
            .map(|f| f.name.as_str())
            .collect::<Vec<_>>(),
        ["account_number", "balance", "pin", "opened"]
    );
    assert!(acc.state.iter().all(|f| f.rules.is_empty()));
    assert_eq!(
        acc.errors[1],
        ErrorDef {
            name: "InsufficientFunds".into(),
            message: "the balance does not cover the amount".into()
        }
    );

    let open = &acc.commands[0];
    assert_eq!(open.name, "OpenBankAccount");
    assert_eq!(
        open.doc.as_deref(),
        Some("Opens a new account with an initial deposit.")
    );
    assert_eq!(open.identity, "account_number");
    assert_eq!(open.emits, ["BankAccountOpened"]);
    assert_eq!(
        open.fields[0].rules,
        vec![Rule::Pattern("^ACC[0-9]{6}$".into())]
    );
    assert_eq!(
        open.fields[2].rules,
        vec![
            Rule::Length {
                min: Some(4),
                max: Some(4)
            },
            Rule::Pattern("^[0-9]+$".into())
        ]
    );
    assert_eq!(
        open.fields[3].ty,
        TypeRef::Option(Box::new(TypeRef::String))
    );
    assert_eq!(open.fields[3].rules, vec![Rule::Email]);
    let withdraw = &acc.commands[1];
    assert_eq!(withdraw.fields[1].ty, TypeRef::Uuid);
    assert_eq!(
        withdraw.fields[2].rules,
        vec![Rule::Range {
            min: Some(1.into()),
            max: Some(1_000_000.into())
        }]
    );

    let user = aggregate(bank, "User");
    assert_eq!(
        user.stream_prefix, "User-",
        "default prefix is `<Aggregate>-`"
    );
    assert_eq!(user.snapshot_every, None);
    assert_eq!(user.commands[0].fields[0].rules, vec![Rule::Required]);
    assert_eq!(
        user.commands[0].fields[1].rules,
        vec![Rule::Length {
            min: Some(8),
            max: None
        }]
    );

    let atm = aggregate(context(&c, "atm"), "Atm");
    assert_eq!(atm.identity_type, IdentityType::Uuid);
}

#[test]
fn events_versions_and_upcasts() {
    let c = checked();
    let bank = context(&c, "bank");
    let acc = aggregate(bank, "BankAccount");
    let opened = &acc.events[0];
    assert_eq!(
        (opened.name.as_str(), opened.version),
        ("BankAccountOpened", 2)
    );
    assert_eq!(
        opened.upcasts,
        vec![UpcastStep {
            from: 1,
            ops: vec![UpcastOp::Add {
                field: "currency".into(),
                value: json!("EUR")
            }]
        }]
    );
    let withdrawn = &acc.events[1];
    assert_eq!(withdrawn.version, 1);
    assert!(withdrawn.upcasts.is_empty());
    assert_eq!(withdrawn.renamed_from, ["CashWithdrawn"]);

    let registered = &aggregate(bank, "User").events[0];
    assert_eq!(registered.version, 3);
    assert_eq!(
        registered.upcasts,
        vec![
            UpcastStep {
                from: 1,
                ops: vec![UpcastOp::Rename {
                    from: "name".into(),
                    to: "first_name".into()
                }]
            },
            UpcastStep {
                from: 2,
                ops: vec![
                    UpcastOp::Remove("password".into()),
                    UpcastOp::Add {
                        field: "password_hash".into(),
                        value: json!("")
                    },
                ],
            },
        ]
    );
}

#[test]
fn handlers_and_process_managers_resolve_across_contexts() {
    let c = checked();
    let bank = context(&c, "bank");
    let h = &bank.handlers[0];
    assert_eq!(h.name, "AccountBalances");
    assert_eq!(h.kind, HandlerKind::Projection);
    assert_eq!(h.consistency, Consistency::Strong);
    assert_eq!(h.start_from, StartFrom::Origin);
    assert_eq!(h.partitions, 1, "default: one partition");
    assert_eq!(
        h.on_failure,
        FailurePolicy {
            attempts: 5,
            backoff_ms: vec![100, 1_000],
            then: Exhausted::Park
        }
    );
    assert_eq!(
        h.subscribes,
        vec![
            EventRef {
                context: "bank".into(),
                aggregate: "BankAccount".into(),
                name: "BankAccountOpened".into(),
                stream_prefix: "bank-account-".into(),
                bytes: Some(40),
            },
            EventRef {
                context: "bank".into(),
                aggregate: "BankAccount".into(),
                name: "MoneyWithdrawn".into(),
                stream_prefix: "bank-account-".into(),
                bytes: Some(56),
            },
        ]
    );
    let pm = &bank.process_managers[0];
    assert_eq!(pm.identity, "withdrawal_id");
    assert_eq!(
        pm.on_failure,
        FailurePolicy {
            attempts: 3,
            backoff_ms: vec![500],
            then: Exhausted::Park
        },
        "a single duration is a list of one"
    );
    assert_eq!(
        pm.starts_on,
        vec![EventRef {
            context: "atm".into(),
            aggregate: "Atm".into(),
            name: "WithdrawalInitiated".into(),
            stream_prefix: "Atm-".into(),
            bytes: Some(48),
        }]
    );
    assert_eq!(
        pm.continues_on,
        vec![EventRef {
            context: "atm".into(),
            aggregate: "Atm".into(),
            name: "AuthorizationConfirmed".into(),
            stream_prefix: "Atm-".into(),
            bytes: Some(16),
        }]
    );
    assert_eq!(
        pm.stops_on,
        vec![EventRef {
            context: "bank".into(),
            aggregate: "BankAccount".into(),
            name: "MoneyWithdrawn".into(),
            stream_prefix: "bank-account-".into(),
            bytes: Some(56),
        }]
    );
    assert_eq!(
        pm.dispatches,
        vec![
            CommandRef {
                context: "bank".into(),
                aggregate: "BankAccount".into(),
                name: "WithdrawMoney".into(),
                bytes: Some(48),
            },
            CommandRef {
                context: "atm".into(),
                aggregate: "Atm".into(),
                name: "ConfirmAuthorization".into(),
                bytes: Some(16),
            },
        ]
    );
    assert_eq!(
        pm.state
            .iter()
            .map(|f| (f.name.as_str(), f.ty.clone()))
            .collect::<Vec<_>>(),
        [
            ("account_number", TypeRef::String),
            ("amount", TypeRef::I64)
        ]
    );
}

#[test]
fn field_defaults_and_cross_context_types_reach_the_model() {
    let yaml = r#"
types:
  Limits:
    fields:
      daily: { type: u32, default: 500 }
      card: atm.Card
      tags: { type: "Vec<String>", default: [a, b] }
"#;
    let atm = "types:\n  Card:\n    fields: { number: String }\n";
    let c = eskema_codegen::__private::check_sources(&[
        (PathBuf::from("limits.yaml"), yaml.to_string()),
        (PathBuf::from("atm.yaml"), atm.to_string()),
    ])
    .map_err(|r| r.to_string())
    .expect("clean");
    let limits = context(&c, "limits");
    let TypeDef::Struct { fields, .. } = &limits.types[0] else {
        panic!("struct")
    };
    assert_eq!(fields[0].default, Some(DefaultValue::U32(500)));
    assert_eq!(
        fields[1].ty,
        TypeRef::Named {
            context: "atm".into(),
            name: "Card".into()
        }
    );
    assert_eq!(
        fields[2].default,
        Some(DefaultValue::Json(json!(["a", "b"])))
    );
}

#[test]
fn handler_kind_partitions_and_failure_policy() {
    let yaml = r#"
aggregates:
  Order:
    identity: order_id
    commands:
      PlaceOrder:
        fields: { order_id: String }
        emits: [OrderPlaced]
    events:
      OrderPlaced:
        fields: { order_id: String }
handlers:
  Defaults:
    subscribes: [OrderPlaced]
  Mailer:
    kind: effect
    subscribes: [OrderPlaced]
    partitions: 256
    on_failure: { then: skip }
  Totals:
    kind: projection
    subscribes: [OrderPlaced]
    partitions: 8
    on_failure:
      attempts: 1
      backoff: []
  Slow:
    subscribes: [OrderPlaced]
    on_failure: { attempts: 1000, backoff: [0ms, 250ms, 2s, 1m, 60m], then: stop }
process_managers:
  Fulfilment:
    identity: order_id
    starts_on: [OrderPlaced]
"#;
    let c =
        eskema_codegen::__private::check_sources(&[(PathBuf::from("shop.yaml"), yaml.to_string())])
            .map_err(|r| r.to_string())
            .expect("clean");
    let shop = context(&c, "shop");
    let h = |name: &str| {
        shop.handlers
            .iter()
            .find(|h| h.name == name)
            .unwrap_or_else(|| panic!("no handler {name}"))
    };
    let defaults = h("Defaults");
    assert_eq!(defaults.kind, HandlerKind::Effect);
    assert_eq!(defaults.partitions, 1);
    assert_eq!(defaults.on_failure, FailurePolicy::default());
    assert_eq!(
        FailurePolicy::default(),
        FailurePolicy {
            attempts: 3,
            backoff_ms: vec![100, 1_000],
            then: Exhausted::Stop
        }
    );

    let mailer = h("Mailer");
    assert_eq!(mailer.kind, HandlerKind::Effect);
    assert_eq!(mailer.partitions, 256);
    assert_eq!(
        mailer.on_failure,
        FailurePolicy {
            then: Exhausted::Skip,
            ..FailurePolicy::default()
        },
        "missing keys take their defaults one by one"
    );

    let totals = h("Totals");
    assert_eq!(totals.kind, HandlerKind::Projection);
    assert_eq!(totals.partitions, 8);
    assert_eq!(
        totals.on_failure,
        FailurePolicy {
            attempts: 1,
            backoff_ms: vec![],
            then: Exhausted::Stop
        }
    );

    assert_eq!(
        h("Slow").on_failure,
        FailurePolicy {
            attempts: 1000,
            backoff_ms: vec![0, 250, 2_000, 60_000, 3_600_000],
            then: Exhausted::Stop
        }
    );
    assert_eq!(
        shop.process_managers[0].on_failure,
        FailurePolicy::default()
    );
}
