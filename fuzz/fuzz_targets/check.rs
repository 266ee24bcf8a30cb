//! Raw bytes as schema files (split at `eskema_fuzz::FILE_SEPARATOR`): load + check, and
//! generate when valid. Seeds: the demo's and the tests' schemas (`scripts/fuzz-seeds.sh`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Schema files are read as UTF-8 text; other bytes never reach the checker.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    eskema_fuzz::run(&eskema_fuzz::sources(text));
});
