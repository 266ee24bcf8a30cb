//! Schema evolution against the lock file: every case under `tests/evolution/` is a schema
//! change. The schemas of `<case>/before/` (or `base/` when the case has none) are locked as
//! `eskema lock` would; `<case>/exceptions.yaml`, if any, is added to that lock by hand, as
//! a user would; then the case's own YAML is checked against the lock. The result must
//! equal `<case>.expected`: the full report when the change is refused, or `ok`, the
//! warnings and the lock as `eskema lock` would then write it. Cases named `ok_*` must pass.
//! `UPDATE_EXPECT=1` rewrites the expected files.

use std::fs;
use std::path::{Path, PathBuf};

use eskema_codegen::__private::{RULES, check_sources, check_sources_locked};

fn yaml_in(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut out: Vec<(PathBuf, String)> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml") && !p.ends_with("exceptions.yaml"))
        .map(|p| {
            let text = fs::read_to_string(&p).unwrap();
            (Path::new("schemas").join(p.file_name().unwrap()), text)
        })
        .collect();
    out.sort();
    out
}

fn lock_path() -> PathBuf {
    PathBuf::from("schemas/eskema.lock")
}

/// What the case gives, as the expected file holds it.
fn outcome(root: &Path, case: &Path) -> String {
    let before_dir = if case.join("before").is_dir() {
        case.join("before")
    } else {
        root.join("base")
    };
    let before = check_sources(&yaml_in(&before_dir))
        .unwrap_or_else(|r| panic!("{}: the locked schemas must be valid:\n{r}", case.display()));
    let (mut lock, _) = before.locked();
    if let Ok(extra) = fs::read_to_string(case.join("exceptions.yaml")) {
        lock.push_str(&extra);
    }
    let after = yaml_in(case);
    assert!(!after.is_empty(), "{}: no YAML", case.display());
    match check_sources_locked(&after, (lock_path(), lock)) {
        Err(report) => format!("{report}\n"),
        Ok(checked) => {
            let mut out = String::from("ok\n");
            for w in &checked.warnings {
                out.push_str(&format!("{w}\n"));
            }
            let (next, _) = checked.locked();
            // The updated lock is a fixed point: checking again against it is clean.
            let again =
                check_sources_locked(&after, (lock_path(), next.clone())).unwrap_or_else(|r| {
                    panic!(
                        "{}: fails against its own updated lock:\n{r}",
                        case.display()
                    )
                });
            let unlocked: Vec<_> = again
                .warnings
                .iter()
                .filter(|w| w.message.contains("the lock does not have"))
                .collect();
            assert!(unlocked.is_empty(), "{}: {unlocked:?}", case.display());
            assert_eq!(
                again.locked().0,
                next,
                "{}: locking twice differs",
                case.display()
            );
            out.push_str("--- the lock after `eskema lock`:\n");
            out.push_str(&next);
            out
        }
    }
}

