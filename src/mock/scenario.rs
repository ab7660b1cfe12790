//! Scenarios: a TOML file of rules that set the mock's answer for matching requests
//! (provider, model glob, prompt regex, schema title, declared function), plus per-model
//! latency. `provider` is the API's name: `vertex`, `vertex_anthropic`, `gemini_api`,
//! `openai`, `azure_openai`, `anthropic` or `bedrock`.
//! A rule answers with fixed text, JSON, function arguments or an error, or with a
//! minijinja template that sees the request (see [`TemplateContext`]).
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
//! [[rule]]
//! provider = "openai"
//! text = "Hello from the OpenAI mock."
//!
//! [[rule]]
//! prompt = "(?i)weather in (?P<city>\\w+)"
//! template = 'It is sunny in {{ captures.city }} ({{ model }}).'
//!
//! [[model]]
//! model = "gemini-*"
//! ttft = "lognormal:800ms,0.4"
//! gap = "fixed:30ms"
//! ```

use std::path::Path;
use std::sync::Arc;

use http::StatusCode;
use regex::Regex;
use serde::Deserialize;
use serde_json::Value;

use super::latency::{Dist, Latency, ModelLatency, glob};

/// A rule's answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Fixed {
    Text(String),
    Json(Value),
    FunctionArgs(Value),
    Error {
        status: StatusCode,
        message: String,
    },
    /// A template rendered per request (named `rule-N` in the scenarios' environment).
    Template {
        name: String,
        output: Output,
    },
}

/// What a template renders to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// The reply text.
    Text,
    /// JSON for the response schema (validated against it).
    Json,
    /// Arguments for the rule's `function` (validated against its parameters).
    Args,
    /// JSON when the request asks for JSON, else text.
    Auto,
}

/// One compiled rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// 1-based position in the file, for error messages.
    pub number: usize,
    provider: Option<String>,
    model: Option<String>,
    prompt: Option<Regex>,
    schema_title: Option<String>,
    function: Option<String>,
    pub answer: Fixed,
}

/// What a rule can be matched against, and what its template sees.
#[derive(Debug, Clone, Copy)]
pub struct Facts<'a> {
    /// The API the request came in on (`openai`, `vertex`, ...).
    pub provider: &'a str,
    pub model: &'a str,
    pub prompt: &'a str,
    pub schema_title: Option<&'a str>,
    pub functions: &'a [String],
    /// The latest user message.
    pub last_user: Option<&'a str>,
    /// The request body.
    pub request: &'a Value,
}

impl Rule {
    pub fn matches(&self, f: &Facts<'_>) -> bool {
        self.provider.as_ref().is_none_or(|p| p == f.provider)
            && self.model.as_ref().is_none_or(|g| glob(g, f.model))
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

    /// `rule N (model = "…", schema_title = "…")`: how errors name the rule.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(p) = &self.provider {
            parts.push(format!("provider = {p:?}"));
        }
        if let Some(m) = &self.model {
            parts.push(format!("model = {m:?}"));
        }
        if let Some(p) = &self.prompt {
            parts.push(format!("prompt = {:?}", p.as_str()));
        }
        if let Some(t) = &self.schema_title {
            parts.push(format!("schema_title = {t:?}"));
        }
        if let Some(f) = &self.function {
            parts.push(format!("function = {f:?}"));
        }
        if parts.is_empty() {
            format!("scenario rule {}", self.number)
        } else {
            format!("scenario rule {} ({})", self.number, parts.join(", "))
        }
    }
}

/// What a template sees, by name: `prompt` (all prompt text), `last_user` (the latest user
/// message), `model`, `schema_title`, `functions` (declared function names), `captures`
/// (the rule's `prompt` regex groups, by name and by number), `request` (the request body)
/// and the function `jsonpath(expr)` (the first match of an RFC 9535 JSONPath in the body).
#[derive(Debug, serde::Serialize)]
pub struct TemplateContext<'a> {
    pub prompt: &'a str,
    pub last_user: Option<&'a str>,
    pub model: &'a str,
    pub schema_title: Option<&'a str>,
    pub functions: &'a [String],
    pub captures: std::collections::BTreeMap<String, String>,
    pub request: &'a Value,
}

