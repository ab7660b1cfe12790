//! End-to-end tests of `schema::generate`: every instance is checked with the `jsonschema`
//! crate (format validation on); OpenAPI schemas are checked against `openapi_to_json_schema`.

mod schema_support;

use schema_support::bodies::{NODE_OPENAPI_CONFIG, PERSON_JSON_SCHEMA_BODY, PERSON_OPENAPI_BODY};
use schema_support::{config_schema, instances, one};
use schemagen::{Dialect, Generator, SchemaError};
use serde_json::{Value, json};

const SEEDS: std::ops::Range<u64> = 0..200;

fn keys(v: &Value) -> Vec<&str> {
    v.as_object()
        .map(|o| o.keys().map(String::as_str).collect())
        .unwrap_or_default()
}

fn is_int(v: &Value) -> bool {
    v.is_i64() || v.is_u64()
}

/// The pydantic JSON Schema of the edge-case `Node` from google-clients.md §2.
fn node_model_json_schema() -> Value {
    json!({
        "properties": {
            "label": {"maxLength": 10, "minLength": 1, "pattern": "^[a-z]+$", "title": "Label", "type": "string"},
            "weight": {"maximum": 100, "minimum": 0, "title": "Weight", "type": "integer"},
            "either": {"anyOf": [{"type": "integer"}, {"type": "string"}], "title": "Either"},
            "maybe_either": {"anyOf": [{"type": "integer"}, {"type": "string"}, {"type": "null"}], "default": null, "title": "Maybe Either"},
            "counts": {"additionalProperties": {"type": "integer"}, "title": "Counts", "type": "object"},
            "items": {"items": {"type": "string"}, "maxItems": 3, "minItems": 1, "title": "Items", "type": "array"},
            "fmt": {"format": "date-time", "title": "Fmt", "type": "string"}
        },
        "required": ["label", "weight", "either", "counts", "items", "fmt"],
        "title": "Node",
        "type": "object"
    })
}

/// Assertions shared by both dialects of the captured `Person` schema.
fn check_person(people: &[Value]) {
    let order = [
        "name",
        "age",
        "role",
        "fav",
        "address",
        "prev_address",
        "items",
        "tags",
        "score",
    ];
    let mut saw_age = false;
    let mut saw_no_age = false;
    let mut nonempty_items = 0;
    for p in people {
        let ks = keys(p);
        let positions: Vec<usize> = ks
            .iter()
            .map(|k| order.iter().position(|o| o == k).expect("known key"))
            .collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "key order {ks:?}");
        match p.get("age") {
            Some(Value::Null) | None => saw_no_age = true,
            Some(a) => {
                assert!(is_int(a), "age must be an integer, got {a}");
                saw_age = true;
            }
        }
        assert!(["admin", "user"].contains(&p["role"].as_str().unwrap()));
        assert!(["red", "green"].contains(&p["fav"].as_str().unwrap()));
        assert!(p["score"].is_number());
        let name = p["name"].as_str().unwrap();
        assert!(name.contains(' '), "name reads like a person: {name}");
        for item in p["items"].as_array().unwrap() {
            if let Some(q) = item.get("qty") {
                assert!(is_int(q), "qty {q}");
            }
        }
        if !p["items"].as_array().unwrap().is_empty() {
            nonempty_items += 1;
        }
    }
    assert!(
        saw_age && saw_no_age,
        "optional `age` is sometimes there, sometimes not"
    );
    assert!(nonempty_items > people.len() / 2, "arrays are mostly non-empty");
}

/// The captured `responseSchema` for `Person` (snake_case keys, upper-case types).
#[test]
fn person_openapi() {
    let schema = config_schema(PERSON_OPENAPI_BODY, "responseSchema");
    check_person(&instances(&schema, Dialect::OpenApi, SEEDS));
}

/// The captured `responseJsonSchema` for `Person` (`$defs`, `$ref`, `anyOf` with null).
#[test]
fn person_json_schema() {
    let schema = config_schema(PERSON_JSON_SCHEMA_BODY, "responseJsonSchema");
    check_person(&instances(&schema, Dialect::JsonSchema, SEEDS));
}

