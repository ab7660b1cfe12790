//! Helpers shared by the integration tests: generate with a seeded RNG, validate with the
//! `jsonschema` crate (format validation on).
#![allow(dead_code)]

pub mod bodies;

use rand::SeedableRng;
use rand::rngs::SmallRng;
use schemagen::{self as schema, Dialect};
use serde_json::Value;

/// The JSON Schema an instance must meet: the schema itself, or its OpenAPI normalisation.
pub fn as_json_schema(schema: &Value, dialect: Dialect) -> Value {
    match dialect {
        Dialect::JsonSchema => schema.clone(),
        Dialect::OpenApi => schema::openapi_to_json_schema(schema),
    }
}

pub fn validator(json_schema: &Value) -> jsonschema::Validator {
    jsonschema::options()
        .should_validate_formats(true)
        .build(json_schema)
        .unwrap_or_else(|e| panic!("jsonschema rejects the schema: {e}\n{json_schema:#}"))
}

/// Panic with every validation error unless `instance` is valid.
pub fn assert_valid(validator: &jsonschema::Validator, instance: &Value, what: &str) {
    let errors: Vec<String> = validator.iter_errors(instance).map(|e| e.to_string()).collect();
    assert!(
        errors.is_empty(),
        "{what}: instance does not validate:\n{instance:#}\nerrors: {errors:#?}"
    );
}

/// Generate one instance per seed in `seeds`, asserting each validates.
pub fn instances(schema: &Value, dialect: Dialect, seeds: std::ops::Range<u64>) -> Vec<Value> {
    let validator = validator(&as_json_schema(schema, dialect));
    let generator = schema::Generator::new(schema, dialect)
        .unwrap_or_else(|e| panic!("schema rejected: {e}\n{schema:#}"));
    seeds
        .map(|seed| {
            let v = generator
                .generate(&mut SmallRng::seed_from_u64(seed))
                .unwrap_or_else(|e| panic!("seed {seed}: {e}\n{schema:#}"));
            assert_valid(&validator, &v, &format!("seed {seed}"));
            v
        })
        .collect()
}

pub fn one(schema: &Value, dialect: Dialect, seed: u64) -> Result<Value, schema::SchemaError> {
    schema::generate(schema, dialect, &mut SmallRng::seed_from_u64(seed))
}

/// `generationConfig.<key>` of a captured request body (or of a bare generationConfig).
pub fn config_schema(body: &str, key: &str) -> Value {
    let v: Value = serde_json::from_str(body).expect("captured body is JSON");
    let config = v.get("generationConfig").unwrap_or(&v);
    config.get(key).cloned().expect("schema key present")
}
