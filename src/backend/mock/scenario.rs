//! Scenarios: a TOML file of rules that pin the mock's answer for matching requests
//! (model glob, prompt regex, schema title, declared function), plus per-model latency.
//!
//! ```toml
//! [[rule]]
//! prompt = "(?i)lab results"
//! text = "Your results are normal."
//!
//! [[rule]]
//! schema_title = "Person"
//! json = '{"name": "Ada"}'
//!
//! [[rule]]
//! function = "get_weather"
//! function_args = '{"city": "Paris"}'
//!
//! [[rule]]
//! model = "claude-*"
//! error = { code = 429, message = "quota" }
//!
//! [[model]]
//! model = "gemini-*"
//! ttft = "lognormal:800ms,0.4"
//! gap = "fixed:30ms"
//! ```

use std::path::Path;

use http::StatusCode;
use regex::Regex;
use serde::Deserialize;
use serde_json::Value;

use super::latency::{Dist, Latency, ModelLatency, glob};

/// A pinned answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Fixed {
    Text(String),
    Json(Value),
    FunctionArgs(Value),
    Error { status: StatusCode, message: String },
}

/// One compiled rule.
#[derive(Debug, Clone)]
pub struct Rule {
    model: Option<String>,
    prompt: Option<Regex>,
    schema_title: Option<String>,
    function: Option<String>,
    pub answer: Fixed,
}

/// What a rule can be matched against.
#[derive(Debug, Clone, Copy)]
pub struct Facts<'a> {
    pub model: &'a str,
    pub prompt: &'a str,
    pub schema_title: Option<&'a str>,
    pub functions: &'a [String],
}

impl Rule {
    pub fn matches(&self, f: &Facts<'_>) -> bool {
        self.model.as_ref().is_none_or(|g| glob(g, f.model))
            && self.prompt.as_ref().is_none_or(|re| re.is_match(f.prompt))
            && self
                .schema_title
                .as_ref()
                .is_none_or(|t| f.schema_title == Some(t.as_str()))
            && self
                .function
                .as_ref()
                .is_none_or(|name| f.functions.iter().any(|n| n == name))
    }

    /// The function a `function_args` answer calls.
    pub fn function(&self) -> Option<&str> {
        self.function.as_deref()
    }
}

/// The parsed scenario file.
#[derive(Debug, Clone, Default)]
pub struct Scenarios {
    pub rules: Vec<Rule>,
    pub models: Vec<ModelLatency>,
}

impl Scenarios {
    /// First rule matching `facts`.
    pub fn find(&self, facts: &Facts<'_>) -> Option<&Rule> {
        self.rules.iter().find(|r| r.matches(facts))
    }

