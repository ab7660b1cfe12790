//! JSON types as bit sets.

use serde_json::Value;

use crate::Obj;
#[allow(unused_imports)]
use crate::check::*;
#[allow(unused_imports)]
use crate::doc::*;
#[allow(unused_imports)]
use crate::keywords::*;
#[allow(unused_imports)]
use crate::openapi::*;
#[allow(unused_imports)]
use crate::*;

pub(crate) const T_NULL: u8 = 1;
pub(crate) const T_BOOL: u8 = 2;
pub(crate) const T_INT: u8 = 4;
/// Non-integral numbers; `"number"` is `T_INT | T_FRAC`.
pub(crate) const T_FRAC: u8 = 8;
pub(crate) const T_STR: u8 = 16;
pub(crate) const T_ARR: u8 = 32;
pub(crate) const T_OBJ: u8 = 64;
pub(crate) const T_ALL: u8 = 127;
pub(crate) const T_SCALAR: u8 = T_NULL | T_BOOL | T_INT | T_FRAC | T_STR;

pub(crate) fn type_bit(name: &str) -> u8 {
    match name.to_ascii_lowercase().as_str() {
        "null" => T_NULL,
        "boolean" => T_BOOL,
        "integer" => T_INT,
        "number" => T_INT | T_FRAC,
        "string" => T_STR,
        "array" => T_ARR,
        "object" => T_OBJ,
        _ => 0,
    }
}

/// Allowed types of a `type` keyword value.
pub(crate) fn type_bits(t: &Value) -> u8 {
    match t {
        Value::String(s) => type_bit(s),
        Value::Array(a) => a
            .iter()
            .filter_map(Value::as_str)
            .fold(0, |acc, s| acc | type_bit(s)),
        _ => 0,
    }
}

/// The type of an instance, as one bit.
pub(crate) fn value_bit(v: &Value) -> u8 {
    match v {
        Value::Null => T_NULL,
        Value::Bool(_) => T_BOOL,
        Value::Number(n) => {
            if n.is_i64() || n.is_u64() || n.as_f64().is_some_and(|f| f.fract() == 0.0) {
                T_INT
            } else {
                T_FRAC
            }
        }
        Value::String(_) => T_STR,
        Value::Array(_) => T_ARR,
        Value::Object(_) => T_OBJ,
    }
}

/// Types suggested by the keywords of a schema that declares no `type`.
pub(crate) fn inferred_bits(parts: &[&Obj]) -> u8 {
    const OBJECT: [&str; 8] = [
        "properties",
        "required",
        "additionalProperties",
        "patternProperties",
        "minProperties",
        "maxProperties",
        "propertyNames",
        "propertyOrdering",
    ];
    const ARRAY: [&str; 7] = [
        "items",
        "prefixItems",
        "minItems",
        "maxItems",
        "contains",
        "uniqueItems",
        "additionalItems",
    ];
    const STRING: [&str; 4] = ["minLength", "maxLength", "pattern", "format"];
    const NUMBER: [&str; 5] = [
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "multipleOf",
    ];
    let mut bits = 0;
    for p in parts {
        let has = |keys: &[&str]| keys.iter().any(|k| p.contains_key(*k));
        if has(&OBJECT) {
            bits |= T_OBJ;
        }
        if has(&ARRAY) {
            bits |= T_ARR;
        }
        if has(&STRING) {
            bits |= T_STR;
        }
        if has(&NUMBER) {
            bits |= T_INT | T_FRAC;
        }
    }
    bits
}

/// A JSON value kind to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Null,
    Bool,
    Integer,
    Number,
    String,
    Array,
    Object,
}

pub(crate) fn kinds_of(bits: u8) -> Vec<Kind> {
    let mut kinds = Vec::new();
    if bits & T_NULL != 0 {
        kinds.push(Kind::Null);
    }
    if bits & T_BOOL != 0 {
        kinds.push(Kind::Bool);
    }
    if bits & T_FRAC != 0 {
        kinds.push(Kind::Number);
    } else if bits & T_INT != 0 {
        kinds.push(Kind::Integer);
    }
    if bits & T_STR != 0 {
        kinds.push(Kind::String);
    }
    if bits & T_ARR != 0 {
        kinds.push(Kind::Array);
    }
    if bits & T_OBJ != 0 {
        kinds.push(Kind::Object);
    }
    kinds
}