/// Assertions shared by both dialects of the edge-case `Node`.
fn check_node(nodes: &[Value]) {
    let mut either_kinds = (false, false);
    for n in nodes {
        assert_eq!(
            &keys(n)
                .into_iter()
                .filter(|k| *k != "maybe_either")
                .collect::<Vec<_>>(),
            &["label", "weight", "either", "counts", "items", "fmt"]
        );
        let label = n["label"].as_str().unwrap();
        assert!((1..=10).contains(&label.len()) && label.chars().all(|c| c.is_ascii_lowercase()));
        assert!(is_int(&n["weight"]), "weight {}", n["weight"]);
        let counts = n["counts"].as_object().unwrap();
        assert!((1..=3).contains(&counts.len()), "counts {counts:?}");
        assert!(counts.values().all(is_int));
        assert!((1..=3).contains(&n["items"].as_array().unwrap().len()));
        if is_int(&n["either"]) {
            either_kinds.0 = true;
        } else {
            either_kinds.1 = true;
        }
        let fmt = n["fmt"].as_str().unwrap();
        assert_eq!(fmt.len(), 20, "RFC 3339 like 2025-03-14T09:26:53Z: {fmt}");
    }
    assert!(either_kinds.0 && either_kinds.1, "both union branches get used");
}

/// The captured edge-case `responseSchema` (`any_of`, `nullable` union, `additional_properties`,
/// `min_length`/`pattern`, float bounds on an INTEGER, `format`).
#[test]
fn node_openapi() {
    let schema = config_schema(NODE_OPENAPI_CONFIG, "responseSchema");
    check_node(&instances(&schema, Dialect::OpenApi, SEEDS));
}

/// The same model as pydantic's `model_json_schema()`.
#[test]
fn node_json_schema() {
    check_node(&instances(&node_model_json_schema(), Dialect::JsonSchema, SEEDS));
}

/// A recursive pydantic model (`children: list[Node]`) terminates and validates.
#[test]
fn recursive_tree() {
    let schema = json!({
        "$defs": {"Node": {
            "properties": {
                "value": {"type": "integer"},
                "children": {"items": {"$ref": "#/$defs/Node"}, "type": "array"}
            },
            "required": ["value", "children"], "title": "Node", "type": "object"
        }},
        "$ref": "#/$defs/Node"
    });
    let trees = instances(&schema, Dialect::JsonSchema, SEEDS);
    fn depth(v: &Value) -> usize {
        1 + v["children"]
            .as_array()
            .map_or(0, |c| c.iter().map(depth).max().unwrap_or(0))
    }
    assert!(trees.iter().any(|t| depth(t) >= 3), "trees are not all flat");
    assert!(trees.iter().all(|t| depth(t) <= 5), "depth budget holds");
}

/// `Optional[Node]` recursion (a linked list) and a required self-reference behind `anyOf`.
#[test]
fn recursive_optional() {
    let schema = json!({
        "$defs": {"Link": {
            "properties": {
                "name": {"type": "string"},
                "next": {"anyOf": [{"$ref": "#/$defs/Link"}, {"type": "null"}]}
            },
            "required": ["name", "next"], "type": "object"
        }},
        "$ref": "#/$defs/Link"
    });
    let lists = instances(&schema, Dialect::JsonSchema, SEEDS);
    assert!(lists.iter().any(|l| l["next"].is_object()));
    let mut budget = Generator::new(&schema, Dialect::JsonSchema)
        .unwrap()
        .with_max_depth(2)
        .generate(&mut <rand::rngs::SmallRng as rand::SeedableRng>::seed_from_u64(1))
        .unwrap();
    let mut hops = 0;
    while budget["next"].is_object() {
        budget = budget["next"].take();
        hops += 1;
    }
    assert!(
        hops <= 2,
        "a small depth budget cuts the list short ({hops} hops)"
    );
}

/// `#/definitions/X`, pointers into `properties`, percent-encoding, `$anchor` and `$id` refs.
#[test]
fn ref_forms() {
    for schema in [
        json!({"definitions": {"A": {"type": "integer", "minimum": 5}}, "type": "array", "minItems": 1, "items": {"$ref": "#/definitions/A"}}),
        json!({"type": "object", "properties": {"a": {"type": "string", "minLength": 3}, "b": {"$ref": "#/properties/a"}}, "required": ["a", "b"]}),
        json!({"$defs": {"a b": {"const": 7}}, "$ref": "#/$defs/a%20b"}),
        json!({"$defs": {"X": {"$anchor": "thing", "enum": ["p", "q"]}}, "$ref": "#thing"}),
        json!({"$defs": {"X": {"$id": "https://example.com/x.json", "type": "boolean"}}, "$ref": "https://example.com/x.json"}),
        json!({"$defs": {"T": {"type": "object", "properties": {"k~/": {"type": "null"}}, "required": ["k~/"]}}, "$ref": "#/$defs/T"}),
    ] {
        instances(&schema, Dialect::JsonSchema, 0..40);
    }
}

