//! The docs emitter: checked [`model::Domain`] -> Markdown pages a teammate can read in a
//! minute, with Mermaid flowcharts GitHub draws.
//!
//! One page per context (`<context>.md`): the flow (command -> event inside its aggregate's
//! box -> handler / process manager -> command, across contexts), the aggregates, each
//! command with its validation rules, the event catalogue (versions, upcast steps, old
//! names, who emits and who consumes each event), handlers, process managers and types.
//! One index page (`README.md`, which GitHub shows for the directory; no context can be
//! called that, contexts are snake_case) with every context and the context map.
//!
//! Like the Rust emitter it reads only the checked model; what the model does not hold
//! directly (consumers of an event, dispatchers of a command) is computed once in
//! [`index::Index`]. Output is deterministic (model order, contexts by name, schema file
//! names rather than paths), so `eskema docs --check` can tell stale pages from fresh ones.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::model::{self, Domain};

mod index;
mod mermaid;
pub mod outdir;
mod pages;
mod text;

/// The index page's file name.
pub const INDEX_PAGE: &str = "README.md";

/// Why the docs could not be made or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DocsError {
    /// A template failed to parse or render: a bug in eskema, not in the schema.
    #[error("docs template `{name}`: {message}")]
    Template { name: String, message: String },
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl DocsError {
    /// Tera's errors keep their detail in the source chain; the message gets all of it.
    fn template(name: &str, e: &dyn std::error::Error) -> Self {
        DocsError::Template {
            name: name.to_string(),
            message: crate::template::error_chain(e),
        }
    }
}

/// Every page: `(file name, Markdown)`, the contexts' pages by context name, then the index.
pub fn render(domain: &Domain) -> Result<Vec<(String, String)>, DocsError> {
    let templates = pages::Templates::new()?;
    let index = index::Index::new(domain);
    let graph = mermaid::Graph::new(domain);
    let mut files = Vec::with_capacity(domain.contexts.len() + 1);
    for c in &domain.contexts {
        files.push((
            format!("{}.md", c.name),
            templates.context_page(&index, &graph, c)?,
        ));
    }
    files.push((
        INDEX_PAGE.to_string(),
        templates.index_page(&graph, domain)?,
    ));
    Ok(files)
}

/// `eskema docs`: writes the pages into `out`, or with `check` only compares them with
/// what `out` holds; prints what it did and returns the exit code (1 when stale).
pub(crate) fn run(domain: &model::Domain, paths: &[PathBuf], out: &Path, check: bool) -> ExitCode {
    let schemas: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    let how_to_update = format!("eskema docs {} --out {}", schemas.join(" "), out.display());
    let how_to_update = how_to_update.as_str();
    let result = render(domain).and_then(|pages| {
        if check {
            outdir::check(&pages, out)
                .map(|stale| report_stale(&stale, pages.len(), out, how_to_update))
        } else {
            outdir::write(&pages, out).map(|done| report_written(&done))
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn report_written(done: &outdir::Written) -> ExitCode {
    for p in &done.written {
        println!("wrote {}", p.display());
    }
    for p in &done.unchanged {
        println!("unchanged {}", p.display());
    }
    for p in &done.removed {
        println!("removed {}", p.display());
    }
    ExitCode::SUCCESS
}

fn report_stale(stale: &outdir::Stale, pages: usize, out: &Path, how_to_update: &str) -> ExitCode {
    if stale.is_empty() {
        println!("ok: {pages} page(s) in {} are up to date", out.display());
        return ExitCode::SUCCESS;
    }
    for p in &stale.changed {
        eprintln!("stale: {}", p.display());
    }
    for p in &stale.missing {
        eprintln!("missing: {}", p.display());
    }
    for p in &stale.extra {
        eprintln!("extra: {} (its schema is gone)", p.display());
    }
    eprintln!(
        "error: the docs in {} are out of date; run `{how_to_update}`",
        out.display()
    );
    ExitCode::FAILURE
}

#[cfg(test)]
mod tests;
