//! The mock's knobs that can change while it runs (`GET`/`PUT /admin/mock`, the
//! dashboard): default latency, fault rates and the decision rates. Per-model latency from
//! a scenario file still wins over the default. A change applies to the requests that
//! start after it.

use serde_json::{Value, json};

use super::MockConfig;
use super::latency::Dist;

/// The current values.
#[derive(Debug, Clone, PartialEq)]
pub struct Knobs {
    pub ttft: Dist,
    pub gap: Dist,
    pub fault_429: f64,
    pub fault_500: f64,
    pub fault_503: f64,
    pub fault_cut: f64,
    pub match_rate: f64,
    pub null_rate: f64,
    pub auto_call_rate: f64,
}

/// Names a `PUT` may set, in the order they are shown.
pub const NAMES: &[&str] = &[
    "ttft",
    "gap",
    "fault_429",
    "fault_500",
    "fault_503",
    "fault_cut",
    "match_rate",
    "null_rate",
    "auto_call_rate",
];

impl Knobs {
    /// The knobs as the flags set them.
    pub fn from_config(c: &MockConfig) -> Knobs {
        Knobs {
            ttft: c.latency.default.ttft.clone(),
            gap: c.latency.default.gap.clone(),
            fault_429: c.faults.rate_429,
            fault_500: c.faults.rate_500,
            fault_503: c.faults.rate_503,
            fault_cut: c.faults.rate_cut,
            match_rate: c.rates.match_rate,
            null_rate: c.rates.null_rate,
            auto_call_rate: c.planning.auto_call_rate,
        }
    }

    pub fn to_json(&self) -> Value {
        json!({
            "ttft": self.ttft.to_string(),
            "gap": self.gap.to_string(),
            "fault_429": self.fault_429,
            "fault_500": self.fault_500,
            "fault_503": self.fault_503,
            "fault_cut": self.fault_cut,
            "match_rate": self.match_rate,
            "null_rate": self.null_rate,
            "auto_call_rate": self.auto_call_rate,
        })
    }

    /// These knobs with `patch` (a JSON object of some of [`NAMES`]) applied, and a line
    /// per change (`ttft: fixed:0ms → fixed:500ms`). Errors name the field; nothing is
    /// applied unless every field is valid.
    pub fn apply(&self, patch: &Value) -> Result<(Knobs, Vec<String>), String> {
        let Value::Object(fields) = patch else {
            return Err("the body must be a JSON object of knobs".into());
        };
        let mut next = self.clone();
        for (name, value) in fields {
            match name.as_str() {
                "ttft" => next.ttft = dist(name, value)?,
                "gap" => next.gap = dist(name, value)?,
                "fault_429" => next.fault_429 = rate(name, value)?,
                "fault_500" => next.fault_500 = rate(name, value)?,
                "fault_503" => next.fault_503 = rate(name, value)?,
                "fault_cut" => next.fault_cut = rate(name, value)?,
                "match_rate" => next.match_rate = rate(name, value)?,
                "null_rate" => next.null_rate = rate(name, value)?,
                "auto_call_rate" => next.auto_call_rate = rate(name, value)?,
                other => {
                    return Err(format!(
                        "unknown knob `{other}`; the knobs are {}",
                        NAMES.join(", ")
                    ));
                }
            }
        }
        let sum = next.fault_429 + next.fault_500 + next.fault_503;
        if sum > 1.0 + 1e-9 {
            return Err(format!("fault_429 + fault_500 + fault_503 = {sum}, above 1"));
        }
        let (before, after) = (self.to_json(), next.to_json());
        let changes = NAMES
            .iter()
            .filter(|n| before[**n] != after[**n])
            .map(|n| format!("{n}: {} → {}", show(&before[*n]), show(&after[*n])))
            .collect();
        Ok((next, changes))
    }
}

fn show(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn dist(name: &str, v: &Value) -> Result<Dist, String> {
    let text = match v {
        Value::String(s) => s.clone(),
        Value::Number(n) if n.as_f64() == Some(0.0) => "0".into(),
        _ => {
            return Err(format!(
                "{name}: expected a latency such as \"200ms\" or \"uniform:100ms..300ms\""
            ));
        }
    };
    text.parse::<Dist>().map_err(|e| format!("{name}: {e}"))
}

fn rate(name: &str, v: &Value) -> Result<f64, String> {
    v.as_f64()
        .filter(|r| (0.0..=1.0).contains(r))
        .ok_or_else(|| format!("{name}: expected a number between 0 and 1, got {v}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A partial patch changes what it names and reports each change; a bad value changes
    /// nothing and names the field.
    #[test]
    fn patches() {
        let k = Knobs::from_config(&MockConfig::default());
        let (next, changes) = k
            .apply(&json!({"ttft": "500ms", "fault_429": 0.25}))
            .expect("valid");
        assert_eq!(next.ttft.to_string(), "fixed:500ms");
        assert_eq!(next.fault_429, 0.25);
        assert_eq!(next.gap, k.gap);
        assert_eq!(
            changes,
            vec!["ttft: fixed:0ms → fixed:500ms", "fault_429: 0.0 → 0.25"]
        );
        for (bad, field) in [
            (json!({"ttft": "soon"}), "ttft"),
            (json!({"match_rate": 2}), "match_rate"),
            (
                json!({"fault_429": 0.6, "fault_500": 0.6}),
                "fault_429 + fault_500",
            ),
            (json!({"speed": 1}), "unknown knob"),
            (json!([1]), "JSON object"),
        ] {
            let err = k.apply(&bad).expect_err("refused");
            assert!(err.contains(field), "{bad}: {err}");
        }
    }
}
