//! Running the `eskema` binary as a user does, in a directory of its own.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs `eskema args..` in `cwd`. Its stderr is a pipe, so problems come in the short form.
pub fn eskema(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_eskema"))
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("run eskema")
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A fresh directory with an empty `schemas/` under the system temp dir, removed when
/// dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "eskema-cli-{name}-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0)
        ));
        std::fs::create_dir_all(dir.join("schemas")).expect("mkdir");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
