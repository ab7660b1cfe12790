//! Up-front checks: the schema's shape and its references.

use serde_json::Value;

#[allow(unused_imports)]
use crate::doc::*;
#[allow(unused_imports)]
use crate::keywords::*;
#[allow(unused_imports)]
use crate::openapi::*;
#[allow(unused_imports)]
use crate::types::*;
#[allow(unused_imports)]
use crate::*;
use crate::{MAX_NESTING, Obj, SchemaError};

/// Keywords holding one subschema.
pub(crate) const SINGLE_SUBSCHEMA: [&str; 10] = [
    "additionalProperties",
    "additionalItems",
    "contains",
    "not",
    "if",
    "then",
    "else",
    "propertyNames",
    "unevaluatedItems",
    "unevaluatedProperties",
];
/// Keywords holding an array of subschemas.
pub(crate) const SUBSCHEMA_ARRAYS: [&str; 4] = ["allOf", "anyOf", "oneOf", "prefixItems"];
/// Keywords holding a map of subschemas.
pub(crate) const SUBSCHEMA_MAPS: [&str; 5] = [
    "properties",
    "patternProperties",
    "$defs",
    "definitions",
    "dependentSchemas",
];

/// Reject anything that is not a schema; collect the `$ref` strings (resolvable or not) for
/// the termination analysis and the final validator.
pub(crate) fn check(s: &Value, path: &str, depth: usize, refs: &mut Vec<String>) -> Result<(), SchemaError> {
    let at = if path.is_empty() { "#" } else { path };
    if depth > MAX_NESTING {
        return Err(SchemaError::InvalidSchema(format!(
            "schema nested deeper than {MAX_NESTING} levels at {at}"
        )));
    }
    let m = match s {
        Value::Bool(_) => return Ok(()),
        Value::Object(m) => m,
        other => {
            return Err(SchemaError::InvalidSchema(format!(
                "the schema at {at} is {}, not an object or a boolean",
                kind_name(other)
            )));
        }
    };
    let shape = |key: &str, want: &str| SchemaError::InvalidSchema(format!("`{key}` at {at} must be {want}"));
    let child = |key: &str| format!("{path}/{}", escape_pointer(key));
    for key in SINGLE_SUBSCHEMA {
        if let Some(v) = m.get(key) {
            check(v, &child(key), depth + 1, refs)?;
        }
    }
    match m.get("items") {
        Some(Value::Array(a)) => {
            for (i, v) in a.iter().enumerate() {
                check(v, &format!("{path}/items/{i}"), depth + 1, refs)?;
            }
        }
        Some(v) => check(v, &child("items"), depth + 1, refs)?,
        None => {}
    }
    for key in SUBSCHEMA_ARRAYS {
        match m.get(key) {
            Some(Value::Array(a)) => {
                for (i, v) in a.iter().enumerate() {
                    check(v, &format!("{}/{i}", child(key)), depth + 1, refs)?;
                }
            }
            Some(_) => return Err(shape(key, "an array of schemas")),
            None => {}
        }
    }
    for key in SUBSCHEMA_MAPS {
        match m.get(key) {
            Some(Value::Object(map)) => {
                for (name, v) in map {
                    let at = format!("{}/{}", child(key), escape_pointer(name));
                    check(v, &at, depth + 1, refs)?;
                }
            }
            Some(_) => return Err(shape(key, "an object of schemas")),
            None => {}
        }
    }
    match m.get("dependencies") {
        Some(Value::Object(map)) => {
            for (name, v) in map {
                if !v.is_array() {
                    let at = format!("{}/{}", child("dependencies"), escape_pointer(name));
                    check(v, &at, depth + 1, refs)?;
                }
            }
        }
        Some(_) => return Err(shape("dependencies", "an object")),
        None => {}
    }
    if let Some(t) = m.get("type") {
        let names: Vec<&Value> = match t {
            Value::Array(a) => a.iter().collect(),
            other => vec![other],
        };
        for name in names {
            if name.as_str().map_or(0, type_bit) == 0 {
                return Err(SchemaError::InvalidSchema(format!("unknown type {name} at {at}")));
            }
        }
    }
    if m.get("required").is_some_and(|r| !r.is_array()) {
        return Err(shape("required", "an array of property names"));
    }
    if m.get("enum").is_some_and(|e| !e.is_array()) {
        return Err(shape("enum", "an array"));
    }
    if let Some(r) = m.get("$ref") {
        let Some(r) = r.as_str() else {
            return Err(shape("$ref", "a string"));
        };
        // A reference that does not resolve here (another document, a missing pointer)
        // is kept: it reads as `{}`.
        if !refs.iter().any(|seen| seen == r) {
            refs.push(r.to_string());
        }
    }
    Ok(())
}

pub(crate) fn escape_pointer(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

pub(crate) fn kind_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Find the schema a `$ref` names inside `root`: JSON pointers (percent-encoded or not),
/// `$anchor`s, and `$id`s declared in the document.
pub(crate) fn resolve<'v>(root: &'v Value, reference: &str) -> Option<&'v Value> {
    let (base, fragment) = reference.split_once('#').unwrap_or((reference, ""));
    let scope = if base.is_empty() || root.get("$id").and_then(Value::as_str) == Some(base) {
        root
    } else {
        find_schema(root, 0, &|m| {
            m.get("$id")
                .and_then(Value::as_str)
                .is_some_and(|id| id == base || id.ends_with(&format!("/{base}")))
        })?
    };
    let fragment = percent_decode(fragment);
    if fragment.is_empty() {
        Some(scope)
    } else if fragment.starts_with('/') {
        scope.pointer(&fragment)
    } else {
        let legacy = format!("#{fragment}");
        find_schema(scope, 0, &|m| {
            m.get("$anchor").and_then(Value::as_str) == Some(fragment.as_str())
                || m.get("$id").and_then(Value::as_str) == Some(legacy.as_str())
        })
    }
}

/// Depth-first search for a schema object satisfying `pred`, skipping literal data.
pub(crate) fn find_schema<'v>(v: &'v Value, depth: usize, pred: &dyn Fn(&Obj) -> bool) -> Option<&'v Value> {
    if depth > MAX_NESTING {
        return None;
    }
    match v {
        Value::Object(m) => {
            if pred(m) {
                return Some(v);
            }
            m.iter()
                .filter(|(k, _)| !matches!(k.as_str(), "enum" | "const" | "default" | "examples"))
                .find_map(|(_, child)| find_schema(child, depth + 1, pred))
        }
        Value::Array(a) => a.iter().find_map(|child| find_schema(child, depth + 1, pred)),
        _ => None,
    }
}

pub(crate) fn percent_decode(s: &str) -> String {
    if !s.contains('%') {
        return s.to_string();
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes.get(i), bytes.get(i + 1), bytes.get(i + 2)) {
            (Some(b'%'), Some(&h), Some(&l)) if hex(h).is_some() && hex(l).is_some() => {
                let v = hex(h).unwrap_or(0) * 16 + hex(l).unwrap_or(0);
                out.push(u8::try_from(v).unwrap_or(b'?'));
                i += 3;
            }
            (Some(&b), _, _) => {
                out.push(b);
                i += 1;
            }
            (None, _, _) => break,
        }
    }
    String::from_utf8(out).unwrap_or_else(|_| s.to_string())
}