/// `oneOf` output matches exactly one branch, even when branches overlap.
#[test]
fn one_of_exclusive() {
    let schema = json!({"oneOf": [{"type": "number"}, {"type": "integer"}]});
    for v in instances(&schema, Dialect::JsonSchema, SEEDS) {
        assert!(!is_int(&v) && v.as_f64().unwrap().fract() != 0.0, "{v}");
    }
    let schema = json!({"oneOf": [{"type": "string"}, {"type": "string", "maxLength": 3}]});
    instances(&schema, Dialect::JsonSchema, SEEDS);
    let schema = json!({"type": "object", "oneOf": [
        {"properties": {"kind": {"const": "a"}, "x": {"type": "integer"}}, "required": ["kind", "x"]},
        {"properties": {"kind": {"const": "b"}, "y": {"type": "string"}}, "required": ["kind", "y"]}
    ]});
    instances(&schema, Dialect::JsonSchema, SEEDS);
}

/// `allOf` members are merged: properties, required, bounds and types.
#[test]
fn all_of_merges() {
    let schema = json!({"allOf": [
        {"type": "object", "properties": {"a": {"type": "integer", "minimum": 10}}, "required": ["a"]},
        {"properties": {"a": {"maximum": 12}, "b": {"type": "string"}}, "required": ["b"]},
        {"minProperties": 2}
    ]});
    for v in instances(&schema, Dialect::JsonSchema, SEEDS) {
        let a = v["a"].as_i64().unwrap();
        assert!((10..=12).contains(&a) && v["b"].is_string());
    }
    let schema = json!({"allOf": [{"type": ["number", "string"]}, {"type": ["integer", "null"]}]});
    for v in instances(&schema, Dialect::JsonSchema, 0..50) {
        assert!(is_int(&v));
    }
}

/// `const`, `enum`, and `type` given as an array.
#[test]
fn const_enum_type_array() {
    for v in instances(&json!({"const": {"a": [1, 2]}}), Dialect::JsonSchema, 0..10) {
        assert_eq!(v, json!({"a": [1, 2]}));
    }
    let values = instances(
        &json!({"enum": [1, "two", null, [3]]}),
        Dialect::JsonSchema,
        SEEDS,
    );
    assert!(values.contains(&json!("two")) && values.contains(&json!([3])));
    let values = instances(
        &json!({"type": ["string", "null"], "minLength": 2}),
        Dialect::JsonSchema,
        SEEDS,
    );
    assert!(values.iter().any(Value::is_null) && values.iter().any(Value::is_string));
    // An enum filtered by the other constraints.
    for v in instances(
        &json!({"type": "string", "enum": [1, "a", "bb"], "minLength": 2}),
        Dialect::JsonSchema,
        0..20,
    ) {
        assert_eq!(v, json!("bb"));
    }
}

/// `additionalProperties` as a map schema, as `false`, and with `min/maxProperties`.
#[test]
fn additional_properties() {
    let dict = json!({"type": "object", "additionalProperties": {"type": "integer"}});
    for v in instances(&dict, Dialect::JsonSchema, SEEDS) {
        let o = v.as_object().unwrap();
        assert!((1..=3).contains(&o.len()) && o.values().all(is_int), "{v}");
        assert!(
            o.keys().all(|k| k.chars().all(|c| c.is_ascii_lowercase())),
            "plausible keys: {v}"
        );
    }
    let closed = json!({"type": "object", "properties": {"a": {"type": "boolean"}, "b": {"type": "boolean"}, "c": {"type": "boolean"}},
                        "additionalProperties": false, "minProperties": 2, "maxProperties": 2});
    for v in instances(&closed, Dialect::JsonSchema, SEEDS) {
        assert_eq!(v.as_object().unwrap().len(), 2);
    }
    let open = json!({"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"], "minProperties": 3,
                      "additionalProperties": {"type": "string", "format": "email"}});
    instances(&open, Dialect::JsonSchema, SEEDS);
    let patterned = json!({"type": "object", "patternProperties": {"^x-[a-z]+$": {"type": "integer"}}, "additionalProperties": false, "minProperties": 1});
    instances(&patterned, Dialect::JsonSchema, 0..50);
    let named = json!({"type": "object", "propertyNames": {"maxLength": 4, "pattern": "^[a-z]+$"}, "minProperties": 2});
    instances(&named, Dialect::JsonSchema, 0..50);
    let untyped_dict = json!({"type": "object"});
    instances(&untyped_dict, Dialect::JsonSchema, 0..20);
}

