//! Diagnostics: every problem the checker finds, with the place in the YAML that causes it.
//!
//! A person reading a diagnostic has only the YAML in front of them, so each one names the
//! file, line and column (1-based, in characters) and, where a fix is known, a hint.

mod render;

use std::fmt;
use std::path::{Path, PathBuf};

pub use render::Format;
pub(crate) use render::stderr_is_color_terminal;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Error,
    Warning,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub file: PathBuf,
    pub line: usize,
    pub column: usize,
    pub message: String,
    pub hint: Option<String>,
    /// The id of the rule the problem breaks, where rules have ids (the lock's evolution
    /// rules: `version-edited`, ...), shown as `error[version-edited]` the way rustc shows
    /// `error[E0277]`, and given to tools in the JSON form.
    pub code: Option<String>,
}

impl Diagnostic {
    pub fn error(file: &Path, line: usize, column: usize, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            file: file.to_path_buf(),
            line,
            column,
            message: message.into(),
            hint: None,
            code: None,
        }
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(
            f,
            "{}:{}:{}: {kind}{}: {}",
            self.file.display(),
            self.line,
            self.column,
            self.code
                .as_ref()
                .map(|c| format!("[{c}]"))
                .unwrap_or_default(),
            self.message
        )?;
        if let Some(hint) = &self.hint {
            write!(f, "\n  = hint: {hint}")?;
        }
        Ok(())
    }
}

/// Every error and warning of one run, sorted by file, line and column.
///
/// `Display` is the short form (one line per problem, its hint, a count); [`Report::render`]
/// gives the others, with source lines from [`Report::sources`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Report {
    pub diagnostics: Vec<Diagnostic>,
    /// The text of every file that was read, (path, text), for showing source lines; a
    /// diagnostic whose file is not here is rendered without one.
    pub sources: Vec<(PathBuf, String)>,
}

impl Report {
    /// Sorts stably, so diagnostics at the same place keep the order they were found in.
    pub fn new(mut diagnostics: Vec<Diagnostic>) -> Self {
        diagnostics.sort_by(|a, b| (&a.file, a.line, a.column).cmp(&(&b.file, b.line, b.column)));
        Report {
            diagnostics,
            sources: Vec::new(),
        }
    }

    /// The same report, able to show the lines of these files.
    pub fn with_sources(mut self, sources: Vec<(PathBuf, String)>) -> Self {
        self.sources = sources;
        self
    }

    /// `N errors, M warnings`.
    fn summary(&self) -> String {
        let errors = self.errors().count();
        let warnings = self.diagnostics.len() - errors;
        format!(
            "{errors} error{}, {warnings} warning{}",
            if errors == 1 { "" } else { "s" },
            if warnings == 1 { "" } else { "s" }
        )
    }

    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(|d| d.is_error())
    }

    pub fn has_errors(&self) -> bool {
        self.errors().next().is_some()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for d in &self.diagnostics {
            writeln!(f, "{d}")?;
        }
        f.write_str(&self.summary())
    }
}

impl std::error::Error for Report {}

/// At most this many errors of one file are reported; the rest are counted and summed up
/// in one last error. Past a hundred, more messages do not help anyone fix the file, and
/// each costs work (suggestions compare a name with every declared one).
pub(crate) const MAX_ERRORS_PER_FILE: usize = 100;

/// Collects diagnostics while the checker keeps going past bad items.
#[derive(Debug, Default)]
pub(crate) struct Sink {
    pub(crate) diagnostics: Vec<Diagnostic>,
    /// Per file: errors kept, and the errors past [`MAX_ERRORS_PER_FILE`] with the place of
    /// the first of them.
    errors: std::collections::HashMap<PathBuf, (usize, usize, crate::raw::Loc)>,
    /// Where an error that is not kept is written, so callers can still add a hint.
    dropped: Option<Diagnostic>,
    /// Keeps nothing ([`Sink::discarding`]).
    discard: bool,
}

impl Sink {
    /// A sink for work whose diagnostics another pass reports: it keeps nothing, and
    /// [`Sink::is_full`] tells callers to skip building messages.
    pub(crate) fn discarding() -> Self {
        Sink {
            discard: true,
            ..Sink::default()
        }
    }

