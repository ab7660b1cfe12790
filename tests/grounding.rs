//! Grounded structured output on recorded prompts (tests/fixtures/prompts): replies validate,
//! follow the prompt's output template, echo its identifiers, never copy few-shot example
//! values, and decide like a model (yes for candidates the user's message is about, the
//! base rate for the rest).

use std::path::PathBuf;
use std::sync::Arc;

use rand::SeedableRng;
use rand::rngs::SmallRng;
use serde_json::Value;
use shunt::mock::grounding::{Grounder, Rates, words};
use shunt::mock::{Mock, MockConfig};
use shunt::providers::{Answer, Ask, Gemini, Provider};
use shunt::route::classify_model_path;

const SEEDS: u64 = 12;
/// Draws per candidate for the decision statistics.
const DECISION_SEEDS: u64 = 96;

struct Fixture {
    name: String,
    ask: Ask,
    request: Value,
    schema: Value,
}

fn fixtures(prefix: &str) -> Vec<Fixture> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/prompts");
    let call = classify_model_path(
        "/v1beta1/projects/p/locations/l/publishers/google/models/gemini-2.5-flash:generateContent",
    )
    .expect("model path");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("fixtures dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(prefix))
        })
        .collect();
    paths.sort();
    assert!(!paths.is_empty(), "no fixtures named {prefix}*");
    paths
        .into_iter()
        .map(|p| {
            let f: Value = serde_json::from_str(&std::fs::read_to_string(&p).expect("read")).expect("json");
            let req = &f["request"];
            let (ask, _) = Gemini
                .generation(&call, req, "")
                .expect("valid")
                .expect("generation");
            let config = &req["generationConfig"];
            let schema = config
                .get("responseSchema")
                .map(schemagen::openapi_to_json_schema)
                .or_else(|| config.get("responseJsonSchema").cloned())
                .expect("schema");
            Fixture {
                name: p.file_name().expect("name").to_string_lossy().into_owned(),
                ask,
                request: req.clone(),
                schema,
            }
        })
        .collect()
}

fn mock(rates: Rates) -> Mock {
    let config = MockConfig {
        rates,
        ..MockConfig::default()
    };
    Mock::new(
        config,
        Arc::new(shunt::metrics::Metrics::new()),
        tokio_util::task::TaskTracker::new(),
    )
}

fn grounder(f: &Fixture, rates: Rates) -> Grounder {
    Grounder::new(
        &f.ask.prompt,
        f.ask.latest_user.as_deref(),
        Some(&f.schema),
        rates,
        SmallRng::seed_from_u64(0),
    )
}

fn reply(mock: &Mock, f: &Fixture, seed: u64) -> Value {
    match mock
        .plan(&f.ask, &f.request, &mut SmallRng::seed_from_u64(seed))
        .expect("plan")
    {
        Answer::Json(text) => serde_json::from_str(&text).expect("reply is JSON"),
        other => panic!("{}: not JSON: {other:?}", f.name),
    }
}

/// Every string in a value.
fn strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
        Value::Object(o) => o.values().for_each(|x| strings(x, out)),
        _ => {}
    }
}

/// Every reply validates against its schema (formats checked) and never carries a value
/// that only the prompt's few-shot examples use.
#[test]
fn replies_validate_and_skip_example_values() {
    let mock = mock(Rates::default());
    for f in fixtures("") {
        let validator = jsonschema::options()
            .should_validate_formats(true)
            .build(&f.schema)
            .expect("schema compiles");
        for seed in 0..SEEDS {
            let v = reply(&mock, &f, seed);
            let errors: Vec<String> = validator.iter_errors(&v).map(|e| e.to_string()).collect();
            assert!(errors.is_empty(), "{} seed {seed}: {errors:?}\n{v:#}", f.name);
            let mut all = Vec::new();
            strings(&v, &mut all);
            for s in all {
                assert!(
                    !s.contains("example-id-for-few-shots"),
                    "{}: echoed an example id: {v}",
                    f.name
                );
            }
        }
    }
}

