//! The `eskema` command line: `check`, `generate`, `lock`, `scaffold` and `docs`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::builder::{render_files, write_if_changed};
use crate::check;
use crate::diag::Report;

/// eskema: event-sourced domains from YAML.
#[derive(Debug, Parser)]
#[command(name = "eskema", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: CliCommand,
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
    match cli.command {
        CliCommand::Check { paths } => match check::check_paths(&paths) {
            Ok(checked) => {
                for w in &checked.warnings {
                    eprintln!("{w}");
                }
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
            Err(report) => fail(&report),
        },
        CliCommand::Generate { paths, out } => match check::check_paths(&paths) {
            Ok(checked) => {
                for w in &checked.warnings {
                    eprintln!("{w}");
                }
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
            Err(report) => fail(&report),
        },
        CliCommand::Lock { paths, check } => lock(&paths, check),
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
            Err(report) => fail(&report),
        },
        CliCommand::Docs { paths, out, check } => match check::check_paths(&paths) {
            Ok(checked) => {
                for w in &checked.warnings {
                    eprintln!("{w}");
                }
                crate::emit_docs::run(&checked.domain, &paths, &out, check)
            }
            Err(report) => fail(&report),
        },
    }
}

fn lock(paths: &[PathBuf], check_only: bool) -> ExitCode {
    let checked = match check::check_paths(paths) {
        Ok(checked) => checked,
        Err(report) => return fail(&report),
    };
    for w in &checked.warnings {
        // The warning that asks for this very command.
        if Some(&w.file) != checked.lock_path.as_ref() {
            eprintln!("{w}");
        }
    }
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
    match write_if_changed(path, &text) {
        Ok(true) => println!("wrote {}", path.display()),
        Ok(false) => println!("unchanged {}", path.display()),
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}

fn fail(report: &Report) -> ExitCode {
    eprintln!("{report}");
    let n = report.errors().count();
    eprintln!("error: {n} problem(s) found; nothing was generated");
    ExitCode::FAILURE
}
