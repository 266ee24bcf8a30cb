//! The build-script API: check the schemas, emit one file per context into OUT_DIR.

use std::path::{Path, PathBuf};

use crate::check::{self, Checked};
use crate::diag::{Diagnostic, Format, Report};
use crate::emit_rust;
use crate::model::TypeAttribute;

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
    type_attributes: Vec<TypeAttribute>,
    /// `None`: the default place, beside the schemas.
    lock_file: Option<PathBuf>,
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
#[non_exhaustive]
pub enum Error {
    /// The schemas have errors; the report lists all of them with file, line and column.
    #[error("{0}")]
    Schema(Report),
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    /// An attribute given to [`Builder::type_attribute`] is not Rust attribute syntax.
    #[error("type_attribute({matcher:?}, {attributes:?}): not Rust attributes: {message}")]
    Attribute {
        matcher: String,
        attributes: String,
        message: String,
    },
    /// Neither [`Builder::out_dir`] nor the `OUT_DIR` variable (set by cargo for build
    /// scripts) says where to write.
    #[error("no output directory: call Builder::out_dir or run from a build script (OUT_DIR)")]
    NoOutDir,
}

impl Error {
    /// Ends a build script: the error on stderr, once, exit code 1. Never a panic backtrace.
    ///
    /// A schema report is printed in the `human` form (each problem with its source line,
    /// the span underlined, and its hint), without colour: a build script's stderr is a
    /// pipe, and cargo shows it under `--- stderr` when the script fails. No
    /// `cargo::error=` lines: cargo would print each of them twice more (as `error:` and
    /// again in the script's stdout), without the hint. `ESKEMA_FORMAT=short` (or `json`)
    /// chooses another form, as `--format` does for the CLI.
    pub fn fail_build(&self) -> ! {
        eprintln!("{}", self.render(build_format()));
        std::process::exit(1)
    }

    /// The error as text in `format` (a schema report in that form; any other error is one
    /// `error: ...` line whatever the format).
    pub fn render(&self, format: Format) -> String {
        match self {
            Error::Schema(report) => report.render(format, false),
            other => format!("error: {other}"),
        }
    }
}

