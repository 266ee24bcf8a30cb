//! Generator speed: a synthetic domain of N aggregates (5 commands and 5 events each, with
//! rules and an upcast step) through check and emit. Prints one table with medians.
//!
//! `cargo bench -p eskema-codegen --bench generate` (N = 1000; `ESKEMA_BENCH_AGGREGATES`
//! changes it). `ESKEMA_BENCH_WRITE=DIR` also writes the schema there, for timing
//! `cargo build` of the generated code (see `scripts/bench-build.sh`).
//! `ESKEMA_BENCH_OUT=DIR` writes the generated files there (to compare output across
//! changes of the emitter); `ESKEMA_BENCH_ROUNDS` sets the number of rounds (default 5).
//!
//! A second table splits emit into its stages on one thread (build the tokens with
//! `quote`, parse them with `syn`, print with `prettyplease`): the sum is the CPU time the
//! parallel emit spreads over the cores, and the tokens row is a floor no formatting
//! choice can lower.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use eskema_codegen::__private::check_sources;
use eskema_codegen::__private::render_files;
use eskema_codegen::__private::{StageTimes, stage_times};

/// One context file with `n` aggregates.
pub fn synthetic_schema(n: usize) -> String {
    let mut s = String::from(
        "context: synthetic\ndoc: A generated benchmark domain.\n\ntypes:\n  Level:\n    enum: [Low, Mid, High]\n\naggregates:\n",
    );
    for a in 0..n {
        s.push_str(&format!(
            "  Thing{a}:\n    identity: thing_id\n    state: {{ thing_id: String, count: i64, level: Level, tags: \"Vec<String>\" }}\n    errors: {{ NotReady{a}: not ready }}\n    commands:\n"
        ));
        for c in 0..5 {
            s.push_str(&format!(
                "      Do{c}Thing{a}:\n        fields:\n          thing_id: {{ type: String, validate: [required, {{ length: {{ max: 64 }} }}] }}\n          amount: {{ type: i64, validate: [{{ min: 1, max: 1000 }}] }}\n          note: {{ type: \"Option<String>\", validate: [{{ pattern: \"^[a-z ]*$\" }}] }}\n        emits: [Done{c}Thing{a}]\n"
            ));
        }
        s.push_str("    events:\n");
        for e in 0..5 {
            s.push_str(&format!(
                "      Done{e}Thing{a}:\n        version: 2\n        fields: {{ thing_id: String, amount: i64, level: Level }}\n        upcast:\n          - from: 1\n            add: {{ level: Low }}\n"
            ));
        }
    }
    s
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let n: usize = std::env::var("ESKEMA_BENCH_AGGREGATES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1000);
    let yaml = synthetic_schema(n);
    if let Some(dir) = std::env::var_os("ESKEMA_BENCH_WRITE") {
        let path = PathBuf::from(dir).join("synthetic.yaml");
        std::fs::write(&path, &yaml).expect("write synthetic schema");
        println!("wrote {}", path.display());
        return;
    }
    let sources = vec![(PathBuf::from("schemas/synthetic.yaml"), yaml.clone())];
    let rounds: usize = std::env::var("ESKEMA_BENCH_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let (mut checks, mut emits, mut stages) = (Vec::new(), Vec::new(), Vec::new());
    let mut out_bytes = 0;
    let mut out_lines = 0;
    for _ in 0..rounds {
        let t = Instant::now();
        let checked = match check_sources(&sources) {
            Ok(c) => c,
            Err(report) => panic!("synthetic schema must be valid:\n{report}"),
        };
        checks.push(t.elapsed());
        let t = Instant::now();
        let files = render_files(&checked);
        emits.push(t.elapsed());
        stages.push(stage_times(&checked.domain));
        out_bytes = files.iter().map(|(_, c)| c.len()).sum::<usize>();
        out_lines = files.iter().map(|(_, c)| c.lines().count()).sum::<usize>();
        if let Some(dir) = std::env::var_os("ESKEMA_BENCH_OUT") {
            for (name, content) in &files {
                std::fs::write(PathBuf::from(&dir).join(name), content).expect("write output");
            }
        }
    }
    let (check, emit) = (median(checks), median(emits));
    println!("eskema-codegen generator benchmark ({rounds} rounds, medians)");
    println!("| aggregates | commands + events | schema | check | emit | total | output |");
    println!("|---|---|---|---|---|---|---|");
    println!(
        "| {n} | {} | {:.1} KiB, {} lines | {:.0} ms | {:.0} ms | {:.0} ms | {:.1} MiB, {} lines |",
        n * 10,
        yaml.len() as f64 / 1024.0,
        yaml.lines().count(),
        check.as_secs_f64() * 1e3,
        emit.as_secs_f64() * 1e3,
        (check + emit).as_secs_f64() * 1e3,
        out_bytes as f64 / (1024.0 * 1024.0),
        out_lines,
    );
    let stage = |f: fn(&StageTimes) -> Duration| median(stages.iter().map(f).collect());
    let (tokens, parse, print) = (stage(|s| s.tokens), stage(|s| s.parse), stage(|s| s.print));
    let sum = (tokens + parse + print).as_secs_f64();
    println!();
    println!("emit's stages on one thread (medians)");
    println!("| stage | time | share |");
    println!("|---|---|---|");
    for (name, d) in [
        ("build tokens (quote)", tokens),
        ("parse (syn) and free tokens and tree", parse),
        ("print (prettyplease)", print),
    ] {
        println!(
            "| {name} | {:.0} ms | {:.0}% |",
            d.as_secs_f64() * 1e3,
            d.as_secs_f64() / sum * 100.0
        );
    }
    println!("| all, one thread | {:.0} ms | 100% |", sum * 1e3);
}
