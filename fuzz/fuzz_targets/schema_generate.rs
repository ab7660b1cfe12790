//! Schema → instance: any JSON as a schema, in both dialects, never panics or hangs.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rand::SeedableRng;
use schemagen::{Dialect, generate};

fuzz_target!(|data: &[u8]| {
    let Ok(schema) = serde_json::from_slice::<serde_json::Value>(data) else { return };
    for dialect in [Dialect::OpenApi, Dialect::JsonSchema] {
        let mut rng = rand::rngs::SmallRng::seed_from_u64(data.len() as u64);
        let _ = generate(&schema, dialect, &mut rng);
    }
});
