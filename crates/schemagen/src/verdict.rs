//! The `jsonschema` crate's reading of a schema, which decides whether an instance is valid.
//!
//! Nothing is fetched. A `$ref` to another document (`partial-pdm.json`,
//! `https://example.com/s.json#/definitions/x`) reads as `{}`, the true schema, as it does
//! for generation: the retriever hands back a stub in which the root and every location an
//! external reference names is `{}`. A `$ref` to a missing place in this very document
//! cannot be stubbed that way; if the schema does not compile because of one, it is
//! compiled again with every `$ref` that does not resolve dropped.

use serde_json::{Map, Value};

use crate::check::{percent_decode, resolve};

/// Every document asked for is the same stub of true schemas.
struct StubRetriever(Value);

impl jsonschema::Retrieve for StubRetriever {
    fn retrieve(
        &self,
        _uri: &jsonschema::Uri<String>,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        Ok(self.0.clone())
    }
}

/// Backtracking steps allowed per match when a `pattern` needs `fancy-regex`.
const BACKTRACK_LIMIT: usize = 10_000;

/// The validator for `root`, with format validation on; `None` when the `jsonschema` crate
/// cannot compile the schema even without its unresolvable references. `pattern` uses the
/// `regex` engine (linear-time matching, whatever the pattern), or `fancy-regex` with a
/// backtracking limit when a pattern needs look-around or back-references.
pub(crate) fn validator(root: &Value, refs: &[String]) -> Option<jsonschema::Validator> {
    let build = |schema: &Value| {
        let options = || {
            jsonschema::options()
                .should_validate_formats(true)
                .with_retriever(StubRetriever(external_stub(refs)))
        };
        options()
            .with_pattern_options(jsonschema::PatternOptions::regex())
            .build(schema)
            .or_else(|_| {
                options()
                    .with_pattern_options(
                        jsonschema::PatternOptions::fancy_regex().backtrack_limit(BACKTRACK_LIMIT),
                    )
                    .build(schema)
            })
            .ok()
    };
    build(root).or_else(|| {
        let unresolvable: Vec<&str> = refs
            .iter()
            .map(String::as_str)
            .filter(|r| resolve(root, r).is_none())
            .collect();
        if unresolvable.is_empty() {
            return None;
        }
        let mut pruned = root.clone();
        drop_refs(&mut pruned, &unresolvable, 0);
        build(&pruned)
    })
}

/// The document every external reference resolves to: `{}` at the root and at every JSON
/// pointer a reference into another document names (`other.json#/definitions/x` adds
/// `{"definitions": {"x": {}}}`).
pub(crate) fn external_stub(refs: &[String]) -> Value {
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
            let Value::Object(m) = node else {
                break;
            };
            node = m.entry(token).or_insert_with(|| Value::Object(Map::new()));
        }
    }
    stub
}

/// Remove the `$ref`s named in `refs` from every schema in `v` (literal data left alone).
fn drop_refs(v: &mut Value, refs: &[&str], depth: usize) {
    if depth > crate::MAX_NESTING {
        return;
    }
    match v {
        Value::Object(m) => {
            if m.get("$ref")
                .and_then(Value::as_str)
                .is_some_and(|r| refs.contains(&r))
            {
                m.remove("$ref");
            }
            for (k, child) in m.iter_mut() {
                if !matches!(k.as_str(), "enum" | "const" | "default" | "examples" | "example") {
                    drop_refs(child, refs, depth + 1);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| drop_refs(x, refs, depth + 1)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn refs(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_string()).collect()
    }

    #[test]
    fn external_references_read_as_true() {
        let schema = json!({
            "type": "object",
            "properties": {
                "a": {"$ref": "https://example.com/a.json"},
                "b": {"$ref": "other.json#/definitions/b%20c"},
                "c": {"$ref": "#/definitions/missing"},
                "d": {"type": "integer"}
            }
        });
        let r = refs(&[
            "https://example.com/a.json",
            "other.json#/definitions/b%20c",
            "#/definitions/missing",
        ]);
        assert_eq!(external_stub(&r), json!({"definitions": {"b c": {}}}));
        let v = validator(&schema, &r).expect("compiles without the missing pointer");
        assert!(v.is_valid(&json!({"a": [1], "b": "x", "c": null, "d": 3})));
        assert!(!v.is_valid(&json!({"d": "three"})));
    }

    /// A look-ahead `pattern` still gets checked (by `fancy-regex`).
    #[test]
    fn look_around_patterns_are_checked() {
        let v = validator(
            &json!({"type": "string", "pattern": "^(?!(?:meta|local)$).*$"}),
            &[],
        )
        .expect("compiles");
        assert!(v.is_valid(&json!("apple")));
        assert!(!v.is_valid(&json!("meta")));
    }
}
