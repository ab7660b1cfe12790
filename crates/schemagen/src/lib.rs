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
//!   (`definitions`, array-form `items` + `additionalItems`, `dependencies`). A schema whose
//!   `$schema` declares an earlier draft (4, 6, 7, 2019-09) is read as that draft: keywords it
//!   does not know (`const` and `if` under draft 4...) are dropped before generation, and so
//!   are the assertions beside a `$ref` under drafts 4 to 7, which those drafts ignore.
//!
//! # Keywords that steer generation
//! `type` (string or array), `enum`, `const`, `default`/`examples`/`example` (used sometimes
//! when they validate), `$ref` (JSON pointers such as `#/$defs/X`, `#/definitions/X`,
//! `#/properties/a/items`, `#anchor` via `$anchor`, and `$id`-named subschemas of the same
//! document; any other reference reads as `{}`, see Limits), `allOf` (merged), `anyOf`,
//! `oneOf` (the value must match exactly one branch: it is checked, and other choices are
//! tried), `if`/`then`/`else` (two branches: a value built for `if` and `then` together, or
//! one for `else`, checked not to meet `if`), `properties`, `required`, `additionalProperties`
//! (bool or schema; a pure map schema gets 1–3 entries with plausible keys), `patternProperties`
//! and `propertyNames` (keys for extra entries), `minProperties`/`maxProperties`,
//! `propertyOrdering` (output key order), `items`, `prefixItems`, `contains`,
//! `minItems`/`maxItems`/`uniqueItems`, `minLength`/`maxLength`, `pattern`, `format`,
//! `minimum`/`maximum`/`exclusiveMinimum`/`exclusiveMaximum`/`multipleOf`. About half of the
//! optional properties are included; an object with more than 16 of them (a configuration
//! file's hundreds of settings) gets about 8.
//!
//! Formats produced: `date-time` (`2025-03-14T09:26:53Z`), `date` (days 1–28, so every month
//! has them), `time`, `duration` (`P3D`, `PT15M`, `PT2H30M`), `uuid`,
//! `email`/`idn-email`, `uri`/`iri`/`uri-reference`/`iri-reference`/`url`, `uri-template`,
//! `hostname`/`idn-hostname`, `ipv4`, `ipv6`, `json-pointer`, `relative-json-pointer`,
//! `regex`, and OpenAPI `byte` (base64). Other formats get a plain string.
//!
//! # Validity: who decides
//! There is one meaning of JSON Schema here, the `jsonschema` crate's, with format
//! validation on. [`Generator::new`] compiles the schema with it once, and every instance is
//! checked with it before it is returned; one it rejects is drawn again (a few times, see
//! [`Generator::generate_guided`]), and if no draw passes, the last one is returned as a
//! best effort. Its `pattern`s run on the `regex` engine (linear time), or on `fancy-regex`
//! with a backtracking limit for patterns that need look-around or back-references.
//!
//! The crate's own checks are internal and metered: while the value is built, a cheap
//! validator of the keywords above picks between candidates (`oneOf` exclusivity, `not`,
//! `if`/`then`/`else`, `dependentRequired`, `dependentSchemas`, an echoed sample) and the
//! termination analysis picks the cheapest branch past the depth budget. They only steer
//! generation; they never decide that an instance is valid. The internal validator ignores
//! `pattern`, `format` and which keys `patternProperties` regexes match; a candidate that
//! conflicts only there is caught by the `jsonschema` check and drawn again.
//!
//! # Recursion
//! Nesting beyond a depth budget ([`Generator::with_max_depth`], default 6 levels of
//! objects/arrays) takes the cheapest way out: the `null` branch of an `anyOf` or type list,
//! `minItems` elements, no optional properties. "Cheapest" comes from a fixed-point analysis of
//! every `$ref` target run once in [`Generator::new`]; a schema whose every branch recurses
//! through required properties is rejected there with [`SchemaError::UnboundedRecursion`].
//!
//! # Limits
//! - `pattern` is parsed by `regex-syntax` (the `regex` crate's parser: Unicode classes,
//!   POSIX classes, counted repetition, alternation, anchors and word boundaries).
//!   Back-references and look-around are not regular and are not supported: the value is
//!   then a plain string, which the final validation may reject. Only the first
//!   `pattern` in an `allOf` is used.
//! - `not`, `dependentRequired`, `dependentSchemas`, `minContains`/`maxContains`, and the
//!   `else` side of `if`, are enforced by check-and-retry, not built in, so narrow
//!   combinations can end in [`SchemaError::Unsatisfiable`].
//! - A `$ref` that does not resolve in the document (another document such as
//!   `other.json#/definitions/x` or `https://...`, which is never fetched, or a missing
//!   pointer) is unconstrained: it reads as `{}`, the true schema, both for generation and
//!   for the final `jsonschema` check (whose retriever hands back `{}` for every other
//!   document).
//! - `unevaluatedProperties`/`unevaluatedItems`, `$dynamicRef`, `contentEncoding`/
//!   `contentSchema` are not built in (the final check still applies them).
//! - Strings are ASCII where the schema allows. `minItems`/`minProperties` above 4 096 are
//!   reported as unsatisfiable rather than built. Integers stay within i64; numbers within
//!   ±10^15.
//!
//! # Budget
//! Every generation runs within a [`Budget`]: the instance's size in bytes of JSON, the
//! steps taken (values, `allOf`/`$ref` hops, validation nodes, pattern characters,
//! uniqueness checks), a deadline and a cancel flag. Sizes are checked before anything is
//! built (a `minLength` or a `pattern`'s shortest match that cannot fit is refused at
//! once), `uniqueItems` is checked by hashing, and the first limit hit ends the
//! generation with [`SchemaError::OverBudget`], naming the limit and the instance location.
//! - A format combined with a length range it cannot meet falls back to a plain string of the
//!   right length.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use rand::Rng;

