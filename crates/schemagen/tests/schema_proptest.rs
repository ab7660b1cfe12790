//! Property tests: random satisfiable schemas, in both dialects, always yield instances that the
//! `jsonschema` crate accepts, also when a random sample and a lying oracle guide them;
//! arbitrary JSON as a schema never panics.

mod schema_support;

use proptest::prelude::*;
use rand::SeedableRng;
use rand::rngs::SmallRng;
use schema_support::{as_json_schema, assert_valid, one, validator};
use schemagen::{Budget, Dialect, Generator, Guide, Oracle, Site};
use serde_json::{Map, Value, json};

const CASES: u32 = 512;
const SEEDS_PER_SCHEMA: u64 = 4;

const NAMES: &[&str] = &[
    "name",
    "email",
    "city",
    "description",
    "id",
    "age",
    "count",
    "tags",
    "created_at",
    "score",
    "title",
    "kind",
    "value",
    "x",
    "user_id",
    "notes",
];
const FORMATS: &[&str] = &["date-time", "date", "time", "uuid", "email", "uri", "ipv4"];
const PATTERNS: &[&str] = &[
    "^[a-z]+$",
    r"^\d{3}-\d{4}$",
    "^[A-Z][a-z]{2,6}$",
    r"^(red|green|blue)-\d{1,3}$",
    r"^[a-f0-9]{8}$",
];

fn obj(pairs: Vec<(&str, Value)>) -> Value {
    Value::Object(pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
}

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        (-1000i64..1000).prop_map(Value::from),
        prop::sample::select(NAMES).prop_map(Value::from),
        (-100i32..100).prop_map(|n| Value::from(f64::from(n) / 4.0)),
    ]
}

fn string_schema() -> BoxedStrategy<Value> {
    prop_oneof![
        (0u64..6, 0u64..12).prop_map(|(a, b)| json!({"type": "string", "minLength": a, "maxLength": a + b})),
        (0u64..30).prop_map(|a| json!({"type": "string", "minLength": a})),
        prop::sample::select(FORMATS).prop_map(|f| json!({"type": "string", "format": f})),
        prop::sample::select(PATTERNS).prop_map(|p| json!({"type": "string", "pattern": p})),
        Just(json!({"type": "string"})),
    ]
    .boxed()
}

fn integer_schema() -> BoxedStrategy<Value> {
    (
        -1000i64..1000,
        0i64..200,
        any::<(bool, bool)>(),
        prop::option::of(prop::sample::select(&[2i64, 3, 5, 10][..])),
    )
        .prop_map(|(lo, span, (ex_lo, ex_hi), m)| {
            let mut span = span;
            if let Some(m) = m {
                span = span.max(2 * m + 2);
            } else {
                span = span.max(i64::from(ex_lo) + i64::from(ex_hi));
            }
            let mut s = Map::new();
            s.insert("type".into(), json!("integer"));
            s.insert(
                if ex_lo { "exclusiveMinimum" } else { "minimum" }.into(),
                json!(lo),
            );
            s.insert(
                if ex_hi { "exclusiveMaximum" } else { "maximum" }.into(),
                json!(lo + span),
            );
            if let Some(m) = m {
                s.insert("multipleOf".into(), json!(m));
            }
            Value::Object(s)
        })
        .boxed()
}

fn number_schema() -> BoxedStrategy<Value> {
    (
        -100_000i64..100_000,
        1i64..50_000,
        any::<(bool, bool)>(),
        prop::option::of(prop::sample::select(&[0.5f64, 0.25, 0.1, 0.01][..])),
        any::<bool>(),
    )
        .prop_map(|(lo, span, (ex_lo, ex_hi), m, bounded)| {
            let lo = lo as f64 / 100.0;
            let mut hi = lo + span as f64 / 100.0;
            if let Some(m) = m {
                hi = hi.max(lo + 3.0 * m);
            }
            let mut s = Map::new();
            s.insert("type".into(), json!("number"));
            if bounded {
                s.insert(
                    if ex_lo { "exclusiveMinimum" } else { "minimum" }.into(),
                    json!(lo),
                );
                s.insert(
                    if ex_hi { "exclusiveMaximum" } else { "maximum" }.into(),
                    json!(hi),
                );
            }
            if let Some(m) = m {
                s.insert("multipleOf".into(), json!(m));
            }
            Value::Object(s)
        })
        .boxed()
}

fn leaf() -> BoxedStrategy<Value> {
    prop_oneof![
        3 => string_schema(),
        2 => integer_schema(),
        2 => number_schema(),
        1 => Just(json!({"type": "boolean"})),
        1 => Just(json!({"type": "null"})),
        2 => prop::collection::vec(scalar(), 1..5).prop_map(|e| json!({"enum": e})),
        1 => scalar().prop_map(|c| json!({"const": c})),
        1 => Just(json!({})),
    ]
    .boxed()
}

