//! Rendering a [`Report`] for a person or a tool: `human` (the source line with the span
//! underlined, rustc style, through annotate-snippets), `short` (one line per problem plus its
//! hint: the report's `Display`) and `json` (one document for editors and scripts).
//!
//! A diagnostic carries only its start (line and column, 1-based, in characters); the
//! renderer finds the source line in the report's [`Report::sources`] and underlines the
//! YAML token that starts there (a plain scalar, a quoted string, a key), or puts one caret
//! where there is no token (end of line, a missing file).

use std::path::Path;

use annotate_snippets::{AnnotationKind, Group, Level, Renderer, Snippet};

use super::{Diagnostic, Report, Severity};

/// How diagnostics are printed: `eskema check --format ...` and the build script.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
#[non_exhaustive]
pub enum Format {
    /// The source line with the span underlined and the hint below it.
    Human,
    /// `file:line:col: error: message` and an `  = hint: ...` line: grep- and CI-friendly.
    Short,
    /// One JSON array of diagnostics (see `README.md`, "Diagnostics").
    Json,
}

impl Format {
    /// The format when none is chosen: `human` when stderr is a terminal and `NO_COLOR` is
    /// not set, else `short` (logs, pipes, CI keep the one-line form).
    pub fn auto() -> Format {
        if stderr_is_color_terminal() {
            Format::Human
        } else {
            Format::Short
        }
    }
}

/// Whether colour may be used on stderr: a terminal, and `NO_COLOR` unset or empty
/// (<https://no-color.org>).
pub(crate) fn stderr_is_color_terminal() -> bool {
    use std::io::IsTerminal;
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stderr().is_terminal()
}

impl Report {
    /// The whole report in `format`, ending without a newline. `color` applies to `human`
    /// only (ANSI styles, as rustc prints them).
    pub fn render(&self, format: Format, color: bool) -> String {
        match format {
            Format::Short => self.to_string(),
            Format::Human => self.render_human(color),
            Format::Json => self.render_json(),
        }
    }

    fn render_human(&self, color: bool) -> String {
        let renderer = if color {
            Renderer::styled()
        } else {
            Renderer::plain()
        };
        let mut out = String::new();
        for d in &self.diagnostics {
            let source = self.source(&d.file);
            let mut title = match d.severity {
                Severity::Error => Level::ERROR,
                Severity::Warning => Level::WARNING,
            }
            .primary_title(annotate_snippets::normalize_untrusted_str(&d.message));
            if let Some(code) = &d.code {
                title = title.id(code.as_str());
            }
            let path = d.file.display().to_string();
            let mut group: Group<'_> = match source.and_then(|s| Span::find(s, d)) {
                Some(span) => title.element(
                    Snippet::source(span.line_text)
                        .line_start(d.line)
                        .path(path)
                        .annotation(AnnotationKind::Primary.span(span.bytes)),
                ),
                // No text to show (a missing file, a position past the end): the origin
                // line alone, as rustc prints a span it cannot show.
                None => title.element(
                    annotate_snippets::Origin::path(path)
                        .line(d.line)
                        .char_column(d.column),
                ),
            };
            if let Some(hint) = &d.hint {
                group = group.element(
                    Level::HELP
                        .with_name("hint")
                        .message(annotate_snippets::normalize_untrusted_str(hint)),
                );
            }
            out += &renderer.render(&[group]);
            out += "\n\n";
        }
        out += &self.summary();
        out
    }

    fn render_json(&self) -> String {
        let items: Vec<JsonDiagnostic<'_>> = self
            .diagnostics
            .iter()
            .map(|d| JsonDiagnostic {
                file: d.file.display().to_string(),
                line: d.line,
                column: d.column,
                end_column: self
                    .source(&d.file)
                    .and_then(|s| Span::find(s, d))
                    .map(|s| s.end_column),
                severity: match d.severity {
                    Severity::Error => "error",
                    Severity::Warning => "warning",
                },
                message: &d.message,
                hint: d.hint.as_deref(),
                code: d.code.as_deref(),
            })
            .collect();
        // Strings and numbers always serialize; the fallback keeps the output a document.
        serde_json::to_string_pretty(&items).unwrap_or_else(|_| "[]".to_string())
    }

    fn source(&self, file: &Path) -> Option<&str> {
        self.sources
            .iter()
            .find(|(p, _)| p == file)
            .map(|(_, text)| text.as_str())
    }
}

