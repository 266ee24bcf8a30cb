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
