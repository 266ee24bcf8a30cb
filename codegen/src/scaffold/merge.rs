//! Completing existing, hand-written files: the methods (or the whole impl block, or the
//! `mod` lines) the model asks for and a file lacks, inserted as text so every other byte
//! stays as it was.

use std::collections::BTreeSet;

use proc_macro2::LineColumn;

use super::ScaffoldError;
use super::plan::{MethodSpec, Paths, Target, Unit};
use super::render::{Templates, module_ident};

pub(super) enum Completion {
    Unchanged,
    Skipped(String),
    Updated { text: String, added: Vec<String> },
}

impl Templates {
    /// Adds to an existing file what the model asks for and it lacks.
    pub(super) fn complete(
        &self,
        unit: &Unit,
        text: &Result<String, String>,
    ) -> Result<Completion, ScaffoldError> {
        let text = match text {
            Ok(text) => text,
            Err(why) => return Ok(Completion::Skipped(why.clone())),
        };
        let source = Source::new(text);
        let file = match syn::parse_file(source.parsed) {
            Ok(file) => file,
            Err(e) => return Ok(Completion::Skipped(parse_failure(&e))),
        };
        let paths = Paths {
            context: unit.context,
            glob: has_glob_use(&file.items, unit.context),
        };
        let trait_name = unit.trait_name();
        let self_name = unit.self_name();
        let self_name = self_name.as_str();
        let Some(block) = find_impl(&file.items, &trait_name, self_name) else {
            return self.append_impl(unit, &paths, &file, text);
        };
        let existing: BTreeSet<String> = block
            .items
            .iter()
            .filter_map(|item| match item {
                syn::ImplItem::Fn(f) => Some(unraw(&f.sig.ident)),
                _ => None,
            })
            .collect();
        let specs = unit.methods(&paths);
        let missing: Vec<&MethodSpec> = specs
            .iter()
            .filter(|s| !existing.contains(&s.name))
            .collect();
        if missing.is_empty() {
            return Ok(Completion::Unchanged);
        }
        let close = block.brace_token.span.close().start();
        let Some(at) = source.offset(close) else {
            return Ok(Completion::Skipped(format!(
                "could not locate the end of `impl {trait_name} for {self_name}` (line {}, column {})",
                close.line, close.column
            )));
        };
        // Methods go one level deeper than the line that holds the `impl` keyword.
        let impl_line = source
            .offset(block.impl_token.span.start())
            .map_or(0, |i| text[..i].rfind('\n').map_or(0, |n| n + 1));
        let base: String = text[impl_line..]
            .chars()
            .take_while(|c| *c == ' ' || *c == '\t')
            .collect();
        let indent = format!("{base}    ");
        let methods = self.methods(&missing, &indent)?;
        let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
        let before_brace = &text[line_start..at];
        let (insert_at, insertion) = if before_brace.trim().is_empty() {
            // `}` on its own line: insert whole lines before it.
            let previous = text[..line_start].trim_end().chars().last();
            let lead = if previous == Some('{') { "" } else { "\n" };
            (line_start, format!("{lead}{methods}\n"))
        } else {
            // `{}` or `... }` on one line: the methods go on lines of their own.
            let previous = before_brace.trim_end().chars().last();
            let lead = if previous == Some('{') { "\n" } else { "\n\n" };
            (at, format!("{lead}{methods}\n{base}"))
        };
        let insertion = source.line_endings(&insertion);
        let mut out = String::with_capacity(text.len() + insertion.len());
        out.push_str(&text[..insert_at]);
        out.push_str(&insertion);
        out.push_str(&text[insert_at..]);
        Ok(Completion::Updated {
            text: out,
            added: missing.iter().map(|s| s.name.clone()).collect(),
        })
    }

