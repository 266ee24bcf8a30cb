//! The `eskema` binary as a user runs it: exit codes, what it prints, what it writes.

mod support;

use std::path::Path;
use std::process::Command;

use support::{TempDir, eskema, text};

const GOOD: &str = "doc: A lending shelf.\naggregates:\n  Book:\n    identity: isbn\n    state: { isbn: String }\n    commands:\n      LendBook:\n        fields: { isbn: String, reader: String }\n        emits: [BookLent]\n    events:\n      BookLent:\n        fields: { isbn: String, reader: String }\n";

#[test]
fn check_exits_0_on_a_valid_schema() {
    let t = TempDir::new("ok");
    std::fs::write(t.0.join("schemas/shelf.yaml"), GOOD).expect("write");
    let out = eskema(&["check", "schemas"], &t.0);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("1 context(s), 1 aggregate(s)"));
}

#[test]
fn check_exits_1_and_prints_every_error_with_its_position() {
    let t = TempDir::new("bad");
    let bad = GOOD
        .replace("emits: [BookLent]", "emit: [BookLent]")
        .replace(
            "reader: String }\n        emi",
            "reader: Strng }\n        emi",
        );
    std::fs::write(t.0.join("schemas/shelf.yaml"), bad).expect("write");
    let out = eskema(&["check", "schemas/shelf.yaml"], &t.0);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("schemas/shelf.yaml:8:41: error: unknown type `Strng`"),
        "{err}"
    );
    assert!(err.contains("did you mean `String`?"), "{err}");
    assert!(
        err.contains("schemas/shelf.yaml:9:9: error: unknown key `emit`"),
        "{err}"
    );
    assert!(err.contains("did you mean `emits`?"), "{err}");
    assert!(
        err.contains("schemas/shelf.yaml:7:7: error: command `LendBook` has no `emits`"),
        "{err}"
    );
    assert!(
        err.contains("3 problem(s) found; the schemas are not valid"),
        "{err}"
    );
}

#[test]
fn check_reports_a_missing_path() {
    let t = TempDir::new("missing");
    let out = eskema(&["check", "nope.yaml"], &t.0);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("nope.yaml:1:1: error: cannot read file"),
        "{err}"
    );
    // `check` never generates anything, so it does not say "nothing was generated".
    assert!(
        err.ends_with("1 problem(s) found; the schemas are not valid\n"),
        "{err}"
    );
    let gen_out = eskema(&["generate", "nope.yaml", "--out", "out"], &t.0);
    assert!(text(&gen_out.stderr).ends_with("; nothing was generated\n"));
    let scaffold = eskema(&["scaffold", "nope.yaml", "--out", "out"], &t.0);
    assert!(text(&scaffold.stderr).ends_with("; nothing was scaffolded\n"));
}

/// `--format`: `short` by default when stderr is not a terminal (as here), `human` with the
/// source line and a caret under the span, `json` as one parseable array.
#[test]
fn format_chooses_how_problems_are_printed() {
    let t = TempDir::new("format");
    let bad = GOOD.replace("emits: [BookLent]", "emits: [BookLent]\n        emit: []");
    std::fs::write(t.0.join("schemas/shelf.yaml"), bad).expect("write");
    let short = "schemas/shelf.yaml:10:9: error: unknown key `emit` in command `LendBook`\n  \
                 = hint: did you mean `emits`?\n1 error, 0 warnings\n";

    let default = eskema(&["check", "schemas"], &t.0);
    assert_eq!(default.status.code(), Some(1));
    assert!(
        text(&default.stderr).starts_with(short),
        "{}",
        text(&default.stderr)
    );
    let explicit = eskema(&["check", "--format", "short", "schemas"], &t.0);
    assert_eq!(explicit.stderr, default.stderr);

    let human = eskema(&["check", "schemas", "--format", "human"], &t.0);
    assert_eq!(human.status.code(), Some(1));
    let err = text(&human.stderr);
    assert!(
        err.starts_with(
            "error: unknown key `emit` in command `LendBook`\n  \
             --> schemas/shelf.yaml:10:9\n   |\n\
             10 |         emit: []\n   |         ^^^^\n   |\n   \
             = hint: did you mean `emits`?\n"
        ),
        "{err}"
    );

    // `generate` takes the same option; `json` is one document and nothing else.
    let json = eskema(
        &["generate", "schemas", "--out", "out", "--format", "json"],
        &t.0,
    );
    assert_eq!(json.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&json.stderr).expect("one JSON document");
    let d = &v[0];
    assert_eq!(d["file"], "schemas/shelf.yaml");
    assert_eq!(
        (d["line"].as_u64(), d["column"].as_u64()),
        (Some(10), Some(9))
    );
    assert_eq!(d["end_column"].as_u64(), Some(13));
    assert_eq!(d["severity"], "error");
    assert_eq!(d["message"], "unknown key `emit` in command `LendBook`");
    assert_eq!(d["hint"], "did you mean `emits`?");
    assert_eq!(v.as_array().map(Vec::len), Some(1));
    assert!(!t.0.join("out").exists(), "nothing was generated");
}

