//! Where an indentation mistake is, when the YAML parser noticed it only later.
//!
//! The parser reports the point where the text stopped making sense, which for a key
//! indented one space off is often a line or three below it: a key indented less than its
//! siblings closes their mapping, and the error comes at the next sibling. This module
//! replays the block structure of the lines up to the error (which columns open a mapping
//! or a sequence) and finds the line whose indentation breaks it, so the diagnostic can
//! point there. It is a heuristic: it gives up (returns `None`) on anything it does not
//! model (tabs, flow collections over several lines), and the parser's own position is
//! kept then.

/// A line whose indentation does not fit the lines around it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Misindented {
    /// 1-based line number.
    pub line: usize,
    /// Its indentation in spaces.
    pub indent: usize,
    /// The indentation of the lines it should line up with.
    pub expected: usize,
}

/// One content line: its number, indentation, and what it does to the structure.
#[derive(Debug, Clone, Copy)]
struct Line {
    number: usize,
    indent: usize,
    /// `key:` alone, `- key:` or `-` alone: the next deeper line starts a block.
    opens: bool,
    /// Starts with `- `: its content (further keys of the item) is at `indent + 2`.
    dash: bool,
}

/// The line to blame for a parse error at `error_line` (1-based), if one is found at or
/// before it.
pub(crate) fn find(text: &str, error_line: usize) -> Option<Misindented> {
    let lines = content_lines(text)?;
    // Each open block: (its column, the line it started on).
    let mut stack: Vec<(usize, usize)> = vec![(0, 1)];
    let mut found = None;
    let mut prev: Option<Line> = None;
    for (k, l) in lines.iter().enumerate() {
        if l.number > error_line {
            break;
        }
        let top = stack.last().map_or(0, |&(c, _)| c);
        let opened = prev.is_some_and(|p| p.opens);
        if l.indent > top {
            if opened {
                stack.push((l.indent, l.number));
            } else if let Some(p) = prev {
                // Deeper than the line before, which opened nothing: either this line is
                // indented too far, or the one before it too little. The one that differs
                // from its other neighbour is the odd one out.
                let before_prev = k.checked_sub(2).map(|i| lines[i]);
                let next = lines.get(k + 1);
                let prev_is_odd = before_prev.is_some_and(|b| b.indent == l.indent && !b.opens)
                    || next.is_some_and(|n| n.indent == l.indent);
                found = Some(if prev_is_odd {
                    Misindented {
                        line: p.number,
                        indent: p.indent,
                        expected: l.indent,
                    }
                } else {
                    Misindented {
                        line: l.number,
                        indent: l.indent,
                        expected: p.indent,
                    }
                });
                stack.push((l.indent, l.number));
            }
        } else {
            while stack.last().is_some_and(|&(c, _)| c > l.indent) {
                let (closed, started) = stack.pop().unwrap_or((0, 1));
                if stack.last().is_some_and(|&(c, _)| c < l.indent) {
                    // A column no open block uses. If the lines after this one agree with
                    // it, the block just closed was indented too far; else this line is off.
                    let next = lines.get(k + 1);
                    let parent = stack.last().map_or(0, |&(c, _)| c);
                    found = Some(if next.is_some_and(|n| n.indent == l.indent) {
                        Misindented {
                            line: started,
                            indent: closed,
                            expected: l.indent,
                        }
                    } else {
                        Misindented {
                            line: l.number,
                            indent: l.indent,
                            expected: if l.indent > parent { closed } else { parent },
                        }
                    });
                    stack.push((l.indent, l.number));
                    break;
                }
            }
        }
        if l.dash {
            stack.push((l.indent + 2, l.number));
        }
        prev = Some(*l);
    }
    found
}

