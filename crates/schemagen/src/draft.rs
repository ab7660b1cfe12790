//! The declared draft: keywords a schema's `$schema` does not know are dropped before
//! generation, so that the generator reads the schema as the `jsonschema` crate does.
//!
//! Under draft 4, `{"oneOf": [{"const": "a"}, {"const": "b"}]}` is `{"oneOf": [{}, {}]}`,
//! which no value meets; a generator that honoured `const` would build `"a"` and see it
//! rejected every time. Likewise drafts 4 to 7 ignore every sibling of a `$ref`. Only
//! keywords the generator reads are dropped; a schema without `$schema` is 2020-12.

use serde_json::Value;

use crate::MAX_NESTING;
use crate::check::{SINGLE_SUBSCHEMA, SUBSCHEMA_ARRAYS, SUBSCHEMA_MAPS};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Draft {
    D4,
    D6,
    D7,
    D2019,
    D2020,
}

/// Keywords the generator reads that came after `draft`.
fn later_keywords(draft: Draft) -> &'static [&'static str] {
    const AFTER_7: [&str; 5] = [
        "dependentRequired",
        "dependentSchemas",
        "prefixItems",
        "minContains",
        "maxContains",
    ];
    match draft {
        Draft::D4 => &[
            "const",
            "contains",
            "propertyNames",
            "if",
            "then",
            "else",
            "dependentRequired",
            "dependentSchemas",
            "prefixItems",
            "minContains",
            "maxContains",
        ],
        Draft::D6 => &[
            "if",
            "then",
            "else",
            "dependentRequired",
            "dependentSchemas",
            "prefixItems",
            "minContains",
            "maxContains",
        ],
        Draft::D7 => &AFTER_7,
        Draft::D2019 => &["prefixItems"],
        Draft::D2020 => &[],
    }
}

/// Assertion keywords the generator reads, which drafts 4 to 7 ignore beside a `$ref`
/// (annotations such as `title` and `default` stay: they only steer).
const REF_SIBLINGS: [&str; 38] = [
    "type",
    "enum",
    "const",
    "allOf",
    "anyOf",
    "oneOf",
    "not",
    "if",
    "then",
    "else",
    "properties",
    "required",
    "additionalProperties",
    "patternProperties",
    "propertyNames",
    "minProperties",
    "maxProperties",
    "dependencies",
    "dependentRequired",
    "dependentSchemas",
    "items",
    "prefixItems",
    "additionalItems",
    "contains",
    "minContains",
    "maxContains",
    "minItems",
    "maxItems",
    "uniqueItems",
    "minLength",
    "maxLength",
    "pattern",
    "format",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
];

fn declared(root: &Value) -> Draft {
    let Some(uri) = root.get("$schema").and_then(Value::as_str) else {
        return Draft::D2020;
    };
    if uri.contains("draft-04") {
        Draft::D4
    } else if uri.contains("draft-06") {
        Draft::D6
    } else if uri.contains("draft-07") {
        Draft::D7
    } else if uri.contains("2019-09") {
        Draft::D2019
    } else {
        Draft::D2020
    }
}

/// `root` read under its declared draft, when that drops anything the generator reads.
pub(crate) fn for_declared_draft(root: &Value) -> Option<Value> {
    let draft = declared(root);
    if draft == Draft::D2020 {
        return None;
    }
    let mut out = root.clone();
    let mut changed = false;
    strip(&mut out, draft, 0, &mut changed);
    changed.then_some(out)
}

/// Keys whose values are data, not schemas.
fn is_data(key: &str) -> bool {
    matches!(
        key,
        "enum" | "const" | "default" | "examples" | "example" | "required" | "type"
    )
}

fn strip(s: &mut Value, draft: Draft, depth: usize, changed: &mut bool) {
    if depth > MAX_NESTING {
        return;
    }
    let Value::Object(m) = s else {
        return;
    };
    let before = m.len();
    m.retain(|k, _| !later_keywords(draft).contains(&k.as_str()));
    if draft != Draft::D2019 && m.contains_key("$ref") {
        m.retain(|k, _| !REF_SIBLINGS.contains(&k.as_str()));
    }
    *changed |= m.len() != before;
    for (key, child) in m.iter_mut() {
        let key = key.as_str();
        if SUBSCHEMA_ARRAYS.contains(&key) || key == "items" {
            match child {
                Value::Array(a) => a.iter_mut().for_each(|x| strip(x, draft, depth + 1, changed)),
                other => strip(other, draft, depth + 1, changed),
            }
        } else if SUBSCHEMA_MAPS.contains(&key) || key == "dependencies" {
            if let Value::Object(map) = child {
                map.values_mut().for_each(|x| strip(x, draft, depth + 1, changed));
            }
        } else if SINGLE_SUBSCHEMA.contains(&key) || !is_data(key) && child.is_object() {
            // Unknown keywords holding objects may hold schemas that a `$ref` points into.
            strip(child, draft, depth + 1, changed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn later_keywords_are_dropped() {
        let d4 = json!({"$schema": "http://json-schema.org/draft-04/schema#",
            "properties": {"const": {"oneOf": [{"const": "a"}, {"const": "b"}]}},
            "enum": [{"const": 1}]});
        assert_eq!(
            for_declared_draft(&d4),
            Some(json!({"$schema": "http://json-schema.org/draft-04/schema#",
                "properties": {"const": {"oneOf": [{}, {}]}}, "enum": [{"const": 1}]}))
        );
        let d7 = json!({"$schema": "http://json-schema.org/draft-07/schema#",
            "definitions": {"a": {"type": "string"}},
            "properties": {"x": {"$ref": "#/definitions/a", "type": "integer", "title": "X",
                                 "if": {"const": 1}, "then": {"const": 2}}}});
        assert_eq!(
            for_declared_draft(&d7),
            Some(json!({"$schema": "http://json-schema.org/draft-07/schema#",
                "definitions": {"a": {"type": "string"}},
                "properties": {"x": {"$ref": "#/definitions/a", "title": "X"}}}))
        );
        assert_eq!(for_declared_draft(&json!({"const": 1, "$ref": "#/a"})), None);
        assert_eq!(
            for_declared_draft(&json!({"$schema": "http://json-schema.org/draft-07/schema#", "const": 1})),
            None
        );
    }
}
