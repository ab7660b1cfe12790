//! Guided generation on a real prompt template: the sample's shape, ids and text are
//! followed, placeholders are filled by the oracle, and the schema always wins.

mod schema_support;

use rand::SeedableRng;
use rand::rngs::SmallRng;
use schema_support::{assert_valid, validator};
use schemagen::{Budget, Dialect, Generator, Guide, NoOracle, Oracle, Site};
use serde_json::{Value, json};

/// Parlant 3.3's guideline-matching schema (as google-genai sends it).
fn checks_schema() -> Value {
    json!({"properties": {"checks": {"items": {"properties": {
        "guideline_id": {"title": "Guideline Id", "type": "STRING"},
        "condition": {"title": "Condition", "type": "STRING"},
        "rationale": {"title": "Rationale", "type": "STRING"},
        "applies": {"title": "Applies", "type": "BOOLEAN"}},
        "property_ordering": ["guideline_id", "condition", "rationale", "applies"],
        "required": ["guideline_id", "condition", "rationale", "applies"],
        "title": "GenericActionableBatch", "type": "OBJECT"},
        "title": "Checks", "type": "ARRAY"}},
        "required": ["checks"], "title": "GenericActionableGuidelineMatchesSchema", "type": "OBJECT"})
}

fn item(id: &str, condition: &str) -> Guide {
    Guide::Object(vec![
        ("guideline_id".into(), Guide::Value(json!(id))),
        ("condition".into(), Guide::Value(json!(condition))),
        (
            "rationale".into(),
            Guide::Hole("Explanation for why the condition is or isn't met".into()),
        ),
        ("applies".into(), Guide::Hole("BOOL".into())),
    ])
}

/// What the oracle was shown at one boolean: name, placeholder, context, in an item.
type Seen = (Option<String>, Option<String>, Vec<(String, String)>, bool);

/// Says yes to the candidate whose condition mentions insurance, and records what it saw.
#[derive(Default)]
struct Judge {
    seen: Vec<Seen>,
}

impl Oracle for Judge {
    fn boolean(&mut self, site: &Site<'_>) -> Option<bool> {
        self.seen.push((
            site.name.map(str::to_string),
            site.hole.map(str::to_string),
            site.context.to_vec(),
            site.in_item,
        ));
        Some(site.context.iter().any(|(_, t)| t.contains("insurance")))
    }
}

/// One entry per template item, ids and conditions echoed, booleans from the oracle,
/// which saw each candidate's own text.
#[test]
fn follows_a_template() {
    let schema = checks_schema();
    let guide = Guide::Object(vec![(
        "checks".into(),
        Guide::Array {
            items: vec![
                item("1", "The patient asks about insurance"),
                item("2", "The patient has an urgent issue"),
                item("3", "The patient wants an appointment"),
            ],
            more: false,
        },
    )]);
    let generator = Generator::new(&schema, Dialect::OpenApi).expect("schema");
    let v = validator(&schemagen::openapi_to_json_schema(&schema));
    for seed in 0..20 {
        let mut judge = Judge::default();
        let out = generator
            .generate_guided(
                &mut SmallRng::seed_from_u64(seed),
                Some(&guide),
                &mut judge,
                &Budget::default(),
            )
            .expect("generate");
        assert_valid(&v, &out, "guided");
        let checks = out["checks"].as_array().expect("checks");
        assert_eq!(checks.len(), 3, "{out:#}");
        let ids: Vec<&str> = checks
            .iter()
            .map(|c| c["guideline_id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, ["1", "2", "3"]);
        assert_eq!(checks[0]["condition"], "The patient asks about insurance");
        let applies: Vec<bool> = checks.iter().map(|c| c["applies"].as_bool().unwrap()).collect();
        assert_eq!(applies, [true, false, false]);
        assert_eq!(judge.seen.len(), 3);
        let (name, hole, context, in_item) = &judge.seen[0];
        assert_eq!(name.as_deref(), Some("applies"));
        assert_eq!(hole.as_deref(), Some("BOOL"));
        assert!(*in_item);
        assert!(
            context.contains(&("guideline_id".into(), "1".into())),
            "{context:?}"
        );
    }
}

/// A sample that contradicts the schema loses: wrong types and out-of-enum values are
/// replaced by valid ones; optional members the sample leaves out stay out.
#[test]
fn schema_wins() {
    let schema = json!({
        "type": "object",
        "properties": {
            "kind": {"enum": ["a", "b"]},
            "n": {"type": "integer", "minimum": 10},
            "extra": {"type": "string"},
            "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 1}
        },
        "required": ["kind", "n"]
    });
    let guide = Guide::Object(vec![
        ("kind".into(), Guide::Value(json!("zzz"))),
        ("n".into(), Guide::Value(json!("3"))),
        (
            "tags".into(),
            Guide::Array {
                items: vec![Guide::Value(json!("x")), Guide::Value(json!("y"))],
                more: false,
            },
        ),
    ]);
    let generator = Generator::new(&schema, Dialect::JsonSchema).expect("schema");
    let v = validator(&schema);
    for seed in 0..50 {
        let out = generator
            .generate_guided(
                &mut SmallRng::seed_from_u64(seed),
                Some(&guide),
                &mut NoOracle,
                &Budget::default(),
            )
            .expect("generate");
        assert_valid(&v, &out, "schema wins");
        assert!(out.get("extra").is_none(), "{out}");
        if let Some(tags) = out.get("tags") {
            assert_eq!(tags, &json!(["x"]));
        }
    }
}

/// Coercions a template needs: `"1"` fills an integer, `1` a string, `"true"` a boolean.
#[test]
fn coerces_sample_scalars() {
    let schema = json!({"type": "object", "properties": {
        "a": {"type": "integer"}, "b": {"type": "string"}, "c": {"type": "boolean"}},
        "required": ["a", "b", "c"]});
    let guide = Guide::Object(vec![
        ("a".into(), Guide::Value(json!("7"))),
        ("b".into(), Guide::Value(json!(5))),
        ("c".into(), Guide::Value(json!("true"))),
    ]);
    let out = Generator::new(&schema, Dialect::JsonSchema)
        .unwrap()
        .generate_guided(
            &mut SmallRng::seed_from_u64(1),
            Some(&guide),
            &mut NoOracle,
            &Budget::default(),
        )
        .unwrap();
    assert_eq!(out, json!({"a": 7, "b": "5", "c": true}));
}
