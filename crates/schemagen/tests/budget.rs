//! The budget: schemas that ask for unbounded work end quickly with an error naming the
//! limit and where it was hit; large but bounded ones still generate; cancellation and
//! deadlines stop a generation.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use rand::SeedableRng;
use rand::rngs::SmallRng;
use schemagen::{Budget, Dialect, Generator, Limit, NoOracle, SchemaError};
use serde_json::{Value, json};

/// Generous wall-clock allowance for an unoptimised test build on a shared machine: the
/// point is "seconds, not minutes", the real bound is the budget.
const QUICK: Duration = Duration::from_secs(5);

fn run(schema: &Value, budget: &Budget) -> (Result<Value, SchemaError>, Duration) {
    let started = Instant::now();
    let g = Generator::new(schema, Dialect::JsonSchema).expect("schema");
    let out = g.generate_guided(&mut SmallRng::seed_from_u64(1), None, &mut NoOracle, budget);
    (out, started.elapsed())
}

fn over(schema: &Value, budget: &Budget) -> (Limit, String) {
    let (out, took) = run(schema, budget);
    assert!(took < QUICK, "took {took:?}");
    match out {
        Err(SchemaError::OverBudget { limit, at }) => (limit, at),
        other => panic!("expected over budget, got {other:?}"),
    }
}

/// `^(((a{1000}){1000}){1000}){1000}$` (a 10^12-character shortest match) is refused
/// before anything is built.
#[test]
fn nested_pattern_counts() {
    let schema = json!({"type": "string", "pattern": "^(((a{1000}){1000}){1000}){1000}$"});
    let (limit, at) = over(&schema, &Budget::default());
    assert_eq!(limit, Limit::Bytes(4 * 1024 * 1024));
    assert_eq!(at, "");
    let message = SchemaError::OverBudget { limit, at }.to_string();
    assert!(message.contains("4194304 bytes"), "{message}");
}

/// 4,096 strings of 65,536 characters (268 MB): stopped once the budget is spent, at the
/// item that did not fit.
#[test]
fn huge_array_of_long_strings() {
    let schema = json!({"type": "array", "minItems": 4096, "maxItems": 4096,
        "items": {"type": "string", "minLength": 65536}});
    let (limit, at) = over(&schema, &Budget::default());
    assert_eq!(limit, Limit::Bytes(4 * 1024 * 1024));
    let item: usize = at.trim_start_matches('/').parse().expect("an item index");
    assert!((60..70).contains(&item), "{at}");
}

/// `allOf` doubling through `$ref`s (2^24 expansions from a small schema) runs out of steps.
#[test]
fn all_of_doubling() {
    let mut defs = serde_json::Map::new();
    defs.insert("d0".into(), json!({"type": "string"}));
    for i in 1..=24 {
        let prev = format!("#/$defs/d{}", i - 1);
        defs.insert(
            format!("d{i}"),
            json!({"allOf": [{"$ref": prev}, {"$ref": prev}]}),
        );
    }
    let schema = json!({"$defs": defs, "$ref": "#/$defs/d24"});
    let (limit, _) = over(&schema, &Budget::default());
    assert_eq!(limit, Limit::Steps(2_000_000));
}

/// Unique items that share a long prefix are checked by hashing: a thousand 1,000-char
/// strings generate in well under the budget.
#[test]
fn unique_items_with_shared_prefix() {
    let schema = json!({"type": "array", "minItems": 1000, "maxItems": 1000, "uniqueItems": true,
        "items": {"type": "string", "minLength": 1000, "maxLength": 1000}});
    let (out, took) = run(&schema, &Budget::default());
    let v = out.expect("generates");
    assert_eq!(v.as_array().map(Vec::len), Some(1000));
    assert!(took < QUICK, "took {took:?}");
}

/// A cancelled or overdue generation stops with that reason.
#[test]
fn cancel_and_deadline() {
    let schema = json!({"type": "array", "minItems": 4000, "maxItems": 4000,
        "items": {"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "integer"}},
                  "required": ["a", "b"]}});
    let cancel = Arc::new(AtomicBool::new(true));
    let budget = Budget {
        cancel: Some(cancel),
        ..Budget::default()
    };
    assert_eq!(over(&schema, &budget).0, Limit::Cancelled);
    let budget = Budget {
        deadline: Some(Instant::now()),
        ..Budget::default()
    };
    assert_eq!(over(&schema, &budget).0, Limit::Time);
}