#[test]
fn generate_writes_one_file_per_context_and_the_domain_router() {
    let t = TempDir::new("gen");
    std::fs::write(t.0.join("schemas/shelf.yaml"), GOOD).expect("write");
    let out = eskema(&["generate", "schemas", "--out", "out"], &t.0);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let shelf = std::fs::read_to_string(t.0.join("out/shelf.rs")).expect("shelf.rs");
    assert!(shelf.starts_with("// @generated by eskema-codegen from schemas/shelf.yaml"));
    assert!(shelf.contains("pub trait BookLogic"));
    assert!(t.0.join("out/eskema_domain.rs").exists());
    assert!(
        t.0.join("out/eskema.schema.json").exists(),
        "the JSON Schema for editors"
    );
    // A second run writes nothing new.
    let again = eskema(&["generate", "schemas", "--out", "out"], &t.0);
    assert!(
        text(&again.stdout).contains("unchanged out/shelf.rs"),
        "{}",
        text(&again.stdout)
    );
}

#[test]
fn scaffold_writes_stubs_once_and_keeps_hand_written_code() {
    let t = TempDir::new("scaffold");
    std::fs::write(t.0.join("schemas/shelf.yaml"), GOOD).expect("write");
    let out = eskema(&["scaffold", "schemas", "--out", "src/logic"], &t.0);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let book = t.0.join("src/logic/book.rs");
    let stub = std::fs::read_to_string(&book).expect("book.rs");
    assert!(stub.contains("fn lend_book(&self, command: &LendBook)"));
    let mine = stub.replace("todo!(\"decide {command:?}\")", "Ok(vec![]) // mine");
    std::fs::write(&book, &mine).expect("edit");
    let again = eskema(&["scaffold", "schemas", "--out", "src/logic"], &t.0);
    assert_eq!(again.status.code(), Some(0));
    assert_eq!(std::fs::read_to_string(&book).expect("book.rs"), mine);

    // A renamed command: the new method is added, the old one is named, not deleted.
    std::fs::write(
        t.0.join("schemas/shelf.yaml"),
        GOOD.replace("LendBook", "BorrowBook"),
    )
    .expect("write");
    let renamed = eskema(&["scaffold", "schemas", "--out", "src/logic"], &t.0);
    assert_eq!(renamed.status.code(), Some(0));
    assert!(
        text(&renamed.stdout).contains("updated src/logic/book.rs: added borrow_book"),
        "{}",
        text(&renamed.stdout)
    );
    let err = text(&renamed.stderr);
    assert!(
        err.contains("warning: stale method `lend_book` in src/logic/book.rs:")
            && err.contains("delete or rename it"),
        "{err}"
    );
}

#[test]
fn a_usage_error_is_exit_code_2() {
    let t = TempDir::new("usage");
    let out = eskema(&["generate", "schemas"], &t.0);
    assert_eq!(out.status.code(), Some(2), "--out is required");
}

