//! Schema → instance: any JSON as a schema, in both dialects, never panics, and never
//! takes more than its budget: the resource oracle fails the run when one generation
//! outlasts its deadline (with slack for the final validation) or returns more than its
//! byte budget. libFuzzer's `-rss_limit_mb` / `-malloc_limit_mb` (scripts/fuzz) catch
//! memory a budget missed.
#![no_main]

use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use rand::SeedableRng;
use schemagen::{Budget, Dialect, Generator, NoOracle};

const MAX_BYTES: usize = 256 * 1024;
const DEADLINE: Duration = Duration::from_millis(500);

fuzz_target!(|data: &[u8]| {
    let Ok(schema) = serde_json::from_slice::<serde_json::Value>(data) else { return };
    for dialect in [Dialect::OpenApi, Dialect::JsonSchema] {
        let mut rng = rand::rngs::SmallRng::seed_from_u64(data.len() as u64);
        let started = Instant::now();
        let Ok(generator) = Generator::new(&schema, dialect) else { continue };
        let budget = Budget {
            max_bytes: MAX_BYTES,
            max_steps: 100_000,
            deadline: Some(started + DEADLINE),
            cancel: None,
        };
        let out = generator.generate_guided(&mut rng, None, &mut NoOracle, &budget);
        let took = started.elapsed();
        assert!(took < DEADLINE * 4, "one generation took {took:?} (deadline {DEADLINE:?})");
        if let Ok(v) = out {
            let size = serde_json::to_vec(&v).map_or(0, |b| b.len());
            assert!(size <= 2 * MAX_BYTES, "instance of {size} bytes (budget {MAX_BYTES})");
        }
    }
});