    /// Methods of the file's impl of the unit's trait that the trait no longer has (a
    /// command or event renamed or removed in the schema): `(name, 1-based line)`. Scaffold
    /// never deletes code, so it names them; the compiler would only say "not a member".
    pub(super) fn stale_methods(&self, unit: &Unit, text: &str) -> Vec<(String, usize)> {
        let source = Source::new(text);
        let Ok(file) = syn::parse_file(source.parsed) else {
            return Vec::new();
        };
        let paths = Paths {
            context: unit.context,
            glob: has_glob_use(&file.items, unit.context),
        };
        let Some(block) = find_impl(&file.items, &unit.trait_name(), &unit.self_name()) else {
            return Vec::new();
        };
        let wanted: BTreeSet<String> = unit.methods(&paths).into_iter().map(|s| s.name).collect();
        block
            .items
            .iter()
            .filter_map(|item| match item {
                syn::ImplItem::Fn(f) if !wanted.contains(&unraw(&f.sig.ident)) => {
                    // syn keeps line numbers (a stripped BOM or shebang line leaves its newline).
                    let line = f.sig.ident.span().start().line;
                    Some((unraw(&f.sig.ident), line))
                }
                _ => None,
            })
            .collect()
    }

    /// The impl block is missing entirely: append it (and a handler's read-model struct when
    /// the file declares or imports nothing of that name).
    fn append_impl(
        &self,
        unit: &Unit,
        paths: &Paths,
        file: &syn::File,
        text: &str,
    ) -> Result<Completion, ScaffoldError> {
        let mut addition = String::new();
        if let Target::Handler(_) = unit.target
            && !declares(&file.items, &unit.self_name())
        {
            addition.push_str(&self.read_model(unit)?);
            addition.push_str("\n\n");
        }
        addition.push_str(&self.impl_block(unit, paths)?);
        addition.push('\n');
        let mut out = text.to_string();
        if !out.is_empty() {
            if !out.ends_with('\n') {
                out.push('\n');
            }
            out.push('\n');
        }
        out.push_str(&Source::new(text).line_endings(&addition));
        Ok(Completion::Updated {
            text: out,
            added: unit.methods(paths).into_iter().map(|s| s.name).collect(),
        })
    }
}

fn parse_failure(e: &syn::Error) -> String {
    let at = e.span().start();
    format!(
        "does not parse as Rust (line {}, column {}: {e}); left untouched",
        at.line,
        at.column + 1
    )
}

fn unraw(ident: &syn::Ident) -> String {
    let s = ident.to_string();
    s.strip_prefix("r#").map(str::to_string).unwrap_or(s)
}

// ---------------------------------------------------------------------------------------
// Reading existing files.

/// An existing file's text as syn saw it, and how to map syn's positions back to bytes.
struct Source<'a> {
    /// What `syn::parse_file` is given: the text without a byte-order mark.
    parsed: &'a str,
    /// Bytes removed before `parsed` (the BOM).
    base: usize,
    crlf: bool,
}

impl<'a> Source<'a> {
    fn new(text: &'a str) -> Self {
        let parsed = text.strip_prefix('\u{feff}').unwrap_or(text);
        Source {
            parsed,
            base: text.len() - parsed.len(),
            crlf: text.contains("\r\n"),
        }
    }

    /// The byte offset in the original text of a proc-macro2 position (1-based line,
    /// 0-based column counted in chars). syn strips a shebang line but keeps its newline, so
    /// lines after the first keep their numbers and columns.
    fn offset(&self, at: LineColumn) -> Option<usize> {
        let mut line_start = 0;
        for _ in 1..at.line {
            line_start += self.parsed[line_start..].find('\n')? + 1;
        }
        let line = &self.parsed[line_start..];
        let in_line = match line.char_indices().nth(at.column) {
            Some((i, _)) => i,
            None if line.chars().count() == at.column => line.len(),
            None => return None,
        };
        Some(self.base + line_start + in_line)
    }

    /// Inserted text follows the file's line endings.
    fn line_endings(&self, text: &str) -> String {
        if self.crlf {
            text.replace('\n', "\r\n")
        } else {
            text.to_string()
        }
    }
}