    pub(crate) fn push(
        &mut self,
        severity: Severity,
        file: &Path,
        loc: crate::raw::Loc,
        message: impl Into<String>,
    ) -> &mut Diagnostic {
        let d = Diagnostic {
            severity,
            file: file.to_path_buf(),
            line: loc.line,
            column: loc.column,
            message: message.into(),
            hint: None,
            code: None,
        };
        if self.discard {
            return self.dropped.insert(d);
        }
        if severity == Severity::Error {
            let count = self.errors.entry(file.to_path_buf()).or_insert((0, 0, loc));
            if count.0 >= MAX_ERRORS_PER_FILE {
                if count.1 == 0 {
                    count.2 = loc;
                }
                count.1 += 1;
                return self.dropped.insert(d);
            }
            count.0 += 1;
        }
        self.diagnostics.push(d);
        let last = self.diagnostics.len() - 1;
        &mut self.diagnostics[last]
    }

    /// Whether errors of `file` are only counted from now on: a caller may then skip work
    /// that only serves the message.
    pub(crate) fn is_full(&self, file: &Path) -> bool {
        self.discard
            || self
                .errors
                .get(file)
                .is_some_and(|c| c.0 >= MAX_ERRORS_PER_FILE)
    }

    /// Every diagnostic kept, plus for each file with errors past the limit one error that
    /// says how many were left out, at the place of the first of them.
    pub(crate) fn finish(mut self) -> Vec<Diagnostic> {
        let mut over: Vec<(PathBuf, usize, crate::raw::Loc)> = self
            .errors
            .into_iter()
            .filter(|(_, c)| c.1 > 0)
            .map(|(file, c)| (file, c.1, c.2))
            .collect();
        over.sort_by(|a, b| a.0.cmp(&b.0));
        for (file, more, loc) in over {
            let mut d = Diagnostic::error(
                &file,
                loc.line,
                loc.column,
                format!(
                    "{more} more error{} in this file not shown (at most {MAX_ERRORS_PER_FILE} are reported per file)",
                    if more == 1 { "" } else { "s" }
                ),
            );
            d.hint = Some("fix the errors above and check again".into());
            self.diagnostics.push(d);
        }
        self.diagnostics
    }

    pub(crate) fn error(
        &mut self,
        file: &Path,
        loc: crate::raw::Loc,
        message: impl Into<String>,
    ) -> &mut Diagnostic {
        self.push(Severity::Error, file, loc, message)
    }

    pub(crate) fn warning(
        &mut self,
        file: &Path,
        loc: crate::raw::Loc,
        message: impl Into<String>,
    ) -> &mut Diagnostic {
        self.push(Severity::Warning, file, loc, message)
    }
}

impl Diagnostic {
    /// Builder used by the checker: `sink.error(..).hint(..)`.
    pub(crate) fn hint(&mut self, hint: impl Into<String>) -> &mut Self {
        self.hint = Some(hint.into());
        self
    }

    pub(crate) fn hint_opt(&mut self, hint: Option<String>) -> &mut Self {
        if hint.is_some() {
            self.hint = hint;
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_error_with_hint_and_warning_without() {
        let mut e = Diagnostic::error(Path::new("schemas/bank.yaml"), 3, 7, "unknown key `emit`");
        e.hint = Some("did you mean `emits`?".into());
        assert_eq!(
            e.to_string(),
            "schemas/bank.yaml:3:7: error: unknown key `emit`\n  = hint: did you mean `emits`?"
        );
        let w = Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(Path::new("a.yaml"), 1, 1, "unused")
        };
        assert_eq!(w.to_string(), "a.yaml:1:1: warning: unused");
    }

    #[test]
    fn report_sorts_by_file_line_column() {
        let r = Report::new(vec![
            Diagnostic::error(Path::new("b.yaml"), 1, 1, "x"),
            Diagnostic::error(Path::new("a.yaml"), 9, 2, "y"),
            Diagnostic::error(Path::new("a.yaml"), 9, 1, "z"),
        ]);
        let order: Vec<_> = r.diagnostics.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(order, ["z", "y", "x"]);
        assert!(r.has_errors());
    }
}