/// The format a failing build prints: `ESKEMA_FORMAT` if it names one, else `human`.
fn build_format() -> Format {
    use clap::ValueEnum;
    std::env::var("ESKEMA_FORMAT")
        .ok()
        .and_then(|v| Format::from_str(v.trim(), true).ok())
        .unwrap_or(Format::Human)
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
            type_attributes: Vec::new(),
            lock_file: None,
        }
    }

    /// Adds a schema file, or a directory whose `*.yaml` / `*.yml` files are all read.
    pub fn schemas(mut self, path: impl Into<PathBuf>) -> Self {
        self.schemas.push(path.into());
        self
    }

    /// The lock file the schemas are held to (default: `eskema.lock` in the first schema
    /// directory, or beside the first schema file): see the README's "Changing an event
    /// that is already stored". A missing file means no check yet, as before the first
    /// `eskema lock`.
    pub fn lock_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.lock_file = Some(path.into());
        self
    }

    fn lock_path(&self) -> Option<PathBuf> {
        self.lock_file
            .clone()
            .or_else(|| crate::lock::default_path(&self.schemas))
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

    /// Puts `attributes` (one or more outer attributes: `#[derive(Hash)]`,
    /// `#[derive(schemars::JsonSchema)]`, `#[serde(rename_all = "camelCase")]` on a type
    /// whose JSON you own) on the generated types `matcher` names: `*` for every one,
    /// `Name` for that type in every context, `context.Name` for one. Types are the schema's
    /// (declared types, aggregate states, commands, events, process-manager states) and the
    /// enums generated around them (`BankAccountEvent`, `bank::Command`, ...). Like
    /// prost-build's `type_attribute`; the text is checked when [`Builder::generate`] runs.
    pub fn type_attribute(
        mut self,
        matcher: impl Into<String>,
        attributes: impl Into<String>,
    ) -> Self {
        self.type_attributes.push(TypeAttribute {
            matcher: matcher.into(),
            attributes: attributes.into(),
        });
        self
    }

    /// The files [`Builder::generate`] would write, `(file name, content)`, without writing
    /// them: for snapshot tests of the output.
    pub fn render(&self) -> Result<Vec<(String, String)>, Error> {
        let checked =
            check::check_paths_locked(&self.schemas, self.lock_path()).map_err(Error::Schema)?;
        self.render_checked(checked)
    }

    fn render_checked(&self, mut checked: Checked) -> Result<Vec<(String, String)>, Error> {
        for a in &self.type_attributes {
            let parsed = a
                .attributes
                .parse::<proc_macro2::TokenStream>()
                .map_err(|e| e.to_string())
                .and_then(|tokens| {
                    syn::parse::Parser::parse2(syn::Attribute::parse_outer, tokens)
                        .map_err(|e| e.to_string())
                });
            if let Err(message) = parsed {
                return Err(Error::Attribute {
                    matcher: a.matcher.clone(),
                    attributes: a.attributes.clone(),
                    message,
                });
            }
        }
        checked.domain.type_attributes = self.type_attributes.clone();
        Ok(render_files(&checked))
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
        let result = check::check_paths_locked(&self.schemas, self.lock_path());
        if self.rerun_if_changed {
            // The lock, even before it exists: `eskema lock` creating it must rerun the check.
            if let Some(lock) = self.lock_path() {
                println!("cargo::rerun-if-changed={}", lock.display());
            }
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
        let files = self.render_checked(checked)?;
        std::fs::create_dir_all(&out_dir).map_err(|source| Error::Write {
            path: out_dir.clone(),
            source,
        })?;
        for (name, content) in files {
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
/// context and `eskema_domain.rs`, in a fixed order. The builder and the CLI's `generate`
/// both write this, so they always agree.
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

#[cfg(test)]
mod tests {
    use super::*;

    fn schema_dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("eskema-builder-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        std::fs::write(
            dir.join("shop.yaml"),
            "types:\n  Size: { enum: [S, M] }\n  Money: { fields: { cents: i64 } }\n",
        )
        .expect("schema");
        dir
    }

    #[test]
    fn type_attributes_reach_the_types_they_name() {
        let dir = schema_dir("attrs");
        let files = Builder::new()
            .schemas(&dir)
            .type_attribute("*", "#[doc(alias = \"everything\")]")
            .type_attribute("Size", "#[derive(PartialOrd, Ord)]")
            .type_attribute("other.Money", "#[derive(Eq)]")
            .render()
            .expect("renders");
        let _ = std::fs::remove_dir_all(&dir);
        let shop = &files
            .iter()
            .find(|(n, _)| n == "shop.rs")
            .expect("shop.rs")
            .1;
        assert_eq!(
            shop.matches("#[doc(alias = \"everything\")]").count(),
            5,
            "{shop}"
        );
        assert_eq!(
            shop.matches("#[derive(PartialOrd, Ord)]").count(),
            1,
            "{shop}"
        );
        // Another context's `Money`: not this one.
        assert!(!shop.contains("#[derive(Eq)]"), "{shop}");
    }

    #[test]
    fn the_build_holds_the_schemas_to_the_lock_file_it_is_given() {
        let dir = schema_dir("lock");
        let schema = "aggregates:\n  Book:\n    identity: isbn\n    commands:\n      LendBook:\n        fields: { isbn: String }\n        emits: [BookLent]\n    events:\n      BookLent:\n        fields: { isbn: String }\n";
        std::fs::write(dir.join("shelf.yaml"), schema).expect("schema");
        // Locked where the builder is told, not beside the schemas.
        let lock = dir.join("locks").join("shelf.lock");
        std::fs::create_dir_all(dir.join("locks")).expect("dir");
        let checked = check::check_paths_locked(std::slice::from_ref(&dir), None).expect("valid");
        std::fs::write(&lock, checked.locked().0).expect("lock");
        std::fs::write(
            dir.join("shelf.yaml"),
            schema.replace(
                "      BookLent:\n        fields: { isbn: String }",
                "      BookLent:\n        fields: { isbn: i64 }",
            ),
        )
        .expect("edit");
        let builder = Builder::new().schemas(&dir).rerun_if_changed(false);
        assert!(
            builder.render().is_ok(),
            "no lock beside the schemas: no check"
        );
        let err = builder.lock_file(&lock).render().expect_err("refused");
        let _ = std::fs::remove_dir_all(&dir);
        assert!(
            matches!(&err, Error::Schema(r) if r.to_string().contains("[version-edited]")),
            "{err}"
        );
    }

    #[test]
    fn an_attribute_that_does_not_parse_is_a_typed_error() {
        let dir = schema_dir("bad");
        let err = Builder::new()
            .schemas(&dir)
            .type_attribute("Size", "derive(Hash)")
            .render()
            .expect_err("not an attribute");
        let _ = std::fs::remove_dir_all(&dir);
        assert!(
            matches!(&err, Error::Attribute { matcher, .. } if matcher == "Size"),
            "{err:?}"
        );
    }
}