use serde_json::{Map, Value};

pub(crate) type Obj = Map<String, Value>;

/// Guided draws tried before falling back to unguided ones.
const GUIDED_TRIES: usize = 2;
/// Unguided draws tried for one that the `jsonschema` crate accepts.
const UNGUIDED_TRIES: usize = 4;
/// Default instance nesting (objects and arrays) before generation takes the cheapest branch.
pub(crate) const DEFAULT_MAX_DEPTH: usize = 6;
/// Upper bound accepted by [`Generator::with_max_depth`].
pub(crate) const MAX_DEPTH_LIMIT: usize = 32;
/// Nesting past the budget at which generation gives up on a recursive schema.
pub(crate) const HARD_DEPTH_MARGIN: usize = 48;
/// Deepest schema nesting accepted; also bounds every recursive walk over the schema.
pub(crate) const MAX_NESTING: usize = 128;
/// Values generated per top-level call before giving up (bounds retries on narrow schemas).
pub(crate) const FUEL: u32 = 50_000;
/// Optional properties beyond which an unsampled object keeps only a share of them (about
/// half this many on average).
pub(crate) const WIDE_OBJECT: usize = 16;
/// Largest `minItems` / `minProperties` that is built rather than reported as unsatisfiable.
pub(crate) const MAX_COUNT: u64 = 4_096;
/// Largest `multipleOf` step turned into an integer step.
pub(crate) const MAX_SAFE_INT: i64 = 9_007_199_254_740_991;
/// Numbers are kept in a range where two decimals still round-trip.
pub(crate) const MAX_NUMBER: f64 = 1e15;
/// "No finite instance" in the termination analysis.
pub(crate) const INF: u32 = u32::MAX;

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
    /// No value satisfies the schema (empty `enum`, `minItems > maxItems`, conflicting `allOf`
    /// types...), or none was found within the search budget.
    Unsatisfiable(String),
    /// Every way through a recursive `$ref` cycle is required, so no finite instance exists.
    UnboundedRecursion(String),
    /// The schema, or a subschema, is not an object or boolean, or a keyword has the wrong shape.
    InvalidSchema(String),
    /// The instance would exceed the [`Budget`] (size, work, time) or was cancelled; `at`
    /// is the instance location being generated (`/items/17`).
    OverBudget { limit: Limit, at: String },
}

impl fmt::Display for SchemaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SchemaError::Unsatisfiable(why) => write!(f, "unsatisfiable schema: {why}"),
            SchemaError::UnboundedRecursion(why) => write!(f, "recursion cannot terminate: {why}"),
            SchemaError::InvalidSchema(why) => write!(f, "invalid schema: {why}"),
            SchemaError::OverBudget { limit, at } => {
                write!(
                    f,
                    "over the reply budget: {limit} (generating {})",
                    if at.is_empty() { "/" } else { at }
                )
            }
        }
    }
}

impl std::error::Error for SchemaError {}

impl SchemaError {
    /// Failures that another choice (an `anyOf` branch, a retry) may avoid.
    fn is_soft(&self) -> bool {
        match self {
            SchemaError::Unsatisfiable(_) | SchemaError::UnboundedRecursion(_) => true,
            SchemaError::InvalidSchema(_) | SchemaError::OverBudget { .. } => false,
        }
    }
}

/// A schema that has been checked once (shape, `$ref`s, termination) and can produce instances.
#[derive(Clone)]
pub struct Generator<'a> {
    /// The schema in JSON Schema form: borrowed as given, or rewritten from OpenAPI.
    root: Cow<'a, Value>,
    /// The `jsonschema` crate's reading of `root` (formats checked, other documents read as
    /// `{}`), which has the last word on every instance; `None` when it cannot compile the
    /// schema.
    validator: Option<Arc<jsonschema::Validator>>,
    /// Least instance depth reachable through each `$ref` string ([`INF`]: none).
    ref_cost: BTreeMap<String, u32>,
    max_depth: usize,
}

impl fmt::Debug for Generator<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Generator")
            .field("root", &self.root)
            .field("validated", &self.validator.is_some())
            .field("max_depth", &self.max_depth)
            .finish()
    }
}

