//! Schema → instance: the JSON the mock Gemini backend returns for structured-output requests.
//!
//! google-genai builds `.parsed` with `json.loads(text)` followed by schema validation, and
//! silently yields `None` when either step fails. So when a request carries
//! `generationConfig.responseSchema` (OpenAPI subset) or `generationConfig.responseJsonSchema`
//! (JSON Schema, as pydantic's `model_json_schema()` emits it), the mock answers with raw JSON
//! produced here, which validates against that schema.
//!
//! [`generate`] (or [`Generator`], to check a schema once and draw many instances) walks the
//! schema with a caller-supplied [`rand::Rng`]; every choice comes from that generator, so the
//! same seed gives the same output. Output is meant to look plausible: strings are words,
//! names, cities or sentences chosen from the property name or `title`; numbers stay in a
//! sensible range for the hint (`age`, `year`, `price`...) within the schema bounds.
//!
//! # Dialects
//! - [`Dialect::OpenApi`] (`responseSchema`): keys in camelCase or snake_case (`any_of`,
//!   `property_ordering`, `min_items`...), `type` in any case (`STRING`, `object`), `nullable`,
//!   OpenAPI 3.0 boolean `exclusiveMinimum`/`exclusiveMaximum`, counts sent as strings (proto-JSON
//!   int64, `"3"`), `ref`/`defs`. The schema is first rewritten by [`openapi_to_json_schema`] and
//!   then generated from as JSON Schema.
//! - [`Dialect::JsonSchema`] (`responseJsonSchema`): 2020-12, with draft-7 spellings accepted
//!   (`definitions`, array-form `items` + `additionalItems`, `dependencies`).
//!
//! # Keywords that steer generation
//! `type` (string or array), `enum`, `const`, `default`/`examples`/`example` (used sometimes
//! when they validate), `$ref` (JSON pointers such as `#/$defs/X`, `#/definitions/X`,
//! `#/properties/a/items`, `#anchor` via `$anchor`, and `$id`-named subschemas of the same
//! document), `allOf` (merged), `anyOf`, `oneOf` (the value must match exactly one branch: it is
//! checked, and other choices are tried), `properties`, `required`, `additionalProperties`
//! (bool or schema; a pure map schema gets 1–3 entries with plausible keys), `patternProperties`
//! and `propertyNames` (keys for extra entries), `minProperties`/`maxProperties`,
//! `propertyOrdering` (output key order), `items`, `prefixItems`, `contains`,
//! `minItems`/`maxItems`/`uniqueItems`, `minLength`/`maxLength`, `pattern`, `format`,
//! `minimum`/`maximum`/`exclusiveMinimum`/`exclusiveMaximum`/`multipleOf`.
//!
//! Formats produced: `date-time` (`2025-03-14T09:26:53Z`), `date`, `time`, `duration`, `uuid`,
//! `email`/`idn-email`, `uri`/`iri`/`uri-reference`/`iri-reference`/`url`, `uri-template`,
//! `hostname`/`idn-hostname`, `ipv4`, `ipv6`, `json-pointer`, `relative-json-pointer`,
//! `regex`, and OpenAPI `byte` (base64). Other formats get a plain string.
//!
//! # Recursion
//! Nesting beyond a depth budget ([`Generator::with_max_depth`], default 6 levels of
//! objects/arrays) takes the cheapest way out: the `null` branch of an `anyOf` or type list,
//! `minItems` elements, no optional properties. "Cheapest" comes from a fixed-point analysis of
//! every `$ref` target run once in [`Generator::new`]; a schema whose every branch recurses
//! through required properties is rejected there with [`SchemaError::UnboundedRecursion`].
//!
//! # Limits
//! - `pattern` is best effort. A small generator handles literals, `.`, classes (`[a-z]`,
//!   `[^...]`, `\d \w \s \D \W \S`), groups, alternation, `^`/`$`, and the quantifiers
//!   `* + ? {n} {n,} {n,m}` (lazy or possessive suffixes ignored); `\b` is treated as empty.
//!   Back-references, look-around, `\p{..}` and POSIX classes are not supported: the value
//!   is then a plain string that may not match. Only the first `pattern` in an `allOf` is used.
//! - The internal validator that checks candidates (and decides `oneOf` exclusivity, `not`,
//!   `if`/`then`/`else`, `dependentRequired`, `dependentSchemas`) ignores `pattern`, `format`
//!   and which keys `patternProperties` regexes match; a value that conflicts only there
//!   may slip through.
//! - `not`, `if`/`then`/`else`, `dependentRequired`, `dependentSchemas`, `minContains`/
//!   `maxContains` are enforced by check-and-retry, not built in, so narrow combinations can end
//!   in [`SchemaError::Unsatisfiable`].
//! - `unevaluatedProperties`/`unevaluatedItems`, `$dynamicRef`, `contentEncoding`/
//!   `contentSchema`, and remote (`http://...`) references are not supported; such refs are
//!   [`SchemaError::UnresolvableRef`].
//! - Strings are ASCII. `minLength` and `minItems`/`minProperties` above 65 536 / 4 096 are
//!   reported as unsatisfiable rather than built. Integers stay within i64; numbers within
//!   ±10^15.
//! - A format combined with a length range it cannot meet falls back to a plain string of the
//!   right length.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use rand::Rng;
use rand::seq::SliceRandom;
use serde_json::{Map, Value};

type Obj = Map<String, Value>;

/// Default instance nesting (objects and arrays) before generation takes the cheapest branch.
const DEFAULT_MAX_DEPTH: usize = 6;
/// Upper bound accepted by [`Generator::with_max_depth`].
const MAX_DEPTH_LIMIT: usize = 32;
/// Nesting past the budget at which generation gives up on a recursive schema.
const HARD_DEPTH_MARGIN: usize = 48;
/// Deepest schema nesting accepted; also bounds every recursive walk over the schema.
const MAX_NESTING: usize = 128;
/// Values generated per top-level call before giving up (bounds retries on narrow schemas).
const FUEL: u32 = 50_000;
/// Largest `minLength` that is built rather than reported as unsatisfiable.
const MAX_STRING_LEN: u64 = 65_536;
/// Largest `minItems` / `minProperties` that is built rather than reported as unsatisfiable.
const MAX_COUNT: u64 = 4_096;
/// Largest `multipleOf` step turned into an integer step.
const MAX_SAFE_INT: i64 = 9_007_199_254_740_991;
/// Numbers are kept in a range where two decimals still round-trip.
const MAX_NUMBER: f64 = 1e15;
/// "No finite instance" in the termination analysis.
const INF: u32 = u32::MAX;

// ---------------------------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------------------------

/// Which schema language the request used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// Gemini `generationConfig.responseSchema`: the OpenAPI 3.0 subset, keys in camelCase or
    /// snake_case, `type` upper- or lower-case, `nullable`.
    OpenApi,
    /// Gemini `generationConfig.responseJsonSchema`: JSON Schema passed through untouched.
    JsonSchema,
}

/// Why no instance could be produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SchemaError {
    /// A `$ref` that points nowhere in the document (remote references included).
    UnresolvableRef(String),
    /// No value satisfies the schema (empty `enum`, `minItems > maxItems`, conflicting `allOf`
    /// types...), or none was found within the search budget.
    Unsatisfiable(String),
    /// Every way through a recursive `$ref` cycle is required, so no finite instance exists.
    UnboundedRecursion(String),
    /// The schema, or a subschema, is not an object or boolean, or a keyword has the wrong shape.
    InvalidSchema(String),
}

impl fmt::Display for SchemaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SchemaError::UnresolvableRef(r) => write!(f, "unresolvable $ref {r:?}"),
            SchemaError::Unsatisfiable(why) => write!(f, "unsatisfiable schema: {why}"),
            SchemaError::UnboundedRecursion(why) => write!(f, "recursion cannot terminate: {why}"),
            SchemaError::InvalidSchema(why) => write!(f, "invalid schema: {why}"),
        }
    }
}

impl std::error::Error for SchemaError {}

impl SchemaError {
    /// Failures that another choice (an `anyOf` branch, a retry) may avoid.
    fn is_soft(&self) -> bool {
        match self {
            SchemaError::Unsatisfiable(_) | SchemaError::UnboundedRecursion(_) => true,
            SchemaError::UnresolvableRef(_) | SchemaError::InvalidSchema(_) => false,
        }
    }
}

/// A schema that has been checked once (shape, `$ref`s, termination) and can produce instances.
#[derive(Debug, Clone)]
pub struct Generator<'a> {
    /// The schema in JSON Schema form: borrowed as given, or rewritten from OpenAPI.
    root: Cow<'a, Value>,
    /// Least instance depth reachable through each `$ref` string ([`INF`]: none).
    ref_cost: BTreeMap<String, u32>,
    max_depth: usize,
}

impl<'a> Generator<'a> {
    /// Check `schema` and prepare to generate from it.
    pub fn new(schema: &'a Value, dialect: Dialect) -> Result<Self, SchemaError> {
        let root = match dialect {
            Dialect::JsonSchema => Cow::Borrowed(schema),
            Dialect::OpenApi => Cow::Owned(openapi_to_json_schema(schema)),
        };
        let mut refs = Vec::new();
        check(&root, &root, "", 0, &mut refs)?;
        let ref_cost = ref_costs(&root, &refs);
        {
            let doc = Doc {
                root: &root,
                ref_cost: &ref_cost,
            };
            if doc.cost(&root, 0) == INF {
                let no_recursion: BTreeMap<String, u32> = refs.iter().map(|r| (r.clone(), 0)).collect();
                let flat = Doc {
                    root: &root,
                    ref_cost: &no_recursion,
                };
                return Err(if flat.cost(&root, 0) == INF {
                    SchemaError::Unsatisfiable("the schema admits no value".into())
                } else {
                    SchemaError::UnboundedRecursion(
                        "every branch of a $ref cycle is required, so no instance is finite".into(),
                    )
                });
            }
        }
        Ok(Self {
            root,
            ref_cost,
            max_depth: DEFAULT_MAX_DEPTH,
        })
    }

    /// Nesting depth (objects and arrays) after which only the cheapest options are taken.
    /// Clamped to 32.
    #[must_use]
    pub fn with_max_depth(mut self, depth: usize) -> Self {
        self.max_depth = depth.min(MAX_DEPTH_LIMIT);
        self
    }

    /// The schema generated from, in JSON Schema form.
    pub fn schema(&self) -> &Value {
        &self.root
    }

    /// Draw one instance. `rng` drives every choice.
    pub fn generate<R: Rng + ?Sized>(&self, rng: &mut R) -> Result<Value, SchemaError> {
        let mut run = Run {
            doc: Doc {
                root: &self.root,
                ref_cost: &self.ref_cost,
            },
            rng,
            fuel: FUEL,
            max_depth: self.max_depth,
        };
        run.value(&[&*self.root], None, 0)
    }
}

/// Generate an instance of `schema`. `rng` drives all choices, so the same seed gives the same
/// output.
pub fn generate(schema: &Value, dialect: Dialect, rng: &mut impl Rng) -> Result<Value, SchemaError> {
    Generator::new(schema, dialect)?.generate(rng)
}

/// Normalise an OpenAPI-subset (Gemini `responseSchema`) schema into JSON Schema, so tests can
/// validate with a JSON Schema validator.
///
/// Keys become camelCase (`any_of` → `anyOf`; property names are left alone), `type` becomes
/// lower-case, `nullable: true` wraps the schema as `{"anyOf": [schema, {"type": "null"}]}`,
/// boolean `exclusiveMinimum`/`exclusiveMaximum` become numeric, counts sent as strings become
/// numbers, `ref`/`defs` become `$ref`/`$defs`. Everything else (`propertyOrdering`, `format`,
/// `example`...) is kept; JSON Schema validators ignore unknown keywords.
pub fn openapi_to_json_schema(schema: &Value) -> Value {
    convert_openapi(schema, 0)
}

// ---------------------------------------------------------------------------------------------
// OpenAPI → JSON Schema
// ---------------------------------------------------------------------------------------------