/// `type: T` → `type: [T, "null"]`, the pydantic-free way to say nullable.
fn nullable_type(s: Value) -> Value {
    match s {
        Value::Object(mut m) => {
            if let Some(Value::String(t)) = m.get("type").cloned().filter(|t| t != "null") {
                m.insert("type".into(), json!([t, "null"]));
                Value::Object(m)
            } else {
                json!({"anyOf": [Value::Object(m), {"type": "null"}]})
            }
        }
        other => other,
    }
}

fn object_schema(inner: BoxedStrategy<Value>) -> BoxedStrategy<Value> {
    (
        prop::collection::vec((prop::sample::select(NAMES), inner.clone(), any::<bool>()), 0..5),
        0u8..3,
        inner,
        any::<bool>(),
    )
        .prop_map(|(props, extra, extra_schema, bounded)| {
            let mut properties = Map::new();
            let mut required = Vec::new();
            for (name, schema, req) in props {
                if properties.insert(name.to_string(), schema).is_none() && req {
                    required.push(json!(name));
                }
            }
            let n = properties.len();
            let mut s = Map::new();
            s.insert("type".into(), json!("object"));
            s.insert("properties".into(), Value::Object(properties));
            s.insert("required".into(), Value::Array(required.clone()));
            match extra {
                0 => {}
                1 => {
                    s.insert("additionalProperties".into(), json!(false));
                }
                _ => {
                    s.insert("additionalProperties".into(), extra_schema);
                }
            }
            if bounded {
                let min = (required.len() + 1).min(n);
                s.insert("minProperties".into(), json!(min));
                s.insert("maxProperties".into(), json!(min + 2));
            }
            Value::Object(s)
        })
        .boxed()
}

/// Random JSON Schemas that have at least one instance.
fn json_schema() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            3 => object_schema(inner.clone()),
            2 => (inner.clone(), 0u64..3, 0u64..4).prop_map(|(items, min, extra)| {
                json!({"type": "array", "items": items, "minItems": min, "maxItems": min + extra})
            }),
            2 => prop::collection::vec(inner.clone(), 1..4).prop_map(|b| json!({"anyOf": b})),
            2 => inner.clone().prop_map(nullable_type),
            1 => (string_schema(), integer_schema()).prop_map(|(a, b)| json!({"oneOf": [a, b]})),
            1 => (inner.clone(), inner.clone()).prop_map(|(a, b)| json!({"allOf": [
                {"type": "object", "properties": {"a": a}, "required": ["a"]},
                {"properties": {"b": b}}
            ]})),
            1 => prop::collection::vec(inner, 1..3).prop_map(|p| json!({"type": "array", "prefixItems": p, "items": false})),
        ]
    })
}

/// `json_schema()`, sometimes behind a `$ref`, or as the payload of a recursive tree node.
fn top_schema() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => json_schema(),
        1 => json_schema().prop_map(|t| json!({"$defs": {"T": t}, "$ref": "#/$defs/T"})),
        1 => json_schema().prop_map(|t| json!({
            "$defs": {"N": {"type": "object", "properties": {
                "v": t,
                "kids": {"type": "array", "items": {"$ref": "#/$defs/N"}},
                "next": {"anyOf": [{"$ref": "#/$defs/N"}, {"type": "null"}]}
            }, "required": ["v", "kids", "next"]}},
            "$ref": "#/$defs/N"
        })),
    ]
}

