//! What the fuzz targets share: one input -> several schema files -> load + check, and
//! generate when the check passes. A panic anywhere in there is a bug (bad input must get a
//! diagnostic), and so is an input that takes long: libFuzzer's `-timeout` catches those.

pub mod schema;

use std::path::PathBuf;

use eskema_codegen::__private::{check_sources, check_sources_locked, render_files};

/// Separates files in one fuzz input. A YAML comment line, so a seed made of one schema
/// file is valid as it is, and joined seeds are a multi-file domain.
pub const FILE_SEPARATOR: &str = "\n#--- next file ---\n";

/// At most this many files per input: more only slows each run down.
const MAX_FILES: usize = 8;

/// Splits `text` into `(file name, text)` sources: `f0.yaml`, `f1.yaml`, ...
pub fn sources(text: &str) -> Vec<(PathBuf, String)> {
    text.split(FILE_SEPARATOR)
        .take(MAX_FILES)
        .enumerate()
        .map(|(i, t)| (PathBuf::from(format!("f{i}.yaml")), t.to_string()))
        .collect()
}

/// Checks the sources and, when they are valid, generates the Rust for them.
///
/// Asserts what must hold of every answer: a failed check has at least one error, each at a
/// real position (line and column from 1) of a file that was given.
pub fn run(sources: &[(PathBuf, String)]) {
    match check_sources(sources) {
        Ok(checked) => {
            let files = render_files(&checked);
            assert!(
                files.iter().any(|(name, _)| name == "eskema_domain.rs"),
                "generate always writes eskema_domain.rs"
            );
        }
        Err(report) => {
            assert!(report.has_errors(), "a failed check reports an error");
            for d in &report.diagnostics {
                assert!(d.line >= 1 && d.column >= 1, "position from 1: {d}");
                assert!(
                    sources.iter().any(|(p, _)| *p == d.file),
                    "diagnostic on a file that was given: {d}"
                );
            }
        }
    }
}

/// Separates the lock file from the schema files in one `lock` fuzz input (a YAML comment
/// line too).
pub const LOCK_SEPARATOR: &str = "\n#--- schemas ---\n";

/// The lock's file name in a fuzz input.
pub const LOCK_FILE: &str = "eskema.lock";

/// Checks the sources against the lock `lock`; when that passes, the lock `eskema lock`
/// would write from it must read back and pass too (it is a fixed point: locking twice
/// changes nothing), and generate must work.
pub fn run_locked(sources: &[(PathBuf, String)], lock: &str) {
    let lock_path = PathBuf::from(LOCK_FILE);
    match check_sources_locked(sources, (lock_path.clone(), lock.to_string())) {
        Ok(checked) => {
            let (next, _) = checked.locked();
            let again = check_sources_locked(sources, (lock_path.clone(), next.clone()))
                .unwrap_or_else(|r| panic!("the updated lock is refused:\n{r}\n--- lock\n{next}"));
            assert_eq!(again.locked().0, next, "locking twice changes the lock");
            let _ = render_files(&again);
        }
        Err(report) => {
            assert!(report.has_errors(), "a failed check reports an error");
            for d in &report.diagnostics {
                assert!(d.line >= 1 && d.column >= 1, "position from 1: {d}");
                assert!(
                    d.file == lock_path || sources.iter().any(|(p, _)| *p == d.file),
                    "diagnostic on a file that was given: {d}"
                );
            }
        }
    }
}
