//! Schema mistakes: each is reported at its exact line and column, with a clear message and
//! (where one exists) a hint; and the checker never panics and reports every error at once.
//!
//! The cases below are plain YAML; the position each asserts is that of the offending
//! token.

use std::path::PathBuf;

use eskema_codegen::check::{check_paths, check_sources};
use eskema_codegen::diag::{Diagnostic, Severity};

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

/// Asserts an error at exactly `file:line:col` whose message contains `message` and whose
/// hint contains `hint`.
#[track_caller]
fn expect(
    files: &[(&str, &str)],
    file: &str,
    (line, column): (usize, usize),
    message: &str,
    hint: Option<&str>,
) {
    let all = diagnostics(files);
    let found = all.iter().find(|d| {
        d.severity == Severity::Error
            && d.file == std::path::Path::new(file)
            && d.line == line
            && d.column == column
            && d.message.contains(message)
    });
    let Some(d) = found else {
        let listing: Vec<String> = all.iter().map(|d| format!("{d}")).collect();
        panic!(
            "no error at {file}:{line}:{column} containing {message:?}; got:\n{}",
            listing.join("\n")
        );
    };
    if let Some(hint) = hint {
        let got = d.hint.as_deref().unwrap_or("");
        assert!(got.contains(hint), "hint of {d} should contain {hint:?}");
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
fn errors_render_with_file_line_column_and_hint() {
    let all = diagnostics(&[(
        "shop.yaml",
        "aggregates:\n  Order:\n    identty: order_id\n",
    )]);
    let text = all
        .iter()
        .map(|d| d.to_string())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        text.contains("shop.yaml:3:5: error: unknown key `identty` in aggregate `Order`\n  = hint: did you mean `identity`?"),
        "{text}"
    );
}

#[test]
fn unknown_key_emit() {
    expect(
        &[(
            "shop.yaml",
            r#"context: shop
aggregates:
  Order:
    identity: order_id
    commands:
      PlaceOrder:
        fields:
          order_id: String
          quantity: i64
        emit: [OrderPlaced]
    events:
      OrderPlaced:
        fields:
          order_id: String
          quantity: i64
"#,
        )],
        "shop.yaml",
        (10, 9),
        r#"unknown key `emit` in command `PlaceOrder`"#,
        Some(r#"did you mean `emits`?"#),
    );
}

#[test]
fn unknown_top_level_key() {
    expect(
        &[(
            "shop.yaml",
            r#"context: shop
aggregate:
  Order:
    identity: order_id
    commands:
      PlaceOrder:
        fields:
          order_id: String
          quantity: i64
        emits: [OrderPlaced]
    events:
      OrderPlaced:
        fields:
          order_id: String
          quantity: i64
"#,
        )],
        "shop.yaml",
        (2, 1),
        r#"unknown key `aggregate` in a schema file"#,
        Some(r#"did you mean `aggregates`?"#),
    );
}

#[test]
fn unknown_key_in_field_long_form() {
    expect(
        &[(
            "shop.yaml",
            r#"context: shop
aggregates:
  Order:
    identity: order_id
    commands:
      PlaceOrder:
        fields:
          order_id: String
          quantity: i64
          note: { type: String, valdate: [required] }
        emits: [OrderPlaced]
    events:
      OrderPlaced:
        fields:
          order_id: String
          quantity: i64
"#,
        )],
        "shop.yaml",
        (10, 33),
        r#"unknown key `valdate` in field `note`"#,
        Some(r#"did you mean `validate`?"#),
    );
}

#[test]
fn misspelled_builtin_type() {
    expect(
        &[(
            "shop.yaml",
            r#"context: shop
aggregates:
  Order:
    identity: order_id
    commands:
      PlaceOrder:
        fields:
          order_id: String
          quantity: i64
          note: Strng
        emits: [OrderPlaced]
    events:
      OrderPlaced:
        fields:
          order_id: String
          quantity: i64
"#,
        )],
        "shop.yaml",
        (10, 17),
        r#"unknown type `Strng`; a field type is one of String, bool"#,
        Some(r#"did you mean `String`?"#),
    );
}

#[test]
fn type_from_another_language() {
    expect(
        &[(
            "shop.yaml",
            r#"context: shop
aggregates:
  Order:
    identity: order_id
    commands:
      PlaceOrder:
        fields:
          order_id: String
          quantity: i64
          count: int
        emits: [OrderPlaced]
    events:
      OrderPlaced:
        fields:
          order_id: String
          quantity: i64
"#,
        )],
        "shop.yaml",
        (10, 18),
        r#"unknown type `int`"#,
        Some(r#"did you mean `i64`?"#),
    );
}

#[test]
fn map_key_not_string() {
    expect(
        &[(
            "shop.yaml",
            r#"context: shop
aggregates:
  Order:
    identity: order_id
    commands:
      PlaceOrder:
        fields:
          order_id: String
          quantity: i64
          totals: Map<i64, String>
        emits: [OrderPlaced]
    events:
      OrderPlaced:
        fields:
          order_id: String
          quantity: i64
"#,
        )],
        "shop.yaml",
        (10, 19),
        r#"a Map key must be String, found `i64`"#,
        Some(r#"Map<String, T>"#),
    );
}

#[test]
fn option_with_two_parameters() {
    expect(
        &[(
            "shop.yaml",
            r#"context: shop
aggregates:
  Order:
    identity: order_id
    commands:
      PlaceOrder:
        fields:
          order_id: String
          quantity: i64
          note: Option<String, i64>
        emits: [OrderPlaced]
    events:
      OrderPlaced:
        fields:
          order_id: String
          quantity: i64
"#,
        )],
        "shop.yaml",
        (10, 17),
        r#"`Option` takes exactly one type parameter"#,
        None,
    );
}

#[test]
fn unreadable_type_text() {
    expect(
        &[(
            "shop.yaml",
            r#"context: shop
aggregates:
  Order:
    identity: order_id
    commands:
      PlaceOrder:
        fields:
          order_id: String
          quantity: i64
          note: "Vec<String"
        emits: [OrderPlaced]
    events:
      OrderPlaced:
        fields:
          order_id: String
          quantity: i64
"#,
        )],
        "shop.yaml",
        (10, 17),
        r#"cannot read type `Vec<String`"#,
        None,
    );
}

#[test]
fn unknown_declared_type_with_hint() {
    expect(
        &[(
            "shop.yaml",
            r#"types:
  Money:
    fields: { amount: i64 }
aggregates:
  Order:
    identity: order_id
    commands:
      PlaceOrder:
        fields:
          order_id: String
          quantity: i64
          price: Mony
        emits: [OrderPlaced]
    events:
      OrderPlaced:
        fields:
          order_id: String
          quantity: i64
"#,
        )],
        "shop.yaml",
        (12, 18),
        r#"unknown type `Mony`"#,
        Some(r#"did you mean `Money`?"#),
    );
}

#[test]
fn event_used_as_field_type() {
    expect(
        &[(
            "shop.yaml",
            r#"context: shop
aggregates:
  Order:
    identity: order_id
    commands:
      PlaceOrder:
        fields:
          order_id: String
          quantity: i64
          previous: OrderPlaced
        emits: [OrderPlaced]
    events:
      OrderPlaced:
        fields:
          order_id: String
          quantity: i64
"#,
        )],
        "shop.yaml",
        (10, 21),
        r#"`OrderPlaced` is an event, not a type"#,
        None,
    );
}

#[test]
fn unknown_context_in_type() {
    expect(
        &[
            (
                "atm.yaml",
                r#"types:
  Card:
    fields: { number: String }
"#,
            ),
            (
                "shop.yaml",
                r#"context: shop
aggregates:
  Order:
    identity: order_id
    commands:
      PlaceOrder:
        fields:
          order_id: String
          quantity: i64
          card: atmm.Card
        emits: [OrderPlaced]
    events:
      OrderPlaced:
        fields:
          order_id: String
          quantity: i64
"#,
            ),
        ],
        "shop.yaml",
        (10, 17),
        r#"unknown context `atmm` in type `atmm.Card`"#,
        Some(r#"did you mean `atm`?"#),
    );
}

#[test]
fn unknown_type_in_other_context() {
    expect(
        &[
            (
                "atm.yaml",
                r#"types:
  Card:
    fields: { number: String }
"#,
            ),
            (
                "shop.yaml",
                r#"context: shop
aggregates:
  Order:
    identity: order_id
    commands:
      PlaceOrder:
        fields:
          order_id: String
          quantity: i64
          card: atm.Crad
        emits: [OrderPlaced]
    events:
      OrderPlaced:
        fields:
          order_id: String
          quantity: i64
"#,
            ),
        ],
        "shop.yaml",
        (10, 17),
        r#"context `atm` declares no type `Crad`"#,
        Some(r#"did you mean `atm.Card`?"#),
    );
}

#[test]
fn recursive_type_through_option() {
    expect(
        &[(
            "shop.yaml",
            r#"types:
  Category:
    fields:
      name: String
      parent: Option<Category>
"#,
        )],
        "shop.yaml",
        (5, 15),
        r#"type `Category` contains itself without indirection: Category.parent -> Category"#,
        Some(r#"`Vec<..>`"#),
    );
}

#[test]
fn mutually_recursive_types() {
    expect(
        &[(
            "shop.yaml",
            r#"types:
  A:
    fields: { b: B }
  B:
    fields: { a: A }
"#,
        )],
        "shop.yaml",
        (3, 18),
        r#"type `A` contains itself without indirection: A.b -> B.a -> A"#,
        None,
    );
}

#[test]
fn min_on_string() {
    expect(
        &[(
            "shop.yaml",
            r#"context: shop
aggregates:
  Order:
    identity: order_id
    commands:
      PlaceOrder:
        fields:
          order_id: String
          quantity: i64
          note: { type: String, validate: [{ min: 1 }] }
        emits: [OrderPlaced]
    events:
      OrderPlaced:
        fields:
          order_id: String
          quantity: i64
"#,
        )],
        "shop.yaml",
        (10, 44),
        r#"`min` cannot apply to field `note` of type `String`"#,
        Some(r#"length"#),
    );
}

#[test]
fn length_on_integer() {
    expect(
        &[(
            "shop.yaml",
            r#"context: shop
aggregates:
  Order:
    identity: order_id
    commands:
      PlaceOrder:
        fields:
          order_id: String
          quantity: i64
          count: { type: i64, validate: [{ length: 3 }] }
        emits: [OrderPlaced]
    events:
      OrderPlaced:
        fields:
          order_id: String
          quantity: i64
"#,
        )],
        "shop.yaml",
        (10, 42),
        r#"`length` cannot apply to field `count` of type `i64`"#,
        None,
    );
}

#[test]
fn email_on_integer() {
    expect(
        &[(
            "shop.yaml",
            r#"context: shop
aggregates:
  Order:
    identity: order_id
    commands:
      PlaceOrder:
        fields:
          order_id: String
          quantity: i64
          count: { type: i64, validate: [email] }
        emits: [OrderPlaced]
    events:
      OrderPlaced:
        fields:
          order_id: String
          quantity: i64
"#,
        )],
        "shop.yaml",
        (10, 42),
        r#"`email` cannot apply to field `count` of type `i64`"#,
        Some(r#"String fields"#),
    );
}

#[test]
fn pattern_on_bool() {
    expect(
        &[(
            "shop.yaml",
            r#"context: shop
aggregates:
  Order:
    identity: order_id
    commands:
      PlaceOrder:
        fields:
          order_id: String
          quantity: i64
          gift: { type: bool, validate: [{ pattern: "^t" }] }
        emits: [OrderPlaced]
    events:
      OrderPlaced:
        fields:
          order_id: String
          quantity: i64
"#,
        )],
        "shop.yaml",
        (10, 42),
        r#"`pattern` cannot apply to field `gift` of type `bool`"#,
        None,
    );
}

#[test]
fn rule_on_option_applies_to_inner() {
    expect(
        &[(
            "shop.yaml",
            r#"context: shop
aggregates:
  Order:
    identity: order_id
    commands:
      PlaceOrder:
        fields:
          order_id: String
          quantity: i64
          note: { type: "Option<bool>", validate: [email] }
        emits: [OrderPlaced]
    events:
      OrderPlaced:
        fields:
          order_id: String
          quantity: i64
"#,
        )],
        "shop.yaml",
        (10, 52),
        r#"`email` cannot apply to field `note` of type `Option<bool>` (the rule applies to its `bool` value)"#,
        None,
    );
}

#[test]
fn required_on_plain_integer() {
    expect(
        &[(
            "shop.yaml",
            r#"context: shop
aggregates:
  Order:
    identity: order_id
    commands:
      PlaceOrder:
        fields:
          order_id: String
          quantity: i64
          count: { type: i64, validate: [required] }
        emits: [OrderPlaced]
    events:
      OrderPlaced:
        fields:
          order_id: String
          quantity: i64
"#,
        )],
        "shop.yaml",
        (10, 42),
        r#"`required` cannot apply to field `count` of type `i64`: it always has a value"#,
        Some(r#"Option<i64>"#),
    );
}

#[test]
fn regex_that_does_not_compile() {
    expect(
        &[(
            "shop.yaml",
            r#"context: shop
aggregates:
  Order:
    identity: order_id
    commands:
      PlaceOrder:
        fields:
          order_id: String
          quantity: i64
          code: { type: String, validate: [{ pattern: "^[0-9{6}$" }] }
        emits: [OrderPlaced]
    events:
      OrderPlaced:
        fields:
          order_id: String
          quantity: i64
"#,
        )],
        "shop.yaml",
        (10, 55),
        r#"`pattern` is not a valid regex: unclosed character class"#,
        None,
    );
}

#[test]
fn min_greater_than_max() {
    expect(
        &[(
            "shop.yaml",
            r#"context: shop
aggregates:
  Order:
    identity: order_id
    commands:
      PlaceOrder:
        fields:
          order_id: String
          quantity: i64
          count: { type: i64, validate: [{ min: 10, max: 5 }] }
        emits: [OrderPlaced]
    events:
      OrderPlaced:
        fields:
          order_id: String
          quantity: i64
"#,
        )],
        "shop.yaml",
        (10, 49),
        r#"`min` (10) is greater than `max` (5)"#,
        None,
    );
}

#[test]
fn bound_out_of_range_for_unsigned() {
    expect(
        &[(
            "shop.yaml",
            r#"context: shop
aggregates:
  Order:
    identity: order_id
    commands:
      PlaceOrder:
        fields:
          order_id: String
          quantity: i64
          count: { type: u32, validate: [{ min: -1 }] }
        emits: [OrderPlaced]
    events:
      OrderPlaced:
        fields:
          order_id: String
          quantity: i64
"#,
        )],
        "shop.yaml",
        (10, 49),
        r#"`min: -1` is out of range for field `count` of type `u32`"#,
        None,
    );
}

#[test]
fn one_of_value_of_wrong_type() {
    expect(
        &[(
            "shop.yaml",
            r#"context: shop
aggregates:
  Order:
    identity: order_id
    commands:
      PlaceOrder:
        fields:
          order_id: String
          quantity: i64
          size: { type: i64, validate: [{ one_of: [1, large] }] }
        emits: [OrderPlaced]
    events:
      OrderPlaced:
        fields:
          order_id: String
          quantity: i64
"#,
        )],
        "shop.yaml",
        (10, 55),
        r#"`one_of` value does not fit field `size`"#,
        None,
    );
}

#[test]
fn negative_length() {
    expect(
        &[(
            "shop.yaml",
            r#"context: shop
aggregates:
  Order:
    identity: order_id
    commands:
      PlaceOrder:
        fields:
          order_id: String
          quantity: i64
          code: { type: String, validate: [{ length: -4 }] }
        emits: [OrderPlaced]
    events:
      OrderPlaced:
        fields:
          order_id: String
          quantity: i64
"#,
        )],
        "shop.yaml",
        (10, 54),
        r#"`length` must be a whole number >= 0, found `-4`"#,
        None,
    );
}

#[test]
fn unknown_rule_name() {
    expect(
        &[(
            "shop.yaml",
            r#"context: shop
aggregates:
  Order:
    identity: order_id
    commands:
      PlaceOrder:
        fields:
          order_id: String
          quantity: i64
          code: { type: String, validate: [requird] }
        emits: [OrderPlaced]
    events:
      OrderPlaced:
        fields:
          order_id: String
          quantity: i64
"#,
        )],
        "shop.yaml",
        (10, 44),
        r#"unknown validation rule `requird`"#,
        Some(r#"did you mean `required`?"#),
    );
}

#[test]
fn two_rules_in_one_item() {
    expect(
        &[(
            "shop.yaml",
            r#"context: shop
aggregates:
  Order:
    identity: order_id
    commands:
      PlaceOrder:
        fields:
          order_id: String
          quantity: i64
          code: { type: String, validate: [{ length: 4, pattern: "^[0-9]+$" }] }
        emits: [OrderPlaced]
    events:
      OrderPlaced:
        fields:
          order_id: String
          quantity: i64
"#,
        )],
        "shop.yaml",
        (10, 44),
        r#"one list item may hold only one rule"#,
        Some(r#"own item"#),
    );
}

#[test]
fn rules_on_event_fields() {
    expect(
        &[(
            "shop.yaml",
            r#"context: shop
aggregates:
  Order:
    identity: order_id
    commands:
      PlaceOrder:
        fields:
          order_id: String
          quantity: i64
        emits: [OrderPlaced]
    events:
      OrderPlaced:
        fields:
          order_id: String
          quantity: i64
          note: { type: String, validate: [required] }
"#,
        )],
        "shop.yaml",
        (16, 33),
        r#"validation rules are not allowed on fields of event `OrderPlaced`"#,
        Some(r#"facts"#),
    );
}

#[test]
fn rules_on_state_fields() {
    expect(
        &[(
            "shop.yaml",
            r#"context: shop
aggregates:
  Order:
    identity: order_id
    state:
      total: { type: i64, validate: [{ min: 0 }] }
    commands:
      PlaceOrder:
        fields:
          order_id: String
          quantity: i64
        emits: [OrderPlaced]
    events:
      OrderPlaced:
        fields:
          order_id: String
          quantity: i64
"#,
        )],
        "shop.yaml",
        (6, 27),
        r#"validation rules are not allowed on fields of the state of `Order`"#,
        None,
    );
}

#[test]
fn command_without_identity_field() {
    expect(
        &[(
            "shop.yaml",
            r#"context: shop
aggregates:
  Order:
    identity: order_id
    commands:
      PlaceOrder:
        fields:
          quantity: i64
        emits: [OrderPlaced]
    events:
      OrderPlaced:
        fields:
          order_id: String
          quantity: i64
"#,
        )],
        "shop.yaml",
        (6, 7),
        r#"command `PlaceOrder` has no field `order_id`, the identity of aggregate `Order`"#,
        Some(r#"own `identity:`"#),
    );
}

#[test]
fn wrong_identity_type() {
    expect(
        &[(
            "shop.yaml",
            r#"context: shop
aggregates:
  Order:
    identity: order_id
    commands:
      PlaceOrder:
        fields:
          order_id: i64
          quantity: i64
        emits: [OrderPlaced]
    events:
      OrderPlaced:
        fields:
          order_id: String
          quantity: i64
"#,
        )],
        "shop.yaml",
        (8, 21),
        r#"wrong identity type: `order_id` of command `PlaceOrder` is `i64`"#,
        Some(r#"`String` or `Uuid`"#),
    );
}

#[test]
fn command_emits_event_of_other_aggregate() {
    expect(
        &[(
            "shop.yaml",
            r#"context: shop
aggregates:
  Order:
    identity: order_id
    commands:
      PlaceOrder:
        fields:
          order_id: String
          quantity: i64
        emits: [OrderPlaced]
    events:
      OrderPlaced:
        fields:
          order_id: String
          quantity: i64
  Invoice:
    identity: invoice_id
    commands:
      SendInvoice:
        fields: { invoice_id: String }
        emits: [InvoiceSent, OrderPlaced]
    events:
      InvoiceSent:
        fields: { invoice_id: String }
"#,
        )],
        "shop.yaml",
        (21, 30),
        r#"`OrderPlaced` is an event of aggregate `Order`; command `SendInvoice` may only emit events of its own aggregate `Invoice`"#,
        None,
    );
}

#[test]
fn command_emits_unknown_event() {
    expect(
        &[(
            "shop.yaml",
            r#"context: shop
aggregates:
  Order:
    identity: order_id
    commands:
      PlaceOrder:
        fields:
          order_id: String
          quantity: i64
        emits: [OrderPlacd]
    events:
      OrderPlaced:
        fields:
          order_id: String
          quantity: i64
"#,
        )],
        "shop.yaml",
        (10, 17),
        r#"unknown event `OrderPlacd` in `emits` of command `PlaceOrder`"#,
        Some(r#"did you mean `OrderPlaced`?"#),
    );
}

#[test]
fn empty_emits() {
    expect(
        &[(
            "shop.yaml",
            r#"context: shop
aggregates:
  Order:
    identity: order_id
    commands:
      PlaceOrder:
        fields:
          order_id: String
          quantity: i64
        emits: []
    events:
      OrderPlaced:
        fields:
          order_id: String
          quantity: i64
"#,
        )],
        "shop.yaml",
        (10, 16),
        r#"command `PlaceOrder` emits no events"#,
        None,
    );
}

#[test]
fn missing_emits() {
    expect(
        &[(
            "shop.yaml",
            r#"context: shop
aggregates:
  Order:
    identity: order_id
    commands:
      PlaceOrder:
        fields:
          order_id: String
          quantity: i64
    events:
      OrderPlaced:
        fields:
          order_id: String
          quantity: i64
"#,
        )],
        "shop.yaml",
        (6, 7),
        r#"command `PlaceOrder` has no `emits`"#,
        Some(r#"emits: [OrderPlaced]"#),
    );
}

/// The hint names the event no other command emits, not merely the first one.
#[test]
fn missing_emits_suggests_the_unclaimed_event() {
    expect(
        &[(
            "shop.yaml",
            r#"context: shop
aggregates:
  Order:
    identity: order_id
    commands:
      PlaceOrder:
        fields: { order_id: String }
        emits: [OrderPlaced]
      CancelOrder:
        fields: { order_id: String }
    events:
      OrderPlaced:
        fields: { order_id: String }
      OrderCancelled:
        fields: { order_id: String }
"#,
        )],
        "shop.yaml",
        (9, 7),
        r#"command `CancelOrder` has no `emits`"#,
        Some(r#"emits: [OrderCancelled]"#),
    );
}

#[test]
fn snapshot_every_zero() {
    expect(
        &[(
            "shop.yaml",
            r#"context: shop
aggregates:
  Order:
    identity: order_id
    snapshot_every: 0
    commands:
      PlaceOrder:
        fields:
          order_id: String
          quantity: i64
        emits: [OrderPlaced]
    events:
      OrderPlaced:
        fields:
          order_id: String
          quantity: i64
"#,
        )],
        "shop.yaml",
        (5, 21),
        r#"`snapshot_every` must be a whole number >= 1, found `0`"#,
        None,
    );
}

#[test]
fn version_zero() {
    expect(
        &[(
            "shop.yaml",
            r#"context: shop
aggregates:
  Order:
    identity: order_id
    commands:
      PlaceOrder:
        fields:
          order_id: String
          quantity: i64
        emits: [OrderPlaced]
    events:
      OrderPlaced:
        version: 0
        fields:
          order_id: String
          quantity: i64
"#,
        )],
        "shop.yaml",
        (13, 18),
        r#"`version` must be a whole number >= 1"#,
        None,
    );
}

#[test]
fn missing_upcast_step() {
    expect(
        &[(
            "shop.yaml",
            r#"context: shop
aggregates:
  Order:
    identity: order_id
    commands:
      PlaceOrder:
        fields:
          order_id: String
          quantity: i64
        emits: [OrderPlaced]
    events:
      OrderPlaced:
        version: 3
        upcast:
          - from: 1
            add: { quantity: 1 }
        fields:
          order_id: String
          quantity: i64
"#,
        )],
        "shop.yaml",
        (13, 18),
        r#"event `OrderPlaced` is at version 3 but has no upcast step `from: 2`"#,
        Some(r#"from: 2"#),
    );
}

#[test]
fn duplicate_upcast_step() {
    expect(
        &[(
            "shop.yaml",
            r#"context: shop
aggregates:
  Order:
    identity: order_id
    commands:
      PlaceOrder:
        fields:
          order_id: String
          quantity: i64
        emits: [OrderPlaced]
    events:
      OrderPlaced:
        version: 3
        upcast:
          - from: 1
            add: { quantity: 1 }
          - from: 1
            remove: [note]
        fields:
          order_id: String
          quantity: i64
"#,
        )],
        "shop.yaml",
        (17, 19),
        r#"a second step `from: 1`"#,
        Some(r#"merge"#),
    );
}

#[test]
fn misordered_upcast_steps() {
    expect(
        &[(
            "shop.yaml",
            r#"context: shop
aggregates:
  Order:
    identity: order_id
    commands:
      PlaceOrder:
        fields:
          order_id: String
          quantity: i64
        emits: [OrderPlaced]
    events:
      OrderPlaced:
        version: 3
        upcast:
          - from: 2
            add: { quantity: 1 }
          - from: 1
            remove: [note]
        fields:
          order_id: String
          quantity: i64
"#,
        )],
        "shop.yaml",
        (17, 19),
        r#"step `from: 1` comes after step `from: 2`"#,
        Some(r#"oldest first"#),
    );
}

#[test]
fn upcast_step_beyond_version() {
    expect(
        &[(
            "shop.yaml",
            r#"context: shop
aggregates:
  Order:
    identity: order_id
    commands:
      PlaceOrder:
        fields:
          order_id: String
          quantity: i64
        emits: [OrderPlaced]
    events:
      OrderPlaced:
        version: 2
        upcast:
          - from: 1
            add: { quantity: 1 }
          - from: 2
            remove: [note]
        fields:
          order_id: String
          quantity: i64
"#,
        )],
        "shop.yaml",
        (17, 19),
        r#"step `from: 2` upgrades version 2 to 3, but event `OrderPlaced` is at version 2"#,
        Some(r#"raise the event's `version:` to 3"#),
    );
}

#[test]
fn upcast_default_of_wrong_type() {
    expect(
        &[(
            "shop.yaml",
            r#"context: shop
aggregates:
  Order:
    identity: order_id
    commands:
      PlaceOrder:
        fields:
          order_id: String
          quantity: i64
        emits: [OrderPlaced]
    events:
      OrderPlaced:
        version: 2
        upcast:
          - from: 1
            add: { quantity: "many" }
        fields:
          order_id: String
          quantity: i64
"#,
        )],
        "shop.yaml",
        (16, 30),
        r#"the value added for `quantity` does not fit its type `i64`"#,
        None,
    );
}

#[test]
fn upcast_adds_field_that_is_not_current() {
    expect(
        &[(
            "shop.yaml",
            r#"context: shop
aggregates:
  Order:
    identity: order_id
    commands:
      PlaceOrder:
        fields:
          order_id: String
          quantity: i64
        emits: [OrderPlaced]
    events:
      OrderPlaced:
        version: 2
        upcast:
          - from: 1
            add: { quantiti: 1 }
        fields:
          order_id: String
          quantity: i64
"#,
        )],
        "shop.yaml",
        (16, 20),
        r#"step `from: 1` adds `quantiti`, which is not a field of `OrderPlaced`"#,
        Some(r#"did you mean `quantity`?"#),
    );
}

#[test]
fn upcast_rename_target_not_current() {
    expect(
        &[(
            "shop.yaml",
            r#"context: shop
aggregates:
  Order:
    identity: order_id
    commands:
      PlaceOrder:
        fields:
          order_id: String
          quantity: i64
        emits: [OrderPlaced]
    events:
      OrderPlaced:
        version: 2
        upcast:
          - from: 1
            rename: { qty: amount }
        fields:
          order_id: String
          quantity: i64
"#,
        )],
        "shop.yaml",
        (16, 28),
        r#"step `from: 1` renames `qty` to `amount`, which is not a field of `OrderPlaced`"#,
        None,
    );
}

#[test]
fn upcast_removes_current_field() {
    expect(
        &[(
            "shop.yaml",
            r#"context: shop
aggregates:
  Order:
    identity: order_id
    commands:
      PlaceOrder:
        fields:
          order_id: String
          quantity: i64
        emits: [OrderPlaced]
    events:
      OrderPlaced:
        version: 2
        upcast:
          - from: 1
            remove: [quantity]
        fields:
          order_id: String
          quantity: i64
"#,
        )],
        "shop.yaml",
        (16, 22),
        r#"step `from: 1` removes `quantity`, but version 2 still has it"#,
        Some(r#"also `add` it"#),
    );
}

#[test]
fn upcast_later_step_removes_what_earlier_adds_is_fine_but_bad_type_is_not() {
    expect(
        &[(
            "shop.yaml",
            r#"context: shop
aggregates:
  Order:
    identity: order_id
    commands:
      PlaceOrder:
        fields:
          order_id: String
          quantity: i64
        emits: [OrderPlaced]
    events:
      OrderPlaced:
        version: 3
        upcast:
          - from: 1
            rename: { qty: quantity }
          - from: 2
            add: { quantity: 1.5 }
            remove: [quantity]
        fields:
          order_id: String
          quantity: i64
"#,
        )],
        "shop.yaml",
        (18, 30),
        r#"the value added for `quantity` does not fit its type `i64`"#,
        None,
    );
}

#[test]
fn invalid_convert_path() {
    expect(
        &[(
            "shop.yaml",
            r#"context: shop
aggregates:
  Order:
    identity: order_id
    commands:
      PlaceOrder:
        fields:
          order_id: String
          quantity: i64
        emits: [OrderPlaced]
    events:
      OrderPlaced:
        version: 2
        upcast:
          - from: 1
            convert: "not a path!"
        fields:
          order_id: String
          quantity: i64
"#,
        )],
        "shop.yaml",
        (16, 22),
        r#"`convert` must be a Rust path to a function"#,
        None,
    );
}

#[test]
fn renamed_from_clashes_with_event() {
    expect(
        &[(
            "shop.yaml",
            r#"context: shop
aggregates:
  Order:
    identity: order_id
    commands:
      PlaceOrder:
        fields:
          order_id: String
          quantity: i64
        emits: [OrderPlaced]
    events:
      OrderCancelled:
        renamed_from: [OrderPlaced]
        fields: { order_id: String }
      OrderPlaced:
        fields:
          order_id: String
          quantity: i64
"#,
        )],
        "shop.yaml",
        (13, 24),
        r#"`renamed_from: OrderPlaced` clashes with event `OrderPlaced` of aggregate `Order`"#,
        None,
    );
}

#[test]
fn rust_keyword_field() {
    expect(
        &[(
            "shop.yaml",
            r#"context: shop
aggregates:
  Order:
    identity: order_id
    commands:
      PlaceOrder:
        fields:
          order_id: String
          quantity: i64
          type: String
        emits: [OrderPlaced]
    events:
      OrderPlaced:
        fields:
          order_id: String
          quantity: i64
"#,
        )],
        "shop.yaml",
        (10, 11),
        r#"field name `type` is a Rust keyword"#,
        None,
    );
}

#[test]
fn rust_keyword_type_name() {
    expect(
        &[(
            "shop.yaml",
            r#"types:
  Self:
    fields: { a: i64 }
"#,
        )],
        "shop.yaml",
        (2, 3),
        r#"type name `Self` is a Rust keyword"#,
        None,
    );
}

#[test]
fn prelude_type_name() {
    expect(
        &[(
            "shop.yaml",
            r#"types:
  Result:
    fields: { a: i64 }
"#,
        )],
        "shop.yaml",
        (2, 3),
        r#"type name `Result` is already used by Rust or the generated code"#,
        None,
    );
}

#[test]
fn command_and_event_share_a_name() {
    expect(
        &[(
            "shop.yaml",
            r#"context: shop
aggregates:
  Order:
    identity: order_id
    commands:
      PlaceOrder:
        fields:
          order_id: String
          quantity: i64
        emits: [PlaceOrder]
    events:
      PlaceOrder:
        fields:
          order_id: String
          quantity: i64
"#,
        )],
        "shop.yaml",
        (12, 7),
        r#"`PlaceOrder` is already declared as a command at line 6, column 7"#,
        Some(r#"one namespace"#),
    );
}

#[test]
fn type_shadows_aggregate() {
    expect(
        &[(
            "shop.yaml",
            r#"context: shop
types:
  Order:
    enum: [Open, Closed]
aggregates:
  Order:
    identity: order_id
    commands:
      PlaceOrder:
        fields:
          order_id: String
          quantity: i64
        emits: [OrderPlaced]
    events:
      OrderPlaced:
        fields:
          order_id: String
          quantity: i64
"#,
        )],
        "shop.yaml",
        (6, 3),
        r#"`Order` is already declared as a type"#,
        None,
    );
}

#[test]
fn name_equals_derived_name() {
    expect(
        &[(
            "shop.yaml",
            r#"context: shop
types:
  OrderCommand:
    enum: [A]
aggregates:
  Order:
    identity: order_id
    commands:
      PlaceOrder:
        fields:
          order_id: String
          quantity: i64
        emits: [OrderPlaced]
    events:
      OrderPlaced:
        fields:
          order_id: String
          quantity: i64
"#,
        )],
        "shop.yaml",
        (3, 3),
        r#"type `OrderCommand` clashes with the item generated for aggregate `Order`"#,
        None,
    );
}

#[test]
fn reserved_context_item_name() {
    expect(
        &[(
            "shop.yaml",
            r#"context: shop
types:
  Router:
    enum: [A]
aggregates:
  Order:
    identity: order_id
    commands:
      PlaceOrder:
        fields:
          order_id: String
          quantity: i64
        emits: [OrderPlaced]
    events:
      OrderPlaced:
        fields:
          order_id: String
          quantity: i64
"#,
        )],
        "shop.yaml",
        (3, 3),
        r#"type `Router` clashes with the item generated for every generated context module"#,
        None,
    );
}

#[test]
fn executor_method_is_keyword() {
    expect(
        &[(
            "shop.yaml",
            r#"context: shop
aggregates:
  Order:
    identity: order_id
    commands:
      Match:
        fields:
          order_id: String
          quantity: i64
        emits: [OrderPlaced]
    events:
      OrderPlaced:
        fields:
          order_id: String
          quantity: i64
"#,
        )],
        "shop.yaml",
        (6, 7),
        r#"command `Match` would get the executor method `match`, which is a Rust keyword"#,
        None,
    );
}

#[test]
fn aggregate_not_upper_camel() {
    expect(
        &[(
            "shop.yaml",
            r#"context: shop
aggregates:
  order_book:
    identity: order_id
    commands:
      PlaceOrder:
        fields:
          order_id: String
          quantity: i64
        emits: [OrderPlaced]
    events:
      OrderPlaced:
        fields:
          order_id: String
          quantity: i64
"#,
        )],
        "shop.yaml",
        (3, 3),
        r#"aggregate name `order_book` must be UpperCamelCase"#,
        Some(r#"write `OrderBook`"#),
    );
}

#[test]
fn field_not_snake_case() {
    expect(
        &[(
            "shop.yaml",
            r#"context: shop
aggregates:
  Order:
    identity: order_id
    commands:
      PlaceOrder:
        fields:
          order_id: String
          quantity: i64
          giftWrap: bool
        emits: [OrderPlaced]
    events:
      OrderPlaced:
        fields:
          order_id: String
          quantity: i64
"#,
        )],
        "shop.yaml",
        (10, 11),
        r#"field name `giftWrap` must be snake_case"#,
        Some(r#"write `gift_wrap`"#),
    );
}

#[test]
fn context_not_snake_case() {
    expect(
        &[(
            "shop.yaml",
            r#"context: Shop
aggregates:
  Order:
    identity: order_id
    commands:
      PlaceOrder:
        fields:
          order_id: String
          quantity: i64
        emits: [OrderPlaced]
    events:
      OrderPlaced:
        fields:
          order_id: String
          quantity: i64
"#,
        )],
        "shop.yaml",
        (1, 10),
        r#"context name `Shop` must be snake_case"#,
        Some(r#"write `shop`"#),
    );
}

#[test]
fn duplicate_context_across_files() {
    expect(
        &[
            (
                "a.yaml",
                r#"context: shop
aggregates:
  Order:
    identity: order_id
    commands:
      PlaceOrder:
        fields:
          order_id: String
          quantity: i64
        emits: [OrderPlaced]
    events:
      OrderPlaced:
        fields:
          order_id: String
          quantity: i64
"#,
            ),
            (
                "shop.yaml",
                r#"context: shop
aggregates:
  Order:
    identity: order_id
    commands:
      PlaceOrder:
        fields:
          order_id: String
          quantity: i64
        emits: [OrderPlaced]
    events:
      OrderPlaced:
        fields:
          order_id: String
          quantity: i64
"#,
            ),
        ],
        "shop.yaml",
        (1, 10),
        r#"context `shop` is already declared by a.yaml"#,
        Some(r#"context:"#),
    );
}

#[test]
fn file_stem_is_not_a_context_name() {
    expect(
        &[(
            "Shop-Orders.yaml",
            r#"types:
  A:
    enum: [X]
"#,
        )],
        "Shop-Orders.yaml",
        (1, 1),
        r#"context name `Shop-Orders` must be snake_case"#,
        Some(r#"add `context: shop_orders`"#),
    );
}

#[test]
fn yaml_syntax_error() {
    expect(
        &[(
            "shop.yaml",
            r#"aggregates:
  Order:
    identity: order_id
    commands: [a, b
    events: {}
"#,
        )],
        "shop.yaml",
        (5, 11),
        r#"invalid YAML"#,
        None,
    );
}

#[test]
fn unclosed_quote() {
    expect(
        &[(
            "shop.yaml",
            r#"context: "shop
aggregates: {}
"#,
        )],
        "shop.yaml",
        (1, 10),
        r#"invalid YAML: unclosed quote"#,
        None,
    );
}

#[test]
fn duplicate_key() {
    expect(
        &[(
            "shop.yaml",
            r#"context: shop
aggregates:
  Order:
    identity: order_id
    commands:
      PlaceOrder:
        fields:
          order_id: String
          quantity: i64
          quantity: i32
        emits: [OrderPlaced]
    events:
      OrderPlaced:
        fields:
          order_id: String
          quantity: i64
"#,
        )],
        "shop.yaml",
        (10, 11),
        r#"duplicate key `quantity`"#,
        Some(r#"line 9, column 11"#),
    );
}

#[test]
fn two_yaml_documents() {
    expect(
        &[(
            "shop.yaml",
            r#"context: shop
---
types: {}
"#,
        )],
        "shop.yaml",
        (3, 1),
        r#"exactly one YAML document"#,
        None,
    );
}

#[test]
fn field_default_of_wrong_type() {
    expect(
        &[(
            "shop.yaml",
            r#"context: shop
aggregates:
  Order:
    identity: order_id
    commands:
      PlaceOrder:
        fields:
          order_id: String
          quantity: i64
          gift: { type: bool, default: "yes" }
        emits: [OrderPlaced]
    events:
      OrderPlaced:
        fields:
          order_id: String
          quantity: i64
"#,
        )],
        "shop.yaml",
        (10, 40),
        r#"the default of field `gift` does not fit its type: `bool` expects true or false"#,
        None,
    );
}

#[test]
fn enum_default_not_a_variant() {
    expect(
        &[(
            "shop.yaml",
            r#"context: shop
types:
  Size:
    enum: [Small, Large]
aggregates:
  Order:
    identity: order_id
    commands:
      PlaceOrder:
        fields:
          order_id: String
          quantity: i64
          size: { type: Size, default: Huge }
        emits: [OrderPlaced]
    events:
      OrderPlaced:
        fields:
          order_id: String
          quantity: i64
"#,
        )],
        "shop.yaml",
        (13, 40),
        r#"`Size` expects one of Small, Large"#,
        None,
    );
}

#[test]
fn handler_subscribes_unknown_event() {
    expect(
        &[(
            "shop.yaml",
            r#"context: shop
aggregates:
  Order:
    identity: order_id
    commands:
      PlaceOrder:
        fields:
          order_id: String
          quantity: i64
        emits: [OrderPlaced]
    events:
      OrderPlaced:
        fields:
          order_id: String
          quantity: i64
handlers:
  Totals:
    subscribes: [OrderPlacd]
"#,
        )],
        "shop.yaml",
        (18, 18),
        r#"unknown event `OrderPlacd`"#,
        Some(r#"did you mean `OrderPlaced`?"#),
    );
}

#[test]
fn handler_subscribes_old_event_name() {
    expect(
        &[(
            "shop.yaml",
            r#"context: shop
aggregates:
  Order:
    identity: order_id
    commands:
      PlaceOrder:
        fields:
          order_id: String
          quantity: i64
        emits: [OrderPlaced]
    events:
      OrderPlaced:
        renamed_from: [OrderMade]
        fields:
          order_id: String
          quantity: i64
handlers:
  Totals:
    subscribes: [OrderMade]
"#,
        )],
        "shop.yaml",
        (19, 18),
        r#"`OrderMade` is an old name of event `OrderPlaced`"#,
        Some(r#"write `OrderPlaced`"#),
    );
}

#[test]
fn handler_bad_consistency() {
    expect(
        &[(
            "shop.yaml",
            r#"context: shop
aggregates:
  Order:
    identity: order_id
    commands:
      PlaceOrder:
        fields:
          order_id: String
          quantity: i64
        emits: [OrderPlaced]
    events:
      OrderPlaced:
        fields:
          order_id: String
          quantity: i64
handlers:
  Totals:
    subscribes: [OrderPlaced]
    consistency: stong
"#,
        )],
        "shop.yaml",
        (19, 18),
        r#"`consistency` must be `strong` or `eventual`, found `stong`"#,
        Some(r#"did you mean `strong`?"#),
    );
}

#[test]
fn handler_bad_start_from() {
    expect(
        &[(
            "shop.yaml",
            r#"context: shop
aggregates:
  Order:
    identity: order_id
    commands:
      PlaceOrder:
        fields:
          order_id: String
          quantity: i64
        emits: [OrderPlaced]
    events:
      OrderPlaced:
        fields:
          order_id: String
          quantity: i64
handlers:
  Totals:
    subscribes: [OrderPlaced]
    start_from: begining
"#,
        )],
        "shop.yaml",
        (19, 17),
        r#"`start_from` must be `origin` or `current`"#,
        None,
    );
}

#[test]
fn process_manager_identity_missing_from_event() {
    expect(
        &[
            (
                "atm.yaml",
                r#"aggregates:
  Atm:
    identity: card_id
    commands:
      ReadCard:
        fields: { card_id: String }
        emits: [CardRead]
    events:
      CardRead:
        fields: { card_id: String }
"#,
            ),
            (
                "shop.yaml",
                r#"context: shop
aggregates:
  Order:
    identity: order_id
    commands:
      PlaceOrder:
        fields:
          order_id: String
          quantity: i64
        emits: [OrderPlaced]
    events:
      OrderPlaced:
        fields:
          order_id: String
          quantity: i64
process_managers:
  Fulfilment:
    identity: order_id
    starts_on: [OrderPlaced]
    stops_on: [atm.CardRead]
"#,
            ),
        ],
        "shop.yaml",
        (20, 16),
        r#"event `atm.CardRead` has no field `order_id`, the identity of process manager `Fulfilment`"#,
        Some(r#"correlation field"#),
    );
}

#[test]
fn process_manager_dispatches_unknown_command() {
    expect(
        &[(
            "shop.yaml",
            r#"context: shop
aggregates:
  Order:
    identity: order_id
    commands:
      PlaceOrder:
        fields:
          order_id: String
          quantity: i64
        emits: [OrderPlaced]
    events:
      OrderPlaced:
        fields:
          order_id: String
          quantity: i64
process_managers:
  Fulfilment:
    identity: order_id
    starts_on: [OrderPlaced]
    dispatches: [PlaceOrdr]
"#,
        )],
        "shop.yaml",
        (20, 18),
        r#"unknown command `PlaceOrdr`"#,
        Some(r#"did you mean `PlaceOrder`?"#),
    );
}

#[test]
fn process_manager_unknown_context() {
    expect(
        &[(
            "shop.yaml",
            r#"context: shop
aggregates:
  Order:
    identity: order_id
    commands:
      PlaceOrder:
        fields:
          order_id: String
          quantity: i64
        emits: [OrderPlaced]
    events:
      OrderPlaced:
        fields:
          order_id: String
          quantity: i64
process_managers:
  Fulfilment:
    identity: order_id
    starts_on: [warehouse.Picked]
"#,
        )],
        "shop.yaml",
        (19, 17),
        r#"unknown context `warehouse` in `warehouse.Picked`"#,
        None,
    );
}

#[test]
fn emits_as_a_single_name() {
    expect(
        &[(
            "shop.yaml",
            r#"context: shop
aggregates:
  Order:
    identity: order_id
    commands:
      PlaceOrder:
        fields:
          order_id: String
          quantity: i64
        emits: OrderPlaced
    events:
      OrderPlaced:
        fields:
          order_id: String
          quantity: i64
"#,
        )],
        "shop.yaml",
        (10, 16),
        r#"`emits` must be a list of names, found a string"#,
        Some(r#"write `[OrderPlaced]`"#),
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
fn overlapping_stream_prefixes_across_contexts() {
    let a = "aggregates:\n  Account:\n    identity: id\n    stream_prefix: \"acc-\"\n    state: { id: String }\n    commands:\n      Open:\n        fields: { id: String }\n        emits: [Opened]\n    events:\n      Opened:\n        fields: { id: String }\n";
    let b = "aggregates:\n  Archive:\n    identity: id\n    stream_prefix: \"acc-old-\"\n    state: { id: String }\n    commands:\n      Store:\n        fields: { id: String }\n        emits: [Stored]\n    events:\n      Stored:\n        fields: { id: String }\n";
    expect(
        &[("schemas/a.yaml", a), ("schemas/b.yaml", b)],
        "schemas/b.yaml",
        (4, 20),
        "stream prefix \"acc-old-\" of aggregate `b.Archive` starts with the stream prefix \"acc-\" of `a.Account`",
        Some("no other prefix starts with"),
    );
}

#[test]
fn default_stream_prefixes_of_different_names_do_not_overlap() {
    // `User-` and `UserProfile-`: neither starts the other.
    let a = "aggregates:\n  User:\n    identity: id\n    state: { id: String }\n    commands:\n      Add:\n        fields: { id: String }\n        emits: [Added]\n    events:\n      Added:\n        fields: { id: String }\n  UserProfile:\n    identity: id\n    state: { id: String }\n    commands:\n      Make:\n        fields: { id: String }\n        emits: [Made]\n    events:\n      Made:\n        fields: { id: String }\n";
    assert!(check_sources(&sources(&[("schemas/a.yaml", a)])).is_ok());
}

/// rust_decimal (feature `serde-str`) reads only strings, so a bare-number default would
/// fail (or become 0) at run time.
#[test]
fn decimal_default_must_be_a_quoted_decimal() {
    let yaml = r#"context: shop
types:
  Price:
    fields:
      amount: { type: Decimal, default: 12.5 }
      tax: { type: Decimal, default: "1.2.3" }
      at: { type: DateTime, default: "2024-02-31T12:00:00Z" }
"#;
    expect(
        &[("shop.yaml", yaml)],
        "shop.yaml",
        (5, 41),
        r#"`Decimal` expects a decimal string, found 12.5 (quote it: "12.5")"#,
        None,
    );
    expect(
        &[("shop.yaml", yaml)],
        "shop.yaml",
        (6, 38),
        r#"`Decimal` expects a decimal string like "12.50", found "1.2.3""#,
        None,
    );
    expect(
        &[("shop.yaml", yaml)],
        "shop.yaml",
        (7, 38),
        r#"`DateTime` expects an RFC 3339 timestamp string"#,
        None,
    );
}

#[test]
fn upcast_add_decimal_must_be_a_string() {
    expect(
        &[(
            "shop.yaml",
            r#"context: shop
aggregates:
  Order:
    identity: order_id
    commands:
      PlaceOrder:
        fields:
          order_id: String
          amount: Decimal
        emits: [OrderPlaced]
    events:
      OrderPlaced:
        version: 2
        upcast:
          - from: 1
            add: { amount: 1.5 }
        fields:
          order_id: String
          amount: Decimal
"#,
        )],
        "shop.yaml",
        (16, 28),
        r#"the value added for `amount` does not fit its type `Decimal`: `Decimal` expects a decimal string, found 1.5 (quote it: "1.5")"#,
        None,
    );
}

/// `UrlSet` and `URLSet` are distinct events, but both snake_case to `url_set`, so the
/// subscriber would get two `on_url_set` methods.
#[test]
fn subscriber_events_with_one_snake_case_name() {
    let yaml = r#"context: web
aggregates:
  Page:
    identity: page_id
    commands:
      SetUrl:
        fields: { page_id: String, url: String }
        emits: [UrlSet, URLSet]
    events:
      UrlSet:
        fields: { page_id: String, url: String }
      URLSet:
        fields: { page_id: String, url: String }
handlers:
  Crawler:
    subscribes: [UrlSet, URLSet]
process_managers:
  Indexer:
    identity: page_id
    starts_on: [UrlSet]
    stops_on: [URLSet]
"#;
    expect(
        &[("web.yaml", yaml)],
        "web.yaml",
        (16, 26),
        "events `web.UrlSet` and `web.URLSet` of handler `Crawler` would both get the method `on_url_set`",
        Some("rename one of the events"),
    );
    expect(
        &[("web.yaml", yaml)],
        "web.yaml",
        (21, 16),
        "events `web.UrlSet` and `web.URLSet` of process manager `Indexer` would both get the method `on_url_set`",
        None,
    );
}

const PM_IDENTITY: &str = r#"context: shop
aggregates:
  Order:
    identity: order_id
    commands:
      PlaceOrder:
        fields: { order_id: String, basket: i64 }
        emits: [OrderPlaced, OrderPaid, OrderShipped]
    events:
      OrderPlaced:
        fields: { order_id: String, basket: i64 }
      OrderPaid:
        fields: { order_id: Uuid, basket: i64 }
      OrderShipped:
        fields: { order_id: String, basket: i64 }
process_managers:
  Fulfilment:
    identity: IDENT
    starts_on: [OrderPlaced]
    continues_on: [OrderPaid]
    stops_on: [OrderShipped]
"#;

#[test]
fn process_manager_identity_must_be_string_or_uuid() {
    expect(
        &[("shop.yaml", &PM_IDENTITY.replace("IDENT", "basket"))],
        "shop.yaml",
        (19, 17),
        "field `basket` of event `OrderPlaced` has type `i64`, but the identity of process manager `Fulfilment` must be `String` or `Uuid`",
        Some("declare `basket` as `String` or `Uuid` in `OrderPlaced`"),
    );
}

#[test]
fn process_manager_identity_has_one_type() {
    expect(
        &[("shop.yaml", &PM_IDENTITY.replace("IDENT", "order_id"))],
        "shop.yaml",
        (20, 20),
        "field `order_id` is `Uuid` in event `OrderPaid` but `String` in event `OrderPlaced`; the identity of process manager `Fulfilment` must have one type",
        Some("same type"),
    );
}

/// Renames run before adds in a step and `add` fills only a missing field, so renaming into
/// a field the same step adds means "the old value, else the default": valid. Renaming into
/// it twice is still an error.
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

    let twice = yaml.replace(
        "rename: { name: full_name }",
        "rename: { name: full_name, nom: full_name }",
    );
    expect(
        &[("crm.yaml", &twice)],
        "crm.yaml",
        (14, 29),
        "step `from: 1` renames `name` to `full_name`, which is not a field of `Registered`",
        None,
    );
}

/// One aggregate and its event, for the handler and process manager cases below (15 lines;
/// what follows starts at line 16).
const SHOP: &str = r#"context: shop
aggregates:
  Order:
    identity: order_id
    commands:
      PlaceOrder:
        fields:
          order_id: String
          quantity: i64
        emits: [OrderPlaced]
    events:
      OrderPlaced:
        fields:
          order_id: String
          quantity: i64
"#;

#[test]
fn handler_unknown_kind() {
    expect(
        &[(
            "shop.yaml",
            &format!(
                "{SHOP}handlers:\n  Totals:\n    subscribes: [OrderPlaced]\n    kind: projecton\n"
            ),
        )],
        "shop.yaml",
        (19, 11),
        "`kind` must be `effect` or `projection`, found `projecton`",
        Some("did you mean `projection`?"),
    );
}

#[test]
fn handler_zero_partitions() {
    expect(
        &[(
            "shop.yaml",
            &format!(
                "{SHOP}handlers:\n  Totals:\n    subscribes: [OrderPlaced]\n    partitions: 0\n"
            ),
        )],
        "shop.yaml",
        (19, 17),
        "`partitions` must be a whole number from 1 to 256, found `0`",
        Some("split by a hash of the stream id; write e.g. `partitions: 4`"),
    );
}

#[test]
fn handler_too_many_partitions() {
    expect(
        &[(
            "shop.yaml",
            &format!(
                "{SHOP}handlers:\n  Totals:\n    subscribes: [OrderPlaced]\n    partitions: 300\n"
            ),
        )],
        "shop.yaml",
        (19, 17),
        "`partitions` must be a whole number from 1 to 256, found `300`",
        Some("1 to 256 partitions"),
    );
}

#[test]
fn handler_partitions_not_a_number() {
    expect(
        &[(
            "shop.yaml",
            &format!(
                "{SHOP}handlers:\n  Totals:\n    subscribes: [OrderPlaced]\n    partitions: two\n"
            ),
        )],
        "shop.yaml",
        (19, 17),
        r#"`partitions` must be a whole number from 1 to 256, found "two""#,
        Some("write e.g. `partitions: 4`"),
    );
}

#[test]
fn handler_fractional_partitions() {
    expect(
        &[(
            "shop.yaml",
            &format!(
                "{SHOP}handlers:\n  Totals:\n    subscribes: [OrderPlaced]\n    partitions: 4.0\n"
            ),
        )],
        "shop.yaml",
        (19, 17),
        "`partitions` must be a whole number from 1 to 256, found `4.0`",
        None,
    );
}

#[test]
fn on_failure_unknown_key() {
    expect(
        &[(
            "shop.yaml",
            &format!(
                "{SHOP}handlers:\n  Totals:\n    subscribes: [OrderPlaced]\n    on_failure:\n      retries: 3\n"
            ),
        )],
        "shop.yaml",
        (20, 7),
        "unknown key `retries` in `on_failure`",
        Some("did you mean `attempts`? It counts the first attempt too"),
    );
}

#[test]
fn on_failure_misspelt_key() {
    expect(
        &[(
            "shop.yaml",
            &format!(
                "{SHOP}handlers:\n  Totals:\n    subscribes: [OrderPlaced]\n    on_failure: {{ backof: 1s }}\n"
            ),
        )],
        "shop.yaml",
        (19, 19),
        "unknown key `backof` in `on_failure`",
        Some("did you mean `backoff`?"),
    );
}

#[test]
fn on_failure_zero_attempts() {
    expect(
        &[(
            "shop.yaml",
            &format!(
                "{SHOP}handlers:\n  Totals:\n    subscribes: [OrderPlaced]\n    on_failure:\n      attempts: 0\n"
            ),
        )],
        "shop.yaml",
        (20, 17),
        "`attempts` must be a whole number from 1 to 1000, found `0`",
        Some("the first included: `attempts: 1` never retries"),
    );
}

#[test]
fn on_failure_backoff_bare_number() {
    expect(
        &[(
            "shop.yaml",
            &format!(
                "{SHOP}handlers:\n  Totals:\n    subscribes: [OrderPlaced]\n    on_failure:\n      backoff: [100ms, 5]\n"
            ),
        )],
        "shop.yaml",
        (20, 24),
        "a `backoff` delay must be a duration, found `5` (a number needs a unit)",
        Some("write a duration such as `500ms`, `2s` or `1m`"),
    );
}

#[test]
fn on_failure_backoff_fraction() {
    expect(
        &[(
            "shop.yaml",
            &format!(
                "{SHOP}handlers:\n  Totals:\n    subscribes: [OrderPlaced]\n    on_failure:\n      backoff: [1.5s]\n"
            ),
        )],
        "shop.yaml",
        (20, 17),
        r#"a `backoff` delay must be a duration, found "1.5s""#,
        Some("write a duration such as `500ms`, `2s` or `1m`"),
    );
}

#[test]
fn on_failure_backoff_in_hours() {
    expect(
        &[(
            "shop.yaml",
            &format!(
                "{SHOP}handlers:\n  Totals:\n    subscribes: [OrderPlaced]\n    on_failure:\n      backoff: 2h\n"
            ),
        )],
        "shop.yaml",
        (20, 16),
        r#"a `backoff` delay must be a duration, found "2h" (hours are not a unit here: the longest delay is `60m`)"#,
        Some("write a duration such as `500ms`, `2s` or `1m`"),
    );
}

#[test]
fn on_failure_backoff_longer_than_an_hour() {
    expect(
        &[(
            "shop.yaml",
            &format!(
                "{SHOP}handlers:\n  Totals:\n    subscribes: [OrderPlaced]\n    on_failure:\n      backoff: [1s, 61m]\n"
            ),
        )],
        "shop.yaml",
        (20, 21),
        r#"the `backoff` delay "61m" is longer than 1 hour"#,
        Some("the longest delay is `60m`"),
    );
}

#[test]
fn on_failure_backoff_mapping() {
    expect(
        &[(
            "shop.yaml",
            &format!(
                "{SHOP}handlers:\n  Totals:\n    subscribes: [OrderPlaced]\n    on_failure:\n      backoff: {{ first: 1s }}\n"
            ),
        )],
        "shop.yaml",
        (20, 16),
        "`backoff` must be a duration or a list of durations, found a mapping",
        Some("`backoff: []` for no delay"),
    );
}

#[test]
fn on_failure_unknown_then() {
    expect(
        &[(
            "shop.yaml",
            &format!(
                "{SHOP}handlers:\n  Totals:\n    subscribes: [OrderPlaced]\n    on_failure:\n      then: parc\n"
            ),
        )],
        "shop.yaml",
        (20, 13),
        "`then` must be `stop` or `skip` or `park`, found `parc`",
        Some("did you mean `park`?"),
    );
}

#[test]
fn process_manager_on_failure_is_checked() {
    expect(
        &[(
            "shop.yaml",
            &format!(
                "{SHOP}process_managers:\n  Fulfilment:\n    identity: order_id\n    starts_on: [OrderPlaced]\n    on_failure: {{ attempts: 1001, backoff: fast }}\n"
            ),
        )],
        "shop.yaml",
        (20, 44),
        r#"a `backoff` delay must be a duration, found "fast""#,
        Some("write a duration such as `500ms`, `2s` or `1m`"),
    );
    expect(
        &[(
            "shop.yaml",
            &format!(
                "{SHOP}process_managers:\n  Fulfilment:\n    identity: order_id\n    starts_on: [OrderPlaced]\n    on_failure: {{ attempts: 1001, backoff: fast }}\n"
            ),
        )],
        "shop.yaml",
        (20, 29),
        "`attempts` must be a whole number from 1 to 1000, found `1001`",
        None,
    );
}

#[test]
fn process_manager_has_no_partitions() {
    expect(
        &[(
            "shop.yaml",
            &format!(
                "{SHOP}process_managers:\n  Fulfilment:\n    identity: order_id\n    starts_on: [OrderPlaced]\n    partitions: 2\n"
            ),
        )],
        "shop.yaml",
        (20, 5),
        "unknown key `partitions` in process manager `Fulfilment`",
        Some("the keys of process manager `Fulfilment` are"),
    );
}

#[test]
fn process_manager_has_no_kind() {
    expect(
        &[(
            "shop.yaml",
            &format!(
                "{SHOP}process_managers:\n  Fulfilment:\n    identity: order_id\n    starts_on: [OrderPlaced]\n    kind: projection\n"
            ),
        )],
        "shop.yaml",
        (20, 5),
        "unknown key `kind` in process manager `Fulfilment`",
        None,
    );
}
