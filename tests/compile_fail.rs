//! An executor's return type admits only the events its command `emits`: returning any
//! other event does not compile.
//!
//! The test does not compile the demo again. It writes minimal crates under
//! `target/tmp/compile-fail/` (cargo's `CARGO_TARGET_TMPDIR`), each with a tiny schema's
//! generated code (written by [`eskema_codegen::Builder`] from here, so the crates need no
//! build script) and one `impl CounterLogic for Counter`, and runs `cargo check --offline` on
//! them, all sharing one target dir there (`target/tmp/compile-fail/target`), so that only
//! the first run pays for `eskema`'s dependencies (without `postgres`: no sqlx). The cases:
//!
//! - `ok`: every executor returns a declared event, and the crate compiles: the control that
//!   the harness works (manifest, lock file, offline resolution), so that the failures below
//!   cannot have another cause (its command holds a declared type with a rule in each
//!   wrapper, so the nested validation the generator writes is compiled here too);
//! - `single`: `Open` emits only `CounterOpened`; its executor returns `AmountAdded`;
//! - `multi`: `Adjust` emits `AmountAdded` and `AmountRemoved`; its executor returns
//!   `CounterOpened`.
//!
//! Each failing case must fail with a type error (E0277 or E0308) on the line of the bad
//! executor that names the undeclared event, and with no other error. The compiler's exact
//! text is not pinned, nor how the generated code spells the executor's return type: the
//! impl copies every method signature from the generated `CounterLogic` trait, and the
//! events are turned into the return type's elements with `.into()`. The crates stay on disk
//! after a run for a look: `CARGO_TARGET_DIR=../target cargo check` in one reproduces it.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use eskema::serde_json::Value;

const SCHEMA: &str = "\
context: counters
types:
  Part:
    fields: { n: { type: i64, validate: [{ min: 1 }] } }
aggregates:
  Counter:
    identity: id
    state: { id: String, total: i64 }
    commands:
      Open:
        fields: { id: String }
        emits: [CounterOpened]
      Adjust:
        fields:
          id: String
          by: i64
          part: \"Option<Part>\"
          parts: \"Vec<Part>\"
          by_key: \"Map<String, Part>\"
          deep: \"Vec<Option<Part>>\"
        emits: [AmountAdded, AmountRemoved]
    events:
      CounterOpened:
        fields: { id: String }
      AmountAdded:
        fields: { by: i64 }
      AmountRemoved:
        fields: { by: i64 }
";

/// Marks the line a failing case must fail on.
const BAD: &str = "// <- undeclared event";

const OPEN_OK: &str = "Ok(vec![CounterOpened { id: command.id.clone() }.into()])";
const OPEN_BAD: &str = "Ok(vec![AmountAdded { by: 1 }.into()]) // <- undeclared event";
const ADJUST_OK: &str =
    "Ok(vec![AmountAdded { by: command.by }.into(), AmountRemoved { by: 0 }.into()])";
const ADJUST_BAD: &str =
    "Ok(vec![CounterOpened { id: command.id.clone() }.into()]) // <- undeclared event";

/// How long one `cargo check` may take (the first one compiles eskema's dependencies).
const TIMEOUT: Duration = Duration::from_secs(600);

#[test]
fn an_executor_cannot_return_an_undeclared_event() {
    let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("compile-fail");
    let target_dir = root.join("target");
    fs::create_dir_all(&root).unwrap();
    let schema = root.join("counters.yaml");
    fs::write(&schema, SCHEMA).unwrap();

    // First, in the same target dir, so that the failing cases are incremental.
    let ok = Case::write(&root, &schema, "ok", OPEN_OK, ADJUST_OK);
    let out = ok.check(&target_dir);
    assert!(
        out.success,
        "the control case does not compile: the harness is broken, not the property\n{}",
        out.report(&ok)
    );
    assert!(out.errors.is_empty(), "{}", out.report(&ok));

    for (name, open, adjust, undeclared) in [
        ("single", OPEN_BAD, ADJUST_OK, "AmountAdded"),
        ("multi", OPEN_OK, ADJUST_BAD, "CounterOpened"),
    ] {
        let case = Case::write(&root, &schema, name, open, adjust);
        let out = case.check(&target_dir);
        assert!(
            !out.success,
            "case `{name}` compiles\n{}",
            out.report(&case)
        );
        assert!(
            !out.errors.is_empty(),
            "case `{name}`: cargo failed without a compiler error (a harness failure)\n{}",
            out.report(&case)
        );
        for e in &out.errors {
            assert!(
                e.at.iter()
                    .any(|(file, line)| file == "src/lib.rs" && *line == case.bad_line),
                "case `{name}`: an error that is not at src/lib.rs:{} (the bad executor)\n{}",
                case.bad_line,
                out.report(&case)
            );
        }
        assert!(
            out.errors.iter().any(|e| {
                matches!(e.code.as_deref(), Some("E0277" | "E0308"))
                    && names(&e.rendered, undeclared)
            }),
            "case `{name}`: no type error (E0277, E0308) that names `{undeclared}`\n{}",
            out.report(&case)
        );
    }
}

