//! A hand-built checked model: schema-format.md's complete bank example, plus an `atm`
//! context that covers what the bank leaves out (every field type, every rule kind, every
//! upcast op, field defaults, a `Uuid` identity, a second handler).

use serde_json::json;

use crate::model::*;

fn f(name: &str, ty: TypeRef) -> Field {
    Field {
        name: name.into(),
        doc: None,
        ty,
        rules: Vec::new(),
        default: None,
        holds: Default::default(),
    }
}

fn fr(name: &str, ty: TypeRef, rules: Vec<Rule>) -> Field {
    Field {
        rules,
        ..f(name, ty)
    }
}

fn opt(t: TypeRef) -> TypeRef {
    TypeRef::Option(Box::new(t))
}

fn vec_of(t: TypeRef) -> TypeRef {
    TypeRef::Vec(Box::new(t))
}

fn named(context: &str, name: &str) -> TypeRef {
    TypeRef::Named {
        context: context.into(),
        name: name.into(),
    }
}

fn min(n: i64) -> Rule {
    Rule::Range {
        min: Some(n.into()),
        max: None,
    }
}

fn len(min: Option<u64>, max: Option<u64>) -> Rule {
    Rule::Length { min, max }
}

fn ev(context: &str, aggregate: &str, name: &str) -> EventRef {
    EventRef {
        context: context.into(),
        aggregate: aggregate.into(),
        name: name.into(),
        stream_prefix: String::new(),
        bytes: None,
    }
}

fn cmd(name: &str, identity: &str, fields: Vec<Field>, emits: &[&str]) -> Command {
    let identity_type = match fields.iter().find(|f| f.name == identity).map(|f| &f.ty) {
        Some(TypeRef::Uuid) => IdentityType::Uuid,
        _ => IdentityType::String,
    };
    Command {
        name: name.into(),
        doc: None,
        fields,
        identity_type,
        identity: identity.into(),
        emits: emits.iter().map(|s| s.to_string()).collect(),
    }
}

fn event(name: &str, version: u32, fields: Vec<Field>, upcasts: Vec<UpcastStep>) -> Event {
    Event {
        name: name.into(),
        doc: None,
        version,
        fields,
        upcasts,
        renamed_from: Vec::new(),
    }
}

