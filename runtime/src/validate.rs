//! Command validation: every violation of a command is collected, never only the first.

use std::cmp::Ordering;
use std::fmt;

/// Implemented by generated code for every command and declared type.
pub trait Validate {
    /// Checks every rule of every field and returns all violations.
    ///
    /// Not callable on a `dyn Validate` (use [`Validate::validate_into`]): kept out of the
    /// vtable, it is compiled only for the types it is called on, not for every generated
    /// struct a command enum hands out as `&dyn Validate`.
    fn validate(&self) -> Result<(), ValidationErrors>
    where
        Self: Sized,
    {
        let mut errors = ValidationErrors::default();
        self.validate_into("", &mut errors);
        errors.into_result()
    }

    /// Adds this value's violations to `errors`, with field paths prefixed by `prefix`
    /// (`"money."` for a nested type), so nested types report `money.amount`. None by
    /// default: a type without rules.
    fn validate_into(&self, prefix: &str, errors: &mut ValidationErrors) {
        let _ = (prefix, errors);
    }
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

/// The rule checks generated `Validate` impls call: one call per rule, the message built
/// here from the rule's parameters, the field path prefixed with the nesting path.
pub struct Check<'a> {
    prefix: &'a str,
    errors: &'a mut ValidationErrors,
}

impl<'a> Check<'a> {
    pub fn new(prefix: &'a str, errors: &'a mut ValidationErrors) -> Self {
        Check { prefix, errors }
    }

    fn push(&mut self, field: &str, rule: &str, message: impl Into<String>) {
        self.errors
            .push(format!("{}{field}", self.prefix), rule, message);
    }

    /// `required` on an `Option`: present.
    pub fn present<T>(&mut self, field: &str, value: &Option<T>) {
        if value.is_none() {
            self.push(field, "required", "is required");
        }
    }

    /// `required` on a string, `Vec` or map: not empty.
    pub fn not_empty(&mut self, field: &str, empty: bool) {
        if empty {
            self.push(field, "required", "must not be empty");
        }
    }

    /// `min`: at least `min` (NaN is at least nothing).
    pub fn min<T: PartialOrd + fmt::Display>(&mut self, field: &str, value: &T, min: T) {
        // `partial_cmp` is `None` for NaN, which is at least nothing.
        if !matches!(
            value.partial_cmp(&min),
            Some(Ordering::Greater | Ordering::Equal)
        ) {
            self.push(field, "min", format!("must be at least {min}"));
        }
    }

    /// `max`: at most `max` (NaN is at most nothing).
    pub fn max<T: PartialOrd + fmt::Display>(&mut self, field: &str, value: &T, max: T) {
        if !matches!(
            value.partial_cmp(&max),
            Some(Ordering::Less | Ordering::Equal)
        ) {
            self.push(field, "max", format!("must be at most {max}"));
        }
    }

    /// `min` and `max` together.
    pub fn range<T: PartialOrd + fmt::Display>(&mut self, field: &str, value: &T, min: T, max: T) {
        if !(*value >= min && *value <= max) {
            self.push(field, "range", format!("must be between {min} and {max}"));
        }
    }

    /// `length` of a string, in characters.
    pub fn text_length(&mut self, field: &str, value: &str, min: Option<u64>, max: Option<u64>) {
        self.length(
            field,
            char_len(value),
            min,
            max,
            "be",
            ["character", "characters"],
        );
    }

    /// `length` of a `Vec`, in items.
    pub fn items_length(&mut self, field: &str, len: usize, min: Option<u64>, max: Option<u64>) {
        self.length(field, len as u64, min, max, "have", ["item", "items"]);
    }

    fn length(
        &mut self,
        field: &str,
        n: u64,
        min: Option<u64>,
        max: Option<u64>,
        verb: &str,
        [one, many]: [&str; 2],
    ) {
        if min.is_none_or(|m| n >= m) && max.is_none_or(|m| n <= m) {
            return;
        }
        let unit = |k: u64| if k == 1 { one } else { many };
        let message = match (min, max) {
            (Some(a), Some(b)) if a == b => format!("must {verb} exactly {a} {}", unit(a)),
            (Some(a), Some(b)) => format!("must {verb} between {a} and {b} {}", unit(b)),
            (Some(a), None) => format!("must {verb} at least {a} {}", unit(a)),
            (None, Some(b)) => format!("must {verb} at most {b} {}", unit(b)),
            (None, None) => return,
        };
        self.push(field, "length", message);
    }

    /// `pattern`: the regex (compiled once per process) matches somewhere in the value.
    pub fn pattern(&mut self, field: &str, value: &str, pattern: &'static str) {
        match compiled(pattern) {
            Ok(re) if re.is_match(value) => {}
            Ok(_) => self.push(field, "pattern", format!("must match {pattern}")),
            // eskema-codegen compiled it already; this needs a different regex crate version.
            Err(e) => self.push(
                field,
                "pattern",
                format!("pattern {pattern} does not compile: {e}"),
            ),
        }
    }

    /// `email`: see [`is_email`].
    pub fn email(&mut self, field: &str, value: &str) {
        if !is_email(value) {
            self.push(field, "email", "must be a valid e-mail address");
        }
    }

