//! The `eskema` command line: `check`, `generate`, `lock`, `scaffold`, `docs` and `init`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::builder::{render_files, write_if_changed};
use crate::check::{self, Checked};
use crate::diag::{Format, Report};

/// eskema: event-sourced domains from YAML.
#[derive(Debug, Parser)]
#[command(name = "eskema", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: CliCommand,
    /// How schema problems are printed on stderr: `human` (the source line, the span
    /// underlined), `short` (`file:line:col: error: ...`), `json` (one JSON array). Default:
    /// `human` on a terminal without NO_COLOR, else `short`.
    #[arg(long, global = true, value_enum, value_name = "FORMAT")]
    pub format: Option<Format>,
    /// The lock file the schemas are held to, and that `lock` writes (default: eskema.lock
    /// in the first schema directory, or beside the first schema file; as the builder's
    /// `lock_file`).
    #[arg(long, global = true, value_name = "FILE")]
    pub lock_file: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum CliCommand {
    /// Checks schema files; exits 0 when valid, 1 when not (every error is printed).
    Check {
        /// Schema files or directories (a directory means its *.yaml and *.yml files).
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Writes the generated Rust (one file per context and eskema_domain.rs) and the JSON
    /// Schema for editors (eskema.schema.json) into DIR.
    Generate {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// Writes or updates the lock file (`eskema.lock` beside the schemas): the shape of every
    /// event version that may be stored, which `check` and the build then hold the schemas
    /// to. Refuses, with every broken rule, a schema that stored events would not survive.
    Lock {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Writes nothing; exits 1 when the lock is not up to date (for CI).
        #[arg(long)]
        check: bool,
    },
    /// Lays out a new crate in DIR (new or empty): Cargo.toml, build.rs, a starter schema,
    /// its logic and a passing test. Then: `cd DIR && cargo test`.
    Init {
        dir: PathBuf,
        /// The eskema checkout the crate depends on by path (default: the one this binary
        /// was built from).
        #[arg(long, value_name = "DIR")]
        eskema_path: Option<PathBuf>,
    },
    /// Writes stub impls of the generated traits into DIR; never overwrites hand-written
    /// code, only adds missing methods.
    Scaffold {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// Writes Markdown docs into DIR: a page per context (Mermaid flowchart, commands with
    /// their validation rules, event catalogue) and an index, README.md.
    Docs {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Writes nothing; exits 1 when the pages in DIR are not what the schemas give
        /// (changed, missing, or left from a removed context).
        #[arg(long)]
        check: bool,
    },
}

/// Runs the CLI with the process's arguments.
pub fn main() -> ExitCode {
    run(Cli::parse())
}

/// Runs one parsed command, printing to stdout/stderr; returns the process exit code.
pub fn run(cli: Cli) -> ExitCode {
    let diags = Diagnostics::new(cli.format);
    let lock_file = cli.lock_file;
    let checked = |paths: &[PathBuf]| check_locked(paths, lock_file.as_ref());
    match cli.command {
        CliCommand::Check { paths } => match checked(&paths) {
            Ok(checked) => {
                diags.warnings(&checked);
                let d = &checked.domain;
                let aggregates: usize = d.contexts.iter().map(|c| c.aggregates.len()).sum();
                println!(
                    "ok: {} file(s), {} context(s), {} aggregate(s), {} warning(s)",
                    checked.files.len(),
                    d.contexts.len(),
                    aggregates,
                    checked.warnings.len()
                );
                match (&checked.lock, &checked.lock_path) {
                    (Some(lock), _) => println!(
                        "ok: every locked event version in {} still reads",
                        lock.path.display()
                    ),
                    (None, Some(path)) => println!(
                        "note: no {}: stored events are not checked yet; run `eskema lock` before the first deploy",
                        path.display()
                    ),
                    (None, None) => {}
                }
                ExitCode::SUCCESS
            }
            Err(report) => diags.fail(&report, "the schemas are not valid"),
        },
        CliCommand::Generate { paths, out } => match checked(&paths) {
            Ok(checked) => {
                diags.warnings(&checked);
                let schema = (
                    crate::JSON_SCHEMA_FILE.to_string(),
                    crate::JSON_SCHEMA.to_string(),
                );
                for (name, content) in render_files(&checked).into_iter().chain([schema]) {
                    if !write_telling(&out.join(name), &content) {
                        return ExitCode::FAILURE;
                    }
                }
                ExitCode::SUCCESS
            }
            Err(report) => diags.fail(&report, "nothing was generated"),
        },
        CliCommand::Lock { paths, check } => lock(&paths, check, &diags, lock_file.as_ref()),
        CliCommand::Init { dir, eskema_path } => {
            let eskema = eskema_path.unwrap_or_else(crate::init::default_eskema_path);
            match crate::init::init(&dir, &eskema) {
                Ok(done) => {
                    for f in &done.files {
                        println!("created {}", f.display());
                    }
                    println!(
                        "crate `{}` depends on eskema at {}; next: cd {} && cargo test",
                        done.crate_name,
                        eskema.display(),
                        dir.display()
                    );
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        CliCommand::Scaffold { paths, out } => match checked(&paths) {
            Ok(checked) => match crate::scaffold::scaffold(&checked.domain, &out) {
                Ok(report) => {
                    for p in &report.created {
                        println!("created {}", p.display());
                    }
                    for (p, methods) in &report.updated {
                        println!("updated {}: added {}", p.display(), methods.join(", "));
                    }
                    for p in &report.unchanged {
                        println!("unchanged {}", p.display());
                    }
                    for (p, why) in &report.skipped {
                        eprintln!("skipped {}: {why}", p.display());
                    }
                    for (p, method, line) in &report.stale {
                        eprintln!(
                            "warning: stale method `{method}` in {}:{line}: the generated trait has no such method any more (its command or event was renamed or removed); delete or rename it",
                            p.display()
                        );
                    }
                    if report.skipped.is_empty() {
                        ExitCode::SUCCESS
                    } else {
                        ExitCode::FAILURE
                    }
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::FAILURE
                }
            },
            Err(report) => diags.fail(&report, "nothing was scaffolded"),
        },
        CliCommand::Docs { paths, out, check } => match checked(&paths) {
            Ok(checked) => {
                diags.warnings(&checked);
                crate::emit_docs::run(&checked.domain, &paths, &out, check)
            }
            Err(report) => diags.fail(&report, "no docs were written"),
        },
    }
}

/// The check, held to the lock at `lock_file` or at the default place.
fn check_locked(paths: &[PathBuf], lock_file: Option<&PathBuf>) -> Result<Checked, Report> {
    let lock = lock_file
        .cloned()
        .or_else(|| crate::lock::default_path(paths));
    check::check_paths_locked(paths, lock)
}

fn lock(
    paths: &[PathBuf],
    check_only: bool,
    diags: &Diagnostics,
    lock_file: Option<&PathBuf>,
) -> ExitCode {
    let mut checked = match check_locked(paths, lock_file) {
        Ok(checked) => checked,
        Err(report) => return diags.fail(&report, "the lock was not written"),
    };
    // Not the warning that asks for this very command.
    let lock_path = checked.lock_path.clone();
    checked
        .warnings
        .retain(|w| Some(&w.file) != lock_path.as_ref());
    diags.warnings(&checked);
    let Some(path) = &checked.lock_path else {
        eprintln!("error: no schema path to put the lock beside");
        return ExitCode::FAILURE;
    };
    let (text, changed) = checked.locked();
    if check_only {
        if changed {
            eprintln!(
                "error: {} is not up to date with the schemas: run `eskema lock` and commit it",
                path.display()
            );
            return ExitCode::FAILURE;
        }
        println!("ok: {} is up to date", path.display());
        return ExitCode::SUCCESS;
    }
    if write_telling(path, &text) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Writes `content` to `path` unless it is there already, and says which (`wrote ..`,
/// `unchanged ..`, or the error on stderr); false when it could not write.
fn write_telling(path: &Path, content: &str) -> bool {
    match write_if_changed(path, content) {
        Ok(true) => println!("wrote {}", path.display()),
        Ok(false) => println!("unchanged {}", path.display()),
        Err(e) => {
            eprintln!("error: {e}");
            return false;
        }
    }
    true
}

/// How every command that checks schemas prints what the check found: one place, so each
/// command (and each one added later) honours `--format` the same way.
#[derive(Debug, Clone, Copy)]
pub struct Diagnostics {
    format: Format,
    color: bool,
}

impl Diagnostics {
    /// `format` as given on the command line, or `Format::auto`.
    pub fn new(format: Option<Format>) -> Self {
        Diagnostics {
            format: format.unwrap_or_else(Format::auto),
            color: crate::diag::stderr_is_color_terminal(),
        }
    }

    /// After a successful check: its warnings on stderr (`json`: always one array, maybe
    /// empty, so a tool gets one document per run).
    pub fn warnings(&self, checked: &Checked) {
        match self.format {
            Format::Short => {
                for w in &checked.warnings {
                    eprintln!("{w}");
                }
            }
            Format::Json => eprintln!("{}", checked.warnings_report().render(Format::Json, false)),
            _ if checked.warnings.is_empty() => {}
            format => eprintln!("{}", checked.warnings_report().render(format, self.color)),
        }
    }

    /// After a failed check: the report on stderr, then (not in `json`) what that means for
    /// this command, e.g. "nothing was generated"; exit code 1.
    pub fn fail(&self, report: &Report, consequence: &str) -> ExitCode {
        eprintln!("{}", report.render(self.format, self.color));
        if self.format != Format::Json {
            let n = report.errors().count();
            eprintln!("error: {n} problem(s) found; {consequence}");
        }
        ExitCode::FAILURE
    }
}