/// Strings respect lengths and read like their property names.
#[test]
fn strings_and_hints() {
    let schema = json!({"type": "object", "properties": {
        "name": {"type": "string"}, "email": {"type": "string"}, "city": {"type": "string"},
        "description": {"type": "string"}, "summary": {"type": "string", "maxLength": 20},
        "id": {"type": "string"}, "short": {"type": "string", "minLength": 3, "maxLength": 3},
        "long": {"type": "string", "minLength": 40, "maxLength": 45}, "empty": {"type": "string", "maxLength": 0}
    }, "required": ["name", "email", "city", "description", "summary", "id", "short", "long", "empty"]});
    for v in instances(&schema, Dialect::JsonSchema, SEEDS) {
        assert!(v["name"].as_str().unwrap().contains(' '));
        assert!(v["email"].as_str().unwrap().contains('@'));
        let city = v["city"].as_str().unwrap();
        assert!(
            city.chars().next().unwrap().is_uppercase() && !city.contains(' '),
            "{city}"
        );
        let d = v["description"].as_str().unwrap();
        assert!(d.ends_with('.') && d.split(' ').count() >= 4, "{d}");
        assert!(v["summary"].as_str().unwrap().len() <= 20);
        assert!(v["id"].as_str().unwrap().starts_with("id-"));
        assert_eq!(v["short"].as_str().unwrap().len(), 3);
        let long = v["long"].as_str().unwrap();
        assert!(
            (40..=45).contains(&long.len()) && !long.ends_with(' '),
            "{long:?}"
        );
        assert_eq!(v["empty"], "");
    }
}

/// Numeric bounds (inclusive, exclusive, OpenAPI boolean exclusive), `multipleOf`, and integers
/// that are never written as floats.
#[test]
fn numbers() {
    let schema = json!({"type": "object", "properties": {
        "i": {"type": "integer", "minimum": -3, "maximum": 3},
        "ie": {"type": "integer", "exclusiveMinimum": 0, "exclusiveMaximum": 2},
        "ifl": {"type": "integer", "minimum": 0.5, "maximum": 1.5},
        "im": {"type": "integer", "multipleOf": 7, "minimum": 100},
        "ihalf": {"type": "integer", "multipleOf": 0.5, "maximum": -10},
        "n": {"type": "number", "minimum": 0, "maximum": 1, "exclusiveMaximum": 1},
        "nm": {"type": "number", "multipleOf": 0.01, "minimum": 1, "maximum": 2},
        "nq": {"type": "number", "multipleOf": 0.25},
        "tiny": {"type": "number", "exclusiveMinimum": 0.1, "exclusiveMaximum": 0.1000001},
        "age": {"type": "integer"}, "big": {"type": "integer", "minimum": 1e17}
    }, "required": ["i", "ie", "ifl", "im", "ihalf", "n", "nm", "nq", "tiny", "age", "big"]});
    for v in instances(&schema, Dialect::JsonSchema, SEEDS) {
        for k in ["i", "ie", "ifl", "im", "ihalf", "age", "big"] {
            assert!(is_int(&v[k]), "{k} = {}", v[k]);
        }
        assert_eq!(v["ie"], 1);
        assert_eq!(v["ifl"], 1);
        assert!(
            (18..=80).contains(&v["age"].as_i64().unwrap()),
            "age reads like an age"
        );
    }
    let openapi = json!({"type": "NUMBER", "minimum": 1, "maximum": 2, "exclusive_minimum": true, "exclusive_maximum": true});
    instances(&openapi, Dialect::OpenApi, SEEDS);
}