    /// `one_of`: `allowed` is whether the value is one of `values` (as the schema lists them).
    pub fn one_of(&mut self, field: &str, allowed: bool, values: &str) {
        if !allowed {
            self.push(field, "one_of", format!("must be one of {values}"));
        }
    }

    /// `custom`: the user's function said why not.
    pub fn custom(&mut self, field: &str, result: Result<(), String>) {
        if let Err(message) = result {
            self.push(field, "custom", message);
        }
    }

    /// A declared type inside: its own rules, reported under `field.`.
    pub fn nested(&mut self, field: &str, value: &dyn Validate) {
        let prefix = format!("{}{field}.", self.prefix);
        value.validate_into(&prefix, self.errors);
    }

    /// [`Check::nested`] for the declared type in an `Option`, when there is one.
    pub fn nested_some<T: Validate>(&mut self, field: &str, value: Option<&T>) {
        if let Some(value) = value {
            self.nested(field, value);
        }
    }

    /// [`Check::nested`] for each declared type in a `Vec`, reported under `field[i].`.
    pub fn nested_each<T: Validate>(&mut self, field: &str, values: &[T]) {
        for (i, value) in values.iter().enumerate() {
            self.nested(&format!("{field}[{i}]"), value);
        }
    }

    /// [`Check::nested`] for each declared type in a map, reported under `field[key].`.
    pub fn nested_values<T: Validate>(
        &mut self,
        field: &str,
        values: &std::collections::BTreeMap<String, T>,
    ) {
        for (key, value) in values {
            self.nested(&format!("{field}[{key}]"), value);
        }
    }
}

/// The compiled regex of a `pattern` rule, from a process-wide cache.
fn compiled(pattern: &'static str) -> Result<regex::Regex, regex::Error> {
    use std::collections::HashMap;
    use std::sync::{LazyLock, RwLock};
    static CACHE: LazyLock<RwLock<HashMap<&'static str, regex::Regex>>> =
        LazyLock::new(Default::default);
    if let Some(re) = CACHE.read().ok().and_then(|c| c.get(pattern).cloned()) {
        return Ok(re);
    }
    let re = regex::Regex::new(pattern)?;
    if let Ok(mut cache) = CACHE.write() {
        cache.insert(pattern, re.clone());
    }
    Ok(re)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A declared type with one rule: `n` at least 1.
    struct Part {
        n: i64,
    }

    impl Validate for Part {
        fn validate_into(&self, prefix: &str, errors: &mut ValidationErrors) {
            Check::new(prefix, errors).min("n", &self.n, 1);
        }
    }

    #[test]
    fn nested_types_in_wrappers_report_their_path() {
        let mut errors = ValidationErrors::default();
        let mut check = Check::new("order.", &mut errors);
        check.nested("one", &Part { n: 0 });
        check.nested_some("maybe", Some(&Part { n: 0 }));
        check.nested_some::<Part>("absent", None);
        check.nested_each("parts", &[Part { n: 1 }, Part { n: 0 }]);
        let by_key = std::collections::BTreeMap::from([
            ("a".to_string(), Part { n: 5 }),
            ("b".to_string(), Part { n: -1 }),
        ]);
        check.nested_values("by_key", &by_key);
        let fields: Vec<String> = errors.violations.into_iter().map(|v| v.field).collect();
        assert_eq!(
            fields,
            [
                "order.one.n",
                "order.maybe.n",
                "order.parts[1].n",
                "order.by_key[b].n"
            ]
        );
    }

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
    fn checks_report_the_rule_and_a_message_built_from_its_parameters() {
        let mut errors = ValidationErrors::default();
        let mut check = Check::new("card.", &mut errors);
        check.range("amount", &0i64, 1, 1_000_000);
        check.min("x", &f64::NAN, 0.0);
        check.max("y", &3u32, 5);
        check.text_length("pin", "12345", Some(4), Some(4));
        check.items_length("tags", 0, Some(1), None);
        check.pattern("code", "abc", "^[0-9]+$");
        check.pattern("digits", "123", "^[0-9]+$");
        check.email("mail", "nope");
        check.one_of("currency", false, "EUR, USD");
        check.custom("owner", Err("taken".to_string()));
        check.present::<u8>("note", &None);
        check.not_empty("name", true);
        let got: Vec<(String, String, String)> = errors
            .violations
            .into_iter()
            .map(|v| (v.field, v.rule, v.message))
            .collect();
        let want = [
            ("card.amount", "range", "must be between 1 and 1000000"),
            ("card.x", "min", "must be at least 0"),
            ("card.pin", "length", "must be exactly 4 characters"),
            ("card.tags", "length", "must have at least 1 item"),
            ("card.code", "pattern", "must match ^[0-9]+$"),
            ("card.mail", "email", "must be a valid e-mail address"),
            ("card.currency", "one_of", "must be one of EUR, USD"),
            ("card.owner", "custom", "taken"),
            ("card.note", "required", "is required"),
            ("card.name", "required", "must not be empty"),
        ];
        let want: Vec<(String, String, String)> = want
            .iter()
            .map(|(f, r, m)| (f.to_string(), r.to_string(), m.to_string()))
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn char_len_counts_characters() {
        assert_eq!(char_len("päß"), 3);
        assert_eq!(char_len("🦀🦀"), 2);
    }
}
