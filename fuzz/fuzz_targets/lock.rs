//! A lock file and schema files (split at `eskema_fuzz::LOCK_SEPARATOR`, the schemas at
//! `FILE_SEPARATOR`): the evolution check against a lock that may be hand-edited, broken or
//! hostile, and the lock `eskema lock` then writes. Seeds: each evolution case's lock with
//! its changed schema, and the demo's (`scripts/fuzz-seeds.sh`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (lock, schemas) = text
        .split_once(eskema_fuzz::LOCK_SEPARATOR)
        .unwrap_or((text, ""));
    eskema_fuzz::run_locked(&eskema_fuzz::sources(schemas), lock);
});