/// Arrays: bounds, uniqueness, tuples (`prefixItems`, draft-7 array `items`), `contains`.
#[test]
fn arrays() {
    let plain = json!({"type": "array", "items": {"type": "string"}});
    let lens: Vec<usize> = instances(&plain, Dialect::JsonSchema, SEEDS)
        .iter()
        .map(|v| v.as_array().unwrap().len())
        .collect();
    assert!(lens.iter().filter(|n| **n >= 1).count() > 150, "mostly non-empty");
    assert!(lens.iter().all(|n| *n <= 3));
    instances(
        &json!({"type": "array", "minItems": 5, "maxItems": 5, "uniqueItems": true, "items": {"type": "integer", "minimum": 0, "maximum": 4}}),
        Dialect::JsonSchema,
        0..50,
    );
    instances(
        &json!({"type": "array", "uniqueItems": true, "minItems": 2, "items": {"enum": ["a", "b", "c"]}}),
        Dialect::JsonSchema,
        0..50,
    );
    for v in instances(
        &json!({"type": "array", "prefixItems": [{"type": "string", "format": "date"}, {"type": "integer"}], "items": false, "minItems": 2}),
        Dialect::JsonSchema,
        0..50,
    ) {
        assert_eq!(v.as_array().unwrap().len(), 2);
    }
    instances(
        &json!({"$schema": "http://json-schema.org/draft-07/schema#", "type": "array", "items": [{"type": "boolean"}, {"type": "null"}], "additionalItems": false}),
        Dialect::JsonSchema,
        0..50,
    );
    instances(
        &json!({"type": "array", "items": {"type": "integer"}, "contains": {"const": 42}}),
        Dialect::JsonSchema,
        0..50,
    );
}

/// Each supported `format` produces a value the validator's format checks accept.
#[test]
fn formats() {
    for f in [
        "date-time",
        "date",
        "time",
        "duration",
        "uuid",
        "email",
        "idn-email",
        "uri",
        "iri",
        "uri-reference",
        "iri-reference",
        "uri-template",
        "hostname",
        "ipv4",
        "ipv6",
        "json-pointer",
        "relative-json-pointer",
        "regex",
    ] {
        instances(
            &json!({"type": "string", "format": f}),
            Dialect::JsonSchema,
            0..30,
        );
    }
    let v = one(
        &json!({"type": "string", "format": "date-time"}),
        Dialect::JsonSchema,
        3,
    )
    .unwrap();
    let s = v.as_str().unwrap();
    assert!(s.len() == 20 && s.ends_with('Z') && &s[10..11] == "T", "{s}");
}

/// Patterns from the simple generator validate with a real regex engine.
#[test]
fn patterns() {
    for p in [
        "^[a-z]+$",
        r"^\d{3}-\d{4}$",
        "^[A-Z]{2}[0-9]{4}$",
        r"^(foo|bar)-\d+$",
        r"^[^@\s]+@[a-z]+\.com$",
        r"^\w{3,8}$",
        "^(?:ab|cd)*e?$",
        "^#[0-9a-fA-F]{6}$",
        r"^\+?[0-9]{1,3}(-[0-9]{2,4}){2}$",
        "colou?r",
        r"^[a-z]+(_[a-z]+)*$",
    ] {
        instances(
            &json!({"type": "string", "pattern": p}),
            Dialect::JsonSchema,
            0..30,
        );
    }
    instances(
        &json!({"type": "string", "pattern": "^[a-z]+$", "minLength": 12, "maxLength": 15}),
        Dialect::JsonSchema,
        0..30,
    );
    // pydantic `Decimal`: the string branch's look-ahead is beyond the generator, so the number
    // branch is used.
    let decimal = json!({"anyOf": [
        {"type": "number"},
        {"type": "string", "pattern": r"^(?!^[-+.]*$)[+-]?0*\d*\.?\d*$"}
    ]});
    for v in instances(&decimal, Dialect::JsonSchema, SEEDS) {
        assert!(v.is_number(), "{v}");
    }
}

/// `true`, `{}` and untyped schemas produce plausible strings.
#[test]
fn any_schema() {
    for s in [json!(true), json!({}), json!({"description": "anything"})] {
        for v in instances(&s, Dialect::JsonSchema, 0..20) {
            assert!(v.is_string() && !v.as_str().unwrap().is_empty(), "{v}");
        }
    }
    let obj = json!({"type": "object", "properties": {"payload": true, "city": {}}, "required": ["payload", "city"]});
    instances(&obj, Dialect::JsonSchema, 0..20);
    instances(&json!({"not": {"type": "string"}}), Dialect::JsonSchema, 0..20);
}