/// Most template instructions one render may run: a template cannot loop forever.
const TEMPLATE_FUEL: u64 = 1_000_000;

/// The parsed scenario file.
#[derive(Debug, Clone, Default)]
pub struct Scenarios {
    pub rules: Vec<Rule>,
    pub models: Vec<ModelLatency>,
    /// The rules' compiled templates.
    templates: Arc<minijinja::Environment<'static>>,
}

impl Scenarios {
    /// First rule matching `facts`.
    pub fn find(&self, facts: &Facts<'_>) -> Option<&Rule> {
        self.rules.iter().find(|r| r.matches(facts))
    }

    /// Render `rule`'s template for a request. The error names the rule.
    pub fn render(&self, rule: &Rule, facts: &Facts<'_>) -> Result<String, String> {
        let Fixed::Template { name, .. } = &rule.answer else {
            return Err(format!("{}: not a template rule", rule.describe()));
        };
        let mut captures = std::collections::BTreeMap::new();
        if let Some(c) = rule.prompt.as_ref().and_then(|re| re.captures(facts.prompt)) {
            let names: Vec<Option<&str>> = rule
                .prompt
                .as_ref()
                .map_or(Vec::new(), |re| re.capture_names().collect());
            for (i, m) in c.iter().enumerate() {
                let Some(m) = m else { continue };
                captures.insert(i.to_string(), m.as_str().to_string());
                if let Some(Some(n)) = names.get(i) {
                    captures.insert((*n).to_string(), m.as_str().to_string());
                }
            }
        }
        let context = TemplateContext {
            prompt: facts.prompt,
            last_user: facts.last_user,
            model: facts.model,
            schema_title: facts.schema_title,
            functions: facts.functions,
            captures,
            request: facts.request,
        };
        let template = self
            .templates
            .get_template(name)
            .map_err(|e| format!("{}: {e}", rule.describe()))?;
        template
            .render(minijinja::Value::from(minijinja::value::Serde(&context)))
            .map_err(|e| format!("{}: template failed: {e}", rule.describe()))
    }

    /// Read a scenario file; errors are one line naming the file (and the line at fault).
    pub fn load(path: &Path) -> Result<Scenarios, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Scenarios::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Parse scenario TOML and check every rule and template.
    pub fn parse(text: &str) -> Result<Scenarios, String> {
        let file: File = toml::from_str(text).map_err(|e| toml_error(text, &e))?;
        let mut templates = template_environment();
        let rules = file
            .rule
            .into_iter()
            .enumerate()
            .map(|(i, spec)| {
                spec.compile(i + 1, &mut templates)
                    .map_err(|e| format!("rule {}: {e}", i + 1))
            })
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
        Ok(Scenarios {
            rules,
            models,
            templates: Arc::new(templates),
        })
    }
}

/// The environment rule templates compile in: undefined names are errors (a typo fails
/// loudly), output is not HTML-escaped, work per render is bounded, and `jsonpath(expr)`
/// looks into the request body.
fn template_environment() -> minijinja::Environment<'static> {
    let mut env = minijinja::Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    env.set_fuel(Some(TEMPLATE_FUEL));
    env.add_function("jsonpath", jsonpath);
    env
}

