//! The generator's output for `schemas/` is checked in under `generated/`; this test fails
//! when the output drifts. `UPDATE_EXPECT=1 cargo test --test generated` rewrites it.

use std::path::PathBuf;

include!("../builder.rs");

#[test]
fn generated_code_matches_the_checked_in_snapshots() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    // The builder build.rs uses; its schema path is relative, as build.rs passes it: the
    // path is part of each file's `@generated` line. (Tests run in the package root.)
    let files = match demo_builder().render() {
        Ok(files) => files,
        Err(err) => panic!("the demo schemas must be valid:\n{err}"),
    };
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["atm.rs", "bank.rs", "users.rs", "eskema_domain.rs"]);
    for (name, content) in files {
        expect_test::expect_file![root.join("generated").join(name)].assert_eq(&content);
    }
}

#[test]
fn the_json_schema_for_editors_is_checked_in() {
    // schemas/*.yaml point yaml-language-server at generated/eskema.schema.json.
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    expect_test::expect_file![
        root.join("generated")
            .join(eskema_codegen::JSON_SCHEMA_FILE)
    ]
    .assert_eq(eskema_codegen::JSON_SCHEMA);
}

#[test]
fn the_build_script_and_the_snapshots_agree() {
    // What build.rs wrote into OUT_DIR for this very build is what the snapshot holds, so
    // the snapshot is the code the tests run against.
    let out = PathBuf::from(env!("OUT_DIR"));
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    for name in ["atm.rs", "bank.rs", "users.rs", "eskema_domain.rs"] {
        let built = std::fs::read_to_string(out.join(name)).expect("build.rs output");
        let snap = std::fs::read_to_string(root.join("generated").join(name)).expect("snapshot");
        assert!(
            built == snap,
            "{name} differs from OUT_DIR: run `UPDATE_EXPECT=1 cargo test --test generated`"
        );
    }
}

/// The demo's docs (`eskema docs schemas --out generated/docs`): a page per context and the
/// index, as `eskema docs --check` would compare them.
fn demo_docs() -> Vec<(String, String)> {
    let checked = match eskema_codegen::__private::check_paths(&[PathBuf::from("schemas")]) {
        Ok(checked) => checked,
        Err(report) => panic!("the demo schemas must be valid:\n{report}"),
    };
    match eskema_codegen::__private::render_docs(&checked.domain) {
        Ok(pages) => pages,
        Err(e) => panic!("docs: {e}"),
    }
}

#[test]
fn the_docs_are_checked_in() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("generated/docs");
    let pages = demo_docs();
    let names: Vec<&str> = pages.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["atm.md", "bank.md", "users.md", "README.md"]);
    for (name, content) in &pages {
        expect_test::expect_file![dir.join(name)].assert_eq(content);
    }
    let stale = match eskema_codegen::__private::outdir::check(&pages, &dir) {
        Ok(stale) => stale,
        Err(e) => panic!("{e}"),
    };
    assert!(
        stale.extra.is_empty(),
        "pages of contexts that are gone: {:?}",
        stale.extra
    );
}

/// The Mermaid block of a Markdown text that follows `after`.
fn mermaid_block<'a>(text: &'a str, after: &str) -> Option<&'a str> {
    let from = text.find(after)?;
    let start = from + text[from..].find("```mermaid\n")? + "```mermaid\n".len();
    let len = text[start..].find("```")?;
    Some(&text[start..start + len])
}

#[test]
fn the_readme_shows_the_bank_diagram() {
    // The README's diagram is the generated one; UPDATE_EXPECT=1 copies it over.
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let pages = demo_docs();
    let bank = pages
        .iter()
        .find(|(n, _)| n == "bank.md")
        .map(|(_, t)| t.as_str())
        .expect("bank.md");
    let generated = mermaid_block(bank, "## Flow").expect("bank.md has a flow diagram");
    let readme_path = root.join("README.md");
    let readme = std::fs::read_to_string(&readme_path).expect("README.md");
    let section = "## Docs from the schema";
    let shown = mermaid_block(&readme, section)
        .unwrap_or_else(|| panic!("README.md needs a ```mermaid block under `{section}`"));
    if shown != generated {
        if std::env::var_os("UPDATE_EXPECT").is_some() {
            // `shown` is a slice of `readme`: replace exactly that block.
            let at = shown.as_ptr() as usize - readme.as_ptr() as usize;
            let updated = format!(
                "{}{generated}{}",
                &readme[..at],
                &readme[at + shown.len()..]
            );
            std::fs::write(&readme_path, updated).expect("write");
        } else {
            panic!(
                "README.md's bank diagram differs from generated/docs/bank.md's: \
                 run `UPDATE_EXPECT=1 cargo test --test generated`"
            );
        }
    }
}