/// Key spellings and value encodings the OpenAPI dialect tolerates.
#[test]
fn openapi_spellings() {
    let camel = json!({"type": "object", "properties": {
        "tags": {"type": "array", "items": {"type": "string"}, "minItems": "2", "maxItems": 2},
        "note": {"type": "STRING", "nullable": true, "minLength": 5},
        "kind": {"type": "string", "enum": ["x", "y"], "format": "enum", "nullable": true},
        "pick": {"anyOf": [{"type": "INTEGER"}, {"type": "BOOLEAN"}]},
        "n": {"type": "Number", "minimum": 0, "maximum": 1}
    }, "required": ["tags", "note", "kind", "pick", "n"], "propertyOrdering": ["n", "pick", "kind", "note", "tags"]});
    for v in instances(&camel, Dialect::OpenApi, SEEDS) {
        assert_eq!(keys(&v), ["n", "pick", "kind", "note", "tags"]);
        assert_eq!(v["tags"].as_array().unwrap().len(), 2);
    }
    let snake = json!({"type": "OBJECT", "properties": {"a": {"type": "ARRAY", "items": {"type": "NULL"}, "min_items": 1, "max_items": 1}},
                       "required": ["a"], "min_properties": 1, "additional_properties": false});
    instances(&snake, Dialect::OpenApi, 0..20);
}

/// `default` and examples are used some of the time, but not always.
#[test]
fn defaults_sometimes() {
    let schema = json!({"type": "integer", "default": 77, "minimum": 0, "maximum": 1000});
    let values = instances(&schema, Dialect::JsonSchema, SEEDS);
    let hits = values.iter().filter(|v| **v == json!(77)).count();
    assert!(hits > 10 && hits < 150, "default used {hits}/200 times");
}