/// A new aggregate before `eskema scaffold`: no `impl CounterLogic for Counter`. The build
/// must fail with the generated trait's `#[diagnostic::on_unimplemented]` message and a note
/// that names the command to run, not only "the trait bound is not satisfied" in OUT_DIR.
#[test]
fn a_missing_logic_impl_says_to_run_eskema_scaffold() {
    let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("compile-fail");
    let target_dir = root.join("target");
    fs::create_dir_all(&root).unwrap();
    let schema = root.join("missing-impl-schemas/counters.yaml");
    fs::create_dir_all(schema.parent().unwrap()).unwrap();
    fs::write(&schema, SCHEMA).unwrap();
    let case = Case::write_with(&root, &schema, "missing-impl", |_| {
        "include!(\"generated/counters.rs\");\n".to_owned()
    });
    let out = case.check(&target_dir);
    assert!(
        !out.success,
        "compiles without the impl\n{}",
        out.report(&case)
    );
    let scaffold = format!(
        "run `eskema scaffold {} --out src/logic`",
        schema.parent().unwrap().display()
    );
    let named = out.errors.iter().filter(|e| {
        e.code.as_deref() == Some("E0277")
            && e.rendered.contains(
                "error[E0277]: `Counter` does not implement `CounterLogic`, the logic of aggregate `Counter`",
            )
            && e.rendered.contains(&scaffold)
    });
    assert!(
        named.count() >= 1,
        "no E0277 with the on_unimplemented message and the note `{scaffold}`\n{}",
        out.report(&case)
    );
    // Every error about the missing impl carries the note, whichever bound it is.
    for e in out
        .errors
        .iter()
        .filter(|e| e.rendered.contains("CounterLogic"))
    {
        assert!(e.rendered.contains(&scaffold), "{}", e.rendered);
    }
}

/// One minimal crate: `Cargo.toml`, the workspace's `Cargo.lock`, the generated code in
/// `src/generated/` and `src/lib.rs` with the logic.
struct Case {
    dir: PathBuf,
    /// The line of [`BAD`] in `src/lib.rs`, 1-based (0: no bad executor).
    bad_line: usize,
}

impl Case {
    fn write(root: &Path, schema: &Path, name: &str, open: &str, adjust: &str) -> Case {
        Case::write_with(root, schema, name, |generated| {
            lib_rs(generated, open, adjust)
        })
    }

    /// The same with any `src/lib.rs`, made from the generated code.
    fn write_with(
        root: &Path,
        schema: &Path,
        name: &str,
        lib: impl FnOnce(&str) -> String,
    ) -> Case {
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR"));
        let dir = root.join(name);
        let src = dir.join("src");
        fs::create_dir_all(&src).unwrap();
        eskema_codegen::Builder::new()
            .schemas(schema)
            .out_dir(src.join("generated"))
            .rerun_if_changed(false)
            .generate()
            .unwrap_or_else(|e| panic!("the test schema does not generate: {e}"));
        let manifest = format!(
            "[package]\n\
             name = \"compile-fail-{name}\"\n\
             version = \"0.0.0\"\n\
             edition = \"2024\"\n\
             publish = false\n\
             \n\
             # Not a member of the eskema workspace this directory is in.\n\
             [workspace]\n\
             \n\
             [dependencies]\n\
             eskema = {{ path = '{}' }}\n",
            workspace.join("runtime").display()
        );
        write_if_changed(&dir.join("Cargo.toml"), &manifest);
        // The workspace's versions: nothing to resolve, so `--offline` works.
        let lock = fs::read_to_string(workspace.join("Cargo.lock")).unwrap();
        write_if_changed(&dir.join("Cargo.lock"), &lock);

        let generated = fs::read_to_string(src.join("generated/counters.rs")).unwrap();
        let lib = lib(&generated);
        let bad_line = lib
            .lines()
            .position(|l| l.contains(BAD))
            .map_or(0, |i| i + 1);
        write_if_changed(&src.join("lib.rs"), &lib);
        Case { dir, bad_line }
    }