    pub fn load(path: &Path) -> Result<Scenarios, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Scenarios::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    pub fn parse(text: &str) -> Result<Scenarios, String> {
        let file: File = toml::from_str(text).map_err(|e| e.to_string())?;
        let rules = file
            .rule
            .into_iter()
            .enumerate()
            .map(|(i, spec)| spec.compile().map_err(|e| format!("rule {}: {e}", i + 1)))
            .collect::<Result<_, _>>()?;
        let models = file
            .model
            .into_iter()
            .map(|m| {
                let parse = |d: Option<String>| d.map_or(Ok(Dist::default()), |s| s.parse::<Dist>());
                Ok(ModelLatency {
                    latency: Latency {
                        ttft: parse(m.ttft).map_err(|e| format!("model {}: ttft {e}", m.model))?,
                        gap: parse(m.gap).map_err(|e| format!("model {}: gap {e}", m.model))?,
                    },
                    pattern: m.model,
                })
            })
            .collect::<Result<_, String>>()?;
        Ok(Scenarios { rules, models })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    rule: Vec<RuleSpec>,
    #[serde(default)]
    model: Vec<ModelSpec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ModelSpec {
    model: String,
    ttft: Option<String>,
    gap: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleSpec {
    model: Option<String>,
    prompt: Option<String>,
    schema_title: Option<String>,
    function: Option<String>,
    text: Option<String>,
    json: Option<Value>,
    function_args: Option<Value>,
    error: Option<ErrorSpec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ErrorSpec {
    code: u16,
    message: Option<String>,
}

/// A TOML string holding JSON text is parsed; a TOML table or array is taken as is.
fn json_value(v: Value, what: &str) -> Result<Value, String> {
    match v {
        Value::String(s) => serde_json::from_str(&s).map_err(|e| format!("{what} is not valid JSON: {e}")),
        other => Ok(other),
    }
}

impl RuleSpec {
    fn compile(self) -> Result<Rule, String> {
        let answers = [
            self.text.is_some(),
            self.json.is_some(),
            self.function_args.is_some(),
            self.error.is_some(),
        ];
        if answers.iter().filter(|a| **a).count() != 1 {
            return Err("give exactly one of text, json, function_args, error".into());
        }
        let answer = if let Some(text) = self.text {
            Fixed::Text(text)
        } else if let Some(json) = self.json {
            Fixed::Json(json_value(json, "json")?)
        } else if let Some(args) = self.function_args {
            if self.function.is_none() {
                return Err("function_args needs `function` (the function to call)".into());
            }
            let args = json_value(args, "function_args")?;
            if !args.is_object() {
                return Err("function_args must be a JSON object".into());
            }
            Fixed::FunctionArgs(args)
        } else if let Some(err) = self.error {
            let status = StatusCode::from_u16(err.code)
                .ok()
                .filter(|s| s.is_client_error() || s.is_server_error())
                .ok_or_else(|| format!("error code {} is not a 4xx or 5xx status", err.code))?;
            Fixed::Error {
                status,
                message: err
                    .message
                    .unwrap_or_else(|| format!("shunt scenario error {}", err.code)),
            }
        } else {
            unreachable!("exactly one answer was checked above")
        };
        let prompt = self
            .prompt
            .map(|p| Regex::new(&p).map_err(|e| format!("prompt regex: {e}")))
            .transpose()?;
        Ok(Rule {
            model: self.model,
            prompt,
            schema_title: self.schema_title,
            function: self.function,
            answer,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"
[[rule]]
prompt = "(?i)lab results"
text = "normal"

[[rule]]
schema_title = "Person"
json = '{"name": "Ada"}'

[[rule]]
function = "get_weather"
function_args = { city = "Paris" }

[[rule]]
model = "claude-*"
error = { code = 429 }

[[model]]
model = "gemini-*"
ttft = "fixed:10ms"
"#;

    /// Each matcher selects its rule; the first match wins.
    #[test]
    fn matching() {
        let s = Scenarios::parse(FILE).expect("parse");
        let facts = |model, prompt, title, functions: &'static [String]| Facts {
            model,
            prompt,
            schema_title: title,
            functions,
        };
        let f = |x: Facts<'_>| s.find(&x).map(|r| r.answer.clone());
        assert_eq!(
            f(facts("gemini", "Show LAB RESULTS", None, &[])),
            Some(Fixed::Text("normal".into()))
        );
        assert_eq!(
            f(facts("gemini", "hi", Some("Person"), &[])),
            Some(Fixed::Json(serde_json::json!({"name": "Ada"})))
        );
        let funcs: &'static [String] = Box::leak(Box::new(["get_weather".to_string()]));
        assert_eq!(
            f(facts("gemini", "hi", None, funcs)),
            Some(Fixed::FunctionArgs(serde_json::json!({"city": "Paris"})))
        );
        assert!(matches!(
            f(facts("claude-x", "hi", None, &[])),
            Some(Fixed::Error { .. })
        ));
        assert_eq!(f(facts("gemini", "hi", None, &[])), None);
        assert_eq!(s.models.len(), 1);
    }

    /// Mistakes in the file are reported with the rule number.
    #[test]
    fn errors() {
        for (bad, want) in [
            ("[[rule]]\ntext='a'\njson='{}'", "exactly one"),
            ("[[rule]]\nfunction_args='{}'", "needs `function`"),
            ("[[rule]]\njson='{nope'", "not valid JSON"),
            ("[[rule]]\nprompt='('\ntext='a'", "regex"),
            ("[[rule]]\nerror={code=200}", "4xx or 5xx"),
            ("[[rule]]\ntxt='a'", "unknown field"),
        ] {
            let err = Scenarios::parse(bad).expect_err(bad);
            assert!(err.contains(want), "{bad}: {err}");
        }
    }
}
