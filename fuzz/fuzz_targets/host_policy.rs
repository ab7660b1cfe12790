//! The host-rule matcher: never panics, and case / trailing dots never change a decision.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shunt::policy::{Other, Policy, normalize_host};

fuzz_target!(|data: &str| {
    let policy = Policy::with_defaults(Other::Tunnel);
    let decision = policy.decide(data);
    assert_eq!(decision, policy.decide(&normalize_host(data)));
    assert_eq!(decision, policy.decide(&data.to_ascii_uppercase()));
});
