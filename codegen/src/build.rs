//! The build-script API: check the schemas, emit one file per context into OUT_DIR.

use std::path::{Path, PathBuf};

use crate::check::{self, Checked};
use crate::diag::{Diagnostic, Report};
use crate::emit_rust;

/// Generates the domain code from `build.rs`, prost-build style.
///
/// Every schema file is checked together (contexts reference each other), then one
/// `<context>.rs` per context and `eskema_domain.rs` are written to the output directory,
/// each only when its content changed, so an unchanged schema costs no recompilation.
#[derive(Debug, Clone)]
pub struct Builder {
    schemas: Vec<PathBuf>,
    out_dir: Option<PathBuf>,
    rerun_if_changed: bool,
}

impl Default for Builder {
    fn default() -> Self {
        Self::new()
    }
}

/// What [`Builder::generate`] wrote.
#[derive(Debug, Clone)]
pub struct Generated {
    /// Every file of the output, written or already up to date.
    pub files: Vec<PathBuf>,
    /// Files whose content changed in this run.
    pub written: Vec<PathBuf>,
    /// Schema warnings (the build goes on; they are also printed as `cargo::warning`).
    pub warnings: Vec<Diagnostic>,
}

/// Why generation failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The schemas have errors; the report lists all of them with file, line and column.
    #[error("{0}")]
    Schema(Report),
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Neither [`Builder::out_dir`] nor the `OUT_DIR` variable (set by cargo for build
    /// scripts) says where to write.
    #[error("no output directory: call Builder::out_dir or run from a build script (OUT_DIR)")]
    NoOutDir,
}

impl Error {
    /// Ends a build script: the rendered report on stderr (as `eskema check` prints it), one
    /// `cargo::error=` line per problem, exit code 1. Never a panic backtrace.
    pub fn fail_build(&self) -> ! {
        eprintln!("{self}");
        match self {
            Error::Schema(report) => {
                for d in report.errors() {
                    println!(
                        "cargo::error={}:{}:{}: {}",
                        d.file.display(),
                        d.line,
                        d.column,
                        one_line(&d.message)
                    );
                }
            }
            other => println!("cargo::error={}", one_line(&other.to_string())),
        }
        std::process::exit(1)
    }
}

fn one_line(s: &str) -> String {
    s.replace(['\n', '\r'], " ")
}

impl Builder {
    /// A builder with no schemas yet; add them with [`Builder::schemas`].
    pub fn new() -> Self {
        Builder {
            schemas: Vec::new(),
            out_dir: None,
            rerun_if_changed: true,
        }
    }

    /// Adds a schema file, or a directory whose `*.yaml` / `*.yml` files are all read.
    pub fn schemas(mut self, path: impl Into<PathBuf>) -> Self {
        self.schemas.push(path.into());
        self
    }

    /// Where to write (default: `$OUT_DIR`).
    pub fn out_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.out_dir = Some(dir.into());
        self
    }

    /// Whether to print `cargo::rerun-if-changed` for each schema directory and file
    /// (default on; turn off when calling outside a build script).
    pub fn rerun_if_changed(mut self, on: bool) -> Self {
        self.rerun_if_changed = on;
        self
    }

    /// Checks the schemas and writes the generated files.
    pub fn generate(self) -> Result<Generated, Error> {
        let out_dir = match self.out_dir.clone() {
            Some(dir) => dir,
            None => std::env::var_os("OUT_DIR")
                .map(PathBuf::from)
                .ok_or(Error::NoOutDir)?,
        };
        if self.rerun_if_changed {
            for path in &self.schemas {
                println!("cargo::rerun-if-changed={}", path.display());
            }
        }
        let result = check::check_paths(&self.schemas);
        if self.rerun_if_changed {
            // Files are known only after loading; on error they are in the report.
            let files: std::collections::BTreeSet<&Path> = match &result {
                Ok(checked) => checked.files.iter().map(PathBuf::as_path).collect(),
                Err(report) => report
                    .diagnostics
                    .iter()
                    .map(|d| d.file.as_path())
                    .collect(),
            };
            for f in files {
                println!("cargo::rerun-if-changed={}", f.display());
            }
        }
        let checked = result.map_err(Error::Schema)?;
        for w in &checked.warnings {
            println!("cargo::warning={}", one_line(&w.to_string()));
        }
        let mut generated = Generated {
            files: Vec::new(),
            written: Vec::new(),
            warnings: checked.warnings.clone(),
        };
        std::fs::create_dir_all(&out_dir).map_err(|source| Error::Write {
            path: out_dir.clone(),
            source,
        })?;
        for (name, content) in render_files(&checked) {
            let path = out_dir.join(name);
            if write_if_changed(&path, &content)? {
                generated.written.push(path.clone());
            }
            generated.files.push(path);
        }
        Ok(generated)
    }
}

/// The generated files for a checked domain: `(file name, content)`, one `<context>.rs` per
/// context and `eskema_domain.rs`, in a fixed order. The CLI's `generate` and the snapshot
/// tests use this too, so all three always agree.
pub fn render_files(checked: &Checked) -> Vec<(String, String)> {
    emit_rust::emit_files(&checked.domain)
}

/// Writes `content` unless the file already holds exactly that; returns whether it wrote.
pub(crate) fn write_if_changed(path: &Path, content: &str) -> Result<bool, Error> {
    if std::fs::read_to_string(path).is_ok_and(|old| old == content) {
        return Ok(false);
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|source| Error::Write {
            path: parent.to_path_buf(),
            source,
        })?;
    }
    std::fs::write(path, content).map_err(|source| Error::Write {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(true)
}