/// Optional properties appear about half the time.
#[test]
fn optional_properties() {
    let schema = json!({"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}}, "required": ["a"]});
    let values = instances(&schema, Dialect::JsonSchema, SEEDS);
    let with_b = values.iter().filter(|v| v.get("b").is_some()).count();
    assert!((60..=140).contains(&with_b), "b present {with_b}/200");
}

/// The same seed gives the same output; different seeds differ.
#[test]
fn deterministic() {
    let schema = config_schema(PERSON_JSON_SCHEMA_BODY, "responseJsonSchema");
    let a = instances(&schema, Dialect::JsonSchema, 0..20);
    let b = instances(&schema, Dialect::JsonSchema, 0..20);
    assert_eq!(a, b);
    assert_eq!(
        serde_json::to_string(&a[0]).unwrap(),
        serde_json::to_string(&b[0]).unwrap()
    );
    let distinct: std::collections::BTreeSet<String> = a.iter().map(Value::to_string).collect();
    assert!(distinct.len() > 15);
}

/// Schemas without a valid instance, broken references and non-schemas are errors.
#[test]
fn errors() {
    let unsat = |s: Value| {
        let r = one(&s, Dialect::JsonSchema, 0);
        assert!(matches!(r, Err(SchemaError::Unsatisfiable(_))), "{s} gave {r:?}");
    };
    unsat(json!({"enum": []}));
    unsat(json!({"type": "array", "minItems": 3, "maxItems": 1}));
    unsat(json!({"allOf": [{"type": "string"}, {"type": "integer"}]}));
    unsat(json!({"type": "string", "minLength": 5, "maxLength": 2}));
    unsat(json!({"type": "integer", "minimum": 1.2, "maximum": 1.8}));
    unsat(json!({"type": "integer", "enum": ["a", "b"]}));
    unsat(json!({"type": "object", "properties": {"a": {"enum": []}}, "required": ["a"]}));
    unsat(json!({"anyOf": [{"type": "string", "minLength": 3, "maxLength": 1}, {"enum": []}]}));
    unsat(json!(false));
    // An unsatisfiable optional property is simply left out.
    instances(
        &json!({"type": "object", "properties": {"a": {"enum": []}, "b": {"type": "null"}}}),
        Dialect::JsonSchema,
        0..20,
    );

    // A `$ref` that does not resolve (a missing pointer, another document) reads as `{}`.
    for unresolvable in [
        json!({"$ref": "#/$defs/Missing"}),
        json!({"anyOf": [{"type": "null"}, {"$ref": "other.json#/x"}]}),
        json!({"$ref": "https://example.com/remote.json"}),
    ] {
        for seed in 0..20 {
            assert!(
                one(&unresolvable, Dialect::JsonSchema, seed).is_ok(),
                "{unresolvable}"
            );
        }
    }
    // Constraints beside it still hold.
    let beside = json!({"type": "object", "properties": {
        "a": {"$ref": "other.json#/definitions/a"},
        "b": {"type": "integer", "minimum": 3}
    }, "required": ["a", "b"], "additionalProperties": false});
    for seed in 0..20 {
        let v = one(&beside, Dialect::JsonSchema, seed).expect("generates");
        assert!(v["b"].as_i64().is_some_and(|b| b >= 3), "{v}");
        assert_eq!(keys(&v), ["a", "b"], "{v}");
    }
    // The final `jsonschema` check reads them as `{}` too, and still checks the rest.
    let generator = Generator::new(&beside, Dialect::JsonSchema).expect("accepted");
    assert!(generator.is_valid(&json!({"a": [1, {"x": null}], "b": 5})));
    assert!(!generator.is_valid(&json!({"a": "x", "b": 1})));
    let missing = json!({"properties": {"a": {"$ref": "#/$defs/Missing"}, "b": {"type": "integer"}}});
    let generator = Generator::new(&missing, Dialect::JsonSchema).expect("accepted");
    assert!(generator.is_valid(&json!({"a": "anything", "b": 1})));
    assert!(!generator.is_valid(&json!({"a": "anything", "b": "one"})));

    let required_cycle = json!({"$defs": {"A": {"type": "object", "properties": {"a": {"$ref": "#/$defs/A"}}, "required": ["a"]}}, "$ref": "#/$defs/A"});
    assert!(matches!(
        one(&required_cycle, Dialect::JsonSchema, 0),
        Err(SchemaError::UnboundedRecursion(_))
    ));
    let every_branch = json!({"$defs": {"A": {"anyOf": [
        {"type": "array", "items": {"$ref": "#/$defs/A"}, "minItems": 1},
        {"type": "object", "properties": {"x": {"$ref": "#/$defs/A"}}, "required": ["x"]}
    ]}}, "$ref": "#/$defs/A"});
    assert!(matches!(
        one(&every_branch, Dialect::JsonSchema, 0),
        Err(SchemaError::UnboundedRecursion(_))
    ));

    for s in [
        json!(42),
        json!("string"),
        json!(null),
        json!({"properties": {"a": 3}}),
        json!({"items": "x"}),
        json!({"anyOf": {}}),
    ] {
        let r = one(&s, Dialect::JsonSchema, 0);
        assert!(matches!(r, Err(SchemaError::InvalidSchema(_))), "{s} gave {r:?}");
    }
    let msg = one(
        &json!({"properties": {"a": {"items": 3}}}),
        Dialect::JsonSchema,
        0,
    )
    .unwrap_err()
    .to_string();
    assert!(
        msg.contains("/properties/a/items"),
        "error names the location: {msg}"
    );
}

/// Shapes pydantic v2 emits for common field types: discriminated unions, `$ref` with a sibling
/// description, tuples, sets, `HttpUrl`, `conint(gt=0)`, `Literal`, `timedelta`, `UUID`, `date`.
#[test]
fn pydantic_shapes() {
    let schema = json!({
        "$defs": {
            "Cat": {"properties": {"pet_type": {"const": "cat", "title": "Pet Type", "type": "string"},
                                   "meows": {"title": "Meows", "type": "integer"}},
                    "required": ["pet_type", "meows"], "title": "Cat", "type": "object"},
            "Dog": {"properties": {"pet_type": {"const": "dog", "title": "Pet Type", "type": "string"},
                                   "barks": {"title": "Barks", "type": "number"}},
                    "required": ["pet_type", "barks"], "title": "Dog", "type": "object"},
            "Level": {"enum": [1, 2, 3], "title": "Level", "type": "integer"}
        },
        "properties": {
            "pet": {"discriminator": {"mapping": {"cat": "#/$defs/Cat", "dog": "#/$defs/Dog"}, "propertyName": "pet_type"},
                    "oneOf": [{"$ref": "#/$defs/Cat"}, {"$ref": "#/$defs/Dog"}], "title": "Pet"},
            "level": {"$ref": "#/$defs/Level", "description": "How loud"},
            "point": {"maxItems": 2, "minItems": 2, "prefixItems": [{"type": "integer"}, {"type": "string"}], "title": "Point", "type": "array"},
            "labels": {"items": {"type": "string"}, "title": "Labels", "type": "array", "uniqueItems": true},
            "homepage": {"format": "uri", "maxLength": 2083, "minLength": 1, "title": "Homepage", "type": "string"},
            "stock": {"exclusiveMinimum": 0, "title": "Stock", "type": "integer"},
            "mode": {"const": "fast", "title": "Mode", "type": "string"},
            "timeout": {"format": "duration", "title": "Timeout", "type": "string"},
            "ref_id": {"format": "uuid", "title": "Ref Id", "type": "string"},
            "born": {"anyOf": [{"format": "date", "type": "string"}, {"type": "null"}], "default": null, "title": "Born"},
            "scores": {"additionalProperties": {"type": "number"}, "propertyNames": {"maxLength": 8}, "title": "Scores", "type": "object"}
        },
        "required": ["pet", "level", "point", "labels", "homepage", "stock", "mode", "timeout", "ref_id", "scores"],
        "title": "Owner",
        "type": "object"
    });
    let mut kinds = std::collections::BTreeSet::new();
    for v in instances(&schema, Dialect::JsonSchema, SEEDS) {
        kinds.insert(v["pet"]["pet_type"].as_str().unwrap().to_string());
        assert!(v["stock"].as_i64().unwrap() >= 1);
        assert_eq!(v["mode"], "fast");
    }
    assert_eq!(kinds.len(), 2, "both union members appear");
}

/// `if`/`then`/`else` is built as two branches: a form item keyed on a `const` gets what
/// its `then` requires (github-issue-forms), and `else` is taken when `if` is not met.
#[test]
fn conditionals() {
    let form_item = json!({
        "type": "object",
        "required": ["type"],
        "properties": {"type": {"enum": ["markdown", "input"]}},
        "allOf": [
            {"if": {"properties": {"type": {"const": "markdown"}}},
             "then": {"required": ["type", "value"], "additionalProperties": false,
                      "properties": {"type": {}, "value": {"type": "string", "minLength": 1}}}},
            {"if": {"properties": {"type": {"const": "input"}}},
             "then": {"required": ["type", "label"], "additionalProperties": false,
                      "properties": {"type": {}, "label": {"type": "string"}}}}
        ]
    });
    let items = instances(&form_item, Dialect::JsonSchema, SEEDS);
    assert!(items.iter().any(|v| v["type"] == "markdown"));
    assert!(items.iter().any(|v| v["type"] == "input"));
    let with_else =
        json!({"type": "integer", "if": {"minimum": 10}, "then": {"multipleOf": 5}, "else": {"maximum": 3}});
    let numbers = instances(&with_else, Dialect::JsonSchema, SEEDS);
    assert!(numbers.iter().any(|n| n.as_i64().is_some_and(|n| n >= 10)));
    assert!(numbers.iter().any(|n| n.as_i64().is_some_and(|n| n <= 3)));
}

/// A schema is read under the draft its `$schema` declares: draft 4 has no `const`, so
/// `oneOf` of two `const`s is `oneOf` of two true schemas, which nothing meets, and the
/// optional property is left out; drafts 4 to 7 ignore what sits beside a `$ref`.
#[test]
fn declared_draft() {
    let d4 = json!({"$schema": "http://json-schema.org/draft-04/schema#", "type": "object",
        "properties": {"o": {"oneOf": [{"const": "a"}, {"const": "b"}]}, "n": {"type": "string"}}});
    for v in instances(&d4, Dialect::JsonSchema, SEEDS) {
        assert!(v.get("o").is_none(), "{v}");
    }
    let d7 = json!({"$schema": "http://json-schema.org/draft-07/schema#",
        "definitions": {"s": {"type": "string"}},
        "oneOf": [{"$ref": "#/definitions/s", "maxLength": 1}, {"type": "integer"}]});
    let values = instances(&d7, Dialect::JsonSchema, SEEDS);
    assert!(values.iter().any(|v| v.as_str().is_some_and(|s| s.len() > 1)));
}

/// An object with hundreds of optional, recursive properties (renovate's `"$ref": "#"`)
/// keeps a handful at each level instead of half of them.
#[test]
fn wide_recursive_objects() {
    let mut props = serde_json::Map::new();
    for i in 0..300 {
        let schema = if i % 3 == 0 {
            json!({"$ref": "#"})
        } else {
            json!({"type": "string"})
        };
        props.insert(format!("setting{i}"), schema);
    }
    let wide = json!({"type": "object", "properties": props});
    for v in instances(&wide, Dialect::JsonSchema, 0..8) {
        let n = v.as_object().map_or(0, serde_json::Map::len);
        assert!(n <= 40, "{n} properties at the top");
        assert!(v.to_string().len() < 1_000_000, "instance too large");
    }
    // Narrow objects are unchanged: about half of their optional properties.
    let narrow =
        json!({"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}}});
    let counts: Vec<usize> = instances(&narrow, Dialect::JsonSchema, SEEDS)
        .iter()
        .map(|v| v.as_object().map_or(0, serde_json::Map::len))
        .collect();
    assert!(counts.contains(&0) && counts.contains(&2));
}