/// Whether `use crate::<context>::*;` is among the items (at any nesting of use groups).
fn has_glob_use(items: &[syn::Item], context: &str) -> bool {
    fn glob(tree: &syn::UseTree, path: &[String], context: &str) -> bool {
        match tree {
            syn::UseTree::Path(p) => {
                let mut path = path.to_vec();
                path.push(unraw(&p.ident));
                glob(&p.tree, &path, context)
            }
            syn::UseTree::Group(g) => g.items.iter().any(|t| glob(t, path, context)),
            syn::UseTree::Glob(_) => path.len() == 2 && path[0] == "crate" && path[1] == context,
            _ => false,
        }
    }
    items.iter().any(|item| match item {
        syn::Item::Use(u) => u.leading_colon.is_none() && glob(&u.tree, &[], context),
        _ => false,
    })
}

/// Whether a struct, enum, type alias or import of that name is among the items.
fn declares(items: &[syn::Item], name: &str) -> bool {
    fn imports(tree: &syn::UseTree, name: &str) -> bool {
        match tree {
            syn::UseTree::Path(p) => imports(&p.tree, name),
            syn::UseTree::Name(n) => n.ident == name,
            syn::UseTree::Rename(r) => r.rename == name,
            syn::UseTree::Group(g) => g.items.iter().any(|t| imports(t, name)),
            syn::UseTree::Glob(_) => false,
        }
    }
    items.iter().any(|item| match item {
        syn::Item::Struct(s) => s.ident == name,
        syn::Item::Enum(e) => e.ident == name,
        syn::Item::Type(t) => t.ident == name,
        syn::Item::Use(u) => imports(&u.tree, name),
        _ => false,
    })
}

/// The `impl <Trait> for <Type>` block, matching the last path segments, searched in inline
/// modules too (where a user may have moved it).
fn find_impl<'f>(
    items: &'f [syn::Item],
    trait_name: &str,
    self_name: &str,
) -> Option<&'f syn::ItemImpl> {
    items.iter().find_map(|item| match item {
        syn::Item::Impl(block) => {
            let trait_matches = block
                .trait_
                .as_ref()
                .and_then(|(_, path, _)| path.segments.last())
                .is_some_and(|s| s.ident == trait_name);
            let self_matches = match &*block.self_ty {
                syn::Type::Path(p) => p.path.segments.last().is_some_and(|s| s.ident == self_name),
                _ => false,
            };
            (trait_matches && self_matches).then_some(block)
        }
        syn::Item::Mod(m) => m
            .content
            .as_ref()
            .and_then(|(_, items)| find_impl(items, trait_name, self_name)),
        _ => None,
    })
}

/// Appends the `pub mod` lines `mod.rs` lacks; declarations are matched by module name,
/// whatever their visibility or attributes.
pub(super) fn complete_mod(text: &Result<String, String>, stems: &[&str]) -> Completion {
    let text = match text {
        Ok(text) => text,
        Err(why) => return Completion::Skipped(why.clone()),
    };
    let source = Source::new(text);
    let file = match syn::parse_file(source.parsed) {
        Ok(file) => file,
        Err(e) => return Completion::Skipped(parse_failure(&e)),
    };
    let declared: BTreeSet<String> = file
        .items
        .iter()
        .filter_map(|item| match item {
            syn::Item::Mod(m) => Some(unraw(&m.ident)),
            _ => None,
        })
        .collect();
    let mut missing: Vec<&str> = stems
        .iter()
        .copied()
        .filter(|s| !declared.contains(*s))
        .collect();
    missing.sort_unstable();
    if missing.is_empty() {
        return Completion::Unchanged;
    }
    let mut out = text.clone();
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    let lines: String = missing
        .iter()
        .map(|s| format!("pub mod {};\n", module_ident(s)))
        .collect();
    out.push_str(&source.line_endings(&lines));
    Completion::Updated {
        text: out,
        added: missing.iter().map(|s| format!("mod {s}")).collect(),
    }
}
