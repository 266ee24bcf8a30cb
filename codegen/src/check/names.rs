//! Name rules: casing, Rust keywords, names the generated code already uses, and
//! "did you mean" suggestions.

/// Rust's strict and reserved keywords (2024 edition), which no schema name may be.
const KEYWORDS: &[&str] = &[
    "as", "break", "const", "continue", "crate", "else", "enum", "extern", "false", "fn", "for",
    "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return",
    "self", "Self", "static", "struct", "super", "trait", "true", "type", "unsafe", "use", "where",
    "while", "async", "await", "dyn", "abstract", "become", "box", "do", "final", "macro",
    "override", "priv", "typeof", "unsized", "virtual", "yield", "try", "gen",
];

/// Type names generated code uses unqualified (the prelude, derives) or that are schema
/// built-ins: a declared item with one of these names would shadow it and break the code.
const TAKEN_TYPE_NAMES: &[&str] = &[
    "Option",
    "Some",
    "None",
    "Result",
    "Ok",
    "Err",
    "Vec",
    "String",
    "Box",
    "ToString",
    "ToOwned",
    "Clone",
    "Copy",
    "Send",
    "Sync",
    "Sized",
    "Default",
    "Drop",
    "Fn",
    "FnMut",
    "FnOnce",
    "Iterator",
    "IntoIterator",
    "Extend",
    "From",
    "Into",
    "TryFrom",
    "TryInto",
    "AsRef",
    "AsMut",
    "PartialEq",
    "Eq",
    "PartialOrd",
    "Ord",
    "Debug",
    "Hash",
    "Serialize",
    "Deserialize",
    "Display",
    "Map",
    "Uuid",
    "DateTime",
    "Decimal",
    "Json",
    "Utc",
    "Value",
];

pub fn is_keyword(name: &str) -> bool {
    KEYWORDS.contains(&name)
}

/// `BankAccount`, `EUR`, `V2`: starts with an ASCII capital, then ASCII letters and digits.
pub fn is_upper_camel(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_uppercase()) && chars.all(|c| c.is_ascii_alphanumeric())
}

/// `account_number`, `pin2`: lowercase ASCII words joined by single underscores.
pub fn is_snake(name: &str) -> bool {
    name.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !name.contains("__")
        && !name.ends_with('_')
}

/// A likely snake_case spelling of `name`, for hints.
pub fn to_snake(name: &str) -> String {
    let s = crate::model::names::snake(name);
    let mut out = String::new();
    for c in s.chars() {
        let c = if c.is_ascii_alphanumeric() {
            c.to_ascii_lowercase()
        } else {
            '_'
        };
        if !(c == '_' && (out.is_empty() || out.ends_with('_'))) {
            out.push(c);
        }
    }
    out.trim_end_matches('_').to_string()
}

/// A likely UpperCamelCase spelling of `name`, for hints.
pub fn to_camel(name: &str) -> String {
    name.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut cs = w.chars();
            cs.next()
                .map(|f| f.to_ascii_uppercase().to_string() + cs.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// Checks an UpperCamelCase item name; returns the problem and a hint.
pub fn check_camel(name: &str, what: &str) -> Option<(String, Option<String>)> {
    if is_keyword(name) {
        return Some((
            format!("{what} name `{name}` is a Rust keyword"),
            Some("choose another name".into()),
        ));
    }
    if !is_upper_camel(name) {
        let fix = to_camel(name);
        let hint = (is_upper_camel(&fix) && !is_keyword(&fix)).then(|| format!("write `{fix}`"));
        return Some((format!("{what} name `{name}` must be UpperCamelCase"), hint));
    }
    if TAKEN_TYPE_NAMES.contains(&name) {
        return Some((
            format!("{what} name `{name}` is already used by Rust or the generated code"),
            Some("choose another name, e.g. with a domain prefix".into()),
        ));
    }
    None
}

/// Checks a snake_case name (fields, contexts); returns the problem and a hint.
pub fn check_snake(name: &str, what: &str) -> Option<(String, Option<String>)> {
    if is_keyword(name) {
        return Some((
            format!("{what} name `{name}` is a Rust keyword"),
            Some(format!("choose another name, e.g. `{name}_name` or `kind`")),
        ));
    }
    if !is_snake(name) {
        let fix = to_snake(name);
        let hint = (is_snake(&fix) && !is_keyword(&fix)).then(|| format!("write `{fix}`"));
        return Some((format!("{what} name `{name}` must be snake_case"), hint));
    }
    None
}

/// Names longer than this get no suggestion: a typo is in a name someone typed, and the
/// edit distance costs the product of the two lengths.
const MAX_SUGGESTED_LEN: usize = 64;

/// The closest candidate, if it is close enough to be a plausible typo.
///
/// A candidate whose length differs from the word's by more than the typo limit is not
/// compared at all (the edit distance is at least the length difference), nor is any word
/// or candidate longer than [`MAX_SUGGESTED_LEN`], so a long name costs no more than a short
/// one.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let word_len = word.chars().count();
    if word_len > MAX_SUGGESTED_LEN {
        return None;
    }
    let lower = word.to_lowercase();
    let mut best: Option<(usize, &'a str)> = None;
    for c in candidates {
        if c == word {
            continue;
        }
        let c_len = c.chars().count();
        if c_len > MAX_SUGGESTED_LEN {
            continue;
        }
        let limit = (word_len.max(c_len) / 3).max(1);
        let prefix = c.starts_with(word) || word.starts_with(c);
        let gap = word_len.abs_diff(c_len);
        if gap > limit && !(prefix && word.len() >= 3) {
            continue;
        }
        let distance = if prefix {
            // One is the other plus characters at the end.
            gap
        } else {
            let c_lower = c.to_lowercase();
            if c_lower == lower {
                0
            } else {
                strsim::osa_distance(&lower, &c_lower)
            }
        };
        if (distance <= limit || (prefix && word.len() >= 3))
            && best.is_none_or(|(d, _)| distance < d)
        {
            best = Some((distance, c));
        }
    }
    best.map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn casing() {
        assert!(is_upper_camel("BankAccount") && is_upper_camel("EUR"));
        assert!(
            !is_upper_camel("bankAccount")
                && !is_upper_camel("Bank_Account")
                && !is_upper_camel("")
        );
        assert!(is_snake("account_number") && is_snake("pin2"));
        assert!(
            !is_snake("accountNumber") && !is_snake("_x") && !is_snake("a__b") && !is_snake("x_")
        );
        assert_eq!(to_snake("accountNumber"), "account_number");
        assert_eq!(to_camel("bank_account"), "BankAccount");
    }

    #[test]
    fn suggestions() {
        assert_eq!(
            did_you_mean("emit", ["doc", "emits", "fields"]),
            Some("emits")
        );
        assert_eq!(did_you_mean("Strng", ["String", "bool"]), Some("String"));
        assert_eq!(did_you_mean("zzz", ["String", "bool"]), None);
        assert_eq!(did_you_mean("Crad", ["Card", "Cart"]), Some("Card"));
        assert_eq!(did_you_mean("string", ["String", "i64"]), Some("String"));
    }

    #[test]
    fn keywords_and_taken_names() {
        assert!(check_snake("type", "field").is_some());
        assert!(check_camel("Self", "type").is_some());
        assert!(check_camel("Result", "type").is_some());
        assert!(check_camel("Money", "type").is_none());
    }
}