pub fn bank() -> Context {
    Context {
        name: "bank".into(),
        file: "schemas/bank.yaml".into(),
        doc: Some("Retail bank accounts and ATM withdrawals.".into()),
        types: vec![
            TypeDef::Enum {
                name: "Currency".into(),
                doc: None,
                variants: vec!["EUR".into(), "USD".into(), "GBP".into()],
            },
            TypeDef::Struct {
                name: "Money".into(),
                doc: None,
                fields: vec![
                    fr("amount", TypeRef::I64, vec![min(0)]),
                    f("currency", named("bank", "Currency")),
                ],
            },
        ],
        aggregates: vec![
            Aggregate {
                state_hash: String::new(),
                name: "BankAccount".into(),
                doc: None,
                identity: "account_number".into(),
                identity_type: IdentityType::String,
                stream_prefix: "bank-account-".into(),
                snapshot_every: Some(100),
                state: vec![
                    f("account_number", TypeRef::String),
                    f("balance", TypeRef::I64),
                    f("pin", TypeRef::String),
                    f("opened", TypeRef::Bool),
                ],
                errors: vec![
                    ErrorDef {
                        name: "AccountAlreadyOpened".into(),
                        message: "the account is already open".into(),
                    },
                    ErrorDef {
                        name: "InsufficientFunds".into(),
                        message: "the balance does not cover the amount".into(),
                    },
                ],
                commands: vec![
                    Command {
                        doc: Some("Opens a new account with an initial deposit.".into()),
                        ..cmd(
                            "OpenBankAccount",
                            "account_number",
                            vec![
                                fr(
                                    "account_number",
                                    TypeRef::String,
                                    vec![Rule::Pattern("^ACC[0-9]{6}$".into())],
                                ),
                                fr("initial_balance", TypeRef::I64, vec![min(1)]),
                                fr(
                                    "pin",
                                    TypeRef::String,
                                    vec![len(Some(4), Some(4)), Rule::Pattern("^[0-9]+$".into())],
                                ),
                                fr("owner_email", opt(TypeRef::String), vec![Rule::Email]),
                            ],
                            &["BankAccountOpened"],
                        )
                    },
                    cmd(
                        "WithdrawMoney",
                        "account_number",
                        vec![
                            f("account_number", TypeRef::String),
                            f("withdrawal_id", TypeRef::Uuid),
                            fr(
                                "amount",
                                TypeRef::I64,
                                vec![Rule::Range {
                                    min: Some(1.into()),
                                    max: Some(1_000_000.into()),
                                }],
                            ),
                        ],
                        &["MoneyWithdrawn"],
                    ),
                ],
                events: vec![
                    event(
                        "BankAccountOpened",
                        2,
                        vec![
                            f("account_number", TypeRef::String),
                            f("initial_balance", TypeRef::I64),
                            f("currency", named("bank", "Currency")),
                        ],
                        vec![UpcastStep {
                            from: 1,
                            ops: vec![UpcastOp::Add {
                                field: "currency".into(),
                                value: json!("EUR"),
                            }],
                        }],
                    ),
                    Event {
                        renamed_from: vec!["CashWithdrawn".into()],
                        ..event(
                            "MoneyWithdrawn",
                            1,
                            vec![
                                f("account_number", TypeRef::String),
                                f("withdrawal_id", TypeRef::Uuid),
                                f("amount", TypeRef::I64),
                                f("balance", TypeRef::I64),
                            ],
                            vec![],
                        )
                    },
                ],
            },
            Aggregate {
                state_hash: String::new(),
                name: "User".into(),
                doc: None,
                identity: "user".into(),
                identity_type: IdentityType::String,
                stream_prefix: "User-".into(),
                snapshot_every: None,
                state: vec![
                    f("user", TypeRef::String),
                    f("password_hash", TypeRef::String),
                ],
                errors: vec![],
                commands: vec![cmd(
                    "RegisterUser",
                    "user",
                    vec![
                        fr("user", TypeRef::String, vec![Rule::Required]),
                        fr("password", TypeRef::String, vec![len(Some(8), None)]),
                    ],
                    &["UserRegistered"],
                )],
                events: vec![event(
                    "UserRegistered",
                    3,
                    vec![
                        f("user", TypeRef::String),
                        f("first_name", TypeRef::String),
                        f("password_hash", TypeRef::String),
                    ],
                    vec![
                        UpcastStep {
                            from: 1,
                            ops: vec![UpcastOp::Rename {
                                from: "name".into(),
                                to: "first_name".into(),
                            }],
                        },
                        UpcastStep {
                            from: 2,
                            ops: vec![
                                UpcastOp::Remove("password".into()),
                                UpcastOp::Add {
                                    field: "password_hash".into(),
                                    value: json!(""),
                                },
                            ],
                        },
                    ],
                )],
            },
        ],
        handlers: vec![Handler {
            name: "AccountBalances".into(),
            doc: None,
            subscribes: vec![
                ev("bank", "BankAccount", "BankAccountOpened"),
                ev("bank", "BankAccount", "MoneyWithdrawn"),
            ],
            kind: HandlerKind::Projection,
            consistency: Consistency::Strong,
            start_from: StartFrom::Origin,
            partitions: 1,
            on_failure: FailurePolicy::default(),
        }],
        process_managers: vec![ProcessManager {
            name: "Withdrawal".into(),
            doc: None,
            identity: "withdrawal_id".into(),
            identity_type: IdentityType::Uuid,
            starts_on: vec![ev("atm", "Atm", "WithdrawalInitiated")],
            continues_on: vec![ev("atm", "Atm", "AuthorizationConfirmed")],
            stops_on: vec![ev("bank", "BankAccount", "MoneyWithdrawn")],
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
            state: vec![
                f("account_number", TypeRef::String),
                f("amount", TypeRef::I64),
            ],
            on_failure: FailurePolicy::default(),
        }],
    }
}

