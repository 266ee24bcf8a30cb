//! `eskema scaffold`: writes the files in which users implement the generated traits.
//!
//! The files belong to the user as soon as they exist, so this module never rewrites one: a
//! new file is rendered from the templates in `codegen/templates/scaffold/`, an existing file
//! only gains the methods (or the whole impl block) the current model asks for, inserted as
//! text so every other byte (comments, formatting, hand-written bodies) stays as it was.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::model::Domain;

mod merge;
mod plan;
mod render;

use merge::{Completion, complete_mod};
use plan::units;
use render::Templates;

/// What one run did, file by file (paths are `out_dir` joined with the file name).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScaffoldReport {
    pub created: Vec<PathBuf>,
    /// Files that gained items: the names of the methods added (`mod <name>` for `mod.rs`).
    pub updated: Vec<(PathBuf, Vec<String>)>,
    pub unchanged: Vec<PathBuf>,
    /// Files left alone because they could not be read as Rust: the reason.
    pub skipped: Vec<(PathBuf, String)>,
    /// Methods an impl has that its trait lost (a command or event renamed or removed):
    /// file, method, 1-based line. Left in place; the user deletes or renames them.
    pub stale: Vec<(PathBuf, String, usize)>,
}

/// Why a run stopped: the file system refused, or a template is broken (a bug of ours).
#[derive(Debug)]
pub enum ScaffoldError {
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    Template {
        name: String,
        message: String,
    },
}

impl fmt::Display for ScaffoldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScaffoldError::Io { path, source } => write!(f, "{}: {source}", path.display()),
            ScaffoldError::Template { name, message } => {
                write!(f, "scaffold template {name}: {message}")
            }
        }
    }
}

impl std::error::Error for ScaffoldError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ScaffoldError::Io { source, .. } => Some(source),
            ScaffoldError::Template { .. } => None,
        }
    }
}

/// Writes (or completes) one file per aggregate, handler and process manager of `domain`
/// into `out_dir`, plus a `mod.rs` declaring them.
pub fn scaffold(domain: &Domain, out_dir: &Path) -> Result<ScaffoldReport, ScaffoldError> {
    std::fs::create_dir_all(out_dir).map_err(|source| ScaffoldError::Io {
        path: out_dir.to_path_buf(),
        source,
    })?;
    let templates = Templates::new()?;
    let units = units(domain);
    let mut report = ScaffoldReport::default();
    for unit in &units {
        let path = out_dir.join(format!("{}.rs", unit.file_stem));
        let existing = read_existing(&path)?;
        if let Some(Ok(text)) = &existing {
            for (method, line) in templates.stale_methods(unit, text) {
                report.stale.push((path.clone(), method, line));
            }
        }
        match existing {
            None => {
                let text = templates.new_file(unit)?;
                write(&path, &text)?;
                report.created.push(path);
            }
            Some(text) => match templates.complete(unit, &text)? {
                Completion::Unchanged => report.unchanged.push(path),
                Completion::Skipped(why) => report.skipped.push((path, why)),
                Completion::Updated { text, added } => {
                    write(&path, &text)?;
                    report.updated.push((path, added));
                }
            },
        }
    }
    let stems: Vec<&str> = units.iter().map(|u| u.file_stem.as_str()).collect();
    let path = out_dir.join("mod.rs");
    match read_existing(&path)? {
        None => {
            let text = templates.mod_file(&stems)?;
            write(&path, &text)?;
            report.created.push(path);
        }
        Some(text) => match complete_mod(&text, &stems) {
            Completion::Unchanged => report.unchanged.push(path),
            Completion::Skipped(why) => report.skipped.push((path, why)),
            Completion::Updated { text, added } => {
                write(&path, &text)?;
                report.updated.push((path, added));
            }
        },
    }
    Ok(report)
}

fn read_existing(path: &Path) -> Result<Option<Result<String, String>>, ScaffoldError> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(
            String::from_utf8(bytes).map_err(|_| "the file is not UTF-8".to_string()),
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(ScaffoldError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

fn write(path: &Path, text: &str) -> Result<(), ScaffoldError> {
    std::fs::write(path, text).map_err(|source| ScaffoldError::Io {
        path: path.to_path_buf(),
        source,
    })
}