/// The lines that carry structure: no blank or comment lines, no text of block scalars, no
/// inner lines of a flow collection. `None` when a tab indents a line (the parser says so
/// itself, and columns are then ambiguous).
fn content_lines(text: &str) -> Option<Vec<Line>> {
    let mut out: Vec<Line> = Vec::new();
    let mut scalar_above: Option<usize> = None;
    let mut flow_depth = 0i64;
    for (i, raw) in text.lines().enumerate() {
        let trimmed = raw.trim_start_matches(' ');
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        if trimmed.starts_with('\t') {
            return None;
        }
        let indent = raw.len() - trimmed.len();
        if let Some(key_indent) = scalar_above {
            if indent > key_indent {
                continue;
            }
            scalar_above = None;
        }
        let code = strip_comment(trimmed).trim_end();
        let depth_before = flow_depth;
        flow_depth += bracket_balance(code);
        if depth_before > 0 {
            if flow_depth <= 0 {
                flow_depth = 0;
            }
            continue;
        }
        let dash = code == "-" || code.starts_with("- ");
        let item = if dash { code[1..].trim_start() } else { code };
        let block_scalar = item
            .rsplit_once(": ")
            .map(|(_, v)| v)
            .or_else(|| dash.then_some(item))
            .is_some_and(|v| v.starts_with('|') || v.starts_with('>'));
        if block_scalar {
            scalar_above = Some(indent);
        }
        out.push(Line {
            number: i + 1,
            indent,
            opens: item.is_empty() || item.ends_with(':'),
            dash,
        });
    }
    Some(out)
}

/// `text` up to a ` #` comment outside quotes.
fn strip_comment(text: &str) -> &str {
    let mut quote = None;
    let mut prev = ' ';
    for (i, c) in text.char_indices() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '"' || c == '\'' => quote = Some(c),
            None if c == '#' && prev == ' ' => return &text[..i],
            None => {}
        }
        prev = c;
    }
    text
}

/// Opening minus closing brackets outside quotes.
fn bracket_balance(code: &str) -> i64 {
    let mut quote = None;
    let mut n = 0;
    for c in code.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '"' || c == '\'' => quote = Some(c),
            None if c == '[' || c == '{' => n += 1,
            None if c == ']' || c == '}' => n -= 1,
            None => {}
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "\
aggregates:
  Book:
    identity: isbn
    events:
      BookReturned:
        fields:
          isbn: String
          at: DateTime
          by: String
  Reader:
    identity: id
";

    /// BASE with line `n` (1-based) indented by `delta` spaces.
    fn shifted(n: usize, delta: isize) -> String {
        BASE.lines()
            .enumerate()
            .map(|(i, l)| {
                if i + 1 != n {
                    l.to_string()
                } else if delta < 0 {
                    l[(-delta) as usize..].to_string()
                } else {
                    format!("{}{l}", " ".repeat(delta as usize))
                }
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn blames_the_line_that_was_moved_not_the_one_the_parser_stopped_at() {
        // (line moved, by, where the parser reports it) -> the moved line is found.
        for (moved, delta, parser_line) in [
            (8, -2, 9), // dedented to the parent's column: the parser stops at the next key
            (7, -1, 8),
            (7, 1, 8),
            (8, -1, 8),
            (8, 1, 8),
        ] {
            let text = shifted(moved, delta);
            let got = find(&text, parser_line);
            assert_eq!(
                got.as_ref().map(|m| m.line),
                Some(moved),
                "moved line {moved} by {delta}: {got:?}\n{text}"
            );
            let m = got.expect("found");
            assert_eq!(m.expected, 10, "{m:?}");
            assert_eq!(m.indent as isize, 10 + delta, "{m:?}");
        }
    }

    #[test]
    fn nothing_to_blame_in_well_indented_yaml() {
        assert_eq!(find(BASE, 11), None);
        let with_lists =
            "a:\n  - x: 1\n    y: 2\n  - z\nb: |\n    text\n      more\nc: [1,\n  2]\nd: 1\n";
        assert_eq!(find(with_lists, 10), None);
    }

    #[test]
    fn gives_up_on_tabs() {
        assert_eq!(find("a:\n\tb: 1\n", 2), None);
    }
}
