//! The `eskema` command line: `check`, `generate`, `scaffold` and `init`.

use std::path::PathBuf;
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
}

/// Runs the CLI with the process's arguments.
pub fn main() -> ExitCode {
    run(Cli::parse())
}

/// Runs one parsed command, printing to stdout/stderr; returns the process exit code.
pub fn run(cli: Cli) -> ExitCode {
    let diags = Diagnostics::new(cli.format);
    match cli.command {
        CliCommand::Check { paths } => match check::check_paths(&paths) {
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
                ExitCode::SUCCESS
            }
            Err(report) => diags.fail(&report, "the schemas are not valid"),
        },
        CliCommand::Generate { paths, out } => match check::check_paths(&paths) {
            Ok(checked) => {
                diags.warnings(&checked);
                let schema = (
                    crate::JSON_SCHEMA_FILE.to_string(),
                    crate::JSON_SCHEMA.to_string(),
                );
                for (name, content) in render_files(&checked).into_iter().chain([schema]) {
                    let path = out.join(name);
                    match write_if_changed(&path, &content) {
                        Ok(true) => println!("wrote {}", path.display()),
                        Ok(false) => println!("unchanged {}", path.display()),
                        Err(e) => {
                            eprintln!("error: {e}");
                            return ExitCode::FAILURE;
                        }
                    }
                }
                ExitCode::SUCCESS
            }
            Err(report) => diags.fail(&report, "nothing was generated"),
        },
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
        CliCommand::Scaffold { paths, out } => match check::check_paths(&paths) {
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
    }
}

/// How every command that checks schemas prints what the check found: one place, so each
/// command (and each one added later) honours `--format` the same way.
#[derive(Debug, Clone, Copy)]
pub struct Diagnostics {
    format: Format,
    color: bool,
}

impl Diagnostics {
    /// `format` as given on the command line, or [`Format::auto`].
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
