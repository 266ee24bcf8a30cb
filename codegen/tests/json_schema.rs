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
        // Beside the schemas: their lock file, which is not a schema.
        if path.extension().is_none_or(|e| e != "yaml") {
            continue;
        }
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

#[test]
fn handler_kind_partitions_and_on_failure() {
    let v = validator();
    let base = "handlers:\n  Totals:\n    subscribes: [OrderPlaced]\n    kind: KIND\n    partitions: PARTS\n    on_failure: { attempts: 5, backoff: BACKOFF, then: THEN }\nprocess_managers:\n  Fulfilment:\n    identity: order_id\n    starts_on: [OrderPlaced]\n    on_failure: PM\n";
    let fill = |kind: &str, parts: &str, backoff: &str, then: &str, pm: &str| {
        base.replace("KIND", kind)
            .replace("PARTS", parts)
            .replace("BACKOFF", backoff)
            .replace("THEN", then)
            .replace("PM", pm)
    };
    let pm = "{ attempts: 3, backoff: 500ms, then: park }";
    for good in [
        fill("projection", "1", "[100ms, 1s, 5s]", "park", pm),
        fill("effect", "256", "1m", "skip", "{}"),
        fill("effect", "4", "[]", "stop", "{ then: stop }"),
    ] {
        let errors: Vec<String> = v
            .iter_errors(&yaml(&good))
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "should be valid:\n{good}\n{errors:#?}");
    }
    for bad in [
        fill("projecton", "1", "1s", "park", pm),
        fill("projection", "1", "1s", "parc", pm),
        fill("projection", "0", "1s", "park", pm),
        fill("projection", "257", "1s", "park", pm),
        fill("projection", "two", "1s", "park", pm),
        fill("projection", "1", "[5]", "park", pm),
        fill("projection", "1", "[1.5s]", "park", pm),
        fill("projection", "1", "2h", "park", pm),
        fill("projection", "1", "1s", "park", "{ retries: 3 }"),
        fill("projection", "1", "1s", "park", "{ attempts: 0 }"),
        fill("projection", "1", "1s", "park", pm).replace(
            "    starts_on: [OrderPlaced]\n",
            "    starts_on: [OrderPlaced]\n    partitions: 2\n",
        ),
    ] {
        assert!(!v.is_valid(&yaml(&bad)), "should be flagged:\n{bad}");
    }
}