/// `jsonpath("$.contents[-1].parts[0].text")`: the first match in the request body, or
/// none.
fn jsonpath(state: &minijinja::State<'_, '_>, expr: &str) -> Result<minijinja::Value, minijinja::Error> {
    let invalid = |msg: String| minijinja::Error::new(minijinja::ErrorKind::InvalidOperation, msg);
    let path =
        serde_json_path::JsonPath::parse(expr).map_err(|e| invalid(format!("jsonpath {expr:?}: {e}")))?;
    let request = state.lookup("request").unwrap_or_default();
    let body: Value = serde_json::to_value(&request).map_err(|e| invalid(e.to_string()))?;
    Ok(path
        .query(&body)
        .first()
        .map(|v| minijinja::Value::from(minijinja::value::Serde(v)))
        .unwrap_or_default())
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
    provider: Option<String>,
    model: Option<String>,
    prompt: Option<String>,
    schema_title: Option<String>,
    function: Option<String>,
    text: Option<String>,
    json: Option<Value>,
    function_args: Option<Value>,
    error: Option<ErrorSpec>,
    /// A minijinja template rendered per request.
    template: Option<String>,
    /// What the template renders: `text`, `json` or `args` (default: `args` with
    /// `function`, else `json` when the request has a schema, else `text`).
    #[serde(rename = "as")]
    render_as: Option<String>,
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
    fn compile(self, number: usize, templates: &mut minijinja::Environment<'static>) -> Result<Rule, String> {
        let answers = [
            self.text.is_some(),
            self.json.is_some(),
            self.function_args.is_some(),
            self.error.is_some(),
            self.template.is_some(),
        ];
        if answers.iter().filter(|a| **a).count() != 1 {
            return Err("give exactly one of text, json, function_args, error, template".into());
        }
        if self.render_as.is_some() && self.template.is_none() {
            return Err("`as` goes with `template`".into());
        }
        let answer = if let Some(source) = self.template {
            let output = match self.render_as.as_deref() {
                Some("text") => Output::Text,
                Some("json") => Output::Json,
                Some("args") if self.function.is_some() => Output::Args,
                Some("args") => return Err("as = \"args\" needs `function` (the function to call)".into()),
                Some(other) => return Err(format!("as = {other:?}: expected text, json or args")),
                None if self.function.is_some() => Output::Args,
                None => Output::Auto,
            };
            let name = format!("rule-{number}");
            templates
                .add_template_owned(name.clone(), source)
                .map_err(|e| format!("template: {e}"))?;
            Fixed::Template { name, output }
        } else if let Some(text) = self.text {
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
        const PROVIDERS: &[&str] = &[
            "vertex",
            "vertex_anthropic",
            "gemini_api",
            "openai",
            "azure_openai",
            "anthropic",
            "bedrock",
        ];
        if let Some(p) = &self.provider
            && !PROVIDERS.contains(&p.as_str())
        {
            return Err(format!("provider {p:?} is not one of {}", PROVIDERS.join(", ")));
        }
        Ok(Rule {
            number,
            provider: self.provider,
            model: self.model,
            prompt,
            schema_title: self.schema_title,
            function: self.function,
            answer,
        })
    }
}

/// A TOML error on one line: `line L, column C: message` (toml's own rendering quotes
/// the source over several lines).
fn toml_error(text: &str, e: &toml::de::Error) -> String {
    let message = e.message().trim().replace('\n', " ");
    match e.span() {
        Some(span) => {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            format!("TOML error at line {line}, column {column}: {message}")
        }
        None => format!("TOML error: {message}"),
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

[[rule]]
provider = "openai"
text = "from openai"

[[model]]
model = "gemini-*"
ttft = "fixed:10ms"
"#;

    /// Each matcher selects its rule; the first match wins.
    #[test]
    fn matching() {
        let s = Scenarios::parse(FILE).expect("parse");
        let facts = |model, prompt, title, functions: &'static [String]| Facts {
            provider: "vertex",
            model,
            prompt,
            schema_title: title,
            functions,
            last_user: None,
            request: &Value::Null,
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
        let openai = Facts {
            provider: "openai",
            ..facts("gpt-4o", "hi", None, &[])
        };
        assert_eq!(f(openai), Some(Fixed::Text("from openai".into())));
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
            ("[[rule]]\nprovider='azure'\ntext='a'", "not one of"),
        ] {
            let err = Scenarios::parse(bad).expect_err(bad);
            assert!(err.contains(want), "{bad}: {err}");
        }
    }
}
