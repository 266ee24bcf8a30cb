//! Pathological inputs: schemas built by program in the shapes that once crashed, hung or
//! ate gigabytes (issue 13), each of which must get a clear error at a position or a fast
//! answer. Sizes are those that failed (or more); the shapes are what is tested.
//!
//! Tests run on threads with 2 MiB of stack, a quarter of a build script's main thread, so a
//! recursion per declared type would overflow here first. Time is bounded generously (see
//! [`BOUND`]): each case takes well under a second in the debug build on a shared machine,
//! and took from 6 s to forever before; the bound only catches a return of that, never a
//! slow machine. Where the work can be counted (errors reported, output size), it is.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use eskema_codegen::__private::{Checked, check_sources, render_files};
use eskema_codegen::Report;

/// Ten times what the slowest case takes in a debug build here; the failures this guards
/// against took 6 s to minutes (or never ended).
const BOUND: Duration = Duration::from_secs(10);

fn one(text: String) -> Vec<(PathBuf, String)> {
    vec![(PathBuf::from("p.yaml"), text)]
}

/// Checks, within [`BOUND`].
fn check(sources: &[(PathBuf, String)]) -> Result<Checked, Report> {
    let start = Instant::now();
    let result = check_sources(sources);
    let took = start.elapsed();
    assert!(took < BOUND, "check took {took:?}");
    result
}

/// Checks, expecting success, then generates, both within [`BOUND`]; the generated files.
fn generate(sources: &[(PathBuf, String)]) -> Vec<(String, String)> {
    let checked = match check(sources) {
        Ok(c) => c,
        Err(report) => panic!("expected a valid schema:\n{report}"),
    };
    let start = Instant::now();
    let files = render_files(&checked);
    let took = start.elapsed();
    assert!(took < BOUND, "generate took {took:?}");
    files
}

/// Checks, expecting failure; the report.
fn fails(sources: &[(PathBuf, String)]) -> Report {
    match check(sources) {
        Ok(_) => panic!("expected errors"),
        Err(report) => report,
    }
}

/// The generated file of context `p`.
fn context_file(files: &[(String, String)]) -> &str {
    files
        .iter()
        .find(|(name, _)| name == "p.rs")
        .map(|(_, text)| text.as_str())
        .expect("p.rs is generated")
}

