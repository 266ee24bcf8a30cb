//! Schema mistakes that are not "YAML in, report out" (those are the cases under
//! `tests/bad_schemas/`, run by `bad_schemas.rs`): the checker never panics, reports every
//! error at once and in order, reads files, and accepts what is valid.

use std::path::PathBuf;

use eskema_codegen::__private::{check_paths, check_sources};
use eskema_codegen::{Diagnostic, Severity};

fn sources(files: &[(&str, &str)]) -> Vec<(PathBuf, String)> {
    files
        .iter()
        .map(|(f, t)| (PathBuf::from(f), t.to_string()))
        .collect()
}

fn diagnostics(files: &[(&str, &str)]) -> Vec<Diagnostic> {
    match check_sources(&sources(files)) {
        Ok(checked) => panic!(
            "expected errors, got a clean check (warnings: {:?})",
            checked.warnings
        ),
        Err(report) => report.diagnostics,
    }
}

#[test]
fn a_file_with_several_mistakes_reports_all_of_them() {
    let yaml = r#"context: shop
types:
  Money:
    fields: { amount: Strng }
aggregates:
  Order:
    identity: order_id
    commands:
      PlaceOrder:
        fields:
          order_id: i64
          type: String
          note: { type: String, validate: [{ min: 1 }] }
        emit: [OrderPlaced]
    events:
      OrderPlaced:
        version: 2
        fields: { order_id: i64 }
handlers:
  Totals:
    subscribes: [OrderPlacd]
"#;
    let all = diagnostics(&[("shop.yaml", yaml)]);
    let at: Vec<(usize, usize)> = all
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| (d.line, d.column))
        .collect();
    for expected in [
        (4, 23),
        (9, 7),
        (11, 21),
        (12, 11),
        (13, 44),
        (14, 9),
        (17, 18),
        (21, 18),
    ] {
        assert!(
            at.contains(&expected),
            "missing error at {expected:?}; got {all:#?}"
        );
    }
    // Sorted by position.
    let mut sorted = at.clone();
    sorted.sort();
    assert_eq!(at, sorted);
}

#[test]
fn truncating_a_valid_schema_at_any_line_never_panics() {
    let bank = include_str!("good/bank.yaml");
    let atm = include_str!("good/atm.yaml");
    let lines: Vec<&str> = bank.split_inclusive('\n').collect();
    for n in 0..=lines.len() {
        let cut: String = lines[..n].concat();
        // Also cut mid-line, which leaves unterminated quotes and flow collections.
        let mid: String = cut
            .chars()
            .take(cut.chars().count().saturating_sub(7))
            .collect();
        for text in [cut, mid] {
            let result = check_sources(&sources(&[("bank.yaml", &text), ("atm.yaml", atm)]));
            if let Err(report) = result {
                assert!(report.has_errors());
                for d in &report.diagnostics {
                    assert!(d.line >= 1 && d.column >= 1, "bad position in {d}");
                }
            }
        }
    }
}

#[test]
fn garbage_input_never_panics() {
    let inputs = [
        "",
        "~",
        "[]",
        "42",
        "- a\n- b",
        "{",
        "a: [",
        "aggregates: 5",
        "aggregates:\n  A: [1, 2]",
        "types:\n  T:\n    fields: { x: \"Vec<<>>\" }",
        "types:\n  T:\n    fields: { x: \"Map<String>\" }",
        "aggregates:\n  A:\n    identity: x\n    events:\n      E:\n        version: 99999999999\n",
        "aggregates:\n  A:\n    identity: x\n    events:\n      E:\n        version: 4294967295\n",
        "aggregates:\n  A:\n    identity: x\n    commands:\n      C:\n        fields: { x: { type: i64, validate: [{ min: 1e400 }] } }\n        emits: [E]\n",
        "types:\n  T:\n    fields: { x: { type: i64, default: .nan } }",
        "a: &x [*x]",
        "? [a]\n: b",
        "aggregates:\n  \"\":\n    identity: \"\"",
    ];
    for text in inputs {
        let _ = check_sources(&sources(&[("x.yaml", text)]));
    }
}

#[test]
fn an_unreadable_file_is_an_error_at_line_1_column_1() {
    let missing = PathBuf::from("/nonexistent/eskema/schemas/bank.yaml");
    let report =
        check_paths(std::slice::from_ref(&missing)).expect_err("a missing file is an error");
    let d = &report.diagnostics[0];
    assert_eq!((d.file.clone(), d.line, d.column), (missing, 1, 1));
    assert!(d.message.starts_with("cannot read file"), "{d}");
}