pub fn atm() -> Context {
    let location = TypeDef::Struct {
        name: "Location".into(),
        doc: Some("Where a cash machine stands.".into()),
        fields: vec![
            fr("city", TypeRef::String, vec![Rule::Required]),
            fr(
                "latitude",
                TypeRef::F64,
                vec![Rule::Range {
                    min: serde_json::Number::from_f64(-90.0),
                    max: serde_json::Number::from_f64(90.0),
                }],
            ),
            fr(
                "longitude",
                TypeRef::F64,
                vec![Rule::Range {
                    min: None,
                    max: serde_json::Number::from_f64(180.0),
                }],
            ),
            fr(
                "country",
                TypeRef::String,
                vec![Rule::OneOf(vec![json!("DE"), json!("FR"), json!("NL")])],
            ),
            f("fee", named("bank", "Money")),
        ],
    };
    let initiate = Command {
        doc: Some("A customer asks a cash machine for money.".into()),
        ..cmd(
            "InitiateWithdrawal",
            "withdrawal_id",
            vec![
                f("withdrawal_id", TypeRef::Uuid),
                fr(
                    "account_number",
                    TypeRef::String,
                    vec![Rule::Pattern("^ACC[0-9]{6}$".into())],
                ),
                fr("amount", TypeRef::I64, vec![min(1)]),
                Field {
                    default: Some(DefaultValue::Json(json!("EUR"))),
                    holds: Default::default(),
                    ..fr(
                        "currency",
                        named("bank", "Currency"),
                        vec![Rule::OneOf(vec![json!("EUR"), json!("USD")])],
                    )
                },
                f("location", opt(named("atm", "Location"))),
                fr(
                    "notes",
                    vec_of(named("atm", "Denomination")),
                    vec![len(Some(1), Some(10))],
                ),
                fr(
                    "tags",
                    vec_of(TypeRef::String),
                    vec![len(None, Some(3)), Rule::Pattern("^[a-z]+$".into())],
                ),
                fr(
                    "fee",
                    TypeRef::Decimal,
                    vec![Rule::Range {
                        min: Some(0.into()),
                        max: serde_json::Number::from_f64(2.5),
                    }],
                ),
                fr(
                    "retries",
                    TypeRef::U32,
                    vec![Rule::Range {
                        min: None,
                        max: Some(3.into()),
                    }],
                ),
                fr(
                    "priority",
                    TypeRef::I32,
                    vec![Rule::OneOf(vec![json!(1), json!(2), json!(3)])],
                ),
                fr("sequence", TypeRef::U64, vec![min(0)]),
                f("requested_at", TypeRef::DateTime),
                f("terminal", TypeRef::Json),
                f("limits", TypeRef::Map(Box::new(TypeRef::U64))),
                fr(
                    "receipt",
                    TypeRef::Bool,
                    vec![Rule::OneOf(vec![json!(true)])],
                ),
                fr(
                    "notify",
                    opt(TypeRef::String),
                    vec![Rule::Required, Rule::Email],
                ),
                f("history", vec_of(named("bank", "Money"))),
            ],
            &["WithdrawalInitiated"],
        )
    };
    let confirm = cmd(
        "ConfirmAuthorization",
        "withdrawal_id",
        vec![
            f("withdrawal_id", TypeRef::Uuid),
            fr(
                "authorization_code",
                opt(TypeRef::String),
                vec![
                    len(Some(6), Some(6)),
                    Rule::Custom("validators::authorization_code".into()),
                ],
            ),
        ],
        &["AuthorizationConfirmed"],
    );
    Context {
        name: "atm".into(),
        file: "schemas/atm.yaml".into(),
        doc: Some("Cash machines: withdrawals authorized against bank accounts.".into()),
        types: vec![
            location,
            TypeDef::Enum {
                name: "Denomination".into(),
                doc: None,
                variants: vec!["Note10".into(), "Note20".into(), "Note50".into()],
            },
        ],
        aggregates: vec![Aggregate {
            state_hash: String::new(),
            name: "Atm".into(),
            doc: Some("One withdrawal at a cash machine.".into()),
            identity: "withdrawal_id".into(),
            identity_type: IdentityType::Uuid,
            stream_prefix: "atm-withdrawal-".into(),
            snapshot_every: None,
            state: vec![
                f("withdrawal_id", TypeRef::Uuid),
                f("account_number", TypeRef::String),
                f("amount", TypeRef::I64),
                f("authorized", TypeRef::Bool),
                f("notes", opt(vec_of(named("atm", "Denomination")))),
                f("balances", TypeRef::Map(Box::new(named("bank", "Money")))),
            ],
            errors: vec![
                ErrorDef {
                    name: "NotInitiated".into(),
                    message: "no withdrawal was initiated".into(),
                },
                ErrorDef {
                    name: "AlreadyAuthorized".into(),
                    message: "the withdrawal is already authorized".into(),
                },
            ],
            commands: vec![initiate, confirm],
            events: vec![
                Event {
                    doc: Some("A cash machine started a withdrawal.".into()),
                    ..event(
                        "WithdrawalInitiated",
                        2,
                        vec![
                            f("withdrawal_id", TypeRef::Uuid),
                            f("account_number", TypeRef::String),
                            f("amount", TypeRef::I64),
                        ],
                        vec![UpcastStep {
                            from: 1,
                            ops: vec![
                                UpcastOp::Rename {
                                    from: "account".into(),
                                    to: "account_number".into(),
                                },
                                UpcastOp::Remove("machine".into()),
                                UpcastOp::Convert("upcasts::amount_to_cents".into()),
                            ],
                        }],
                    )
                },
                Event {
                    renamed_from: vec!["WithdrawalAuthorized".into()],
                    ..event(
                        "AuthorizationConfirmed",
                        1,
                        vec![
                            f("withdrawal_id", TypeRef::Uuid),
                            Field {
                                default: Some(DefaultValue::String("bank".into())),
                                holds: Default::default(),
                                ..f("approved_by", TypeRef::String)
                            },
                            Field {
                                default: Some(DefaultValue::U32(1)),
                                holds: Default::default(),
                                ..f("attempts", TypeRef::U32)
                            },
                        ],
                        vec![],
                    )
                },
            ],
        }],
        handlers: vec![Handler {
            name: "AtmJournal".into(),
            doc: Some("Writes every withdrawal to the machine's journal.".into()),
            subscribes: vec![
                ev("atm", "Atm", "WithdrawalInitiated"),
                ev("bank", "BankAccount", "MoneyWithdrawn"),
            ],
            kind: HandlerKind::Effect,
            consistency: Consistency::Eventual,
            start_from: StartFrom::Current,
            partitions: 4,
            on_failure: FailurePolicy::default(),
        }],
        process_managers: vec![],
    }
}

pub fn domain() -> Domain {
    let mut domain = Domain {
        contexts: vec![atm(), bank()],
        type_attributes: Vec::new(),
    };
    domain.resolve();
    domain
}
