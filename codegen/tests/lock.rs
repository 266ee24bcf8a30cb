//! The lock workflow as a user lives it, through the `eskema` binary: lock, change an event
//! in place and see the check fail with the rule and the line, bump the version and add the
//! step, see it pass, lock again. The README's story is this test.

mod support;

use support::{TempDir, eskema, text};

/// The README tutorial's schema, as it is there.
const SHELF: &str = "\
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

#[test]
fn the_lock_story() {
    let t = TempDir::new("story");
    let schema = t.0.join("schemas/shelf.yaml");
    let lock = t.0.join("schemas/eskema.lock");
    std::fs::write(&schema, SHELF).expect("write");

    // No lock yet: the check passes, `lock --check` says it is missing.
    let out = eskema(&["check", "schemas"], &t.0);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = eskema(&["lock", "--check", "schemas"], &t.0);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));

    // 1. Lock what is about to be stored.
    let out = eskema(&["lock", "schemas"], &t.0);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("wrote schemas/eskema.lock"));
    let locked = std::fs::read_to_string(&lock).expect("lock written");
    assert!(
        locked.contains("  shelf.BookLent:\n    aggregate: Book\n"),
        "{locked}"
    );
    let out = eskema(&["lock", "--check", "schemas"], &t.0);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));

    // 2. Rename a field in place: refused, with the rule, the line and the lock entry.
    let edited = SHELF.replacen(
        "      BookLent:\n        fields: { isbn: String, reader: String }",
        "      BookLent:\n        fields: { isbn: String, borrower: String }",
        1,
    );
    std::fs::write(&schema, &edited).expect("write");
    let out = eskema(&["check", "schemas"], &t.0);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("schemas/shelf.yaml:16:33: error[version-edited]: version 1 of `shelf.BookLent` is locked (schemas/eskema.lock:"),
        "{err}"
    );
    assert!(
        err.contains("field `borrower` added, field `reader` removed"),
        "{err}"
    );
    // `eskema lock` refuses too, and leaves the lock as it was.
    let out = eskema(&["lock", "schemas"], &t.0);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert_eq!(std::fs::read_to_string(&lock).expect("lock"), locked);

    // 3. Bump the version without a step for the rename: the simulation names the rename.
    let bumped = edited.replacen(
        "      BookLent:\n",
        "      BookLent:\n        version: 2\n        upcast:\n          - { from: 1, remove: [] }\n",
        1,
    );
    std::fs::write(&schema, &bumped).expect("write");
    let out = eskema(&["check", "schemas"], &t.0);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("error[field-renamed]"), "{err}");
    assert!(
        err.contains("add `rename: { reader: borrower }` to the step `from: 1`"),
        "{err}"
    );

    // 4. Add the step: it passes, with a warning that version 2 is not locked yet.
    std::fs::write(
        &schema,
        bumped.replace("remove: []", "rename: { reader: borrower }"),
    )
    .expect("write");
    let out = eskema(&["check", "schemas"], &t.0);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("the lock does not have `shelf.BookLent` version 2 yet"),
        "{err}"
    );
    let out = eskema(&["lock", "--check", "schemas"], &t.0);
    assert_eq!(out.status.code(), Some(1));

    // 5. Lock it: both versions are kept, with the step's text.
    let out = eskema(&["lock", "schemas"], &t.0);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let relocked = std::fs::read_to_string(&lock).expect("lock");
    assert!(
        relocked.contains(
            "      1:\n        fields:\n          isbn: String\n          reader: String\n"
        ),
        "{relocked}"
    );
    assert!(
        relocked.contains(
            "      2:\n        fields:\n          borrower: String\n          isbn: String\n"
        ),
        "{relocked}"
    );
    assert!(
        relocked.contains("    upcast:\n      1: \"rename reader -> borrower\"\n"),
        "{relocked}"
    );
    let out = eskema(&["check", "schemas"], &t.0);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        !text(&out.stderr).contains("warning"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_broken_lock_file_is_an_error_at_its_line() {
    let t = TempDir::new("broken");
    std::fs::write(t.0.join("schemas/shelf.yaml"), SHELF).expect("write");
    std::fs::write(
        t.0.join("schemas/eskema.lock"),
        "lock: 1\nevents:\n  shelf.BookLent: [\n",
    )
    .expect("write");
    let out = eskema(&["check", "schemas"], &t.0);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("schemas/eskema.lock:"), "{err}");
    assert!(err.contains("the lock file does not read"), "{err}");
}

#[test]
fn a_lock_elsewhere_is_named_with_lock_file() {
    let t = TempDir::new("elsewhere");
    std::fs::write(t.0.join("schemas/shelf.yaml"), SHELF).expect("write");
    let out = eskema(
        &["lock", "--lock-file", "locks/shelf.lock", "schemas"],
        &t.0,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(t.0.join("locks/shelf.lock").is_file());
    assert!(!t.0.join("schemas/eskema.lock").exists());
    std::fs::write(
        t.0.join("schemas/shelf.yaml"),
        SHELF.replace(
            "{ isbn: String, reader: String }\n",
            "{ isbn: String, reader: u64 }\n",
        ),
    )
    .expect("write");
    // Without the option there is no lock beside the schemas: nothing to hold them to.
    assert_eq!(eskema(&["check", "schemas"], &t.0).status.code(), Some(0));
    let out = eskema(
        &["check", "--lock-file", "locks/shelf.lock", "schemas"],
        &t.0,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("[version-edited]"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn an_exception_written_by_hand_in_any_layout_keeps_the_lock_up_to_date() {
    let t = TempDir::new("layout");
    std::fs::write(t.0.join("schemas/shelf.yaml"), SHELF).expect("write");
    assert_eq!(eskema(&["lock", "schemas"], &t.0).status.code(), Some(0));
    let lock = t.0.join("schemas/eskema.lock");
    let mut locked = std::fs::read_to_string(&lock).expect("lock");
    // A reviewer's exception, in flow style, for an event that was never stored.
    locked.push_str("exceptions: [{ rule: field-removed, event: shelf.BookLent, reason: \"never deployed\" }]\n");
    std::fs::write(&lock, &locked).expect("write");
    std::fs::write(
        t.0.join("schemas/shelf.yaml"),
        SHELF.replace(
            "      BookLent:\n        fields: { isbn: String, reader: String }",
            "      BookLent:\n        version: 2\n        upcast: [{ from: 1, add: { isbn: \"\" } }]\n        fields: { isbn: String }",
        ),
    )
    .expect("write");
    let out = eskema(&["check", "schemas"], &t.0);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        !text(&out.stderr).contains("not needed any more"),
        "{}",
        text(&out.stderr)
    );
    // Locking rewrites it in the writer's layout; the exception stays.
    assert_eq!(eskema(&["lock", "schemas"], &t.0).status.code(), Some(0));
    let relocked = std::fs::read_to_string(&lock).expect("lock");
    assert!(relocked.contains("exceptions:\n  - rule: field-removed\n    event: shelf.BookLent\n    reason: \"never deployed\"\n"), "{relocked}");
    let out = eskema(&["lock", "--check", "schemas"], &t.0);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}