/// The output template is followed: a reply has one entry per template item, in order,
/// with the template's ids and condition texts echoed (null rate 0: nothing left out).
#[test]
fn template_items_and_ids_are_echoed() {
    let rates = Rates {
        null_rate: 0.0,
        ..Rates::default()
    };
    let mock = mock(rates);
    for f in fixtures("parlant-Generic") {
        let grounder = grounder(&f, rates);
        let template = grounder
            .template()
            .unwrap_or_else(|| panic!("{}: no template found", f.name));
        let schemagen::Guide::Object(top) = template else {
            panic!("{}: template is not an object", f.name)
        };
        let Some((_, schemagen::Guide::Array { items, .. })) = top.iter().find(|(k, _)| k == "checks") else {
            panic!("{}: template has no checks", f.name)
        };
        let want_ids: Vec<String> = items
            .iter()
            .map(|i| match i {
                schemagen::Guide::Object(e) => match e.iter().find(|(k, _)| k == "guideline_id") {
                    Some((_, schemagen::Guide::Value(Value::String(s)))) => s.clone(),
                    other => panic!("{}: template id {other:?}", f.name),
                },
                other => panic!("{}: template item {other:?}", f.name),
            })
            .collect();
        for seed in 0..SEEDS {
            let v = reply(&mock, &f, seed);
            let checks = v["checks"]
                .as_array()
                .unwrap_or_else(|| panic!("{}: {v}", f.name));
            let ids: Vec<&str> = checks
                .iter()
                .map(|c| c["guideline_id"].as_str().expect("id"))
                .collect();
            assert_eq!(ids, want_ids, "{} seed {seed}", f.name);
            // The ids are the ones printed in the prompt's guideline list.
            for id in &ids {
                assert!(
                    f.ask.prompt.contains(&format!("{id})")),
                    "{}: id {id} not listed",
                    f.name
                );
            }
        }
    }
}

/// Decisions are not coin flips: a candidate whose text shares topic words with the user's
/// latest message says yes much more often than one that does not, which says yes at
/// about the base rate (`--match-rate`).
#[test]
fn decisions_lean_to_the_users_topic() {
    let rates = Rates::default();
    let mock = mock(rates);
    let (mut related, mut related_yes, mut unrelated, mut unrelated_yes) = (0u32, 0u32, 0u32, 0u32);
    for prefix in ["parlant-GenericActionable", "parlant-GenericObservational"] {
        for f in fixtures(prefix) {
            let grounder = grounder(&f, rates);
            let Some(user) = grounder.latest_user().map(str::to_string) else {
                continue;
            };
            let user_words = words::content(&user);
            for seed in 0..DECISION_SEEDS {
                let v = reply(&mock, &f, seed);
                for c in v["checks"].as_array().expect("checks") {
                    let cond = words::content(c["condition"].as_str().expect("condition"));
                    let yes = c["applies"].as_bool().expect("applies");
                    if words::shared(&cond, &user_words) > 0 {
                        related += 1;
                        related_yes += u32::from(yes);
                    } else {
                        unrelated += 1;
                        unrelated_yes += u32::from(yes);
                    }
                }
            }
        }
    }
    assert!(
        related >= 30 && unrelated >= 50,
        "related {related}, unrelated {unrelated}"
    );
    let (r, u) = (
        f64::from(related_yes) / f64::from(related),
        f64::from(unrelated_yes) / f64::from(unrelated),
    );
    assert!(r > 0.5, "related candidates said yes {r:.2} of the time");
    assert!(
        (u - rates.match_rate).abs() < 0.08,
        "unrelated said yes {u:.2}, base rate {}",
        rates.match_rate
    );
    assert!(r > u + 0.3, "related {r:.2} vs unrelated {u:.2}");
}

/// Identifiers the template leaves as placeholders come from what the prompt lists: a
/// journey transition is `'0'`, `'None'` or a listed condition id; a reachable node's
/// child is one the prompt names.
#[test]
fn identifiers_come_from_the_prompt() {
    let mock = mock(Rates::default());
    for f in fixtures("parlant-JourneyNextStepSelection") {
        let listed: Vec<String> = f
            .ask
            .prompt
            .rsplit("Example section is over")
            .next()
            .expect("real part")
            .match_indices("Condition (")
            .map(|(i, _)| {
                let rest = &f.ask.prompt.rsplit("Example section is over").next().expect("x")[i + 11..];
                rest[..rest.find(')').expect(")")].to_string()
            })
            .collect();
        for seed in 0..SEEDS {
            let v = reply(&mock, &f, seed);
            let id = v["applied_condition_id"].as_str().expect("id");
            assert!(
                id == "0" || id == "None" || listed.iter().any(|l| l == id),
                "{} seed {seed}: {id} not in 0/None/{listed:?}",
                f.name
            );
        }
    }
    for f in fixtures("parlant-ReachableNodesEvaluation") {
        for seed in 0..SEEDS {
            let v = reply(&mock, &f, seed);
            for child in v["children_conditions"].as_array().into_iter().flatten() {
                let id = child["child_id"].as_str().expect("child id");
                assert!(
                    f.ask.prompt.contains(&format!("Child id: {id}")),
                    "{}: child {id}",
                    f.name
                );
            }
        }
    }
}

/// Placeholders that quote their allowed values get one of them.
#[test]
fn quoted_options_are_used() {
    let mock = mock(Rates {
        null_rate: 0.0,
        ..Rates::default()
    });
    for f in fixtures("parlant-GenericResponseAnalysis") {
        for seed in 0..SEEDS {
            let v = reply(&mock, &f, seed);
            for c in v["checks"].as_array().expect("checks") {
                let degree = c["guideline_applied_degree"].as_str().expect("degree");
                assert!(
                    ["no", "partially", "fully"].contains(&degree),
                    "{}: {degree}",
                    f.name
                );
            }
        }
    }
}