#[test]
fn recursion_through_vec_or_map_is_allowed() {
    let yaml = "types:\n  Category:\n    fields:\n      children: Vec<Category>\n      by_name: \"Map<String, Category>\"\n      maybe: \"Option<Vec<Category>>\"\n";
    let checked = check_sources(&sources(&[("catalog.yaml", yaml)]));
    assert!(
        checked.is_ok(),
        "{}",
        checked.err().map(|r| r.to_string()).unwrap_or_default()
    );
}

#[test]
fn an_event_nothing_emits_is_a_warning_not_an_error() {
    let yaml = r#"aggregates:
  Order:
    identity: order_id
    commands:
      PlaceOrder:
        fields: { order_id: String }
        emits: [OrderPlaced]
    events:
      OrderPlaced:
        fields: { order_id: String }
      OrderForgotten:
        fields: { order_id: String }
"#;
    let checked = check_sources(&sources(&[("shop.yaml", yaml)]))
        .map_err(|r| r.to_string())
        .expect("warnings only");
    assert_eq!(checked.warnings.len(), 1);
    let w = &checked.warnings[0];
    assert_eq!((w.line, w.column, w.severity), (11, 7, Severity::Warning));
    assert!(
        w.message
            .contains("`OrderForgotten` is emitted by no command"),
        "{w}"
    );
}

#[test]
fn deeply_nested_or_huge_input_never_panics() {
    let deep = format!("types: {}{}", "[".repeat(20_000), "]".repeat(20_000));
    let deep_map = format!("doc: {}x{}", "{a: ".repeat(5_000), "}".repeat(5_000));
    let huge_from = "aggregates:\n  A:\n    identity: x\n    events:\n      E:\n        version: 2\n        upcast:\n          - from: 170141183460469231731687303715884105727\n            add: { x: 1 }\n";
    for text in [deep, deep_map, huge_from.to_string()] {
        let report = check_sources(&sources(&[("x.yaml", &text)])).expect_err("all are errors");
        assert!(report.has_errors());
    }
    let report = check_sources(&sources(&[(
        "x.yaml",
        &format!("doc: {}x{}", "[".repeat(100), "]".repeat(100)),
    )]))
    .expect_err("too deep");
    assert!(
        report.diagnostics[0]
            .message
            .contains("nested more than 24 levels"),
        "{report}"
    );
}

#[test]
fn default_stream_prefixes_of_different_names_do_not_overlap() {
    // `User-` and `UserProfile-`: neither starts the other.
    let a = "aggregates:\n  User:\n    identity: id\n    state: { id: String }\n    commands:\n      Add:\n        fields: { id: String }\n        emits: [Added]\n    events:\n      Added:\n        fields: { id: String }\n  UserProfile:\n    identity: id\n    state: { id: String }\n    commands:\n      Make:\n        fields: { id: String }\n        emits: [Made]\n    events:\n      Made:\n        fields: { id: String }\n";
    assert!(check_sources(&sources(&[("schemas/a.yaml", a)])).is_ok());
}

/// Renames run before adds in a step and `add` fills only a missing field, so renaming into
/// a field the same step adds means "the old value, else the default": valid. Renaming into
/// it twice is still an error: the case `upcast_rename_into_a_field_the_same_step_adds_twice`.
#[test]
fn upcast_rename_into_a_field_the_same_step_adds() {
    let yaml = r#"context: crm
aggregates:
  Customer:
    identity: customer_id
    commands:
      Register:
        fields: { customer_id: String, full_name: String }
        emits: [Registered]
    events:
      Registered:
        version: 2
        upcast:
          - from: 1
            rename: { name: full_name }
            add: { full_name: "" }
        fields: { customer_id: String, full_name: String }
"#;
    let checked = check_sources(&sources(&[("crm.yaml", yaml)]))
        .unwrap_or_else(|r| panic!("expected a clean check, got {:?}", r.diagnostics));
    let event = &checked.domain.contexts[0].aggregates[0].events[0];
    assert_eq!(event.upcasts.len(), 1);
    assert_eq!(event.upcasts[0].ops.len(), 2, "{:?}", event.upcasts[0].ops);
}
