//! Inline Markdown for pieces of the model: code spans, table cells, links, rules, upcast
//! operations, failure policies. The templates lay out pages; everything that needs
//! escaping is made here, where it is tested.

use crate::model::{FailurePolicy, Rule, UpcastOp};

/// An inline code span that shows `text` exactly: the fence is one backtick longer than
/// the longest run inside, padded with a space when the text starts or ends with one.
pub(super) fn code(text: &str) -> String {
    let text = text.replace(['\n', '\r'], " ");
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat(longest + 1);
    let pad = if text.starts_with('`') || text.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{text}{pad}{fence}")
}

/// Text for one cell of a GitHub table: one line, `|` escaped (also inside code spans,
/// where GitHub requires it too).
pub(super) fn cell(text: &str) -> String {
    text.split(['\n', '\r'])
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "\\|")
}

/// The anchor GitHub gives the heading `<Kind> `Name``: lowercase words joined by `-`
/// (schema names are letters and digits only, so nothing else needs removing).
pub(super) fn anchor(kind: &str, name: &str) -> String {
    format!("{}-{}", kind.replace(' ', "-"), name).to_lowercase()
}

/// A link to an item's heading, on this page or on its context's page.
pub(super) fn link(
    current: &str,
    context: &str,
    kind: &str,
    name: &str,
    shown_name: &str,
) -> String {
    let page = if context == current {
        String::new()
    } else {
        format!("{context}.md")
    };
    format!("[{}]({page}#{})", code(shown_name), anchor(kind, name))
}

/// `name` as a schema of context `current` writes it: `other.Name` for another context's.
pub(super) fn qualified(current: &str, context: &str, name: &str) -> String {
    if context == current {
        name.to_string()
    } else {
        format!("{context}.{name}")
    }
}

