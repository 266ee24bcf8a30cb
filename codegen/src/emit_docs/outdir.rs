//! The docs directory: writing the pages, and telling whether the pages there are the ones
//! the schemas give (`eskema docs --check`).
//!
//! A page is ours when it starts with `MARK`: only those are replaced or removed, and
//! only those count as extra when the schemas no longer produce them, so hand-written
//! Markdown beside the generated pages is left alone.

use std::path::{Path, PathBuf};

use super::DocsError;
use super::pages::MARK;

/// What [`write`] did, per file, in the order of the pages (removed files last, by name).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Written {
    pub written: Vec<PathBuf>,
    pub unchanged: Vec<PathBuf>,
    /// Generated pages the schemas no longer produce (a context renamed or removed).
    pub removed: Vec<PathBuf>,
}

/// Where the directory differs from the pages; all empty when it is up to date.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Stale {
    /// Present with other content.
    pub changed: Vec<PathBuf>,
    pub missing: Vec<PathBuf>,
    /// Generated pages the schemas no longer produce.
    pub extra: Vec<PathBuf>,
}

impl Stale {
    pub fn is_empty(&self) -> bool {
        self.changed.is_empty() && self.missing.is_empty() && self.extra.is_empty()
    }
}

/// Writes every page whose content changed and removes generated pages no longer produced.
pub fn write(pages: &[(String, String)], dir: &Path) -> Result<Written, DocsError> {
    std::fs::create_dir_all(dir).map_err(|source| DocsError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut done = Written::default();
    for (name, content) in pages {
        let path = dir.join(name);
        if read(&path)?.as_deref() == Some(content.as_str()) {
            done.unchanged.push(path);
            continue;
        }
        std::fs::write(&path, content).map_err(|source| DocsError::Io {
            path: path.clone(),
            source,
        })?;
        done.written.push(path);
    }
    for path in extra(pages, dir)? {
        std::fs::remove_file(&path).map_err(|source| DocsError::Io {
            path: path.clone(),
            source,
        })?;
        done.removed.push(path);
    }
    Ok(done)
}

/// Compares the directory with the pages, writing nothing.
pub fn check(pages: &[(String, String)], dir: &Path) -> Result<Stale, DocsError> {
    let mut stale = Stale::default();
    for (name, content) in pages {
        let path = dir.join(name);
        match read(&path)? {
            None => stale.missing.push(path),
            Some(old) if old != *content => stale.changed.push(path),
            Some(_) => {}
        }
    }
    if dir.is_dir() {
        stale.extra = extra(pages, dir)?;
    }
    Ok(stale)
}

/// The file's text, or `None` when there is no such file.
fn read(path: &Path) -> Result<Option<String>, DocsError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(DocsError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Generated `.md` files in `dir` that are not among the pages, sorted by name.
fn extra(pages: &[(String, String)], dir: &Path) -> Result<Vec<PathBuf>, DocsError> {
    let io = |source| DocsError::Io {
        path: dir.to_path_buf(),
        source,
    };
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        let ours = path.extension().is_some_and(|e| e == "md")
            && path.is_file()
            && !pages
                .iter()
                .any(|(name, _)| path.file_name().is_some_and(|f| f == name.as_str()));
        // A page that cannot be read as text is not one of ours.
        if ours && std::fs::read_to_string(&path).is_ok_and(|t| t.starts_with(MARK)) {
            found.push(path);
        }
    }
    found.sort();
    Ok(found)
}
