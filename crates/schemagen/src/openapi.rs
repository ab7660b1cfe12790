//! OpenAPI 3.0 subset (Gemini `responseSchema`) → JSON Schema.

use serde_json::Value;

use crate::Obj;
#[allow(unused_imports)]
use crate::check::*;
#[allow(unused_imports)]
use crate::doc::*;
#[allow(unused_imports)]
use crate::keywords::*;
#[allow(unused_imports)]
use crate::types::*;
#[allow(unused_imports)]
use crate::*;

pub(crate) fn convert_openapi(schema: &Value, depth: usize) -> Value {
    let Value::Object(m) = schema else {
        return schema.clone();
    };
    if depth > MAX_NESTING {
        return schema.clone();
    }
    let sub = |v: &Value| convert_openapi(v, depth + 1);
    let mut out = Obj::new();
    let mut nullable = false;
    for (key, v) in m {
        let key = camel_case(key);
        match key.as_str() {
            "nullable" => nullable = v.as_bool() == Some(true),
            "type" => {
                if let Some(t) = lower_type(v) {
                    out.insert(key, t);
                }
            }
            "properties" | "patternProperties" | "$defs" | "definitions" | "defs" | "dependentSchemas" => {
                let converted = match v {
                    Value::Object(props) => {
                        Value::Object(props.iter().map(|(k, s)| (k.clone(), sub(s))).collect())
                    }
                    other => other.clone(),
                };
                let key = if key == "defs" { "$defs".into() } else { key };
                out.insert(key, converted);
            }
            "items"
            | "additionalProperties"
            | "additionalItems"
            | "not"
            | "contains"
            | "propertyNames"
            | "if"
            | "then"
            | "else"
            | "anyOf"
            | "oneOf"
            | "allOf"
            | "prefixItems" => {
                let converted = match v {
                    Value::Array(a) => Value::Array(a.iter().map(sub).collect()),
                    other => sub(other),
                };
                out.insert(key, converted);
            }
            "ref" if v.is_string() => {
                out.insert("$ref".into(), v.clone());
            }
            "minItems" | "maxItems" | "minLength" | "maxLength" | "minProperties" | "maxProperties"
            | "minimum" | "maximum" | "multipleOf" | "minContains" | "maxContains" => {
                out.insert(key, number_from_string(v));
            }
            "exclusiveMinimum" | "exclusiveMaximum" => {
                out.insert(key, number_from_string(v));
            }
            _ => {
                out.insert(key, v.clone());
            }
        }
    }
    for (flag, bound) in [("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")] {
        match out.get(flag) {
            Some(Value::Bool(true)) => {
                if let Some(b) = out.remove(bound) {
                    out.insert(flag.into(), b);
                } else {
                    out.remove(flag);
                }
            }
            Some(Value::Bool(false)) => {
                out.remove(flag);
            }
            _ => {}
        }
    }
    if nullable {
        let mut wrapper = Obj::new();
        wrapper.insert(
            "anyOf".into(),
            Value::Array(vec![Value::Object(out), serde_json::json!({"type": "null"})]),
        );
        return Value::Object(wrapper);
    }
    Value::Object(out)
}

/// `property_ordering` → `propertyOrdering`; keys without `_` (and `$`-keys) are unchanged.
pub(crate) fn camel_case(key: &str) -> String {
    if !key.contains('_') || key.starts_with('$') || key.starts_with('_') {
        return key.to_string();
    }
    let mut out = String::with_capacity(key.len());
    let mut upper = false;
    for c in key.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// Lower-case a `type` (string or array); `TYPE_UNSPECIFIED` means no constraint.
pub(crate) fn lower_type(v: &Value) -> Option<Value> {
    match v {
        Value::String(s) if s.eq_ignore_ascii_case("type_unspecified") => None,
        Value::String(s) => Some(Value::String(s.to_ascii_lowercase())),
        Value::Array(a) => Some(Value::Array(
            a.iter()
                .map(|t| match t {
                    Value::String(s) => Value::String(s.to_ascii_lowercase()),
                    other => other.clone(),
                })
                .collect(),
        )),
        other => Some(other.clone()),
    }
}

/// Proto-JSON sends int64 fields as strings (`"3"`); read them as numbers.
pub(crate) fn number_from_string(v: &Value) -> Value {
    if let Value::String(s) = v {
        if let Ok(n) = s.trim().parse::<i64>() {
            return Value::from(n);
        }
        if let Ok(f) = s.trim().parse::<f64>() {
            if f.is_finite() {
                return Value::from(f);
            }
        }
    }
    v.clone()
}