/// A rule as a short phrase (`min 1`, `length 4`, `matches ...`).
pub(super) fn rule(rule: &Rule) -> String {
    match rule {
        Rule::Required => "required".into(),
        Rule::Range {
            min: Some(min),
            max: None,
        } => format!("min {min}"),
        Rule::Range {
            min: None,
            max: Some(max),
        } => format!("max {max}"),
        Rule::Range { min, max } => format!("range {}", range(min.as_ref(), max.as_ref())),
        Rule::Length { min, max } if min == max && min.is_some() => {
            format!("length {}", min.unwrap_or_default())
        }
        Rule::Length { min, max } => format!("length {}", range(min.as_ref(), max.as_ref())),
        Rule::Pattern(p) => format!("matches {}", code(p)),
        Rule::Email => "email".into(),
        Rule::OneOf(values) => format!(
            "one of {}",
            values
                .iter()
                .map(|v| code(&v.to_string()))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Rule::Custom(path) => format!("custom {}", code(path)),
    }
}

/// `1..=10`, `8..`, `..=32`, as Rust writes inclusive ranges.
fn range(min: Option<&impl std::fmt::Display>, max: Option<&impl std::fmt::Display>) -> String {
    let min = min.map(ToString::to_string).unwrap_or_default();
    match max {
        Some(max) => format!("{min}..={max}"),
        None => format!("{min}.."),
    }
}

/// The rules of a field, comma-separated; empty without rules.
pub(super) fn rules(rules: &[Rule]) -> String {
    rules.iter().map(rule).collect::<Vec<_>>().join(", ")
}

/// One upcast operation as a phrase.
pub(super) fn upcast_op(op: &UpcastOp) -> String {
    match op {
        UpcastOp::Rename { from, to } => format!("rename {} to {}", code(from), code(to)),
        UpcastOp::Remove(field) => format!("remove {}", code(field)),
        UpcastOp::Add { field, value } => {
            format!("add {} = {}", code(field), code(&value.to_string()))
        }
        UpcastOp::Convert(path) => format!("convert with {}", code(path)),
    }
}

/// `5 attempts, backoff 100ms, 1s, then park`, in the schema's own units.
pub(super) fn failure_policy(p: &FailurePolicy) -> String {
    let attempts = match p.attempts {
        1 => "1 attempt".to_string(),
        n => format!("{n} attempts"),
    };
    let backoff = if p.backoff_ms.is_empty() {
        String::new()
    } else {
        let delays: Vec<String> = p
            .backoff_ms
            .iter()
            .map(|&ms| {
                if ms % 1000 == 0 {
                    format!("{}s", ms / 1000)
                } else {
                    format!("{ms}ms")
                }
            })
            .collect();
        format!(", backoff {}", delays.join(", "))
    };
    let then = match p.then {
        crate::model::Exhausted::Stop => "stop",
        crate::model::Exhausted::Skip => "skip",
        crate::model::Exhausted::Park => "park",
    };
    format!("{attempts}{backoff}, then {then}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Exhausted;
    use serde_json::json;

    #[test]
    fn code_spans_show_backticks_and_pipes_exactly() {
        assert_eq!(code("a"), "`a`");
        assert_eq!(code("a`b"), "``a`b``");
        assert_eq!(code("`x``"), "``` `x`` ```");
        assert_eq!(cell(&code("^(a|b)$")), "`^(a\\|b)$`");
        assert_eq!(cell("one\n  two\n\nthree"), "one two three");
    }

    #[test]
    fn anchors_and_links_follow_github_headings() {
        assert_eq!(anchor("event", "MoneyWithdrawn"), "event-moneywithdrawn");
        assert_eq!(
            anchor("process manager", "Withdrawal"),
            "process-manager-withdrawal"
        );
        assert_eq!(
            link("bank", "atm", "command", "DispenseCash", "atm.DispenseCash"),
            "[`atm.DispenseCash`](atm.md#command-dispensecash)"
        );
        assert_eq!(
            link("bank", "bank", "event", "MoneyWithdrawn", "MoneyWithdrawn"),
            "[`MoneyWithdrawn`](#event-moneywithdrawn)"
        );
    }

    #[test]
    fn rules_read_as_written() {
        let n = |v: i64| Some(serde_json::Number::from(v));
        let cases = [
            (Rule::Required, "required"),
            (
                Rule::Range {
                    min: n(1),
                    max: None,
                },
                "min 1",
            ),
            (
                Rule::Range {
                    min: None,
                    max: n(9),
                },
                "max 9",
            ),
            (
                Rule::Range {
                    min: n(1),
                    max: n(9),
                },
                "range 1..=9",
            ),
            (
                Rule::Length {
                    min: Some(4),
                    max: Some(4),
                },
                "length 4",
            ),
            (
                Rule::Length {
                    min: Some(8),
                    max: None,
                },
                "length 8..",
            ),
            (
                Rule::Length {
                    min: None,
                    max: Some(32),
                },
                "length ..=32",
            ),
            (Rule::Pattern("^[0-9]+$".into()), "matches `^[0-9]+$`"),
            (Rule::Email, "email"),
            (
                Rule::OneOf(vec![json!("a"), json!(2)]),
                "one of `\"a\"`, `2`",
            ),
            (Rule::Custom("logic::ten".into()), "custom `logic::ten`"),
        ];
        for (r, text) in cases {
            assert_eq!(rule(&r), text);
        }
    }

    #[test]
    fn upcasts_and_policies_read_as_written() {
        let ops = [
            UpcastOp::Rename {
                from: "name".into(),
                to: "first_name".into(),
            },
            UpcastOp::Remove("password".into()),
            UpcastOp::Add {
                field: "currency".into(),
                value: json!("EUR"),
            },
            UpcastOp::Convert("logic::fix".into()),
        ];
        let texts: Vec<String> = ops.iter().map(upcast_op).collect();
        assert_eq!(
            texts,
            [
                "rename `name` to `first_name`",
                "remove `password`",
                "add `currency` = `\"EUR\"`",
                "convert with `logic::fix`"
            ]
        );
        let p = FailurePolicy {
            attempts: 5,
            backoff_ms: vec![100, 1000],
            then: Exhausted::Park,
        };
        assert_eq!(
            failure_policy(&p),
            "5 attempts, backoff 100ms, 1s, then park"
        );
        let one = FailurePolicy {
            attempts: 1,
            backoff_ms: vec![],
            then: Exhausted::Stop,
        };
        assert_eq!(failure_policy(&one), "1 attempt, then stop");
    }
}