/// Rewrite a JSON Schema from `json_schema()` in the OpenAPI spelling Gemini accepts: upper-case
/// types, snake_case or camelCase keys, `nullable`, `any_of`, `property_ordering`, counts as strings.
fn to_openapi(s: &Value, style: &mut impl Iterator<Item = bool>) -> Value {
    let Value::Object(m) = s else {
        return json!({"type": "STRING"});
    };
    let snake = style.next().unwrap_or(false);
    let key = |camel: &str, snake_form: &str| {
        if snake {
            snake_form.to_string()
        } else {
            camel.to_string()
        }
    };
    // Type lists of [T, "null"] and anyOf [X, null] become `nullable`.
    if let Some(Value::Array(types)) = m.get("type") {
        let mut inner = m.clone();
        inner.insert("type".into(), types[0].clone());
        let mut out = to_openapi(&Value::Object(inner), style);
        out["nullable"] = json!(true);
        return out;
    }
    let mut out = Map::new();
    for (k, v) in m {
        match k.as_str() {
            "type" => {
                out.insert(
                    "type".into(),
                    json!(v.as_str().unwrap_or("string").to_uppercase()),
                );
            }
            "properties" => {
                let props: Map<String, Value> = v
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(name, sub)| (name.clone(), to_openapi(sub, style)))
                    .collect();
                let names: Vec<Value> = props.keys().rev().map(|k| json!(k)).collect();
                out.insert("properties".into(), Value::Object(props));
                out.insert(key("propertyOrdering", "property_ordering"), Value::Array(names));
            }
            "items" if v.is_object() => {
                out.insert("items".into(), to_openapi(v, style));
            }
            "additionalProperties" => {
                let v = if v.is_object() {
                    to_openapi(v, style)
                } else {
                    v.clone()
                };
                out.insert(key("additionalProperties", "additional_properties"), v);
            }
            "anyOf" | "oneOf" => {
                let branches: Vec<Value> = v.as_array().into_iter().flatten().cloned().collect();
                let (nulls, rest): (Vec<Value>, Vec<Value>) =
                    branches.into_iter().partition(|b| b == &json!({"type": "null"}));
                let rest: Vec<Value> = rest.iter().map(|b| to_openapi(b, style)).collect();
                match rest.as_slice() {
                    [] => {
                        out.insert("type".into(), json!("NULL"));
                    }
                    [Value::Object(single)] => out.extend(single.clone()),
                    // Gemini has no oneOf; the oneOf branches generated here have disjoint types.
                    _ => {
                        out.insert(key("anyOf", "any_of"), Value::Array(rest));
                    }
                }
                if !nulls.is_empty() {
                    out.insert("nullable".into(), json!(true));
                }
            }
            "minItems" | "maxItems" | "minLength" | "maxLength" | "minProperties" | "maxProperties" => {
                let snake_form = match k.as_str() {
                    "minItems" => "min_items",
                    "maxItems" => "max_items",
                    "minLength" => "min_length",
                    "maxLength" => "max_length",
                    "minProperties" => "min_properties",
                    _ => "max_properties",
                };
                let v = if snake { json!(v.to_string()) } else { v.clone() };
                out.insert(key(k, snake_form), v);
            }
            "const" => {
                out.insert("enum".into(), json!([v]));
            }
            "enum" if v.as_array().is_some_and(|e| e.iter().all(Value::is_string)) => {
                out.insert("type".into(), json!("STRING"));
                out.insert("format".into(), json!("enum"));
                out.insert("enum".into(), v.clone());
            }
            "allOf" | "prefixItems" => {
                return json!({"type": "INTEGER", "minimum": 1, "maximum": 9});
            }
            _ => {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    Value::Object(out)
}

fn check(schema: &Value, dialect: Dialect) -> Result<(), TestCaseError> {
    let validator = validator(&as_json_schema(schema, dialect));
    for seed in 0..SEEDS_PER_SCHEMA {
        let instance = one(schema, dialect, seed)
            .map_err(|e| TestCaseError::fail(format!("seed {seed}: {e}\nschema: {schema:#}")))?;
        assert_valid(&validator, &instance, &format!("seed {seed}, schema {schema:#}"));
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: CASES, failure_persistence: None, ..ProptestConfig::default() })]

    /// Random satisfiable JSON Schemas always yield valid instances.
    #[test]
    fn json_schema_instances_validate(schema in top_schema()) {
        check(&schema, Dialect::JsonSchema)?;
    }

    /// The same schemas in Gemini's OpenAPI spelling validate against their normalisation.
    #[test]
    fn openapi_instances_validate(schema in top_schema(), style in prop::collection::vec(any::<bool>(), 64)) {
        let openapi = to_openapi(&schema, &mut style.into_iter().cycle());
        check(&openapi, Dialect::OpenApi)?;
    }

    /// A random sample and an oracle answering at random (often wrongly) never make an
    /// instance invalid: the schema wins.
    #[test]
    fn guided_instances_validate(schema in top_schema(), guide in guide(), answers in answers()) {
        let validator = validator(&schema);
        let generator = Generator::new(&schema, Dialect::JsonSchema).map_err(|e| TestCaseError::fail(e.to_string()))?;
        for seed in 0..SEEDS_PER_SCHEMA {
            let mut oracle = answers.clone();
            let instance = generator
                .generate_guided(&mut SmallRng::seed_from_u64(seed), Some(&guide), &mut oracle, &Budget::default())
                .map_err(|e| TestCaseError::fail(format!("seed {seed}: {e}\nschema: {schema:#}\nguide: {guide:?}")))?;
            assert_valid(&validator, &instance, &format!("seed {seed}, schema {schema:#}, guide {guide:?}"));
        }
    }

    /// Arbitrary JSON built from schema keywords never panics, in either dialect.
    #[test]
    fn arbitrary_input_never_panics(schema in chaos()) {
        let _ = one(&schema, Dialect::JsonSchema, 0);
        let _ = one(&schema, Dialect::OpenApi, 0);
    }
}

