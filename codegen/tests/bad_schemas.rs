//! Schema mistakes: every case under `tests/bad_schemas/` is a directory of YAML files, and
//! the checker's full report for them (each diagnostic at its file, line and column, with
//! its hint) must equal `<case>.expected` beside the directory. `UPDATE_EXPECT=1` rewrites
//! the expected reports. See `tests/bad_schemas/README.md`; the tests that are not
//! "YAML in, report out" are in `bad_schemas_misc.rs`.

use std::fs;
use std::path::{Path, PathBuf};

use eskema_codegen::__private::check_sources;

/// The YAML files under `dir`, named by their path relative to `root`, sorted.
fn yaml_files(root: &Path, dir: &Path, out: &mut Vec<(PathBuf, String)>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            yaml_files(root, &path, out);
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            let text = fs::read_to_string(&path).unwrap();
            out.push((path.strip_prefix(root).unwrap().to_path_buf(), text));
        }
    }
    out.sort();
}

/// The report the checker gives for one case, or why the case is wrong.
fn report(case: &Path) -> Result<String, String> {
    let mut sources = Vec::new();
    yaml_files(case, case, &mut sources);
    if sources.is_empty() {
        return Err("the case has no YAML file".into());
    }
    match check_sources(&sources) {
        Ok(checked) => Err(format!(
            "checks clean, but a bad-schema case must fail (warnings: {:?})",
            checked.warnings
        )),
        Err(report) => Ok(format!("{report}\n")),
    }
}

/// A line diff of two texts (longest common subsequence): `-` expected, `+` actual.
fn diff(expected: &str, actual: &str) -> String {
    let (a, b): (Vec<_>, Vec<_>) = (expected.lines().collect(), actual.lines().collect());
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, String::new());
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            out += &format!("   {}\n", a[i]);
            (i, j) = (i + 1, j + 1);
        } else if i < a.len() && (j == b.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            out += &format!("  -{}\n", a[i]);
            i += 1;
        } else {
            out += &format!("  +{}\n", b[j]);
            j += 1;
        }
    }
    out
}

#[test]
fn every_bad_schema_case_gives_its_expected_report() {
    let update = std::env::var_os("UPDATE_EXPECT").is_some_and(|v| v != "0" && !v.is_empty());
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bad_schemas");
    let mut entries: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    let (mut cases, mut failures) = (0, Vec::new());
    for path in entries {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            cases += 1;
            let expected_path = dir.join(format!("{name}.expected"));
            let actual = match report(&path) {
                Ok(actual) => actual,
                Err(why) => {
                    failures.push(format!("{name}: {why}"));
                    continue;
                }
            };
            match fs::read_to_string(&expected_path) {
                Ok(expected) if expected == actual => {}
                _ if update => fs::write(&expected_path, &actual).unwrap(),
                Ok(expected) => failures.push(format!(
                    "{name}: the report differs from {name}.expected (-expected +actual):\n{}",
                    diff(&expected, &actual)
                )),
                Err(_) => failures.push(format!(
                    "{name}: no {name}.expected; the report is:\n{actual}"
                )),
            }
        } else if let Some(case) = name.strip_suffix(".expected") {
            if !dir.join(case).is_dir() {
                failures.push(format!("{name}: no case directory `{case}/` for it"));
            }
        } else if name != "README.md" {
            failures.push(format!(
                "{name}: not a case (a case is a directory of YAML files)"
            ));
        }
    }
    assert!(cases > 0, "no cases in {}", dir.display());
    if !failures.is_empty() {
        panic!(
            "{} of {cases} bad-schema cases failed{}:\n\n{}",
            failures.len(),
            if update {
                ""
            } else {
                " (UPDATE_EXPECT=1 rewrites the .expected files)"
            },
            failures.join("\n")
        );
    }
}