fn convert_openapi(schema: &Value, depth: usize) -> Value {
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
fn camel_case(key: &str) -> String {
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
fn lower_type(v: &Value) -> Option<Value> {
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
fn number_from_string(v: &Value) -> Value {
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

// ---------------------------------------------------------------------------------------------
// Up-front checks: shape, references
// ---------------------------------------------------------------------------------------------

/// Keywords holding one subschema.
const SINGLE_SUBSCHEMA: [&str; 10] = [
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
const SUBSCHEMA_ARRAYS: [&str; 4] = ["allOf", "anyOf", "oneOf", "prefixItems"];
/// Keywords holding a map of subschemas.
const SUBSCHEMA_MAPS: [&str; 5] = [
    "properties",
    "patternProperties",
    "$defs",
    "definitions",
    "dependentSchemas",
];

/// Reject anything that is not a schema, and every `$ref` that does not resolve; collect the
/// `$ref` strings for the termination analysis.
fn check(
    root: &Value,
    s: &Value,
    path: &str,
    depth: usize,
    refs: &mut Vec<String>,
) -> Result<(), SchemaError> {
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
            check(root, v, &child(key), depth + 1, refs)?;
        }
    }
    match m.get("items") {
        Some(Value::Array(a)) => {
            for (i, v) in a.iter().enumerate() {
                check(root, v, &format!("{path}/items/{i}"), depth + 1, refs)?;
            }
        }
        Some(v) => check(root, v, &child("items"), depth + 1, refs)?,
        None => {}
    }
    for key in SUBSCHEMA_ARRAYS {
        match m.get(key) {
            Some(Value::Array(a)) => {
                for (i, v) in a.iter().enumerate() {
                    check(root, v, &format!("{}/{i}", child(key)), depth + 1, refs)?;
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
                    check(root, v, &at, depth + 1, refs)?;
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
                    check(root, v, &at, depth + 1, refs)?;
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
        if resolve(root, r).is_none() {
            return Err(SchemaError::UnresolvableRef(r.to_string()));
        }
        if !refs.iter().any(|seen| seen == r) {
            refs.push(r.to_string());
        }
    }
    Ok(())
}

fn escape_pointer(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

fn kind_name(v: &Value) -> &'static str {
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
fn resolve<'v>(root: &'v Value, reference: &str) -> Option<&'v Value> {
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
fn find_schema<'v>(v: &'v Value, depth: usize, pred: &dyn Fn(&Obj) -> bool) -> Option<&'v Value> {
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

fn percent_decode(s: &str) -> String {
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

// ---------------------------------------------------------------------------------------------
// Types as bit sets
// ---------------------------------------------------------------------------------------------

const T_NULL: u8 = 1;
const T_BOOL: u8 = 2;
const T_INT: u8 = 4;
/// Non-integral numbers; `"number"` is `T_INT | T_FRAC`.
const T_FRAC: u8 = 8;
const T_STR: u8 = 16;
const T_ARR: u8 = 32;
const T_OBJ: u8 = 64;
const T_ALL: u8 = 127;
const T_SCALAR: u8 = T_NULL | T_BOOL | T_INT | T_FRAC | T_STR;

fn type_bit(name: &str) -> u8 {
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
fn type_bits(t: &Value) -> u8 {
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
fn value_bit(v: &Value) -> u8 {
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
fn inferred_bits(parts: &[&Obj]) -> u8 {
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
enum Kind {
    Null,
    Bool,
    Integer,
    Number,
    String,
    Array,
    Object,
}

fn kinds_of(bits: u8) -> Vec<Kind> {
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

// ---------------------------------------------------------------------------------------------
// Keyword readers
// ---------------------------------------------------------------------------------------------

/// A non-negative count keyword (`minItems`...); integral floats are accepted.
fn count(v: &Value) -> Option<u64> {
    v.as_u64().or_else(|| {
        v.as_f64()
            .filter(|f| f.is_finite() && *f >= 0.0)
            .map(|f| f.ceil().min(u64::MAX as f64) as u64)
    })
}

fn max_count(parts: &[&Obj], key: &str) -> u64 {
    parts
        .iter()
        .filter_map(|p| p.get(key).and_then(count))
        .max()
        .unwrap_or(0)
}

fn min_count(parts: &[&Obj], key: &str) -> Option<u64> {
    parts.iter().filter_map(|p| p.get(key).and_then(count)).min()
}

fn to_usize(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

/// Numeric bounds merged over several schemas: `(value, exclusive)`.
#[derive(Debug, Default)]
struct NumBounds {
    lo: Option<(f64, bool)>,
    hi: Option<(f64, bool)>,
    multiples: Vec<f64>,
}

impl NumBounds {
    fn of<'x>(parts: impl IntoIterator<Item = &'x Obj>) -> Self {
        let mut b = NumBounds::default();
        for p in parts {
            let min = p.get("minimum").and_then(Value::as_f64);
            let max = p.get("maximum").and_then(Value::as_f64);
            if let Some(v) = min {
                b.raise(v, false);
            }
            if let Some(v) = max {
                b.lower(v, false);
            }
            match p.get("exclusiveMinimum") {
                Some(Value::Bool(true)) => {
                    if let Some(v) = min {
                        b.raise(v, true);
                    }
                }
                Some(v) => {
                    if let Some(v) = v.as_f64() {
                        b.raise(v, true);
                    }
                }
                None => {}
            }
            match p.get("exclusiveMaximum") {
                Some(Value::Bool(true)) => {
                    if let Some(v) = max {
                        b.lower(v, true);
                    }
                }
                Some(v) => {
                    if let Some(v) = v.as_f64() {
                        b.lower(v, true);
                    }
                }
                None => {}
            }
            if let Some(m) = p.get("multipleOf").and_then(Value::as_f64) {
                if m > 0.0 && m.is_finite() {
                    b.multiples.push(m);
                }
            }
        }
        b
    }

    fn raise(&mut self, v: f64, exclusive: bool) {
        self.lo = match self.lo {
            Some((c, cx)) if c > v || (c == v && cx) => Some((c, cx)),
            Some((c, _)) if c == v => Some((c, exclusive)),
            _ => Some((v, exclusive)),
        };
    }

    fn lower(&mut self, v: f64, exclusive: bool) {
        self.hi = match self.hi {
            Some((c, cx)) if c < v || (c == v && cx) => Some((c, cx)),
            Some((c, _)) if c == v => Some((c, exclusive)),
            _ => Some((v, exclusive)),
        };
    }

    fn contains(&self, v: f64) -> bool {
        let above = match self.lo {
            Some((l, true)) => v > l,
            Some((l, false)) => v >= l,
            None => true,
        };
        let below = match self.hi {
            Some((h, true)) => v < h,
            Some((h, false)) => v <= h,
            None => true,
        };
        above && below && self.multiples.iter().all(|m| is_multiple(v, *m))
    }
}

/// Whether `v / m` is an integer, computed on the shortest decimal forms as JSON Schema
/// validators do (so `0.3` is a multiple of `0.1`).
fn is_multiple(v: f64, m: f64) -> bool {
    if !(m > 0.0 && m.is_finite()) || v == 0.0 {
        return true;
    }
    if let (Some((vm, vd)), Some((mm, md))) = (decimal(v), decimal(m)) {
        let d = vd.max(md);
        let scale = |mantissa: i128, decimals: u32| {
            10_i128
                .checked_pow(d - decimals)
                .and_then(|p| mantissa.checked_mul(p))
        };
        if let (Some(a), Some(b)) = (scale(vm, vd), scale(mm, md)) {
            if b != 0 {
                return a % b == 0;
            }
        }
    }
    let q = v / m;
    (q - q.round()).abs() < 1e-9
}

/// `12.5` → `(125, 1)`; `None` when the shortest form is too long to hold.
fn decimal(x: f64) -> Option<(i128, u32)> {
    let s = format!("{x}");
    if s.len() > 30 || s.contains(['e', 'E']) {
        return None;
    }
    let (int, frac) = s.split_once('.').unwrap_or((&s, ""));
    let digits = format!("{int}{frac}");
    let mantissa = digits.parse::<i128>().ok()?;
    Some((mantissa, u32::try_from(frac.len()).ok()?))
}

fn decimals_of(x: f64) -> usize {
    let s = format!("{x}");
    s.split_once('.').map_or(0, |(_, f)| f.len()).min(15)
}

fn round_to(x: f64, decimals: usize) -> f64 {
    format!("{x:.decimals$}").parse::<f64>().unwrap_or(x)
}

fn gcd(a: i64, b: i64) -> i64 {
    if b == 0 { a.abs() } else { gcd(b, a % b) }
}

fn lcm(a: i64, b: i64) -> Option<i64> {
    let g = gcd(a, b);
    if g == 0 {
        return Some(0);
    }
    (a / g).checked_mul(b).map(i64::abs)
}

/// Smallest positive integer that is a multiple of `m` (`0.5` → 1, `0.3` → 3, `4` → 4).
fn integer_step(m: f64) -> Option<i64> {
    if m.fract() == 0.0 && m <= MAX_SAFE_INT as f64 {
        return Some(m as i64);
    }
    (1..=1000).find_map(|n| {
        let x = m * f64::from(n);
        let r = x.round();
        (r >= 1.0 && r <= MAX_SAFE_INT as f64 && (x - r).abs() < 1e-9 && is_multiple(r, m))
            .then_some(r as i64)
    })
}

/// JSON equality with numbers compared by value (`1` equals `1.0`).
fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(i), Some(j)) => i == j,
            _ => match (x.as_u64(), y.as_u64()) {
                (Some(i), Some(j)) => i == j,
                _ => x.as_f64() == y.as_f64(),
            },
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| json_eq(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

fn is_null_only(s: &Value) -> bool {
    match s {
        Value::Object(m) => {
            m.get("type").is_some_and(|t| type_bits(t) == T_NULL)
                || m.get("const") == Some(&Value::Null)
                || m.get("enum") == Some(&Value::Array(vec![Value::Null]))
        }
        _ => false,
    }
}

/// Subschemas that element `i` of an array must satisfy under one schema.
fn item_schema(p: &Obj, i: usize) -> Option<&Value> {
    if let Some(Value::Array(prefix)) = p.get("prefixItems") {
        if let Some(s) = prefix.get(i) {
            return Some(s);
        }
        return p.get("items");
    }
    match p.get("items") {
        Some(Value::Array(tuple)) => tuple.get(i).or_else(|| p.get("additionalItems")),
        other => other,
    }
}

/// The fixed number of positions after which one schema forbids further items, if any.
fn item_limit(p: &Obj) -> Option<usize> {
    if let Some(Value::Array(prefix)) = p.get("prefixItems") {
        return (p.get("items") == Some(&Value::Bool(false))).then_some(prefix.len());
    }
    match p.get("items") {
        Some(Value::Array(tuple)) => {
            (p.get("additionalItems") == Some(&Value::Bool(false))).then_some(tuple.len())
        }
        Some(Value::Bool(false)) => Some(0),
        _ => None,
    }
}

/// Subschemas a property `name` must satisfy under one schema (ignoring `patternProperties`).
fn property_schema<'v>(p: &'v Obj, name: &str) -> Option<&'v Value> {
    p.get("properties")
        .and_then(|props| props.get(name))
        .or_else(|| p.get("additionalProperties"))
}

// ---------------------------------------------------------------------------------------------
// The schema document: resolution, termination analysis, validation
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy)]
struct Doc<'g> {
    root: &'g Value,
    ref_cost: &'g BTreeMap<String, u32>,
}

/// Least instance depth through each `$ref`, by fixed-point iteration from "none".
fn ref_costs(root: &Value, refs: &[String]) -> BTreeMap<String, u32> {
    let mut env: BTreeMap<String, u32> = refs.iter().map(|r| (r.clone(), INF)).collect();
    for _ in 0..1000 {
        let mut changed = false;
        for r in refs {
            let Some(target) = resolve(root, r) else {
                continue;
            };
            let c = Doc { root, ref_cost: &env }.cost(target, 0);
            if c < env.get(r).copied().unwrap_or(INF) {
                env.insert(r.clone(), c);
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    env
}

fn add1(c: u32) -> u32 {
    if c == INF { INF } else { c + 1 }
}

impl<'g> Doc<'g> {
    fn resolve(&self, r: &str) -> Option<&'g Value> {
        resolve(self.root, r)
    }

    /// False when `s` (or what its `$ref`/`allOf` lead to, a few levels down) has a `pattern`
    /// the generator cannot follow, so a value for it would likely not match.
    fn faithful(&self, s: &Value) -> bool {
        self.faithful_at(s, 0)
    }

    fn faithful_at(&self, s: &Value, hops: usize) -> bool {
        let Value::Object(m) = s else {
            return true;
        };
        if hops > 8 {
            return true;
        }
        if m.get("pattern")
            .and_then(Value::as_str)
            .is_some_and(|p| !pattern::supported(p))
        {
            return false;
        }
        let via_ref = m
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| self.resolve(r))
            .is_none_or(|t| self.faithful_at(t, hops + 1));
        let via_all = match m.get("allOf") {
            Some(Value::Array(all)) => all.iter().all(|x| self.faithful_at(x, hops + 1)),
            _ => true,
        };
        via_ref && via_all
    }

    /// Least nesting depth of an instance of `s`, following `$ref`s through `ref_cost`.
    /// Mirrors the choices generation makes past its depth budget.
    fn cost(&self, s: &Value, depth: usize) -> u32 {
        if depth > 2 * MAX_NESTING {
            return INF;
        }
        let m = match s {
            Value::Bool(true) => return 0,
            Value::Object(m) => m,
            _ => return INF,
        };
        let mut c = self.own_cost(m, depth);
        if let Some(r) = m.get("$ref").and_then(Value::as_str) {
            c = c.max(self.ref_cost.get(r).copied().unwrap_or(INF));
        }
        if let Some(Value::Array(all)) = m.get("allOf") {
            for x in all {
                c = c.max(self.cost(x, depth + 1));
            }
        }
        for key in ["anyOf", "oneOf"] {
            if let Some(Value::Array(branches)) = m.get(key) {
                let best = branches
                    .iter()
                    .map(|x| self.cost(x, depth + 1))
                    .min()
                    .unwrap_or(INF);
                c = c.max(best);
            }
        }
        c
    }

    fn own_cost(&self, m: &Obj, depth: usize) -> u32 {
        if let Some(Value::Array(e)) = m.get("enum") {
            return if e.is_empty() { INF } else { 0 };
        }
        if m.contains_key("const") {
            return 0;
        }
        let Some(bits) = m.get("type").map(type_bits) else {
            // Without `type`, a plain string is always an option.
            return 0;
        };
        if bits & T_SCALAR != 0 {
            return 0;
        }
        let mut best = INF;
        if bits & T_ARR != 0 {
            best = best.min(self.array_cost(m, depth));
        }
        if bits & T_OBJ != 0 {
            best = best.min(self.object_cost(m, depth));
        }
        best
    }

    fn array_cost(&self, m: &Obj, depth: usize) -> u32 {
        let n = m.get("minItems").and_then(count).unwrap_or(0);
        let needs_contains =
            m.contains_key("contains") && m.get("minContains").and_then(count).unwrap_or(1) > 0;
        if n == 0 && !needs_contains {
            return 0;
        }
        let mut worst = 0;
        // Positions past the tuple share one schema; only distinct ones need costing.
        let distinct = match (m.get("prefixItems"), m.get("items")) {
            (Some(Value::Array(p)), _) | (None, Some(Value::Array(p))) => p.len() + 1,
            _ => 1,
        };
        for i in 0..to_usize(n).min(distinct) {
            let c = item_schema(m, i).map_or(0, |s| self.cost(s, depth + 1));
            worst = worst.max(c);
        }
        if needs_contains {
            if let Some(c) = m.get("contains") {
                worst = worst.max(self.cost(c, depth + 1));
            }
        }
        add1(worst)
    }

    fn object_cost(&self, m: &Obj, depth: usize) -> u32 {
        let Some(Value::Array(required)) = m.get("required") else {
            return 0;
        };
        if required.is_empty() {
            return 0;
        }
        let worst = required
            .iter()
            .filter_map(Value::as_str)
            .map(|k| property_schema(m, k).map_or(0, |s| self.cost(s, depth + 1)))
            .max()
            .unwrap_or(0);
        add1(worst)
    }

    fn valid_all(&self, v: &Value, schemas: &[&Value]) -> bool {
        schemas.iter().all(|s| self.valid(v, s, 0))
    }

    /// JSON Schema validation of the keywords listed in the module doc; `pattern`, `format` and
    /// `patternProperties` matching are not checked.
    fn valid(&self, v: &Value, s: &Value, depth: usize) -> bool {
        if depth > 4 * MAX_NESTING {
            return false;
        }
        match s {
            Value::Bool(b) => *b,
            Value::Object(m) => self.valid_obj(v, m, depth + 1),
            _ => false,
        }
    }

    fn valid_obj(&self, v: &Value, m: &Obj, d: usize) -> bool {
        if let Some(r) = m.get("$ref").and_then(Value::as_str) {
            match self.resolve(r) {
                Some(t) if self.valid(v, t, d) => {}
                _ => return false,
            }
        }
        if let Some(t) = m.get("type") {
            if type_bits(t) & value_bit(v) == 0 {
                return false;
            }
        }
        if let Some(Value::Array(e)) = m.get("enum") {
            if !e.iter().any(|x| json_eq(x, v)) {
                return false;
            }
        }
        if let Some(c) = m.get("const") {
            if !json_eq(c, v) {
                return false;
            }
        }
        if let Some(Value::Array(all)) = m.get("allOf") {
            if !all.iter().all(|x| self.valid(v, x, d)) {
                return false;
            }
        }
        if let Some(Value::Array(any)) = m.get("anyOf") {
            if !any.iter().any(|x| self.valid(v, x, d)) {
                return false;
            }
        }
        if let Some(Value::Array(one)) = m.get("oneOf") {
            if one.iter().filter(|x| self.valid(v, x, d)).take(2).count() != 1 {
                return false;
            }
        }
        if let Some(n) = m.get("not") {
            if self.valid(v, n, d) {
                return false;
            }
        }
        if let Some(cond) = m.get("if") {
            let branch = if self.valid(v, cond, d) {
                m.get("then")
            } else {
                m.get("else")
            };
            if branch.is_some_and(|b| !self.valid(v, b, d)) {
                return false;
            }
        }
        match v {
            Value::Number(n) => n.as_f64().is_none_or(|f| NumBounds::of([m]).contains(f)),
            Value::String(s) => {
                let len = s.chars().count() as u64;
                m.get("minLength").and_then(count).is_none_or(|n| len >= n)
                    && m.get("maxLength").and_then(count).is_none_or(|n| len <= n)
            }
            Value::Array(a) => self.valid_array(a, m, d),
            Value::Object(o) => self.valid_object(o, m, d),
            Value::Null | Value::Bool(_) => true,
        }
    }

    fn valid_array(&self, a: &[Value], m: &Obj, d: usize) -> bool {
        let len = a.len() as u64;
        if m.get("minItems").and_then(count).is_some_and(|n| len < n)
            || m.get("maxItems").and_then(count).is_some_and(|n| len > n)
        {
            return false;
        }
        if m.get("uniqueItems") == Some(&Value::Bool(true)) {
            for (i, x) in a.iter().enumerate() {
                if a[i + 1..].iter().any(|y| json_eq(x, y)) {
                    return false;
                }
            }
        }
        for (i, x) in a.iter().enumerate() {
            if let Some(s) = item_schema(m, i) {
                if !self.valid(x, s, d) {
                    return false;
                }
            }
        }
        if let Some(c) = m.get("contains") {
            let hits = a.iter().filter(|x| self.valid(x, c, d)).count() as u64;
            let min = m.get("minContains").and_then(count).unwrap_or(1);
            if hits < min || m.get("maxContains").and_then(count).is_some_and(|n| hits > n) {
                return false;
            }
        }
        true
    }

    fn valid_object(&self, o: &Obj, m: &Obj, d: usize) -> bool {
        let len = o.len() as u64;
        if m.get("minProperties").and_then(count).is_some_and(|n| len < n)
            || m.get("maxProperties").and_then(count).is_some_and(|n| len > n)
        {
            return false;
        }
        if let Some(Value::Array(req)) = m.get("required") {
            if req.iter().filter_map(Value::as_str).any(|k| !o.contains_key(k)) {
                return false;
            }
        }
        let has_patterns = matches!(m.get("patternProperties"), Some(Value::Object(p)) if !p.is_empty());
        for (k, x) in o {
            let declared = m.get("properties").and_then(|p| p.get(k));
            let schema = match declared {
                Some(s) => Some(s),
                // Which keys a pattern matches is unknown here, so extra keys are not judged.
                None if has_patterns => None,
                None => m.get("additionalProperties"),
            };
            if schema.is_some_and(|s| !self.valid(x, s, d)) {
                return false;
            }
            if let Some(names) = m.get("propertyNames") {
                if !self.valid(&Value::String(k.clone()), names, d) {
                    return false;
                }
            }
        }
        for key in ["dependentRequired", "dependencies", "dependentSchemas"] {
            let Some(Value::Object(deps)) = m.get(key) else {
                continue;
            };
            for (k, dep) in deps {
                if !o.contains_key(k) {
                    continue;
                }
                let ok = match dep {
                    Value::Array(names) => names.iter().filter_map(Value::as_str).all(|n| o.contains_key(n)),
                    schema => self.valid(&Value::Object(o.clone()), schema, d),
                };
                if !ok {
                    return false;
                }
            }
        }
        true
    }
}

// ---------------------------------------------------------------------------------------------
// Generation
// ---------------------------------------------------------------------------------------------

/// The schemas one value must satisfy together, after `$ref`, `allOf` and the chosen `anyOf` /
/// `oneOf` branches have been expanded.
#[derive(Clone)]
struct Acc<'g> {
    parts: Vec<&'g Obj>,
    /// Types every part allows.
    types: u8,
    /// Values allowed by every `enum`/`const` seen, if any was.
    literals: Option<Vec<&'g Value>>,
}

impl<'g> Acc<'g> {
    fn new() -> Self {
        Acc {
            parts: Vec::new(),
            types: T_ALL,
            literals: None,
        }
    }

    fn add(&mut self, m: &'g Obj) -> Result<(), SchemaError> {
        self.parts.push(m);
        if let Some(t) = m.get("type") {
            self.types &= type_bits(t);
            if self.types == 0 {
                return Err(SchemaError::Unsatisfiable(format!(
                    "conflicting types (type {t} excludes the others)"
                )));
            }
        }
        if let Some(Value::Array(e)) = m.get("enum") {
            if e.is_empty() {
                return Err(SchemaError::Unsatisfiable("enum is empty".into()));
            }
            self.narrow(e.iter().collect())?;
        }
        if let Some(c) = m.get("const") {
            self.narrow(vec![c])?;
        }
        Ok(())
    }

    fn narrow(&mut self, allowed: Vec<&'g Value>) -> Result<(), SchemaError> {
        let kept: Vec<&'g Value> = match self.literals.take() {
            None => allowed,
            Some(prev) => prev
                .into_iter()
                .filter(|v| allowed.iter().any(|a| json_eq(a, v)))
                .collect(),
        };
        if kept.is_empty() {
            return Err(SchemaError::Unsatisfiable(
                "enum/const values do not intersect".into(),
            ));
        }
        self.literals = Some(kept);
        Ok(())
    }

    fn title(&self) -> Option<&'g str> {
        self.parts
            .iter()
            .find_map(|p| p.get("title").and_then(Value::as_str))
    }
}

struct Run<'g, 'r, R: Rng + ?Sized> {
    doc: Doc<'g>,
    rng: &'r mut R,
    /// Values left to generate before giving up; keeps retries on narrow schemas bounded.
    fuel: u32,
    max_depth: usize,
}

impl<'g, R: Rng + ?Sized> Run<'g, '_, R> {
    /// A value satisfying every schema in `schemas`, checked before it is returned.
    fn value(
        &mut self,
        schemas: &[&'g Value],
        hint: Option<&'g str>,
        depth: usize,
    ) -> Result<Value, SchemaError> {
        if depth > self.max_depth + HARD_DEPTH_MARGIN {
            return Err(SchemaError::UnboundedRecursion(format!(
                "instance nesting passed {} levels",
                self.max_depth + HARD_DEPTH_MARGIN
            )));
        }
        let attempts = if depth == 0 { 16 } else { 4 };
        let mut last = SchemaError::Unsatisfiable("no attempt made".into());
        for attempt in 0..attempts {
            if self.fuel == 0 {
                return Err(SchemaError::Unsatisfiable(format!(
                    "gave up after {FUEL} generation steps"
                )));
            }
            self.fuel -= 1;
            match self.attempt(schemas, hint, depth, (attempt, attempts)) {
                Ok(v) if self.doc.valid_all(&v, schemas) => return Ok(v),
                Ok(_) => {
                    last = SchemaError::Unsatisfiable(
                        "no candidate met every constraint (not/if/oneOf/dependencies?)".into(),
                    );
                }
                Err(e) if e.is_soft() && self.fuel > 0 => last = e,
                Err(e) => return Err(e),
            }
        }
        Err(last)
    }

    fn attempt(
        &mut self,
        schemas: &[&'g Value],
        hint: Option<&'g str>,
        depth: usize,
        try_no: (usize, usize),
    ) -> Result<Value, SchemaError> {
        let over = depth >= self.max_depth;
        let mut acc = Acc::new();
        for s in schemas {
            self.flatten(s, &mut acc, over, 0)?;
        }
        let hint = hint.or_else(|| acc.title());
        if let Some(v) = self.literal(&acc, schemas)? {
            return Ok(v);
        }
        match self.choose_kind(&acc, over, try_no)? {
            Kind::Null => Ok(Value::Null),
            Kind::Bool => Ok(Value::Bool(self.rng.gen_bool(0.5))),
            Kind::Integer => self.integer(&acc.parts, hint),
            Kind::Number => self.number(&acc.parts, hint),
            Kind::String => self.string(&acc.parts, hint).map(Value::String),
            Kind::Array => self.array(&acc.parts, hint, depth),
            Kind::Object => self.object(&acc.parts, hint, depth),
        }
    }

    /// Expand `$ref`, `allOf` and one branch of each `anyOf`/`oneOf` into `acc`.
    fn flatten(
        &mut self,
        s: &'g Value,
        acc: &mut Acc<'g>,
        over: bool,
        hops: usize,
    ) -> Result<(), SchemaError> {
        if hops > MAX_NESTING {
            return Err(SchemaError::UnboundedRecursion(
                "$ref/allOf chain does not reach a schema".into(),
            ));
        }
        let m = match s {
            Value::Bool(true) => return Ok(()),
            Value::Bool(false) => {
                return Err(SchemaError::Unsatisfiable("the `false` schema".into()));
            }
            Value::Object(m) => m,
            other => {
                return Err(SchemaError::InvalidSchema(format!(
                    "subschema is {}",
                    kind_name(other)
                )));
            }
        };
        acc.add(m)?;
        if let Some(r) = m.get("$ref").and_then(Value::as_str) {
            let target = self
                .doc
                .resolve(r)
                .ok_or_else(|| SchemaError::UnresolvableRef(r.to_string()))?;
            self.flatten(target, acc, over, hops + 1)?;
        }
        if let Some(Value::Array(all)) = m.get("allOf") {
            for x in all {
                self.flatten(x, acc, over, hops + 1)?;
            }
        }
        for key in ["anyOf", "oneOf"] {
            if let Some(Value::Array(branches)) = m.get(key) {
                self.choose_branch(key, branches, acc, over, hops)?;
            }
        }
        Ok(())
    }

    fn choose_branch(
        &mut self,
        key: &str,
        branches: &'g [Value],
        acc: &mut Acc<'g>,
        over: bool,
        hops: usize,
    ) -> Result<(), SchemaError> {
        if branches.is_empty() {
            return Err(SchemaError::Unsatisfiable(format!("`{key}` has no branch")));
        }
        let mut last = None;
        for i in self.branch_order(branches, over) {
            let mut trial = acc.clone();
            match self.flatten(&branches[i], &mut trial, over, hops + 1) {
                Ok(()) => {
                    *acc = trial;
                    return Ok(());
                }
                Err(e) if e.is_soft() => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| SchemaError::Unsatisfiable(format!("no `{key}` branch is satisfiable"))))
    }

    /// Branch indices in the order to try: cheapest first past the depth budget, otherwise a
    /// random order in which a null-only branch comes first about one time in four. Branches
    /// whose `pattern` the generator cannot follow go last either way (pydantic's `Decimal` is
    /// `anyOf: [number, string with a look-ahead pattern]`).
    fn branch_order(&mut self, branches: &[Value], over: bool) -> Vec<usize> {
        let doc = self.doc;
        let mut order: Vec<usize> = (0..branches.len()).collect();
        if over {
            order.shuffle(self.rng);
            order.sort_by_key(|&i| (doc.cost(&branches[i], 0), !doc.faithful(&branches[i])));
            return order;
        }
        let (mut weighted, last): (Vec<usize>, Vec<usize>) =
            order.into_iter().partition(|&i| doc.faithful(&branches[i]));
        let mut out = Vec::with_capacity(branches.len());
        while !weighted.is_empty() {
            let weights: Vec<u32> = weighted
                .iter()
                .map(|&i| if is_null_only(&branches[i]) { 1 } else { 3 })
                .collect();
            let pick = self.pick_weighted(&weights);
            out.push(weighted.remove(pick));
        }
        out.extend(last);
        out
    }

    fn pick_weighted(&mut self, weights: &[u32]) -> usize {
        let total: u32 = weights.iter().sum();
        if total == 0 {
            return 0;
        }
        let mut r = self.rng.gen_range(0..total);
        for (i, w) in weights.iter().enumerate() {
            if r < *w {
                return i;
            }
            r -= w;
        }
        weights.len().saturating_sub(1)
    }

    fn pick<'x, T>(&mut self, items: &'x [T]) -> Option<&'x T> {
        items.choose(self.rng)
    }

    /// An `enum`/`const` value if the schema has them; sometimes a `default` or example.
    fn literal(&mut self, acc: &Acc<'g>, schemas: &[&'g Value]) -> Result<Option<Value>, SchemaError> {
        if let Some(lits) = &acc.literals {
            let ok: Vec<&Value> = lits
                .iter()
                .copied()
                .filter(|v| self.doc.valid_all(v, schemas))
                .collect();
            return match self.pick(&ok) {
                Some(v) => Ok(Some((*v).clone())),
                None => Err(SchemaError::Unsatisfiable(
                    "no enum/const value meets the other constraints".into(),
                )),
            };
        }
        let mut candidates: Vec<&'g Value> = Vec::new();
        for p in &acc.parts {
            candidates.extend(p.get("default"));
            candidates.extend(p.get("example"));
            if let Some(Value::Array(examples)) = p.get("examples") {
                candidates.extend(examples.iter());
            }
        }
        if !candidates.is_empty() && self.rng.gen_bool(0.25) {
            if let Some(c) = self.pick(&candidates).copied() {
                if self.doc.valid_all(c, schemas) {
                    return Ok(Some(c.clone()));
                }
            }
        }
        Ok(None)
    }

    /// The kind of value to build. `try_no` is (this attempt, attempts allowed).
    fn choose_kind(
        &mut self,
        acc: &Acc<'g>,
        over: bool,
        (attempt, attempts): (usize, usize),
    ) -> Result<Kind, SchemaError> {
        let inferred = acc.types == T_ALL;
        let mut bits = if inferred {
            inferred_bits(&acc.parts)
        } else {
            acc.types
        };
        if inferred {
            // An untyped schema with nothing to go on (`{}`, `true`) reads best as a string;
            // if strings keep failing (`not: {type: string}`), any kind may do. A string is
            // also the fallback when the inferred kind keeps failing.
            if bits == 0 && attempt == 0 || bits != 0 && attempt + 1 == attempts {
                return Ok(Kind::String);
            }
            if bits == 0 {
                bits = T_ALL;
            }
        }
        let kinds = kinds_of(bits);
        if kinds.is_empty() {
            return Err(SchemaError::Unsatisfiable("no type remains".into()));
        }
        if over {
            let costs: Vec<u32> = kinds.iter().map(|k| self.kind_cost(*k, acc)).collect();
            let best = costs.iter().copied().min().unwrap_or(INF);
            if inferred && best > 0 {
                return Ok(Kind::String);
            }
            let cheapest: Vec<Kind> = kinds
                .iter()
                .zip(&costs)
                .filter(|(_, c)| **c == best)
                .map(|(k, _)| *k)
                .collect();
            return Ok(self.pick(&cheapest).copied().unwrap_or(Kind::Null));
        }
        let weights: Vec<u32> = kinds
            .iter()
            .map(|k| if *k == Kind::Null { 1 } else { 3 })
            .collect();
        let i = self.pick_weighted(&weights);
        Ok(kinds.get(i).copied().unwrap_or(Kind::Null))
    }

    fn kind_cost(&self, kind: Kind, acc: &Acc<'g>) -> u32 {
        match kind {
            Kind::Array => acc
                .parts
                .iter()
                .map(|p| self.doc.array_cost(p, 0))
                .max()
                .unwrap_or(0),
            Kind::Object => acc
                .parts
                .iter()
                .map(|p| self.doc.object_cost(p, 0))
                .max()
                .unwrap_or(0),
            Kind::Null | Kind::Bool | Kind::Integer | Kind::Number | Kind::String => 0,
        }
    }

    // -- numbers ------------------------------------------------------------------------------

    fn integer(&mut self, parts: &[&'g Obj], hint: Option<&str>) -> Result<Value, SchemaError> {
        let b = NumBounds::of(parts.iter().copied());
        // `as` saturates: bounds beyond i64 become i64::MIN/MAX.
        let lo =
            b.lo.map(|(v, ex)| (if ex { v.floor() + 1.0 } else { v.ceil() }) as i64);
        let hi =
            b.hi.map(|(v, ex)| (if ex { v.ceil() - 1.0 } else { v.floor() }) as i64);
        if let (Some(l), Some(h)) = (lo, hi) {
            if l > h {
                return Err(SchemaError::Unsatisfiable(format!(
                    "no integer between the bounds ({l} > {h})"
                )));
            }
        }
        let mut step = 1_i64;
        for m in &b.multiples {
            let s = integer_step(*m)
                .ok_or_else(|| SchemaError::Unsatisfiable(format!("no integer is a multiple of {m}")))?;
            step = lcm(step, s)
                .filter(|s| *s > 0)
                .ok_or_else(|| SchemaError::Unsatisfiable("multipleOf values too large".into()))?;
        }
        let k = self.pick_multiple(lo, hi, step, int_hint_range(hint))?;
        Ok(Value::from(k))
    }

    /// A multiple of `step` in `[lo, hi]` (and in i64), inside `pref` when the two overlap.
    fn pick_multiple(
        &mut self,
        lo: Option<i64>,
        hi: Option<i64>,
        step: i64,
        pref: (i64, i64),
    ) -> Result<i64, SchemaError> {
        let step = i128::from(step.max(1));
        let ceil_div = |n: i64| {
            let n = i128::from(n);
            n.div_euclid(step) + i128::from(n.rem_euclid(step) != 0)
        };
        let floor_div = |n: i64| i128::from(n).div_euclid(step);
        let (kmin, kmax) = (ceil_div(i64::MIN), floor_div(i64::MAX));
        let kl = lo.map(|l| ceil_div(l).max(kmin));
        let kh = hi.map(|h| floor_div(h).min(kmax));
        if kl.unwrap_or(kmin) > kh.unwrap_or(kmax) {
            return Err(SchemaError::Unsatisfiable(format!(
                "no multiple of {step} between the bounds"
            )));
        }
        let (pa, pb) = (ceil_div(pref.0), floor_div(pref.1));
        let a = kl.map_or(pa, |k| k.max(pa));
        let b = kh.map_or(pb, |k| k.min(pb));
        let (a, b) = if a <= b {
            (a, b)
        } else {
            match (kl, kh) {
                (Some(l), Some(h)) => (l, h.min(l + 100)),
                (Some(l), None) => (l, (l + 3).min(kmax)),
                (None, Some(h)) => ((h - 3).max(kmin), h),
                (None, None) => (pa.min(pb), pa.min(pb)),
            }
        };
        let k = self.rng.gen_range(a..=b);
        k.checked_mul(step)
            .and_then(|v| i64::try_from(v).ok())
            .ok_or_else(|| SchemaError::Unsatisfiable("integer out of the i64 range".into()))
    }

    fn number(&mut self, parts: &[&'g Obj], hint: Option<&str>) -> Result<Value, SchemaError> {
        let mut b = NumBounds::of(parts.iter().copied());
        b.lo = b.lo.map(|(v, ex)| (v.clamp(-MAX_NUMBER, MAX_NUMBER), ex));
        b.hi = b.hi.map(|(v, ex)| (v.clamp(-MAX_NUMBER, MAX_NUMBER), ex));
        if let (Some((l, lx)), Some((h, hx))) = (b.lo, b.hi) {
            if l > h || (l == h && (lx || hx)) {
                return Err(SchemaError::Unsatisfiable(format!(
                    "no number between the bounds ({l}, {h})"
                )));
            }
        }
        let (pa, pb) = int_hint_range(hint);
        let (pa, pb) = (pa as f64, pb as f64);
        if let Some(&m) = b.multiples.first() {
            let kl = b.lo.map(|(l, ex)| {
                let k = (l / m).ceil();
                if ex && k * m <= l { k + 1.0 } else { k }
            });
            let kh = b.hi.map(|(h, ex)| {
                let k = (h / m).floor();
                if ex && k * m >= h { k - 1.0 } else { k }
            });
            let clamp = |k: f64| k.clamp(-MAX_NUMBER, MAX_NUMBER) as i64;
            let (pka, pkb) = (clamp((pa / m).ceil()), clamp((pb / m).floor()));
            let (kl, kh) = (kl.map(clamp), kh.map(clamp));
            if let (Some(a), Some(b)) = (kl, kh) {
                if a > b {
                    return Err(SchemaError::Unsatisfiable(format!(
                        "no multiple of {m} between the bounds"
                    )));
                }
            }
            let a = kl.map_or(pka, |k| k.max(pka));
            let z = kh.map_or(pkb, |k| k.min(pkb));
            let (a, z) = if a <= z {
                (a, z)
            } else {
                match (kl, kh) {
                    (Some(l), Some(h)) => (l, h.min(l.saturating_add(100))),
                    (Some(l), None) => (l, l.saturating_add(3)),
                    (None, Some(h)) => (h.saturating_sub(3), h),
                    (None, None) => (pka.min(pkb), pka.min(pkb)),
                }
            };
            let places = decimals_of(m);
            for _ in 0..16 {
                let k = self.rng.gen_range(a..=z);
                let v = round_to(k as f64 * m, places);
                if v.is_finite() && b.contains(v) {
                    return Ok(Value::from(v));
                }
            }
            return Err(SchemaError::Unsatisfiable(format!(
                "no number meets multipleOf {m} and the bounds"
            )));
        }
        let lo = b.lo.map(|(v, _)| v);
        let hi = b.hi.map(|(v, _)| v);
        // The hint's range clipped to the bounds first, then the bounds alone.
        let preferred = (lo.map_or(pa, |l| l.max(pa)), hi.map_or(pb, |h| h.min(pb)));
        let fallback = match (lo, hi) {
            (Some(l), Some(h)) => (l, h),
            (Some(l), None) => (l, l + 100.0),
            (None, Some(h)) => (h - 100.0, h),
            (None, None) => (pa, pb),
        };
        for (a, z) in [preferred, fallback] {
            if a > z {
                continue;
            }
            for _ in 0..8 {
                let v = if a < z { self.rng.gen_range(a..=z) } else { a };
                let rounded = (v * 100.0).round() / 100.0;
                if b.contains(rounded) {
                    return Ok(Value::from(rounded));
                }
                if b.contains(v) {
                    return Ok(Value::from(v));
                }
            }
            let mid = a / 2.0 + z / 2.0;
            if b.contains(mid) {
                return Ok(Value::from(mid));
            }
        }
        Err(SchemaError::Unsatisfiable(
            "no number fits between the bounds".into(),
        ))
    }

    // -- strings ------------------------------------------------------------------------------

    fn string(&mut self, parts: &[&'g Obj], hint: Option<&str>) -> Result<String, SchemaError> {
        let min = max_count(parts, "minLength");
        let max = min_count(parts, "maxLength");
        if let Some(mx) = max {
            if min > mx {
                return Err(SchemaError::Unsatisfiable(format!(
                    "minLength {min} > maxLength {mx}"
                )));
            }
        }
        if min > MAX_STRING_LEN {
            return Err(SchemaError::Unsatisfiable(format!(
                "minLength {min} is beyond what the mock builds"
            )));
        }
        let (min, max) = (to_usize(min), max.map(to_usize));
        let fits = |s: &str| {
            let n = s.chars().count();
            n >= min && max.is_none_or(|m| n <= m)
        };
        if let Some(p) = parts
            .iter()
            .find_map(|p| p.get("pattern").and_then(Value::as_str))
        {
            if let Some(s) = pattern::generate(p, min, max, self.rng) {
                return Ok(s);
            }
        }
        if let Some(f) = parts.iter().find_map(|p| p.get("format").and_then(Value::as_str)) {
            if let Some(s) = words::format(f, self.rng) {
                if fits(&s) {
                    return Ok(s);
                }
            }
        }
        let s = words::for_hint(hint, self.rng);
        Ok(words::fit(s, min, max, self.rng))
    }

    // -- arrays -------------------------------------------------------------------------------

    fn array(
        &mut self,
        parts: &[&'g Obj],
        hint: Option<&'g str>,
        depth: usize,
    ) -> Result<Value, SchemaError> {
        let over = depth >= self.max_depth;
        let min = max_count(parts, "minItems");
        let mut max = min_count(parts, "maxItems").map_or(usize::MAX, to_usize);
        for p in parts {
            if let Some(limit) = item_limit(p) {
                max = max.min(limit);
            }
        }
        if min > MAX_COUNT {
            return Err(SchemaError::Unsatisfiable(format!(
                "minItems {min} is beyond what the mock builds"
            )));
        }
        let min = to_usize(min);
        if min > max {
            return Err(SchemaError::Unsatisfiable(format!(
                "minItems {min} > maxItems {max}"
            )));
        }
        let contains: Vec<&'g Value> = parts
            .iter()
            .filter(|p| p.get("minContains").and_then(count).unwrap_or(1) > 0)
            .filter_map(|p| p.get("contains"))
            .collect();
        let extra = 3.min(self.max_depth.saturating_sub(depth));
        let upper = max.min(min + extra);
        let mut len = if over {
            min
        } else if min == 0 && upper >= 1 {
            if self.rng.gen_bool(0.9) {
                self.rng.gen_range(1..=upper)
            } else {
                0
            }
        } else {
            self.rng.gen_range(min..=upper.max(min))
        };
        if !contains.is_empty() && len == 0 {
            if max == 0 {
                return Err(SchemaError::Unsatisfiable(
                    "contains needs an item but maxItems is 0".into(),
                ));
            }
            len = 1;
        }
        let contains_at = if contains.is_empty() {
            None
        } else {
            Some(self.rng.gen_range(0..len))
        };
        let unique = parts
            .iter()
            .any(|p| p.get("uniqueItems") == Some(&Value::Bool(true)));
        let mut out: Vec<Value> = Vec::with_capacity(len);
        for i in 0..len {
            let mut subs: Vec<&'g Value> = parts.iter().filter_map(|p| item_schema(p, i)).collect();
            if contains_at == Some(i) {
                subs.extend(contains.iter().copied());
            }
            let mut got = None;
            for _ in 0..if unique { 8 } else { 1 } {
                match self.value(&subs, hint, depth + 1) {
                    Ok(v) if unique && out.iter().any(|x| json_eq(x, &v)) => {}
                    Ok(v) => {
                        got = Some(v);
                        break;
                    }
                    Err(e) if e.is_soft() && i >= min && self.fuel > 0 => break,
                    Err(e) => return Err(e),
                }
            }
            match got {
                Some(v) => out.push(v),
                None if out.len() >= min => break,
                None => {
                    return Err(SchemaError::Unsatisfiable(format!(
                        "could not produce {min} distinct items"
                    )));
                }
            }
        }
        Ok(Value::Array(out))
    }

    // -- objects ------------------------------------------------------------------------------

    fn object(
        &mut self,
        parts: &[&'g Obj],
        hint: Option<&'g str>,
        depth: usize,
    ) -> Result<Value, SchemaError> {
        let over = depth >= self.max_depth;
        let mut declared: Vec<&'g str> = Vec::new();
        let mut required: Vec<&'g str> = Vec::new();
        for p in parts {
            if let Some(Value::Object(props)) = p.get("properties") {
                for k in props.keys() {
                    if !declared.contains(&k.as_str()) {
                        declared.push(k);
                    }
                }
            }
            if let Some(Value::Array(req)) = p.get("required") {
                for k in req.iter().filter_map(Value::as_str) {
                    if !required.contains(&k) {
                        required.push(k);
                    }
                }
            }
        }
        let mut order: Vec<&'g str> = Vec::new();
        if let Some(ordering) = parts.iter().find_map(|p| match p.get("propertyOrdering") {
            Some(Value::Array(a)) => Some(a),
            _ => None,
        }) {
            for k in ordering.iter().filter_map(Value::as_str) {
                if (declared.contains(&k) || required.contains(&k)) && !order.contains(&k) {
                    order.push(k);
                }
            }
        }
        for k in declared.iter().chain(required.iter()) {
            if !order.contains(k) {
                order.push(k);
            }
        }
        let min_p = max_count(parts, "minProperties");
        let max_p = min_count(parts, "maxProperties").map_or(usize::MAX, to_usize);
        if min_p > MAX_COUNT {
            return Err(SchemaError::Unsatisfiable(format!(
                "minProperties {min_p} is beyond what the mock builds"
            )));
        }
        let min_p = to_usize(min_p);
        if min_p > max_p || required.len() > max_p {
            return Err(SchemaError::Unsatisfiable(format!(
                "{} required / minProperties {min_p} exceed maxProperties {max_p}",
                required.len()
            )));
        }

        let mut out: Vec<(String, Value)> = Vec::new();
        let mut skipped: Vec<&'g str> = Vec::new();
        for &name in &order {
            let is_required = required.contains(&name);
            if !is_required && (over || !self.rng.gen_bool(0.5)) {
                skipped.push(name);
                continue;
            }
            let subs: Vec<&'g Value> = parts.iter().filter_map(|p| property_schema(p, name)).collect();
            match self.value(&subs, Some(name), depth + 1) {
                Ok(v) => out.push((name.to_string(), v)),
                Err(e) if !is_required && e.is_soft() && self.fuel > 0 => {}
                Err(e) => return Err(e),
            }
        }
        for name in skipped {
            if out.len() >= min_p {
                break;
            }
            let subs: Vec<&'g Value> = parts.iter().filter_map(|p| property_schema(p, name)).collect();
            match self.value(&subs, Some(name), depth + 1) {
                Ok(v) => out.push((name.to_string(), v)),
                Err(e) if e.is_soft() && self.fuel > 0 => {}
                Err(e) => return Err(e),
            }
        }

        // Entries beyond the declared properties: a map schema (`dict[str, int]`) gets 1–3,
        // anything else only what `minProperties` demands.
        let patterns: Vec<(&'g String, &'g Value)> = parts
            .iter()
            .find_map(|p| match p.get("patternProperties") {
                Some(Value::Object(pp)) if !pp.is_empty() => Some(pp.iter().collect()),
                _ => None,
            })
            .unwrap_or_default();
        let extras_allowed = !patterns.is_empty()
            || parts
                .iter()
                .all(|p| p.get("additionalProperties") != Some(&Value::Bool(false)));
        let map_like = declared.is_empty() && required.is_empty();
        let mut want = if map_like && extras_allowed && !over {
            self.rng.gen_range(1..=3)
        } else {
            0
        };
        want = want.min(max_p.saturating_sub(out.len()));
        let mut added = 0;
        let mut tries = 0;
        while out.len() < min_p || added < want {
            tries += 1;
            if !extras_allowed || tries > 2 * to_usize(MAX_COUNT) {
                if out.len() >= min_p {
                    break;
                }
                return Err(SchemaError::Unsatisfiable(format!(
                    "minProperties {min_p} needs keys that additionalProperties forbids"
                )));
            }
            let (key, subs) = self.extra_entry(parts, &patterns, &declared, &out, depth)?;
            match self.value(&subs, hint, depth + 1) {
                Ok(v) => {
                    out.push((key, v));
                    added += 1;
                }
                Err(e) if e.is_soft() && out.len() >= min_p && self.fuel > 0 => break,
                Err(e) if e.is_soft() && self.fuel > 0 => {}
                Err(e) => return Err(e),
            }
        }
        while out.len() > max_p {
            match out.iter().rposition(|(k, _)| !required.contains(&k.as_str())) {
                Some(i) => {
                    out.remove(i);
                }
                None => {
                    return Err(SchemaError::Unsatisfiable(
                        "required properties exceed maxProperties".into(),
                    ));
                }
            }
        }
        Ok(Value::Object(out.into_iter().collect()))
    }

    /// A fresh key for an undeclared entry, and the schemas its value must satisfy.
    fn extra_entry(
        &mut self,
        parts: &[&'g Obj],
        patterns: &[(&'g String, &'g Value)],
        declared: &[&'g str],
        taken: &[(String, Value)],
        depth: usize,
    ) -> Result<(String, Vec<&'g Value>), SchemaError> {
        let names: Vec<&'g Value> = parts.iter().filter_map(|p| p.get("propertyNames")).collect();
        let free = |k: &str| !declared.contains(&k) && !taken.iter().any(|(t, _)| t == k);
        for _ in 0..16 {
            let from_pattern = self.pick(patterns).copied();
            let key = if let Some((pat, _)) = from_pattern {
                pattern::generate(pat, 1, Some(24), self.rng)
            } else if !names.is_empty() {
                match self.value(&names, Some("key"), depth + 1) {
                    Ok(Value::String(s)) => Some(s),
                    Ok(_) => None,
                    Err(e) if e.is_soft() && self.fuel > 0 => None,
                    Err(e) => return Err(e),
                }
            } else {
                Some(words::map_key(self.rng))
            };
            let Some(key) = key.filter(|k| free(k)) else {
                continue;
            };
            let mut subs = Vec::new();
            for p in parts {
                let own = from_pattern
                    .filter(|(pat, _)| {
                        matches!(p.get("patternProperties"), Some(Value::Object(pp)) if pp.contains_key(pat.as_str()))
                    })
                    .map(|(_, s)| s);
                if let Some(s) = own.or_else(|| p.get("additionalProperties")) {
                    subs.push(s);
                }
            }
            return Ok((key, subs));
        }
        let key = (taken.len()..)
            .map(|n| format!("key_{n}"))
            .find(|k| free(k))
            .unwrap_or_else(|| "key".into());
        let subs = parts
            .iter()
            .filter_map(|p| p.get("additionalProperties"))
            .collect();
        Ok((key, subs))
    }
}

/// A plausible integer range for a property name.
fn int_hint_range(hint: Option<&str>) -> (i64, i64) {
    let tokens = words::tokens(hint);
    let has = |w: &[&str]| tokens.iter().any(|t| w.contains(&t.as_str()));
    if has(&["age"]) {
        (18, 80)
    } else if has(&["year", "yr"]) {
        (1990, 2030)
    } else if has(&["rating", "stars"]) {
        (1, 5)
    } else if has(&["month"]) {
        (1, 12)
    } else if has(&["day"]) {
        (1, 28)
    } else if has(&["hour"]) {
        (0, 23)
    } else if has(&["minute", "minutes", "second", "seconds"]) {
        (0, 59)
    } else if has(&["port"]) {
        (1024, 65535)
    } else if has(&["lat", "latitude"]) {
        (-90, 90)
    } else if has(&["lon", "lng", "longitude"]) {
        (-180, 180)
    } else if has(&["price", "cost", "amount", "salary", "total"]) {
        (1, 500)
    } else if has(&["count", "qty", "quantity", "num", "size"]) {
        (1, 20)
    } else if has(&["id"]) {
        (1, 9999)
    } else {
        (0, 100)
    }
}

// ---------------------------------------------------------------------------------------------
// Plausible strings
// ---------------------------------------------------------------------------------------------

mod words {
    use rand::Rng;
    use rand::seq::SliceRandom;

    pub(super) const NOUNS: &[&str] = &[
        "apple", "river", "garden", "window", "market", "report", "bridge", "forest", "camera", "ticket",
        "engine", "letter", "planet", "pencil", "harbor", "signal", "museum", "puzzle", "rocket", "island",
        "basket", "castle", "meadow", "lantern", "anchor", "compass", "orchard", "canvas", "violin",
        "mirror", "teapot", "glacier", "library", "journal", "station", "festival", "recipe", "project",
        "invoice", "budget", "meeting", "order", "shipment", "account", "profile", "device", "sensor",
        "server", "update", "review", "summary", "record", "schedule", "travel", "weather", "coffee",
        "bicycle", "notebook", "kitchen", "harvest",
    ];
    const ADJECTIVES: &[&str] = &[
        "quick", "quiet", "bright", "gentle", "bold", "calm", "clever", "eager", "fresh", "golden", "happy",
        "little", "modern", "narrow", "proud", "rapid", "silver", "simple", "steady", "sunny", "tidy",
        "vivid", "warm", "wise", "ancient", "brave", "crisp", "daring", "early", "friendly",
    ];
    const VERBS: &[&str] = &[
        "builds",
        "tracks",
        "shows",
        "improves",
        "explains",
        "connects",
        "describes",
        "follows",
        "supports",
        "measures",
        "collects",
        "shares",
        "reviews",
        "guides",
        "opens",
        "finds",
    ];
    const FIRST_NAMES: &[&str] = &[
        "Alice", "Bruno", "Chloe", "Daniel", "Elena", "Farid", "Grace", "Hiro", "Ingrid", "Jamal", "Keiko",
        "Liam", "Maria", "Nikolai", "Olivia", "Pedro", "Quinn", "Rosa", "Samuel", "Tara", "Umar", "Vera",
        "Wei", "Ximena", "Yusuf", "Zoe",
    ];
    const LAST_NAMES: &[&str] = &[
        "Anders", "Baker", "Chen", "Dubois", "Evans", "Fischer", "Garcia", "Haddad", "Ito", "Jensen",
        "Kowalski", "Lopez", "Martin", "Nakamura", "Okafor", "Patel", "Rossi", "Silva", "Tanaka", "Usman",
        "Varga", "Weber", "Young", "Zhang",
    ];
    const CITIES: &[&str] = &[
        "Lisbon",
        "Osaka",
        "Toronto",
        "Nairobi",
        "Melbourne",
        "Oslo",
        "Lima",
        "Seville",
        "Denver",
        "Hanoi",
        "Krakow",
        "Porto",
        "Vancouver",
        "Marseille",
        "Dublin",
        "Auckland",
        "Bergen",
        "Montreal",
        "Valencia",
        "Kyoto",
    ];
    const COUNTRIES: &[&str] = &[
        "Portugal",
        "Japan",
        "Canada",
        "Kenya",
        "Australia",
        "Norway",
        "Peru",
        "Spain",
        "Ireland",
        "Vietnam",
        "Poland",
        "Chile",
        "Iceland",
        "Ghana",
        "Finland",
        "Mexico",
    ];
    const STREET_KINDS: &[&str] = &["Street", "Avenue", "Road", "Lane", "Way", "Boulevard"];
    const COLORS: &[&str] = &[
        "red", "green", "blue", "teal", "amber", "violet", "orange", "indigo", "crimson", "olive",
    ];
    const STATUSES: &[&str] = &["active", "pending", "done", "open", "closed", "draft", "ready"];
    const LANGUAGES: &[&str] = &["English", "Spanish", "French", "Japanese", "German", "Swahili"];
    const CURRENCIES: &[&str] = &["USD", "EUR", "JPY", "GBP", "CAD", "AUD"];
    const COMPANY_SUFFIXES: &[&str] = &["Labs", "Works", "Systems", "Partners", "Studio", "Co"];

    /// Every word list, for the pattern generator's "a real word that fits this class" trick.
    pub(super) const ALL_LISTS: &[&[&str]] = &[
        NOUNS,
        ADJECTIVES,
        VERBS,
        FIRST_NAMES,
        LAST_NAMES,
        CITIES,
        COUNTRIES,
        COLORS,
        STATUSES,
    ];

    fn pick<R: Rng + ?Sized>(rng: &mut R, list: &[&'static str]) -> &'static str {
        list.choose(rng).copied().unwrap_or("item")
    }

    /// Lower-case words of a property name or title: `firstName`, `first_name`, `First Name`
    /// all give `["first", "name"]`.
    pub(super) fn tokens(hint: Option<&str>) -> Vec<String> {
        let Some(hint) = hint else {
            return Vec::new();
        };
        let mut out = Vec::new();
        let mut cur = String::new();
        let mut prev_lower = false;
        for c in hint.chars() {
            if !c.is_alphanumeric() {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
                prev_lower = false;
                continue;
            }
            if c.is_uppercase() && prev_lower && !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            prev_lower = c.is_lowercase() || c.is_ascii_digit();
            cur.extend(c.to_lowercase());
        }
        if !cur.is_empty() {
            out.push(cur);
        }
        out
    }

    /// A string that reads like a value for the property named by `hint`.
    pub(super) fn for_hint<R: Rng + ?Sized>(hint: Option<&str>, rng: &mut R) -> String {
        let tokens = tokens(hint);
        let has = |w: &[&str]| tokens.iter().any(|t| w.contains(&t.as_str()));
        let last = tokens.last().map(String::as_str).unwrap_or("");
        if has(&["email", "mail"]) {
            return email(rng);
        }
        if has(&["url", "uri", "link", "website", "homepage", "href"]) {
            return url(rng);
        }
        if has(&["phone", "tel", "mobile", "fax"]) {
            return format!("+1-555-{:04}", rng.gen_range(100..10000));
        }
        if matches!(
            last,
            "id" | "uuid" | "guid" | "key" | "slug" | "token" | "sku" | "code" | "ref"
        ) || has(&["identifier"])
        {
            let prefix = tokens
                .iter()
                .find(|t| !matches!(t.as_str(), "id" | "uuid" | "guid" | "key" | "ref"))
                .map(|t| t.chars().take(4).collect::<String>())
                .unwrap_or_else(|| "id".into());
            return format!("{prefix}-{:08x}", rng.r#gen::<u32>());
        }
        if last == "name"
            || matches!(
                last,
                "firstname" | "lastname" | "fullname" | "username" | "surname"
            )
        {
            return if has(&["first", "given", "firstname"]) {
                pick(rng, FIRST_NAMES).to_string()
            } else if has(&["last", "family", "surname", "lastname"]) {
                pick(rng, LAST_NAMES).to_string()
            } else if has(&["user", "login", "screen", "username", "nick"]) {
                username(rng)
            } else if has(&["company", "org", "organization", "business", "brand"]) {
                company(rng)
            } else if has(&["city", "town"]) {
                pick(rng, CITIES).to_string()
            } else if has(&["country"]) {
                pick(rng, COUNTRIES).to_string()
            } else if has(&["file"]) {
                format!("{}.txt", pick(rng, NOUNS))
            } else if has(&["product", "item", "project", "task", "event", "team", "app"]) {
                capitalize(&format!("{} {}", pick(rng, ADJECTIVES), pick(rng, NOUNS)))
            } else {
                person_name(rng)
            };
        }
        if has(&["city", "town"]) {
            return pick(rng, CITIES).to_string();
        }
        if has(&["country", "nation"]) {
            return pick(rng, COUNTRIES).to_string();
        }
        if has(&["street", "address", "addr"]) {
            return format!(
                "{} {} {}",
                rng.gen_range(1..400),
                pick(rng, LAST_NAMES),
                pick(rng, STREET_KINDS)
            );
        }
        if has(&["zip", "postal", "postcode"]) {
            return format!("{:05}", rng.gen_range(10000..99999));
        }
        if has(&[
            "description",
            "summary",
            "message",
            "text",
            "content",
            "comment",
            "comments",
            "bio",
            "reason",
            "explanation",
            "body",
            "note",
            "notes",
            "answer",
            "details",
            "question",
            "review",
            "feedback",
            "instructions",
            "prompt",
            "reply",
            "response",
            "caption",
            "abstract",
            "sentence",
            "paragraph",
            "story",
            "reasoning",
            "rationale",
        ]) {
            return sentence(rng);
        }
        if has(&["title", "headline", "subject", "heading", "topic"]) {
            return format!(
                "The {} {}",
                capitalize(pick(rng, ADJECTIVES)),
                capitalize(pick(rng, NOUNS))
            );
        }
        if has(&["color", "colour"]) {
            return pick(rng, COLORS).to_string();
        }
        if has(&["timestamp", "datetime"]) || last == "at" {
            return date_time(rng);
        }
        if has(&["date", "birthday", "dob", "day"]) {
            return date(rng);
        }
        if has(&["time"]) {
            return time(rng);
        }
        if has(&[
            "author", "owner", "person", "customer", "manager", "contact", "employee", "user", "assignee",
            "reviewer",
        ]) {
            return person_name(rng);
        }
        if has(&["company", "organization", "org", "employer", "brand", "vendor"]) {
            return company(rng);
        }
        if has(&["language", "lang", "locale"]) {
            return pick(rng, LANGUAGES).to_string();
        }
        if has(&["currency"]) {
            return pick(rng, CURRENCIES).to_string();
        }
        if has(&["status", "state", "stage"]) {
            return pick(rng, STATUSES).to_string();
        }
        if has(&[
            "tag",
            "tags",
            "label",
            "labels",
            "category",
            "categories",
            "keyword",
            "keywords",
            "type",
            "kind",
            "genre",
            "word",
            "words",
        ]) {
            return pick(rng, NOUNS).to_string();
        }
        if rng.gen_bool(0.5) {
            pick(rng, NOUNS).to_string()
        } else {
            format!("{} {}", pick(rng, ADJECTIVES), pick(rng, NOUNS))
        }
    }

    /// A key for a map entry (`dict[str, V]`).
    pub(super) fn map_key<R: Rng + ?Sized>(rng: &mut R) -> String {
        pick(rng, NOUNS).to_string()
    }

    fn capitalize(s: &str) -> String {
        let mut c = s.chars();
        match c.next() {
            Some(f) => f.to_uppercase().chain(c).collect(),
            None => String::new(),
        }
    }

    fn person_name<R: Rng + ?Sized>(rng: &mut R) -> String {
        format!("{} {}", pick(rng, FIRST_NAMES), pick(rng, LAST_NAMES))
    }

    fn username<R: Rng + ?Sized>(rng: &mut R) -> String {
        format!(
            "{}{}",
            pick(rng, FIRST_NAMES).to_lowercase(),
            rng.gen_range(1..100)
        )
    }

    fn company<R: Rng + ?Sized>(rng: &mut R) -> String {
        format!("{} {}", capitalize(pick(rng, NOUNS)), pick(rng, COMPANY_SUFFIXES))
    }

    fn sentence<R: Rng + ?Sized>(rng: &mut R) -> String {
        let (a, n1, v, n2) = (
            pick(rng, ADJECTIVES),
            pick(rng, NOUNS),
            pick(rng, VERBS),
            pick(rng, NOUNS),
        );
        match rng.gen_range(0..4) {
            0 => format!("The {a} {n1} {v} the {n2}."),
            1 => format!(
                "{} {v} a {a} {n1} in {}.",
                pick(rng, FIRST_NAMES),
                pick(rng, CITIES)
            ),
            2 => format!("A {a} {n1} for every {n2}."),
            _ => format!("This {n1} {v} {a} ideas about the {n2}."),
        }
    }

    fn email<R: Rng + ?Sized>(rng: &mut R) -> String {
        format!(
            "{}.{}@example.{}",
            pick(rng, FIRST_NAMES).to_lowercase(),
            pick(rng, LAST_NAMES).to_lowercase(),
            if rng.gen_bool(0.5) { "com" } else { "org" }
        )
    }

    fn url<R: Rng + ?Sized>(rng: &mut R) -> String {
        format!("https://example.com/{}/{}", pick(rng, NOUNS), pick(rng, NOUNS))
    }

    fn date<R: Rng + ?Sized>(rng: &mut R) -> String {
        format!(
            "{:04}-{:02}-{:02}",
            rng.gen_range(2020..=2026),
            rng.gen_range(1..=12),
            rng.gen_range(1..=28)
        )
    }

    fn time<R: Rng + ?Sized>(rng: &mut R) -> String {
        format!(
            "{:02}:{:02}:{:02}Z",
            rng.gen_range(0..24),
            rng.gen_range(0..60),
            rng.gen_range(0..60)
        )
    }

    fn date_time<R: Rng + ?Sized>(rng: &mut R) -> String {
        let d = date(rng);
        let t = time(rng);
        format!("{d}T{t}")
    }

    fn uuid<R: Rng + ?Sized>(rng: &mut R) -> String {
        let mut b: [u8; 16] = rng.r#gen();
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
        format!(
            "{}-{}-{}-{}-{}",
            &hex[0..8],
            &hex[8..12],
            &hex[12..16],
            &hex[16..20],
            &hex[20..32]
        )
    }

    fn base64(data: &[u8]) -> String {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(data)
    }

    /// A value for a `format`, or `None` when the format has no special shape.
    pub(super) fn format<R: Rng + ?Sized>(format: &str, rng: &mut R) -> Option<String> {
        Some(match format {
            "date-time" => date_time(rng),
            "date" => date(rng),
            "time" => time(rng),
            "duration" => match rng.gen_range(0..3) {
                0 => format!("P{}D", rng.gen_range(1..30)),
                1 => format!("PT{}H{}M", rng.gen_range(1..24), rng.gen_range(1..60)),
                _ => format!("PT{}M", rng.gen_range(1..90)),
            },
            "uuid" => uuid(rng),
            "email" | "idn-email" => email(rng),
            "uri" | "iri" | "uri-reference" | "iri-reference" | "url" => url(rng),
            "uri-template" => format!("https://example.com/{}/{{id}}", pick(rng, NOUNS)),
            "hostname" | "idn-hostname" => format!("{}.example.com", pick(rng, NOUNS)),
            "ipv4" => format!(
                "{}.{}",
                pick(rng, &["192.0.2", "198.51.100", "203.0.113"]),
                rng.gen_range(1..255)
            ),
            "ipv6" => format!("2001:db8::{:x}", rng.gen_range(1..0xffff)),
            "json-pointer" => format!("/{}/{}", pick(rng, NOUNS), rng.gen_range(0..10)),
            "relative-json-pointer" => format!("{}/{}", rng.gen_range(0..3), pick(rng, NOUNS)),
            "regex" => "^[a-z]+$".to_string(),
            "byte" => base64(pick(rng, NOUNS).as_bytes()),
            _ => return None,
        })
    }

    /// Pad with words up to `min` characters; cut to `max`, at a word boundary when that still
    /// leaves `min`.
    pub(super) fn fit<R: Rng + ?Sized>(s: String, min: usize, max: Option<usize>, rng: &mut R) -> String {
        let mut chars: Vec<char> = s.chars().collect();
        while chars.len() < min {
            if !chars.is_empty() {
                chars.push(' ');
            }
            chars.extend(pick(rng, NOUNS).chars());
        }
        if let Some(max) = max {
            if chars.len() > max {
                let clean_cut = chars.get(max) == Some(&' ');
                chars.truncate(max);
                if !clean_cut {
                    if let Some(pos) = chars.iter().rposition(|&c| c == ' ') {
                        if pos >= min && pos > 0 {
                            chars.truncate(pos);
                        }
                    }
                }
                while chars.last() == Some(&' ') && chars.len() > min {
                    chars.pop();
                }
            }
        }
        if let Some(last) = chars.last_mut() {
            if *last == ' ' {
                *last = 'a';
            }
        }
        chars.into_iter().collect()
    }
}

// ---------------------------------------------------------------------------------------------
// A tiny generator for simple regular expressions
// ---------------------------------------------------------------------------------------------

mod pattern {
    use rand::Rng;
    use rand::seq::SliceRandom;

    use super::words::ALL_LISTS;

    /// Repetitions an unbounded quantifier adds beyond its minimum, in normal mode.
    const SPREAD: u32 = 3;
    /// Largest `{n}` accepted.
    const MAX_REPEAT: u32 = 1000;

    #[derive(Debug, Clone)]
    enum Node {
        Literal(char),
        /// Inclusive ranges; `negated` for `[^...]`.
        Class {
            ranges: Vec<(char, char)>,
            negated: bool,
        },
        /// Alternatives, each a sequence.
        Group(Vec<Vec<Node>>),
        Repeat {
            node: Box<Node>,
            min: u32,
            max: Option<u32>,
        },
        Empty,
    }

    /// How long repetitions run.
    #[derive(Debug, Clone, Copy)]
    enum Mode {
        /// A few repetitions past the minimum, or a dictionary word.
        Normal,
        /// Minimum repetitions, to get under a `maxLength`.
        Shortest,
        /// This many repetitions past the minimum (capped by the maximum), to reach a `minLength`.
        Longer(usize),
    }

    /// Whether `pattern` uses only the syntax this generator follows.
    pub(super) fn supported(pattern: &str) -> bool {
        Parser::new(pattern).parse().is_some()
    }

    /// A string matching `pattern` with a length in `[min, max]`, or `None` when the pattern
    /// uses unsupported syntax or no attempt fits.
    pub(super) fn generate<R: Rng + ?Sized>(
        pattern: &str,
        min: usize,
        max: Option<usize>,
        rng: &mut R,
    ) -> Option<String> {
        let alternatives = Parser::new(pattern).parse()?;
        let root = Node::Group(alternatives);
        let modes = [
            Mode::Normal,
            Mode::Normal,
            Mode::Normal,
            Mode::Normal,
            Mode::Shortest,
            Mode::Shortest,
            Mode::Longer(min),
            Mode::Longer(min / 2),
            Mode::Longer(min / 4),
            Mode::Normal,
            Mode::Normal,
            Mode::Normal,
        ];
        for mode in modes {
            let mut out = String::new();
            if !emit(&root, mode, rng, &mut out) {
                return None;
            }
            let n = out.chars().count();
            if n >= min && max.is_none_or(|m| n <= m) {
                return Some(out);
            }
        }
        None
    }

    fn emit<R: Rng + ?Sized>(node: &Node, mode: Mode, rng: &mut R, out: &mut String) -> bool {
        match node {
            Node::Empty => true,
            Node::Literal(c) => {
                out.push(*c);
                true
            }
            Node::Class { ranges, negated } => match class_char(ranges, *negated, rng) {
                Some(c) => {
                    out.push(c);
                    true
                }
                None => false,
            },
            Node::Group(alts) => match alts.choose(rng) {
                Some(seq) => seq.iter().all(|n| emit(n, mode, rng, out)),
                None => true,
            },
            Node::Repeat { node, min, max } => {
                let n = match mode {
                    Mode::Shortest => *min,
                    Mode::Longer(want) => {
                        let want = u32::try_from(want).unwrap_or(MAX_REPEAT).min(MAX_REPEAT);
                        let n = min.saturating_add(want);
                        max.map_or(n, |m| n.min(m))
                    }
                    Mode::Normal => {
                        let hi = max.map_or(min + SPREAD, |m| m.min(min + SPREAD));
                        if let Node::Class {
                            ranges,
                            negated: false,
                        } = node.as_ref()
                        {
                            if rng.gen_bool(0.7) {
                                let longest = max.map_or(min + 9, |m| m.min(min + 9));
                                if let Some(w) = word_in_class(ranges, *min, longest, rng) {
                                    out.push_str(&w);
                                    return true;
                                }
                            }
                        }
                        rng.gen_range(*min..=hi.max(*min))
                    }
                };
                (0..n).all(|_| emit(node, mode, rng, out))
            }
        }
    }

    /// A dictionary word whose letters all fall in `ranges`, with a length in `[min, max]`.
    fn word_in_class<R: Rng + ?Sized>(
        ranges: &[(char, char)],
        min: u32,
        max: u32,
        rng: &mut R,
    ) -> Option<String> {
        let inside = |c: char| ranges.iter().any(|(a, b)| *a <= c && c <= *b);
        for _ in 0..24 {
            let list = ALL_LISTS.choose(rng)?;
            let word = list.choose(rng)?;
            let lower = word.to_lowercase();
            for candidate in [word.to_string(), lower] {
                let n = candidate.chars().count() as u32;
                if n >= min.max(1) && n <= max && candidate.chars().all(inside) {
                    return Some(candidate);
                }
            }
        }
        None
    }

    fn class_char<R: Rng + ?Sized>(ranges: &[(char, char)], negated: bool, rng: &mut R) -> Option<char> {
        let inside = |c: char| ranges.iter().any(|(a, b)| *a <= c && c <= *b);
        if negated {
            let pool: Vec<char> = ('a'..='z')
                .chain('0'..='9')
                .chain('A'..='Z')
                .chain("-_.,:;!?#%&*+=~ ".chars())
                .filter(|c| !inside(*c))
                .collect();
            // Prefer letters, which read better, when any are allowed.
            let letters: Vec<char> = pool.iter().copied().filter(char::is_ascii_lowercase).collect();
            return if letters.is_empty() {
                pool.choose(rng).copied()
            } else {
                letters.choose(rng).copied()
            };
        }
        let weights: Vec<u32> = ranges
            .iter()
            .map(|(a, b)| (*b as u32).saturating_sub(*a as u32).saturating_add(1))
            .collect();
        let total: u32 = weights.iter().fold(0, |s, w| s.saturating_add(*w));
        if total == 0 {
            return None;
        }
        let mut r = rng.gen_range(0..total);
        for ((a, _), w) in ranges.iter().zip(&weights) {
            if r < *w {
                // Surrogates have no `char`; fall back to the range start.
                return Some(char::from_u32(*a as u32 + r).unwrap_or(*a));
            }
            r -= w;
        }
        ranges.first().map(|(a, _)| *a)
    }

    struct Parser {
        chars: Vec<char>,
        pos: usize,
        depth: usize,
        /// Set by syntax errors found where parsing otherwise continues.
        invalid: bool,
    }

    impl Parser {
        fn new(pattern: &str) -> Self {
            Parser {
                chars: pattern.chars().collect(),
                pos: 0,
                depth: 0,
                invalid: false,
            }
        }

        fn peek(&self) -> Option<char> {
            self.chars.get(self.pos).copied()
        }

        fn next(&mut self) -> Option<char> {
            let c = self.peek();
            self.pos += 1;
            c
        }

        fn parse(mut self) -> Option<Vec<Vec<Node>>> {
            let alts = self.alternation()?;
            (self.pos >= self.chars.len() && !self.invalid).then_some(alts)
        }

        fn alternation(&mut self) -> Option<Vec<Vec<Node>>> {
            self.depth += 1;
            if self.depth > 64 {
                return None;
            }
            let mut alts = vec![self.sequence()?];
            while self.peek() == Some('|') {
                self.pos += 1;
                alts.push(self.sequence()?);
            }
            self.depth -= 1;
            Some(alts)
        }

        fn sequence(&mut self) -> Option<Vec<Node>> {
            let mut seq = Vec::new();
            while let Some(c) = self.peek() {
                if c == '|' || c == ')' {
                    break;
                }
                let atom = self.atom()?;
                let atom = self.quantified(atom)?;
                seq.push(atom);
            }
            Some(seq)
        }

        fn atom(&mut self) -> Option<Node> {
            match self.next()? {
                '^' | '$' => Some(Node::Empty),
                '.' => Some(Node::Class {
                    ranges: vec![('a', 'z')],
                    negated: false,
                }),
                '(' => {
                    if self.peek() == Some('?') {
                        self.pos += 1;
                        match self.next()? {
                            ':' => {}
                            'P' if self.peek() == Some('<') => {
                                self.pos += 1;
                                self.skip_name()?;
                            }
                            '<' if !matches!(self.peek(), Some('=' | '!')) => self.skip_name()?,
                            // Look-around, flags, comments: not supported.
                            _ => return None,
                        }
                    }
                    let alts = self.alternation()?;
                    (self.next()? == ')').then_some(Node::Group(alts))
                }
                '[' => self.class(),
                '\\' => self.escape(false).map(|e| match e {
                    Escape::Char(c) => Node::Literal(c),
                    Escape::Class(ranges, negated) => Node::Class { ranges, negated },
                    Escape::Empty => Node::Empty,
                }),
                '*' | '+' | '?' | ')' => None,
                '{' => {
                    // A `{` that is not a valid quantifier is a literal in most dialects.
                    Some(Node::Literal('{'))
                }
                c => Some(Node::Literal(c)),
            }
        }

        fn skip_name(&mut self) -> Option<()> {
            while self.next()? != '>' {}
            Some(())
        }

        fn quantified(&mut self, atom: Node) -> Option<Node> {
            let (min, max) = match self.peek() {
                Some('*') => {
                    self.pos += 1;
                    (0, None)
                }
                Some('+') => {
                    self.pos += 1;
                    (1, None)
                }
                Some('?') => {
                    self.pos += 1;
                    (0, Some(1))
                }
                Some('{') => match self.braces() {
                    Some(q) => q,
                    None => return Some(atom),
                },
                _ => return Some(atom),
            };
            // Lazy (`*?`) and possessive (`*+`) suffixes change matching, not the language.
            if matches!(self.peek(), Some('?' | '+')) {
                self.pos += 1;
            }
            // A further quantifier (`a**`) is a syntax error in ECMA-262.
            if matches!(self.peek(), Some('*' | '+' | '?')) {
                return None;
            }
            if matches!(atom, Node::Empty) {
                return Some(atom);
            }
            Some(Node::Repeat {
                node: Box::new(atom),
                min,
                max,
            })
        }

        /// `{n}`, `{n,}`, `{n,m}`; `None` (and no input consumed) when not a quantifier.
        fn braces(&mut self) -> Option<(u32, Option<u32>)> {
            let start = self.pos;
            self.pos += 1;
            let lo = self.number();
            let result = match (lo, self.next()) {
                (Some(n), Some('}')) => Some((n, Some(n))),
                (Some(n), Some(',')) => match (self.number(), self.next()) {
                    (Some(m), Some('}')) if m >= n => Some((n, Some(m))),
                    (Some(_), Some('}')) => {
                        // `{2,1}`: numbers out of order is a syntax error, not a literal.
                        self.invalid = true;
                        None
                    }
                    (None, Some('}')) => Some((n, None)),
                    _ => None,
                },
                _ => None,
            };
            if result.is_none() {
                self.pos = start;
            }
            result
        }

        fn number(&mut self) -> Option<u32> {
            let start = self.pos;
            while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                self.pos += 1;
            }
            let digits: String = self.chars.get(start..self.pos)?.iter().collect();
            digits.parse::<u32>().ok().filter(|n| *n <= MAX_REPEAT)
        }

        fn class(&mut self) -> Option<Node> {
            let negated = self.peek() == Some('^');
            if negated {
                self.pos += 1;
            }
            let mut ranges = Vec::new();
            let mut first = true;
            loop {
                let c = self.next()?;
                if c == ']' && !first {
                    break;
                }
                first = false;
                let lo = match c {
                    '[' if self.peek() == Some(':') => return None,
                    '\\' => match self.escape(true)? {
                        Escape::Char(c) => c,
                        Escape::Class(mut r, false) => {
                            ranges.append(&mut r);
                            continue;
                        }
                        // `[\D]`-style negations inside a class: not supported.
                        Escape::Class(_, true) | Escape::Empty => return None,
                    },
                    c => c,
                };
                if self.peek() == Some('-') && self.chars.get(self.pos + 1).is_some_and(|c| *c != ']') {
                    self.pos += 1;
                    let hi = match self.next()? {
                        '\\' => match self.escape(true)? {
                            Escape::Char(c) => c,
                            _ => return None,
                        },
                        c => c,
                    };
                    if hi < lo {
                        return None;
                    }
                    ranges.push((lo, hi));
                } else {
                    ranges.push((lo, lo));
                }
            }
            Some(Node::Class { ranges, negated })
        }

        fn escape(&mut self, in_class: bool) -> Option<Escape> {
            let digit = vec![('0', '9')];
            let word = vec![('a', 'z'), ('A', 'Z'), ('0', '9'), ('_', '_')];
            let space = vec![(' ', ' ')];
            Some(match self.next()? {
                'd' => Escape::Class(digit, false),
                'D' => Escape::Class(digit, true),
                'w' => Escape::Class(word, false),
                'W' => Escape::Class(word, true),
                's' => Escape::Class(space, false),
                'S' => Escape::Class(vec![(' ', ' '), ('\t', '\r')], true),
                'b' if in_class => Escape::Char('\u{8}'),
                'b' => Escape::Empty,
                // Non-boundaries, Unicode properties, named back-references and non-ECMA anchors.
                'B' | 'p' | 'P' | 'k' | 'A' | 'z' | 'Z' | 'G' => return None,
                '1'..='9' => return None,
                't' => Escape::Char('\t'),
                'n' => Escape::Char('\n'),
                'r' => Escape::Char('\r'),
                'f' => Escape::Char('\u{c}'),
                'v' => Escape::Char('\u{b}'),
                '0' => Escape::Char('\0'),
                'x' => Escape::Char(self.hex(2)?),
                'u' => {
                    if self.peek() == Some('{') {
                        self.pos += 1;
                        let start = self.pos;
                        while self.peek().is_some_and(|c| c != '}') {
                            self.pos += 1;
                        }
                        let digits: String = self.chars.get(start..self.pos)?.iter().collect();
                        self.pos += 1;
                        Escape::Char(char::from_u32(u32::from_str_radix(&digits, 16).ok()?)?)
                    } else {
                        Escape::Char(self.hex(4)?)
                    }
                }
                c if c.is_ascii_alphanumeric() => return None,
                c => Escape::Char(c),
            })
        }

        fn hex(&mut self, n: usize) -> Option<char> {
            let digits: String = self.chars.get(self.pos..self.pos + n)?.iter().collect();
            self.pos += n;
            char::from_u32(u32::from_str_radix(&digits, 16).ok()?)
        }
    }

    enum Escape {
        Char(char),
        Class(Vec<(char, char)>, bool),
        Empty,
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use rand::SeedableRng;
        use rand::rngs::SmallRng;

        fn sample(p: &str) -> Vec<String> {
            let mut rng = SmallRng::seed_from_u64(7);
            (0..50)
                .map(|_| generate(p, 0, None, &mut rng).unwrap_or_else(|| panic!("{p} unsupported")))
                .collect()
        }

        /// Lower-case letter runs come out as dictionary words or letters only.
        #[test]
        fn letters_plus() {
            for s in sample("^[a-z]+$") {
                assert!(!s.is_empty() && s.chars().all(|c| c.is_ascii_lowercase()), "{s}");
            }
        }

        /// Fixed-count digit groups keep their shape.
        #[test]
        fn phone_like() {
            for s in sample(r"^\d{3}-\d{4}$") {
                let b = s.as_bytes();
                assert_eq!(b.len(), 8, "{s}");
                assert!(b[3] == b'-' && s.chars().filter(char::is_ascii_digit).count() == 7);
            }
        }

        /// Alternation, groups, optional parts and negated classes.
        #[test]
        fn groups_and_alternation() {
            for s in sample(r"^(foo|bar)-[^0-9]{2}x?$") {
                assert!(s.starts_with("foo-") || s.starts_with("bar-"), "{s}");
                assert!(!s[4..6].chars().any(|c| c.is_ascii_digit()), "{s}");
            }
        }

        /// Unsupported syntax is reported rather than guessed.
        #[test]
        fn unsupported() {
            let mut rng = SmallRng::seed_from_u64(1);
            for p in [r"(a)\1", "(?=a)b", r"\p{L}+", "[[:alpha:]]", "a{2,1}", "(", "a)"] {
                assert!(generate(p, 0, None, &mut rng).is_none(), "{p}");
            }
        }

        /// Length bounds steer the repetition counts.
        #[test]
        fn respects_length() {
            let mut rng = SmallRng::seed_from_u64(3);
            for _ in 0..50 {
                let s = generate("^[a-z]+$", 1, Some(10), &mut rng).expect("fits");
                assert!((1..=10).contains(&s.len()), "{s}");
                let s = generate("^x*$", 12, Some(14), &mut rng).expect("fits");
                assert!((12..=14).contains(&s.len()), "{s}");
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Unit tests of the internals (end-to-end tests validated with `jsonschema` live in tests/)
// ---------------------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::SmallRng;
    use serde_json::json;

    fn one(schema: &Value, seed: u64) -> Result<Value, SchemaError> {
        generate(schema, Dialect::JsonSchema, &mut SmallRng::seed_from_u64(seed))
    }

    /// Padding and truncation respect the bounds and prefer word boundaries.
    #[test]
    fn fit_lengths() {
        let mut rng = SmallRng::seed_from_u64(1);
        for (min, max) in [
            (0, Some(0)),
            (1, Some(1)),
            (5, Some(5)),
            (20, Some(25)),
            (3, None),
            (0, Some(4)),
        ] {
            for _ in 0..50 {
                let s = words::fit("the golden river report".into(), min, max, &mut rng);
                let n = s.chars().count();
                assert!(n >= min && max.is_none_or(|m| n <= m), "{s:?} {min} {max:?}");
                assert!(!s.ends_with(' ') && !s.starts_with(' '), "{s:?}");
            }
        }
        assert_eq!(
            words::fit("the golden river".into(), 0, Some(12), &mut rng),
            "the golden"
        );
    }

    /// Hint words split camelCase, snake_case and titles.
    #[test]
    fn hint_tokens() {
        assert_eq!(words::tokens(Some("firstName")), ["first", "name"]);
        assert_eq!(words::tokens(Some("created_at")), ["created", "at"]);
        assert_eq!(words::tokens(Some("Maybe Either")), ["maybe", "either"]);
        assert!(words::tokens(None).is_empty());
    }

    /// Property names pick the kind of string.
    #[test]
    fn hints_shape_strings() {
        let mut rng = SmallRng::seed_from_u64(5);
        for _ in 0..20 {
            assert!(words::for_hint(Some("email"), &mut rng).contains('@'));
            assert!(words::for_hint(Some("description"), &mut rng).ends_with('.'));
            assert!(words::for_hint(Some("name"), &mut rng).contains(' '));
            assert!(words::for_hint(Some("user_id"), &mut rng).starts_with("user-"));
            assert!(words::for_hint(Some("website"), &mut rng).starts_with("https://"));
        }
    }

    /// Decimal multiples are judged on their decimal forms.
    #[test]
    fn multiples() {
        assert!(is_multiple(0.3, 0.1));
        assert!(is_multiple(12.5, 2.5));
        assert!(!is_multiple(0.35, 0.1));
        assert!(is_multiple(1e300, 1.0));
        assert_eq!(integer_step(0.5), Some(1));
        assert_eq!(integer_step(0.3), Some(3));
        assert_eq!(integer_step(4.0), Some(4));
    }

    /// OpenAPI keys and types are rewritten, property names are not.
    #[test]
    fn openapi_conversion() {
        let s = json!({"type": "OBJECT", "properties": {"min_items": {"type": "ARRAY", "min_items": "2", "items": {"type": "STRING"}}},
                       "property_ordering": ["min_items"], "nullable": true});
        let out = openapi_to_json_schema(&s);
        assert_eq!(
            out,
            json!({"anyOf": [{"type": "object", "properties": {"min_items": {"type": "array", "minItems": 2, "items": {"type": "string"}}},
                              "propertyOrdering": ["min_items"]}, {"type": "null"}]})
        );
        let excl =
            openapi_to_json_schema(&json!({"type": "NUMBER", "minimum": 1, "exclusive_minimum": true}));
        assert_eq!(excl, json!({"type": "number", "exclusiveMinimum": 1}));
    }

    /// The internal validator agrees with the obvious cases.
    #[test]
    fn internal_validator() {
        let root = json!({"$defs": {"A": {"type": "integer", "minimum": 2}}});
        let env = BTreeMap::new();
        let doc = Doc {
            root: &root,
            ref_cost: &env,
        };
        let one_of = json!({"oneOf": [{"type": "number"}, {"type": "integer"}]});
        assert!(doc.valid(&json!(1.5), &one_of, 0));
        assert!(!doc.valid(&json!(2), &one_of, 0));
        assert!(doc.valid(&json!(3), &json!({"$ref": "#/$defs/A"}), 0));
        assert!(!doc.valid(&json!(1), &json!({"$ref": "#/$defs/A"}), 0));
        assert!(!doc.valid(&json!([1, 1]), &json!({"uniqueItems": true}), 0));
        assert!(doc.valid(
            &json!({"a": 1}),
            &json!({"required": ["a"], "additionalProperties": false, "properties": {"a": {}}}),
            0
        ));
        assert!(!doc.valid(&json!({"b": 1}), &json!({"additionalProperties": false}), 0));
        assert!(doc.valid(&json!(1.0), &json!({"type": "integer"}), 0));
    }

    /// Hostile inputs return errors instead of panicking.
    #[test]
    fn odd_inputs_do_not_panic() {
        let cases = [
            json!(null),
            json!(3),
            json!("string"),
            json!({"type": 5}),
            json!({"type": "strnig"}),
            json!({"$ref": 5}),
            json!({"$ref": "http://example.com/x.json"}),
            json!({"$ref": "#"}),
            json!({"allOf": [{"$ref": "#"}]}),
            json!({"anyOf": []}),
            json!({"minimum": 1e308, "maximum": -1e308, "type": "number"}),
            json!({"type": "integer", "minimum": 1e300}),
            json!({"type": "integer", "multipleOf": 1e-300}),
            json!({"type": "number", "multipleOf": 1e-300, "minimum": 0.5, "maximum": 0.6}),
            json!({"type": "string", "minLength": 1e12}),
            json!({"type": "array", "minItems": 1e12}),
            json!({"type": "object", "minProperties": 3, "additionalProperties": false}),
            json!({"type": "array", "items": {"type": "boolean"}, "minItems": 3, "uniqueItems": true}),
            json!({"type": "string", "pattern": "(((("}),
            json!({"not": {}}),
            json!({"items": [1]}),
            json!({"properties": []}),
            json!({"required": "a"}),
        ];
        for (i, s) in cases.iter().enumerate() {
            let _ = one(s, i as u64);
        }
        let mut deep = json!({"type": "string"});
        for _ in 0..300 {
            deep = json!({"type": "array", "items": deep});
        }
        assert!(matches!(one(&deep, 0), Err(SchemaError::InvalidSchema(_))));
    }

    /// `{"$ref": "#"}` alone never reaches a value.
    #[test]
    fn self_reference_is_unbounded() {
        assert!(matches!(
            one(&json!({"$ref": "#"}), 0),
            Err(SchemaError::UnboundedRecursion(_))
        ));
        assert!(matches!(
            one(&json!(false), 0),
            Err(SchemaError::Unsatisfiable(_))
        ));
    }
}
