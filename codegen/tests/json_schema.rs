//! The JSON Schema for editors accepts every valid demo schema and flags typical typos, so
//! yaml-language-server's squiggles agree with `eskema check`.

use std::path::PathBuf;

use serde_json::Value;

fn validator() -> jsonschema::Validator {
    let schema: Value = serde_json::from_str(eskema_codegen::JSON_SCHEMA).expect("valid JSON");
    jsonschema::draft7::new(&schema).expect("a valid draft-07 schema")
}

fn yaml(text: &str) -> Value {
    serde_saphyr::from_str(text).expect("valid YAML")
}

#[test]
fn every_demo_schema_is_valid() {
    let v = validator();
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../schemas");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).expect("schemas/") {
        let path = entry.expect("entry").path();
        let text = std::fs::read_to_string(&path).expect("read");
        let errors: Vec<String> = v
            .iter_errors(&yaml(&text))
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{}: {errors:#?}", path.display());
        seen += 1;
    }
    assert_eq!(seen, 3);
}

#[test]
fn typical_typos_are_flagged() {
    let v = validator();
    let base = "aggregates:\n  Book:\n    identity: isbn\n    commands:\n      Lend:\n        fields: { isbn: { type: String, validate: [RULE] } }\n        emits: [Lent]\n    events:\n      Lent:\n        fields: { isbn: String }\n";
    assert!(v.is_valid(&yaml(&base.replace("RULE", "{ min: 1 }"))));
    for bad in [
        base.replace("RULE", "{ minn: 1 }"),
        base.replace("RULE", "emial"),
        base.replace("RULE", "required").replace("emits:", "emit:"),
        base.replace("RULE", "required")
            .replace("    identity: isbn\n", ""),
        base.replace("RULE", "required")
            .replace("Lend:", "lend_book:"),
    ] {
        assert!(!v.is_valid(&yaml(&bad)), "should be flagged:\n{bad}");
    }
}
