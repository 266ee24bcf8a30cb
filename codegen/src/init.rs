//! `eskema init DIR`: a new crate that builds and passes its test at once: Cargo.toml,
//! build.rs, a starter schema, the logic written by the scaffold stage (its `todo!()`s
//! filled in for the starter) and a given/when/then test.
//!
//! The crate depends on `eskema` and `eskema-codegen` by path: by default the checkout this
//! binary was built from (known at compile time), so `cargo install --path codegen` in a
//! fresh clone gives an `eskema init` whose crates build against that clone.

use std::path::{Path, PathBuf};

use crate::check;
use crate::scaffold::{ScaffoldError, scaffold};

/// The eskema checkout this binary was built from (the parent of `codegen/`).
pub fn default_eskema_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(".."))
}

/// Why `init` stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InitError {
    #[error("{0} exists and is not empty; init writes only into a new or empty directory")]
    NotEmpty(PathBuf),
    #[error("cannot name a crate after {0}: give a directory whose name has letters or digits")]
    NoName(PathBuf),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Scaffold(#[from] ScaffoldError),
    /// The starter schema or its logic did not come out as expected: a bug of ours.
    #[error("the starter does not fit the generator (a bug in eskema init): {0}")]
    Starter(String),
}

const SCHEMA: &str = "\
# The starter schema: one aggregate. `eskema check schemas` checks it; the build
# (build.rs) generates the Rust; docs/schema-format.md in eskema describes every key.
doc: A lending shelf.
aggregates:
  Book:
    identity: isbn
    state: { isbn: String, lent_to: \"Option<String>\" }
    errors:
      AlreadyLent: the book is already lent
    commands:
      LendBook:
        fields:
          isbn: { type: String, validate: [{ pattern: \"^[0-9]{13}$\" }] }
          reader: { type: String, validate: [required] }
        emits: [BookLent]
    events:
      BookLent:
        fields: { isbn: String, reader: String }
";

const BUILD_RS: &str = "\
//! Checks `schemas/` and generates the domain into OUT_DIR at every build.

fn main() {
    if let Err(err) = eskema_codegen::Builder::new().schemas(\"schemas\").generate() {
        err.fail_build();
    }
}
";

/// The scaffolded executor and applier bodies, and what the starter puts there.
const FILLS: [(&str, &str); 2] = [
    (
        "todo!(\"decide {command:?}\")",
        "if self.lent_to.is_some() {
            return Err(BookError::AlreadyLent);
        }
        Ok(vec![BookLent {
            isbn: command.isbn.clone(),
            reader: command.reader.clone(),
        }])",
    ),
    (
        "todo!(\"apply {event:?}\")",
        "self.isbn = event.isbn.clone();
        self.lent_to = Some(event.reader.clone());",
    ),
];

/// What [`init`] wrote.
#[derive(Debug, Clone)]
pub struct Initialized {
    pub crate_name: String,
    pub files: Vec<PathBuf>,
}

/// Lays out the crate in `dir` (created if missing, refused if not empty), with `eskema`
/// and `eskema-codegen` taken from the checkout at `eskema`.
pub fn init(dir: &Path, eskema: &Path) -> Result<Initialized, InitError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| InitError::Io { path, source }
    };
    if dir.exists() {
        let mut entries = std::fs::read_dir(dir).map_err(io(dir))?;
        if entries.next().is_some() {
            return Err(InitError::NotEmpty(dir.to_path_buf()));
        }
    }
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    // The name of the directory itself (`.` included).
    let stem = std::fs::canonicalize(dir)
        .map_err(io(dir))?
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let crate_name: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect::<String>()
        .trim_matches('_')
        .to_string();
    let crate_name = match crate_name.chars().next() {
        None => return Err(InitError::NoName(dir.to_path_buf())),
        Some(c) if c.is_ascii_digit() => format!("app_{crate_name}"),
        Some(_) => crate_name,
    };
    // The context is the schema file's stem: the crate's name, so `include_domain!` and
    // `use <crate>::<crate>::*` read naturally.
    let context = crate_name.clone();
    let eskema = std::fs::canonicalize(eskema).unwrap_or_else(|_| eskema.to_path_buf());
    let toml_path = |p: PathBuf| p.display().to_string().replace('\\', "/");
    let manifest = format!(
        "[package]\n\
         name = \"{name}\"\n\
         version = \"0.1.0\"\n\
         edition = \"2024\"\n\
         publish = false\n\
         \n\
         # A workspace of its own, even inside another one's directory; delete this table\n\
         # to make the crate a member of an enclosing workspace.\n\
         [workspace]\n\
         \n\
         [dependencies]\n\
         eskema = {{ path = \"{runtime}\" }}\n\
         \n\
         [build-dependencies]\n\
         eskema-codegen = {{ path = \"{codegen}\" }}\n",
        name = crate_name.replace('_', "-"),
        runtime = toml_path(eskema.join("runtime")),
        codegen = toml_path(eskema.join("codegen")),
    );
    let lib = format!(
        "//! The `{context}` domain: generated from `schemas/{context}.yaml` at build time; the\n\
         //! logic you write is in `logic/`.\n\
         \n\
         eskema::include_domain!(\"{context}\");\n\
         pub mod logic;\n"
    );
    let test = format!(
        "//! Given / when / then on the `Book` aggregate, without a store.\n\
         \n\
         use eskema::AggregateTestExt;\n\
         use {krate}::{context}::*;\n\
         \n\
         fn lend(reader: &str) -> LendBook {{\n    \
             LendBook {{ isbn: \"9780000000001\".into(), reader: reader.into() }}\n\
         }}\n\
         \n\
         #[test]\n\
         fn a_book_is_lent() {{\n    \
             Book::given_nothing()\n        \
                 .when(lend(\"ann\"))\n        \
                 .then_events([BookLent {{ isbn: \"9780000000001\".into(), reader: \"ann\".into() }}]);\n\
         }}\n\
         \n\
         #[test]\n\
         fn a_lent_book_cannot_be_lent_again() {{\n    \
             Book::given([BookLent {{ isbn: \"9780000000001\".into(), reader: \"ann\".into() }}])\n        \
                 .when(lend(\"bob\"))\n        \
                 .then_error(BookError::AlreadyLent);\n\
         }}\n\
         \n\
         #[test]\n\
         fn every_broken_rule_is_reported() {{\n    \
             Book::given_nothing()\n        \
                 .when(LendBook {{ isbn: \"12\".into(), reader: String::new() }})\n        \
                 .then_invalid(\"isbn\", \"pattern\")\n        \
                 .then_invalid(\"reader\", \"required\");\n\
         }}\n",
        krate = crate_name,
    );
    // The versions eskema is tested with (cargo drops the entries this crate does not use);
    // it also lets the first build work offline from a filled cargo cache.
    if let Ok(lock) = std::fs::read_to_string(eskema.join("Cargo.lock")) {
        write(&dir.join("Cargo.lock"), &lock)?;
    }
    let schema_file = dir.join("schemas").join(format!("{context}.yaml"));
    let mut files = Vec::new();
    for (path, text) in [
        (dir.join("Cargo.toml"), manifest.as_str()),
        (dir.join(".gitignore"), "/target\n"),
        (dir.join("build.rs"), BUILD_RS),
        (schema_file.clone(), SCHEMA),
        (dir.join("src/lib.rs"), lib.as_str()),
        (dir.join("tests").join("book.rs"), test.as_str()),
    ] {
        write(&path, text)?;
        files.push(path);
    }

    // The logic: what `eskema scaffold schemas --out src/logic` writes, filled in.
    let checked = check::check_paths(std::slice::from_ref(&schema_file))
        .map_err(|r| InitError::Starter(r.to_string()))?;
    let logic_dir = dir.join("src/logic");
    let report = scaffold(&checked.domain, &logic_dir)?;
    let book = logic_dir.join("book.rs");
    let mut text = std::fs::read_to_string(&book).map_err(io(&book))?;
    for (todo, body) in FILLS {
        if !text.contains(todo) {
            return Err(InitError::Starter(format!(
                "no `{todo}` in {}",
                book.display()
            )));
        }
        text = text.replace(todo, body);
    }
    write(&book, &text)?;
    files.extend(report.created);
    Ok(Initialized { crate_name, files })
}

fn write(path: &Path, text: &str) -> Result<(), InitError> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|source| InitError::Io {
            path: parent.to_path_buf(),
            source,
        })?;
    }
    std::fs::write(path, text).map_err(|source| InitError::Io {
        path: path.to_path_buf(),
        source,
    })
}
