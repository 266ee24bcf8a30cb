//! Command validation: every violation of a command is collected, never only the first.

use std::fmt;

/// Implemented by generated code for every command and declared type.
pub trait Validate {
    /// Checks every rule of every field and returns all violations.
    fn validate(&self) -> Result<(), ValidationErrors> {
        let mut errors = ValidationErrors::default();
        self.validate_into("", &mut errors);
        errors.into_result()
    }

    /// Adds this value's violations to `errors`, with field paths prefixed by `prefix`
    /// (`"money."` for a nested type), so nested types report `money.amount`.
    fn validate_into(&self, prefix: &str, errors: &mut ValidationErrors);
}

/// One broken rule: which field, which rule, and a message a person can read.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Violation {
    /// Dotted path from the command: `pin`, `money.amount`, `items[2]`.
    pub field: String,
    /// The rule's name as written in YAML: `min`, `length`, `pattern`, ...
    pub rule: String,
    pub message: String,
}

/// All violations of one value; empty means valid.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ValidationErrors {
    pub violations: Vec<Violation>,
}

impl ValidationErrors {
    pub fn push(&mut self, field: impl Into<String>, rule: &str, message: impl Into<String>) {
        self.violations.push(Violation {
            field: field.into(),
            rule: rule.to_string(),
            message: message.into(),
        });
    }

    pub fn is_empty(&self) -> bool {
        self.violations.is_empty()
    }

    pub fn len(&self) -> usize {
        self.violations.len()
    }

    /// `Ok(())` when empty.
    pub fn into_result(self) -> Result<(), ValidationErrors> {
        if self.violations.is_empty() {
            Ok(())
        } else {
            Err(self)
        }
    }

    /// True when some violation is on `field` for `rule`; handy in tests.
    pub fn has(&self, field: &str, rule: &str) -> bool {
        self.violations
            .iter()
            .any(|v| v.field == field && v.rule == rule)
    }
}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, v) in self.violations.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{}: {}", v.field, v.message)?;
        }
        Ok(())
    }
}

impl std::error::Error for ValidationErrors {}

/// Characters (not bytes) in a string: what `length` counts.
pub fn char_len(s: &str) -> u64 {
    s.chars().count() as u64
}

/// A practical e-mail check (one `@`, a non-empty local part, a dotted domain, no spaces),
/// as the `email` rule promises; full RFC 5322 is not what users mean by "an e-mail".
pub fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && !s.chars().any(char::is_whitespace)
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_accepts_common_and_rejects_broken_addresses() {
        assert!(is_email("ann@example.com"));
        assert!(is_email("a.b+c@mail.example.org"));
        for bad in [
            "",
            "ann",
            "@example.com",
            "ann@",
            "ann@example",
            "a b@example.com",
            "a@b@c.com",
            "ann@.com",
            "ann@example..com",
        ] {
            assert!(!is_email(bad), "{bad:?} should not be an e-mail");
        }
    }

    #[test]
    fn char_len_counts_characters() {
        assert_eq!(char_len("päß"), 3);
        assert_eq!(char_len("🦀🦀"), 2);
    }
}