#[test]
fn docs_writes_a_page_per_context_and_check_tells_stale_pages() {
    let t = TempDir::new("docs");
    std::fs::write(t.0.join("schemas/shelf.yaml"), GOOD).expect("write");
    let docs = ["docs", "schemas", "--out", "docs"];
    let check = ["docs", "schemas", "--out", "docs", "--check"];

    // Nothing written yet: every page is missing.
    let out = eskema(&check, &t.0);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("missing: docs/shelf.md"), "{err}");
    assert!(err.contains("missing: docs/README.md"), "{err}");
    assert!(
        err.contains("run `eskema docs schemas --out docs`"),
        "{err}"
    );

    let out = eskema(&docs, &t.0);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("wrote docs/shelf.md"));
    let shelf = std::fs::read_to_string(t.0.join("docs/shelf.md")).expect("shelf.md");
    assert!(shelf.contains("```mermaid\nflowchart LR\n"), "{shelf}");
    assert!(
        shelf.contains("cmd__shelf__LendBook --> evt__shelf__BookLent"),
        "{shelf}"
    );

    // Fresh: ok, and nothing is written.
    let out = eskema(&check, &t.0);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("ok: 2 page(s) in docs are up to date"));

    // A page edited by hand is stale.
    std::fs::write(t.0.join("docs/shelf.md"), shelf.replace("LendBook", "Lend")).expect("edit");
    let out = eskema(&check, &t.0);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("stale: docs/shelf.md"), "{err}");
    assert!(!err.contains("README.md"), "only the edited page: {err}");

    // A schema change makes the pages stale too; writing them makes check pass again.
    std::fs::write(t.0.join("docs/shelf.md"), &shelf).expect("restore");
    let changed = GOOD.replace("LendBook", "BorrowBook");
    std::fs::write(t.0.join("schemas/shelf.yaml"), changed).expect("write");
    let err = text(&eskema(&check, &t.0).stderr);
    assert!(err.contains("stale: docs/shelf.md"), "{err}");
    assert_eq!(eskema(&docs, &t.0).status.code(), Some(0));
    assert_eq!(eskema(&check, &t.0).status.code(), Some(0));

    // A deleted page is missing; a page of a context that is gone is extra.
    std::fs::remove_file(t.0.join("docs/README.md")).expect("remove");
    std::fs::copy(t.0.join("docs/shelf.md"), t.0.join("docs/attic.md")).expect("copy");
    let out = eskema(&check, &t.0);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("missing: docs/README.md"), "{err}");
    assert!(err.contains("extra: docs/attic.md"), "{err}");
    let out = eskema(&docs, &t.0);
    assert!(text(&out.stdout).contains("removed docs/attic.md"));
    assert_eq!(eskema(&check, &t.0).status.code(), Some(0));
}

#[test]
fn docs_of_a_bad_schema_fails_like_check() {
    let t = TempDir::new("docs-bad");
    std::fs::write(
        t.0.join("schemas/shelf.yaml"),
        GOOD.replace("String }", "Strng }"),
    )
    .expect("write");
    let out = eskema(&["docs", "schemas", "--out", "docs"], &t.0);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("unknown type `Strng`"));
    assert!(!t.0.join("docs").exists(), "nothing is written");
}

/// `eskema init` lays out a crate that builds and passes its own test, and whose build,
/// once the schema is broken, prints each problem once with its source line and hint.
/// The crate depends on this checkout by path and builds offline with the workspace's
/// versions, in a target dir under CARGO_TARGET_TMPDIR kept between runs (the first run
/// compiles eskema's dependencies there, later ones only the crate).
#[test]
fn init_makes_a_crate_whose_test_passes() {
    let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("init");
    let dir = root.join("my-shelf");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&root).expect("mkdir");
    let out = eskema(&["init", "my-shelf"], &root);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    for f in [
        "Cargo.toml",
        "build.rs",
        "schemas/my_shelf.yaml",
        "src/lib.rs",
        "src/logic/book.rs",
        "src/logic/mod.rs",
        "tests/book.rs",
    ] {
        assert!(dir.join(f).is_file(), "no {f}");
    }
    let again = eskema(&["init", "my-shelf"], &root);
    assert_eq!(
        again.status.code(),
        Some(1),
        "init refuses a non-empty directory"
    );
    assert!(text(&again.stderr).contains("is not empty"));

    let cargo = |args: &[&str]| {
        Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
            .args(args)
            .current_dir(&dir)
            .env("CARGO_TARGET_DIR", root.join("target"))
            .env("CARGO_TERM_COLOR", "never")
            .env_remove("ESKEMA_FORMAT")
            .output()
            .expect("run cargo")
    };
    let test = cargo(&["test", "--offline"]);
    assert!(
        test.status.success(),
        "{}\n{}",
        text(&test.stdout),
        text(&test.stderr)
    );
    let stdout = text(&test.stdout);
    assert!(
        stdout.contains("test result: ok. 3 passed"),
        "the starter's three tests run and pass\n{stdout}"
    );

    // A mistake in the schema: the build fails and says so once, with the hint.
    let schema = dir.join("schemas/my_shelf.yaml");
    let yaml = std::fs::read_to_string(&schema).expect("schema");
    std::fs::write(
        &schema,
        yaml.replace("emits: [BookLent]", "emit: [BookLent]"),
    )
    .expect("write");
    let build = cargo(&["build", "--offline"]);
    assert!(!build.status.success());
    let err = text(&build.stderr);
    assert_eq!(err.matches("unknown key `emit`").count(), 1, "{err}");
    assert_eq!(err.matches("did you mean `emits`?").count(), 1, "{err}");
    assert!(err.contains("emit: [BookLent]\n"), "the source line\n{err}");
    assert!(!err.contains("cargo::error"), "{err}");
}