impl<'a> Generator<'a> {
    /// Check `schema` and prepare to generate from it.
    pub fn new(schema: &'a Value, dialect: Dialect) -> Result<Self, SchemaError> {
        let mut root = match dialect {
            Dialect::JsonSchema => Cow::Borrowed(schema),
            Dialect::OpenApi => Cow::Owned(openapi_to_json_schema(schema)),
        };
        if let Some(read) = draft::for_declared_draft(&root) {
            root = Cow::Owned(read);
        }
        let mut refs = Vec::new();
        check(&root, "", 0, &mut refs)?;
        let ref_cost = ref_costs(&root, &refs);
        {
            let unmetered = Meter::new(&Budget::unlimited());
            let doc = Doc {
                root: &root,
                ref_cost: &ref_cost,
                meter: &unmetered,
            };
            if doc.cost(&root, 0) == INF {
                let no_recursion: BTreeMap<String, u32> = refs.iter().map(|r| (r.clone(), 0)).collect();
                let flat = Doc {
                    root: &root,
                    ref_cost: &no_recursion,
                    meter: &unmetered,
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
        let validator = verdict::validator(&root, &refs).map(Arc::new);
        Ok(Self {
            root,
            validator,
            ref_cost,
            max_depth: DEFAULT_MAX_DEPTH,
        })
    }

    /// Whether `instance` validates (per the `jsonschema` crate; true when it could not
    /// compile the schema).
    pub fn is_valid(&self, instance: &Value) -> bool {
        self.validator.as_ref().is_none_or(|v| v.is_valid(instance))
    }

    /// Nesting depth (objects and arrays) after which only the cheapest options are taken.
    /// Clamped to 32.
    #[must_use]
    pub fn with_max_depth(mut self, depth: usize) -> Self {
        self.max_depth = depth.min(MAX_DEPTH_LIMIT);
        self
    }

    /// The schema generated from, in JSON Schema form (keywords its declared `$schema` draft
    /// does not know, or ignores beside a `$ref`, dropped).
    pub fn schema(&self) -> &Value {
        &self.root
    }

    /// Draw one instance. `rng` drives every choice.
    pub fn generate<R: Rng + ?Sized>(&self, rng: &mut R) -> Result<Value, SchemaError> {
        self.generate_guided(rng, None, &mut NoOracle, &Budget::default())
    }

    /// Draw one instance that follows `guide` (a sample of the expected output) where it
    /// validates, asking `oracle` about the choices left open, within `budget` (every
    /// attempt together). The schema wins: a guided instance the `jsonschema` crate
    /// rejects is drawn again, then replaced by an unguided one.
    pub fn generate_guided<R: Rng + ?Sized>(
        &self,
        rng: &mut R,
        guide: Option<&Guide>,
        oracle: &mut dyn Oracle,
        budget: &Budget,
    ) -> Result<Value, SchemaError> {
        let meter = Meter::new(budget);
        let mut last = None;
        if guide.is_some() || oracle.null_rate().is_some() {
            for _ in 0..GUIDED_TRIES {
                // A guided walk that fails is not final: the unguided one below may not,
                // unless the budget is spent.
                match self.walk(rng, guide, oracle, &meter) {
                    Ok(v) if self.is_valid(&v) => return Ok(v),
                    Ok(v) => last = Some(v),
                    Err(e @ SchemaError::OverBudget { .. }) => return Err(e),
                    Err(_) => {}
                }
            }
        }
        // Unguided draws, best effort: the first that validates, else the last.
        for _ in 0..UNGUIDED_TRIES {
            let v = self.walk(rng, None, &mut NoOracle, &meter)?;
            if self.is_valid(&v) {
                return Ok(v);
            }
            last = Some(v);
        }
        last.ok_or_else(|| SchemaError::Unsatisfiable("no attempt made".into()))
    }

    fn walk<R: Rng + ?Sized>(
        &self,
        rng: &mut R,
        guide: Option<&Guide>,
        oracle: &mut dyn Oracle,
        meter: &Meter,
    ) -> Result<Value, SchemaError> {
        // Each attempt's output is counted afresh; work and time accumulate.
        meter.reset_bytes();
        let mut run = Run {
            doc: Doc {
                root: &self.root,
                ref_cost: &self.ref_cost,
                meter,
            },
            rng,
            oracle,
            fuel: FUEL,
            max_depth: self.max_depth,
            path: Vec::new(),
            over_at: None,
        };
        let at = run::At {
            guide,
            ..run::At::top()
        };
        let value = run.value(&[&*self.root], at, 0);
        match meter.limit() {
            Some(limit) => Err(SchemaError::OverBudget {
                limit,
                at: run.over_at.take().unwrap_or_default(),
            }),
            None => value,
        }
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

use budget::Meter;
use check::check;
use doc::{Doc, ref_costs};
use openapi::convert_openapi;
use run::Run;

pub use budget::{Budget, Limit};
pub use guide::{Guide, NoOracle, Oracle, Site, key_matches};
pub use words::name_tokens;

mod budget;
mod check;
mod doc;
mod draft;
mod guide;
mod keywords;
mod openapi;
mod pattern;
mod run;
mod types;
mod verdict;
mod words;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keywords::{integer_step, is_multiple};
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
        let meter = Meter::new(&Budget::unlimited());
        let doc = Doc {
            root: &root,
            ref_cost: &env,
            meter: &meter,
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