const KEYWORDS: &[&str] = &[
    "type",
    "properties",
    "required",
    "items",
    "prefixItems",
    "additionalProperties",
    "anyOf",
    "oneOf",
    "allOf",
    "not",
    "enum",
    "const",
    "$ref",
    "$defs",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minLength",
    "maxLength",
    "pattern",
    "format",
    "minItems",
    "maxItems",
    "uniqueItems",
    "minProperties",
    "maxProperties",
    "nullable",
    "any_of",
    "property_ordering",
    "contains",
    "if",
    "then",
    "else",
    "default",
    "patternProperties",
    "propertyNames",
    "dependentRequired",
];

/// Arbitrary JSON whose objects use schema keywords with values of any shape.
fn chaos() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        scalar(),
        Just(json!("#")),
        Just(json!("#/$defs/a")),
        Just(json!("STRING")),
        Just(json!("object")),
        Just(json!("array")),
        Just(json!(["integer", "null"])),
        Just(json!("^(a|b)+[^x]{2,}$")),
        (-5i64..5).prop_map(Value::from),
        Just(json!(1e300)),
        Just(json!(-0.0)),
    ];
    leaf.prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(KEYWORDS), inner.clone()), 0..6)
                .prop_map(|kv| obj(kv.into_iter().collect())),
            prop::collection::vec((prop::sample::select(NAMES), inner), 0..4).prop_map(
                |kv| json!({"type": "object", "properties": obj(kv), "$defs": {"a": {"$ref": "#"}}})
            ),
        ]
    })
}

/// A random sample: scalars, placeholders, objects keyed by the schema names, arrays.
fn guide() -> impl Strategy<Value = Guide> {
    let leaf = prop_oneof![
        scalar().prop_map(Guide::Value),
        prop::sample::select(&["BOOL", "str, why", "id of the condition, '0' or 'None'", ""][..])
            .prop_map(|h| Guide::Hole(h.to_string())),
    ];
    leaf.prop_recursive(4, 32, 4, |inner| {
        prop_oneof![
            prop::collection::vec((prop::sample::select(NAMES), inner.clone()), 0..5)
                .prop_map(|e| Guide::Object(e.into_iter().map(|(k, v)| (k.to_string(), v)).collect())),
            (prop::collection::vec(inner, 0..4), any::<bool>())
                .prop_map(|(items, more)| Guide::Array { items, more }),
        ]
    })
}

/// An oracle that answers from fixed lists, whether or not the answers fit.
#[derive(Debug, Clone)]
struct Answers {
    bools: Vec<bool>,
    strings: Vec<String>,
    picks: Vec<usize>,
    null_rate: Option<f64>,
    turn: usize,
}

impl Answers {
    fn next<T: Clone>(&mut self, list: &[T]) -> Option<T> {
        self.turn += 1;
        (!list.is_empty()).then(|| list[self.turn % list.len()].clone())
    }
}

impl Oracle for Answers {
    fn boolean(&mut self, _: &Site<'_>) -> Option<bool> {
        let bools = self.bools.clone();
        self.next(&bools)
    }
    fn string(&mut self, _: &Site<'_>) -> Option<String> {
        let strings = self.strings.clone();
        self.next(&strings)
    }
    fn choose(&mut self, _: &Site<'_>, _: &[Value]) -> Option<usize> {
        let picks = self.picks.clone();
        self.next(&picks)
    }
    fn enumerate(&mut self, _: &Site<'_>, _: &str) -> Option<Vec<String>> {
        (self.turn % 2 == 0).then(|| self.strings.clone())
    }
    fn null_rate(&self) -> Option<f64> {
        self.null_rate
    }
}

fn answers() -> impl Strategy<Value = Answers> {
    (
        prop::collection::vec(any::<bool>(), 0..4),
        prop::collection::vec(
            prop_oneof![
                Just(String::new()),
                Just("1".to_string()),
                Just("x".repeat(300)),
                prop::sample::select(NAMES).prop_map(str::to_string),
            ],
            0..4,
        ),
        prop::collection::vec(0usize..8, 0..3),
        prop::option::of(0.0f64..=1.0),
    )
        .prop_map(|(bools, strings, picks, null_rate)| Answers {
            bools,
            strings,
            picks,
            null_rate,
            turn: 0,
        })
}