/// One element of the `json` format; the field order is the documented one.
#[derive(serde::Serialize)]
struct JsonDiagnostic<'a> {
    file: String,
    line: usize,
    column: usize,
    /// Column just past the underlined token (exclusive), `null` when the line is unknown.
    end_column: Option<usize>,
    severity: &'static str,
    message: &'a str,
    hint: Option<&'a str>,
    /// The rule's id, where the problem breaks a rule that has one (`version-edited`).
    code: Option<&'a str>,
}

/// The part of one source line a diagnostic underlines.
#[derive(Debug, PartialEq, Eq)]
struct Span<'a> {
    /// The whole line, without its line break.
    line_text: &'a str,
    /// The underlined bytes of `line_text`; empty at the end of the line (one caret).
    bytes: std::ops::Range<usize>,
    /// 1-based character column just past the span (`column` when empty).
    end_column: usize,
}

impl<'a> Span<'a> {
    /// The token at the diagnostic's position, or `None` when the line does not exist.
    fn find(source: &'a str, d: &Diagnostic) -> Option<Span<'a>> {
        let line_text = source.lines().nth(d.line.checked_sub(1)?)?;
        let line_text = line_text.strip_suffix('\r').unwrap_or(line_text);
        let col = d.column.max(1) - 1;
        // Byte offset of the column; a column past the end points just past the last char.
        let start = line_text
            .char_indices()
            .nth(col)
            .map(|(i, _)| i)
            .unwrap_or(line_text.len());
        let len = token_len(&line_text[start..]);
        let end_column = d.column.max(1) + line_text[start..start + len].chars().count();
        Some(Span {
            line_text,
            bytes: start..start + len,
            end_column,
        })
    }
}

/// Length in bytes of the YAML token `rest` starts with: a quoted string up to its closing
/// quote, a flow collection up to its matching bracket, else a plain scalar or key up to the
/// next `: `, `,`, bracket, comment or the end of the line (trailing spaces dropped). Zero for
/// whitespace or an empty rest.
fn token_len(rest: &str) -> usize {
    let mut chars = rest.char_indices().peekable();
    let Some((_, first)) = chars.next() else {
        return 0;
    };
    match first {
        ' ' | '\t' => 0,
        '"' | '\'' => {
            let mut escaped = false;
            for (i, c) in chars {
                if first == '"' && c == '\\' && !escaped {
                    escaped = true;
                    continue;
                }
                if c == first && !escaped {
                    return i + c.len_utf8();
                }
                escaped = false;
            }
            rest.len()
        }
        '[' | '{' => {
            let mut depth = 0usize;
            for (i, c) in rest.char_indices() {
                match c {
                    '[' | '{' => depth += 1,
                    ']' | '}' => {
                        depth -= 1;
                        if depth == 0 {
                            return i + 1;
                        }
                    }
                    _ => {}
                }
            }
            rest.trim_end().len()
        }
        _ => {
            let mut end = rest.len();
            let mut prev_space = false;
            while let Some((i, c)) = chars.next() {
                let next_ends = chars.peek().is_none_or(|&(_, n)| n == ' ' || n == '\t');
                if matches!(c, ',' | '[' | ']' | '{' | '}')
                    || (c == ':' && next_ends)
                    || (c == '#' && prev_space)
                {
                    end = i;
                    break;
                }
                prev_space = c == ' ' || c == '\t';
            }
            if first == ':' && end == rest.len() {
                end = 1;
            }
            rest[..end].trim_end().len()
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn report(file: &str, text: &str, line: usize, column: usize, hint: Option<&str>) -> Report {
        let mut d = Diagnostic::error(Path::new(file), line, column, "unknown type `Strng`");
        d.hint = hint.map(str::to_string);
        Report::new(vec![d]).with_sources(vec![(PathBuf::from(file), text.to_string())])
    }

    /// The caret line of a plain human rendering: the line after the source line.
    fn caret_line(out: &str, source_line: &str) -> String {
        let lines: Vec<&str> = out.lines().collect();
        let i = lines
            .iter()
            .position(|l| l.ends_with(source_line))
            .unwrap_or_else(|| panic!("no source line `{source_line}` in\n{out}"));
        lines[i + 1].to_string()
    }

    #[test]
    fn human_shows_the_line_and_underlines_the_token() {
        let text = "aggregates:\n  Book:\n    state: { isbn: Strng, n: i32 }\n";
        let r = report(
            "schemas/shelf.yaml",
            text,
            3,
            20,
            Some("did you mean `String`?"),
        );
        let out = r.render(Format::Human, false);
        assert_eq!(
            out,
            "\
error: unknown type `Strng`
 --> schemas/shelf.yaml:3:20
  |
3 |     state: { isbn: Strng, n: i32 }
  |                    ^^^^^
  |
  = hint: did you mean `String`?

1 error, 0 warnings"
        );
    }

    #[test]
    fn the_caret_stays_under_the_column_after_non_ascii_and_tabs() {
        // `é` is one character (two bytes), the tab is rendered as spaces: the caret must be
        // under `Strng` all the same.
        let text = "doc: café\ttypes: { a: Strng }\n";
        let column = "doc: café\ttypes: { a: ".chars().count() + 1;
        let r = report("s.yaml", text, 1, column, None);
        let out = r.render(Format::Human, false);
        let source_line = out
            .lines()
            .find(|l| l.contains("café"))
            .expect("source line")
            .to_string();
        let carets = caret_line(&out, source_line.split("| ").nth(1).expect("gutter"));
        let at = source_line.find("Strng").expect("token");
        // Display columns: everything before `Strng` is one column per byte except `é`.
        let display_at = source_line[..at].chars().count();
        let caret_at = carets.find('^').expect("caret");
        assert_eq!(caret_at, display_at, "\n{out}");
        assert_eq!(carets.trim_end().len() - caret_at, "Strng".len(), "\n{out}");
    }

    #[test]
    fn one_caret_where_there_is_no_token_and_none_without_source() {
        let r = report("s.yaml", "types:\n  A:\n", 2, 5, None);
        let out = r.render(Format::Human, false);
        let carets = caret_line(&out, "  A:");
        assert_eq!(carets.trim_end().matches('^').count(), 1, "\n{out}");
        let missing = Report::new(vec![Diagnostic::error(
            Path::new("nope.yaml"),
            1,
            1,
            "cannot read file: not found",
        )]);
        assert_eq!(
            missing.render(Format::Human, false),
            "error: cannot read file: not found\n--> nope.yaml:1:1\n\n1 error, 0 warnings"
        );
    }

    #[test]
    fn short_is_the_display_form() {
        let r = report("s.yaml", "a: Strng\n", 1, 4, Some("did you mean `String`?"));
        assert_eq!(r.render(Format::Short, false), r.to_string());
        assert_eq!(
            r.to_string(),
            "s.yaml:1:4: error: unknown type `Strng`\n  = hint: did you mean `String`?\n1 error, 0 warnings"
        );
    }

    #[test]
    fn json_is_an_array_with_every_field() {
        let mut r = report(
            "s.yaml",
            "a: { b: Strng }\n",
            1,
            9,
            Some("did you mean `String`?"),
        );
        r.diagnostics.push(Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(Path::new("gone.yaml"), 1, 1, "unused")
        });
        let v: serde_json::Value =
            serde_json::from_str(&r.render(Format::Json, false)).expect("valid JSON");
        assert_eq!(
            v,
            serde_json::json!([
                {"file": "s.yaml", "line": 1, "column": 9, "end_column": 14,
                 "severity": "error", "code": null, "message": "unknown type `Strng`",
                 "hint": "did you mean `String`?"},
                {"file": "gone.yaml", "line": 1, "column": 1, "end_column": null,
                 "severity": "warning", "code": null, "message": "unused", "hint": null},
            ])
        );
    }

    #[test]
    fn tokens_end_where_yaml_ends_them() {
        for (rest, token) in [
            ("Strng, n: i32 }", "Strng"),
            ("emit: [A]", "emit"),
            ("Vec<Strng> }", "Vec<Strng>"),
            ("\"a: b\" # c", "\"a: b\""),
            ("[A, B] # c", "[A, B]"),
            ("pattern: ^a:b$", "pattern"),
            ("^a:b$ # x", "^a:b$"),
            ("x   ", "x"),
            ("", ""),
            (" x", ""),
        ] {
            assert_eq!(&rest[..token_len(rest)], token, "in {rest:?}");
        }
    }
}
