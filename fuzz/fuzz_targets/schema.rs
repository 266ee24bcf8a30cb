//! Structure-aware: the bytes read as a schema-shaped domain (`eskema_fuzz::schema`),
//! rendered as YAML files, then load + check, and generate when valid.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|domain: eskema_fuzz::schema::Domain| {
    eskema_fuzz::run(&domain.sources());
});