#[test]
fn every_evolution_case_gives_its_expected_outcome() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/evolution");
    let update = std::env::var_os("UPDATE_EXPECT").is_some();
    let mut cases: Vec<PathBuf> = fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir() && !p.ends_with("base"))
        .collect();
    cases.sort();
    assert!(cases.len() >= 20, "found only {} cases", cases.len());
    let mut failures = Vec::new();
    let mut rules_seen = std::collections::BTreeSet::new();
    for case in &cases {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let got = outcome(&root, case);
        if name.starts_with("ok_") != got.starts_with("ok\n") {
            failures.push(format!(
                "{name}: expected it to {}, got:\n{got}",
                if name.starts_with("ok_") {
                    "pass"
                } else {
                    "fail"
                }
            ));
        }
        for (id, _) in RULES {
            if got.contains(&format!("[{id}]")) {
                rules_seen.insert(*id);
            }
        }
        let expected_file = root.join(format!("{name}.expected"));
        if update {
            fs::write(&expected_file, &got).unwrap();
            continue;
        }
        let expected = fs::read_to_string(&expected_file).unwrap_or_default();
        if expected != got {
            failures.push(format!(
                "{name}: differs from {}:\n--- expected\n{expected}\n--- got\n{got}",
                expected_file.display()
            ));
        }
    }
    // Every rule has a case that breaks it.
    for (id, _) in RULES {
        if !rules_seen.contains(id) {
            failures.push(format!("no case breaks rule `{id}`"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn the_readme_lists_every_rule() {
    let readme = fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md"))
        .expect("README.md");
    for (id, what) in RULES {
        let row = format!("| `{id}` | {what} |");
        assert!(readme.contains(&row), "README.md lacks the row {row}");
    }
}

/// A large domain against its lock, then with every event gone: the answer comes at once
/// (the lock's lines are indexed once, not searched per problem) and the report is capped.
#[test]
fn a_large_lock_is_checked_in_linear_time() {
    let n = 3_000;
    let mut yaml = String::from("aggregates:\n  Big:\n    identity: id\n    commands:\n");
    for i in 0..n {
        yaml.push_str(&format!(
            "      Do{i}:\n        fields: {{ id: Uuid }}\n        emits: [Done{i}]\n"
        ));
    }
    yaml.push_str("    events:\n");
    for i in 0..n {
        yaml.push_str(&format!(
            "      Done{i}:\n        fields: {{ id: Uuid, n: i64 }}\n"
        ));
    }
    let sources = vec![(PathBuf::from("schemas/big.yaml"), yaml)];
    let started = std::time::Instant::now();
    let (lock, _) = check_sources(&sources).expect("valid").locked();
    let again = check_sources_locked(&sources, (lock_path(), lock.clone())).expect("unchanged");
    assert!(again.warnings.is_empty(), "{:?}", again.warnings);
    let gone = vec![(
        PathBuf::from("schemas/big.yaml"),
        "aggregates:\n  Big:\n    identity: id\n    commands:\n      Finish:\n        fields: { id: Uuid }\n        emits: [Done]\n    events:\n      Done:\n        fields: { id: Uuid }\n".to_string(),
    )];
    let report = check_sources_locked(&gone, (lock_path(), lock)).expect_err("all deleted");
    let deleted = report
        .diagnostics
        .iter()
        .filter(|d| d.code.as_deref() == Some("event-deleted"))
        .count();
    assert!(
        (1..=100).contains(&deleted),
        "{deleted} reported: {}",
        report
            .diagnostics
            .iter()
            .take(3)
            .map(|d| d.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    );
    // Generous: the debug build takes about 2 s for all three checks here (the lock's part about 0.15 s); a quadratic search of
    // the lock's text took minutes.
    assert!(
        started.elapsed() < std::time::Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
}

/// Hand-edited locks of every odd shape give a report or pass, never a panic.
#[test]
fn odd_locks_never_panic() {
    let shelf = "aggregates:\n  Book:\n    identity: isbn\n    commands:\n      LendBook:\n        fields: { isbn: String }\n        emits: [BookLent]\n    events:\n      BookLent:\n        version: 3\n        fields: { isbn: String }\n        upcast:\n          - { from: 1, convert: f }\n          - { from: 2, remove: [gone] }\n";
    let sources = vec![(PathBuf::from("schemas/shelf.yaml"), shelf.to_string())];
    check_sources(&sources).expect("the schema itself is valid");
    let locks = [
        "lock: 1\n",
        "lock: 1\nevents: {}\ntypes: {}\nexceptions: []\n",
        "lock: 1\nevents:\n  shelf.BookLent:\n    aggregate: Book\n    versions:\n      0: { fields: {} }\n      4294967295: { fields: { isbn: String } }\n",
        "lock: 1\nevents:\n  shelf.BookLent:\n    aggregate: Book\n    versions:\n      4294967295: { fields: { isbn: \"Option<\" } }\n      7: { fields: null }\n    upcast: { 0: \"\", 4294967295: x }\n",
        "lock: 1\nevents:\n  shelf.BookLent:\n    aggregate: Other\n    renamed_from: [\"\", BookLent]\n    versions: {}\n",
        "lock: 1\nevents:\n  nodot:\n    aggregate: \"\"\n    versions: { 1: { derived: true, fields: { \"\": \"?\" } } }\ntypes:\n  shelf.Nothing: {}\n  x: { enum: [], fields: {} }\n",
        "lock: 1\nexceptions:\n  - { rule: \"\", event: \"\" }\n  - { rule: event-deleted, event: nodot, reason: \"   \" }\n",
        "lock: 2\n",
        "lock: -1\n",
        "events: []\n",
        "",
        "lock: 1\nevents:\n  shelf.BookLent: *x\n",
    ];
    for lock in locks {
        let result = check_sources_locked(&sources, (lock_path(), lock.to_string()));
        if let Ok(checked) = &result {
            // And writing the lock from it works too.
            let _ = checked.locked();
        }
    }
}