    /// `cargo check --offline` with JSON messages, in `target_dir`, within [`TIMEOUT`].
    fn check(&self, target_dir: &Path) -> Checked {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let stdout_path = self.dir.join("check.stdout");
        let stderr_path = self.dir.join("check.stderr");
        let mut child = Command::new(&cargo)
            .args(["check", "--offline", "--quiet", "--message-format=json"])
            .current_dir(&self.dir)
            .env("CARGO_TARGET_DIR", target_dir)
            .env("CARGO_TERM_COLOR", "never")
            .stdin(Stdio::null())
            .stdout(fs::File::create(&stdout_path).unwrap())
            .stderr(fs::File::create(&stderr_path).unwrap())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", Path::new(&cargo).display()));
        let start = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if start.elapsed() > TIMEOUT {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "`cargo check` in {} took over {TIMEOUT:?}; killed\n{}",
                    self.dir.display(),
                    fs::read_to_string(&stderr_path).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let stdout = fs::read_to_string(&stdout_path).unwrap();
        let stderr = fs::read_to_string(&stderr_path).unwrap();
        let errors = stdout
            .lines()
            .filter_map(|l| eskema::serde_json::from_str::<Value>(l).ok())
            .filter(|m| m["reason"] == "compiler-message")
            .map(|m| m["message"].clone())
            .filter(|m| m["level"] == "error" && !m["spans"].as_array().is_none_or(Vec::is_empty))
            .map(|m| Error {
                code: m["code"]["code"].as_str().map(str::to_owned),
                at: m["spans"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|s| s["is_primary"] == true)
                    .map(|s| {
                        let file = s["file_name"].as_str().unwrap_or_default().to_owned();
                        (file, s["line_start"].as_u64().unwrap_or_default() as usize)
                    })
                    .collect(),
                rendered: m["rendered"].as_str().unwrap_or_default().to_owned(),
            })
            .collect();
        Checked {
            success: status.success(),
            status: status.to_string(),
            errors,
            stderr,
        }
    }
}

/// What one `cargo check` said.
struct Checked {
    success: bool,
    status: String,
    /// The compiler's errors with a source location.
    errors: Vec<Error>,
    stderr: String,
}

struct Error {
    code: Option<String>,
    /// The primary spans: file (relative to the crate) and 1-based line.
    at: Vec<(String, usize)>,
    rendered: String,
}

impl Checked {
    fn report(&self, case: &Case) -> String {
        let rendered: String = self.errors.iter().map(|e| e.rendered.as_str()).collect();
        let bad = match case.bad_line {
            0 => "no bad executor".to_owned(),
            line => format!("the bad executor is on line {line} of src/lib.rs"),
        };
        format!(
            "in {} (cargo check: {}; {bad})\n\
             --- compiler errors\n{rendered}--- cargo's stderr\n{}",
            case.dir.display(),
            self.status,
            self.stderr
        )
    }
}

/// The crate's `src/lib.rs`: the generated context and `impl CounterLogic for Counter`, whose
/// method signatures are those of the generated trait (so they follow the generator), with
/// `open` and `adjust` as the executors' bodies.
fn lib_rs(generated: &str, open: &str, adjust: &str) -> String {
    let mut methods = String::new();
    for signature in trait_methods(generated, "CounterLogic") {
        let name = signature
            .split_once("fn ")
            .and_then(|(_, rest)| rest.split_once('('))
            .map(|(name, _)| name.trim())
            .unwrap_or_else(|| panic!("a method without a name in CounterLogic: {signature}"));
        let body = match name {
            "open" => open,
            "adjust" => adjust,
            "apply_counter_opened" => "self.id = event.id.clone();",
            "apply_amount_added" => "self.total += event.by;",
            "apply_amount_removed" => "self.total -= event.by;",
            other => panic!(
                "CounterLogic has a method this test does not know: `{other}` ({signature}); \
                 give it a body in tests/compile_fail.rs"
            ),
        };
        methods.push_str(&format!("    {signature} {{\n        {body}\n    }}\n"));
    }
    format!(
        "//! Written by the eskema-demo test `compile_fail`; rewritten on each run.\n\
         \n\
         include!(\"generated/counters.rs\");\n\
         \n\
         use counters::*;\n\
         \n\
         impl CounterLogic for Counter {{\n{methods}}}\n"
    )
}

/// The method declarations of `pub trait <name>` in the generated code, without their docs
/// and the final `;`, each on one line.
fn trait_methods(generated: &str, name: &str) -> Vec<String> {
    let head = format!("pub trait {name} {{");
    let start = generated
        .find(&head)
        .unwrap_or_else(|| panic!("no `{head}` in the generated code:\n{generated}"))
        + head.len();
    let body: String = generated[start..]
        .lines()
        .take_while(|l| l.trim() != "}")
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join(" ");
    let methods: Vec<String> = body
        .split(';')
        .map(|m| m.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|m| !m.is_empty())
        .collect();
    assert!(
        methods.iter().any(|m| m.contains("fn open("))
            && methods.iter().any(|m| m.contains("fn adjust(")),
        "no executors `open` and `adjust` in `{head} .. }}`: {methods:?}"
    );
    methods
}

/// Whether `text` has `word` as a whole identifier (not inside a longer one).
fn names(text: &str, word: &str) -> bool {
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    text.match_indices(word)
        .any(|(i, _)| !text[..i].ends_with(ident) && !text[i + word.len()..].starts_with(ident))
}

fn write_if_changed(path: &Path, content: &str) {
    if fs::read_to_string(path).is_ok_and(|old| old == content) {
        return;
    }
    fs::write(path, content).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
}