/// An aggregate whose command and event carry a field of type `ty`.
fn holder(ty: &str) -> String {
    format!(
        "aggregates:
  Holder:
    identity: id
    state: {{ id: Uuid }}
    commands:
      Put:
        fields: {{ id: Uuid, t: \"{ty}\" }}
        emits: [Done]
    events:
      Done:
        fields: {{ id: Uuid, t: \"{ty}\" }}
"
    )
}

/// `T0 { n: wrap(T1) }`, `T1 { n: wrap(T2) }`, ..., the last one with a rule (and an `f64`),
/// used by an aggregate's command and event.
fn chain(n: usize, wrap: &str) -> String {
    let mut s = String::from("context: p\ntypes:\n");
    for i in 0..n - 1 {
        let ty = wrap.replace('X', &format!("T{}", i + 1));
        s.push_str(&format!("  T{i}:\n    fields:\n      n: \"{ty}\"\n"));
    }
    s.push_str(&format!(
        "  T{}:\n    fields:\n      x: {{ type: String, validate: [required] }}\n      y: f64\n",
        n - 1
    ));
    s + &holder("T0")
}

/// 12,000 types, each holding the next in a `Vec`: passed the check, then overflowed the
/// stack in generate (a recursion per type); 2,000 took 33 s (re-walked per field, each step
/// a linear lookup by name). The rule and the float at the far end still count at the top.
#[test]
fn long_chain_through_vec_generates() {
    let files = generate(&one(chain(12_000, "Vec<X>")));
    let text = context_file(&files);
    // The rule 12,000 types down is validated from the top ...
    assert!(text.contains("impl ::eskema::Validate for T0 {"));
    assert!(text.contains(r#"check.nested_each("n", &self.n);"#));
    // ... and the float makes the event check its round trip.
    assert!(text.contains("const CHECK_ROUND_TRIP: bool = true;"));
    assert!(text.contains("pub struct T11999 {"));
}

/// The same chain held directly (and through `Option`): the recursion check was cubic
/// (97 s for 2,000 types).
#[test]
fn long_chain_held_directly_checks() {
    for wrap in ["X", "Option<X>"] {
        let files = generate(&one(chain(12_000, wrap)));
        assert!(context_file(&files).contains("pub struct T11999 {"));
    }
}

/// A long chain closed into a cycle is one error, at the field that starts it, naming the
/// whole cycle.
#[test]
fn long_cycle_is_one_error() {
    let n = 5_000;
    let mut s = String::from("context: p\ntypes:\n");
    for i in 0..n {
        s.push_str(&format!(
            "  T{i}:\n    fields:\n      n: T{}\n",
            (i + 1) % n
        ));
    }
    let report = fails(&one(s));
    let errors: Vec<_> = report.errors().collect();
    assert_eq!(errors.len(), 1, "{report}");
    assert_eq!((errors[0].line, errors[0].column), (5, 10));
    assert!(
        errors[0]
            .message
            .starts_with("type `T0` contains itself without indirection: T0.n -> T1.n -> ")
    );
    assert!(errors[0].message.ends_with(" -> T4999.n -> T0"));
}

/// A 20,000-character unknown name among long declared names: "did you mean" computed the
/// edit distance of every pair first (34 s). Long names get no suggestion.
#[test]
fn long_unknown_name_is_fast() {
    let long = "A".repeat(20_000);
    let mut s = String::from("context: p\ntypes:\n");
    for i in 0..200 {
        // Keys are at most 1,024 characters in YAML; the declared names are long too.
        s.push_str(&format!("  {}{i}:\n    enum: [X]\n", "B".repeat(1_000)));
    }
    s.push_str(&format!("  Holder:\n    fields:\n      x: {long}\n"));
    let report = fails(&one(s));
    let errors: Vec<_> = report.errors().collect();
    assert_eq!(errors.len(), 1, "{report}");
    assert_eq!((errors[0].line, errors[0].column), (405, 10));
    assert!(errors[0].message.starts_with("unknown type `AAAA"));
    assert_eq!(errors[0].hint, None);
}

/// 4,000 unknown types in one file: 54 s and 108 MB of messages (each listed every declared
/// type). Now at most 100 errors per file, a last one counting the rest, and each message
/// names a few declared types.
#[test]
fn many_unknown_types_are_capped() {
    let n = 4_000;
    let mut s = String::from("context: p\ntypes:\n");
    for i in 0..n {
        s.push_str(&format!("  T{i}:\n    fields:\n      x: U{i}\n"));
    }
    let report = fails(&one(s));
    let errors: Vec<_> = report.errors().collect();
    assert_eq!(errors.len(), 101);
    let last = errors
        .iter()
        .find(|d| d.message.contains("more errors"))
        .expect("the count of the rest");
    assert_eq!(
        last.message,
        "3900 more errors in this file not shown (at most 100 are reported per file)"
    );
    // The first error not shown: the 101st field, in file order.
    assert_eq!((last.line, last.column), (3 * 100 + 5, 10));
    let first = errors[0];
    assert!(
        first
            .message
            .ends_with("(T0, T1, T2, T3, T4, T5, T6, T7 and 3992 more) or `context.Type` for a type of another file"),
        "{}",
        first.message
    );
    assert_eq!(first.hint.as_deref(), Some("did you mean `T0`?"));
    let text = report.to_string();
    assert!(text.len() < 64 * 1024, "{} bytes", text.len());
}

/// The classic "billion laughs": nine levels of nine aliases. serde-saphyr's default budget
/// refused it only after a million recorded events (6 s, 200 MB in debug).
#[test]
fn yaml_alias_bomb_is_refused_at_its_place() {
    let mut s = String::from(
        "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
    );
    for (prev, name) in ["a", "b", "c", "d", "e", "f", "g", "h"]
        .iter()
        .zip(["b", "c", "d", "e", "f", "g", "h", "i"])
    {
        let refs = vec![format!("*{prev}"); 9].join(",");
        s.push_str(&format!("{name}: &{name} [{refs}]\n"));
    }
    let report = fails(&one(s));
    let errors: Vec<_> = report.errors().collect();
    assert_eq!(errors.len(), 1, "{report}");
    assert!(
        errors[0]
            .message
            .starts_with("the YAML's aliases (`*name`) expand to more than"),
        "{report}"
    );
    assert!(
        errors[0].line > 1,
        "at the alias that breaks the limit: {report}"
    );
}

/// Deep nesting, in flow and block style: refused at a depth, not by the stack.
#[test]
fn deep_yaml_nesting_is_refused() {
    let flow = format!(
        "context: p\ndoc: {}{}\n",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let mut block = String::from("context: p\ndoc:\n");
    for depth in 1..2_000 {
        block.push_str(&format!("{}k:\n", "  ".repeat(depth)));
    }
    for text in [flow, block] {
        let report = fails(&one(text));
        let errors: Vec<_> = report.errors().collect();
        assert_eq!(errors.len(), 1, "{report}");
        assert!(errors[0].message.contains("nested more than"), "{report}");
    }
}

/// Types nested as deep as allowed generate; deeper ones are an error that does not
/// recurse per level (5,000 `Option<`s).
#[test]
fn deep_type_nesting() {
    let deep = format!("{}i64{}", "Option<".repeat(32), ">".repeat(32));
    let files = generate(&one(format!("context: p\n{}", holder(&deep))));
    assert!(context_file(&files).contains("pub t: Option<"));
    let deeper = format!("{}i64{}", "Option<".repeat(5_000), ">".repeat(5_000));
    let report = fails(&one(format!("context: p\n{}", holder(&deeper))));
    assert!(
        report.to_string().contains("type is nested too deeply"),
        "{report}"
    );
}

/// Huge numbers where small ones are expected: one error each, not a loop to the number.
#[test]
fn huge_numbers() {
    let version = |v: &str| {
        format!(
            "context: p\naggregates:\n  Holder:\n    identity: id\n    state: {{ id: Uuid }}\n    commands:\n      Put:\n        fields: {{ id: Uuid }}\n        emits: [Done]\n    events:\n      Done:\n        version: {v}\n        fields: {{ id: Uuid }}\n"
        )
    };
    for v in [
        "4294967295",
        "18446744073709551615",
        "99999999999999999999999",
    ] {
        let report = fails(&one(version(v)));
        assert_eq!(report.errors().count(), 1, "{report}");
        assert_eq!(report.diagnostics[0].line, 12, "{report}");
    }
    let handler = format!(
        "context: p\n{}handlers:\n  H:\n    subscribes: [Done]\n    partitions: 99999999999999\n    on_failure: {{ attempts: 999999999999, backoff: [99999999999999999m] }}\n",
        holder("i64")
    );
    let report = fails(&one(handler));
    assert_eq!(report.errors().count(), 3, "{report}");
    let rules = "context: p\ntypes:\n  T:\n    fields:\n      x: { type: String, validate: [{ length: { min: 18446744073709551615 } }] }\n      y: { type: i64, validate: [{ min: 1e308 }] }\n".to_string();
    // Out-of-range bounds are either errors or rules that can never pass, never a panic.
    let _ = check(&one(rules));
}

/// A long upcast chain (5,000 versions, each step adding and removing fields) and a long
/// rename chain.
#[test]
fn long_upcast_chains() {
    let n = 5_000;
    let fields: Vec<String> = (1..n).map(|i| format!("f{i}: i64")).collect();
    let mut steps = String::from("        upcast:\n");
    for i in 1..n {
        steps.push_str(&format!(
            "          - from: {i}\n            add: {{ f{i}: 1 }}\n            remove: [g{i}]\n"
        ));
    }
    let mut renames = String::from("        upcast:\n");
    for i in 1..n {
        renames.push_str(&format!(
            "          - from: {i}\n            rename: {{ a{i}: a{} }}\n",
            i + 1
        ));
    }
    for (fields, steps) in [
        (format!("id: Uuid, {}", fields.join(", ")), steps),
        (format!("id: Uuid, a{n}: i64"), renames),
    ] {
        let text = format!(
            "context: p\naggregates:\n  Holder:\n    identity: id\n    state: {{ id: Uuid }}\n    commands:\n      Put:\n        fields: {{ id: Uuid }}\n        emits: [Done]\n    events:\n      Done:\n        version: {n}\n        fields: {{ {fields} }}\n{steps}"
        );
        let files = generate(&one(text));
        assert!(context_file(&files).contains(&format!("const VERSION: u32 = {n};")));
    }
}

/// Many events, each subscribed by a handler and a process manager, and many commands one
/// process manager dispatches: names were looked up in lists.
#[test]
fn many_events_and_commands() {
    let n = 3_000;
    let events: Vec<String> = (0..n).map(|i| format!("E{i}")).collect();
    let list = events.join(", ");
    let mut s = String::from(
        "context: p\naggregates:\n  Holder:\n    identity: id\n    state: { id: Uuid }\n    commands:\n",
    );
    for i in 0..n {
        s.push_str(&format!(
            "      C{i}:\n        fields: {{ id: Uuid }}\n        emits: [E{i}]\n"
        ));
    }
    s.push_str("    events:\n");
    for e in &events {
        s.push_str(&format!("      {e}:\n        fields: {{ id: Uuid }}\n"));
    }
    let commands: Vec<String> = (0..n).map(|i| format!("C{i}")).collect();
    s.push_str(&format!(
        "handlers:\n  H:\n    subscribes: [{list}]\nprocess_managers:\n  P:\n    identity: id\n    starts_on: [{list}]\n    dispatches: [{}]\n    state: {{ x: i64 }}\n",
        commands.join(", ")
    ));
    let files = generate(&one(s));
    assert!(context_file(&files).contains("E2999"));
}

/// Many files, each a context using the next one's type.
#[test]
fn many_contexts() {
    let n = 300;
    let sources: Vec<(PathBuf, String)> = (0..n)
        .map(|i| {
            let next = if i + 1 < n {
                format!("c{}.T", i + 1)
            } else {
                "String".to_string()
            };
            let text = format!(
                "context: c{i}\ntypes:\n  T:\n    fields:\n      x: {{ type: \"Vec<{next}>\" }}\n      y: {{ type: String, validate: [required] }}\naggregates:\n  A{i}:\n    identity: id\n    state: {{ id: Uuid, t: T }}\n    commands:\n      C{i}:\n        fields: {{ id: Uuid, t: T }}\n        emits: [E{i}]\n    events:\n      E{i}:\n        fields: {{ id: Uuid }}\nhandlers:\n  H{i}:\n    subscribes: [c{}.E{}]\n",
                (i + 1) % n,
                (i + 1) % n
            );
            (PathBuf::from(format!("c{i}.yaml")), text)
        })
        .collect();
    let files = generate(&sources);
    assert_eq!(files.len(), n + 1);
}

/// Regexes: a pattern over the regex crate's size limit is an error at its place (the crate
/// is linear-time, so only its compile size can blow up), a long one compiles.
#[test]
fn regex_patterns() {
    let field = |re: &str| {
        format!(
            "context: p\ntypes:\n  T:\n    fields:\n      x: {{ type: String, validate: [{{ pattern: \"{re}\" }}] }}\n"
        )
    };
    let report = fails(&one(field("(a{1000}){1000}")));
    assert_eq!(report.errors().count(), 1, "{report}");
    assert!(report.to_string().contains("size limit"), "{report}");
    assert_eq!(report.diagnostics[0].line, 5);
    check(&one(field(&"(a|b)*c".repeat(5_000)))).expect("a long pattern is fine");
}

/// Many errors of other kinds (unknown keys, duplicate keys) are capped the same way.
#[test]
fn many_shape_errors_are_capped() {
    let mut unknown = String::from("context: p\n");
    let mut dup = String::from("context: p\ntypes:\n  T:\n    fields:\n");
    for i in 0..20_000 {
        unknown.push_str(&format!("k{i}: 1\n"));
        dup.push_str("      f: i64\n");
    }
    for text in [unknown, dup] {
        let report = fails(&one(text));
        assert_eq!(report.errors().count(), 101, "{}", report.diagnostics[0]);
    }
}
