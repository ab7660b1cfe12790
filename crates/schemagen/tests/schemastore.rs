//! A real-world corpus: JSON Schemas published by SchemaStore (`tests/fixtures/schemastore/`,
//! Apache-2.0, see the README there). For every schema and several seeds, an instance is
//! generated with the public API and checked by an independent `jsonschema` validator built
//! here, with format validation on.
//!
//! Many of these schemas `$ref` other documents (`partial-pdm.json`, `https://...`). Nothing is
//! fetched: the validator below resolves every external document to a stub whose every
//! referenced location is `{}` (the true schema), which is what the generator does with a
//! reference it cannot resolve.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rand::SeedableRng;
use rand::rngs::SmallRng;
use schemagen::{Dialect, Generator};
use serde_json::{Map, Value};

/// Seeds tried per schema.
const SEEDS: std::ops::Range<u64> = 0..8;

/// Fewest schemas the corpus must hold, so the test cannot pass on an empty directory.
const MIN_CORPUS: usize = 30;

/// Schemas left out, with the reason. Every other file in the corpus must pass every seed.
const EXCLUDED: &[(&str, &str)] = &[];

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/schemastore")
}

/// Every `$ref` string in `v`, schema positions or not (a superset is harmless here).
fn collect_refs<'v>(v: &'v Value, out: &mut Vec<&'v str>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                match (k.as_str(), x) {
                    ("$ref", Value::String(r)) => out.push(r),
                    _ => collect_refs(x, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| collect_refs(x, out)),
        _ => {}
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Some(b) = s.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|_| s.to_string())
}

/// The document every external reference of `schema` is resolved to: `{}` at the root and at
/// every JSON pointer an external `$ref` names (`other.json#/definitions/x` gives
/// `{"definitions": {"x": {}}}`), so each of them reads as the true schema.
fn external_stub(schema: &Value) -> Value {
    let mut refs = Vec::new();
    collect_refs(schema, &mut refs);
    let mut stub = Value::Object(Map::new());
    for r in refs {
        let Some((base, fragment)) = r.split_once('#') else {
            continue;
        };
        if base.is_empty() {
            continue;
        }
        let pointer = percent_decode(fragment);
        let Some(path) = pointer.strip_prefix('/') else {
            continue;
        };
        let mut node = &mut stub;
        for token in path.split('/') {
            let token = token.replace("~1", "/").replace("~0", "~");
            let Value::Object(m) = node else { break };
            node = m.entry(token).or_insert_with(|| Value::Object(Map::new()));
        }
    }
    stub
}

/// Resolves every document it is asked for to the same stub of true schemas.
struct StubRetriever(Value);

impl jsonschema::Retrieve for StubRetriever {
    fn retrieve(
        &self,
        _uri: &jsonschema::Uri<String>,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        Ok(self.0.clone())
    }
}

fn validator(schema: &Value) -> Result<jsonschema::Validator, String> {
    jsonschema::options()
        .should_validate_formats(true)
        .with_retriever(StubRetriever(external_stub(schema)))
        .build(schema)
        .map_err(|e| e.to_string())
}

#[test]
fn schemastore_corpus() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(corpus_dir())
        .expect("the corpus directory exists")
        .map(|e| e.expect("readable directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(
        files.len() >= MIN_CORPUS,
        "the corpus holds {} schemas, fewer than {MIN_CORPUS}",
        files.len()
    );
    for (name, _) in EXCLUDED {
        assert!(
            files.iter().any(|p| p.file_name().is_some_and(|f| f == *name)),
            "excluded schema {name} is not in the corpus"
        );
    }

    let mut failures: Vec<String> = Vec::new();
    let mut passed: BTreeMap<String, usize> = BTreeMap::new();
    let mut exercised = 0;
    for path in &files {
        let name = path
            .file_name()
            .and_then(|f| f.to_str())
            .unwrap_or_default()
            .to_string();
        if let Some((_, why)) = EXCLUDED.iter().find(|(n, _)| *n == name) {
            println!("{name}: excluded ({why})");
            continue;
        }
        exercised += 1;
        let text = std::fs::read_to_string(path).expect("readable schema");
        let schema: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: not JSON: {e}"));
        let check = match validator(&schema) {
            Ok(v) => v,
            Err(e) => {
                failures.push(format!("{name}: jsonschema cannot compile it: {e}"));
                continue;
            }
        };
        let generator = match Generator::new(&schema, Dialect::JsonSchema) {
            Ok(g) => g,
            Err(e) => {
                failures.push(format!("{name}: rejected: {e}"));
                continue;
            }
        };
        let mut ok = 0;
        for seed in SEEDS {
            match generator.generate(&mut SmallRng::seed_from_u64(seed)) {
                Ok(instance) => {
                    let errors: Vec<String> = check
                        .iter_errors(&instance)
                        .take(5)
                        .map(|e| format!("{} at {}", e, e.instance_path()))
                        .collect();
                    if errors.is_empty() {
                        ok += 1;
                    } else {
                        let shown = serde_json::to_string(&instance).unwrap_or_default();
                        let shown: String = shown.chars().take(600).collect();
                        failures.push(format!("{name} seed {seed}: invalid: {errors:?}\n    {shown}"));
                    }
                }
                Err(e) => failures.push(format!("{name} seed {seed}: {e}")),
            }
        }
        println!("{name}: {ok}/{} instances valid", SEEDS.end - SEEDS.start);
        passed.insert(name, ok);
    }

    let per_schema = usize::try_from(SEEDS.end - SEEDS.start).expect("few seeds");
    let total: usize = passed.values().sum();
    println!(
        "{exercised} schemas exercised ({} excluded), {total} instances validated",
        EXCLUDED.len()
    );
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(exercised + EXCLUDED.len(), files.len());
    assert!(exercised >= MIN_CORPUS, "only {exercised} schemas exercised");
    assert_eq!(total, exercised * per_schema, "every schema and seed validated");
}
