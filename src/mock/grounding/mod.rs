//! Grounding: answers that follow what the prompt shows, the way a model's do.
//!
//! An agent framework needs more than schema-valid JSON: it needs the reply to echo the
//! identifiers its prompt printed (guideline ids, node ids, tool names), to fill the
//! template it showed (one entry per listed candidate, `"<BOOL>"` replaced by a boolean),
//! to say "yes, this applies" for the candidates the user's message is about and "no" for
//! the rest, and never to copy a few-shot example's values. This module reads the prompt
//! ([`prompt`]) and answers the schema generator's questions ([`Grounder`], a
//! [`schemagen::Oracle`]) with those rules. Nothing here knows any framework: the rules
//! are about prompts in general, and the tests run them on recorded prompts of several.
//!
//! Decisions are random but not coin flips: a yes/no about a candidate is "yes" with
//! probability `match_rate + (1 - match_rate) * affinity`, where affinity grows with the
//! topic words the candidate shares with the latest user message (0.6 for one, 0.84 for
//! two…).
//! A yes/no that is not about a listed candidate starts from how often the prompt's own
//! examples said yes for that key, when they show a clear habit (most say yes, or most say
//! no). Every draw comes from the request's seeded generator, so a run repeats.

pub mod lenient;
pub mod prompt;
pub mod words;

use std::collections::{BTreeSet, HashMap};
use std::sync::LazyLock;

use rand::Rng;
use rand::rngs::SmallRng;
use regex::Regex;
use schemagen::{Guide, Oracle, Site, key_matches};
use serde_json::Value;

use prompt::Ident;

/// Example yes-shares between these are read as "no habit".
const SKEW_LOW: f64 = 0.4;
const SKEW_HIGH: f64 = 0.6;

/// A last user turn longer than this is read as a prompt rather than a message.
const SHORT_MESSAGE: usize = 600;

/// The decision rates (`--match-rate`, `--null-rate`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rates {
    /// Chance a yes/no about a candidate the user's message does not mention says yes.
    pub match_rate: f64,
    /// Chance an optional field is left out (or a nullable one is null).
    pub null_rate: f64,
}

impl Default for Rates {
    fn default() -> Self {
        Rates {
            match_rate: 0.15,
            null_rate: 0.05,
        }
    }
}

/// Boolean and value statistics from the prompt's examples, by key.
#[derive(Debug, Clone, Default)]
struct Priors {
    /// key → (times true, times seen).
    booleans: HashMap<String, (u32, u32)>,
    /// key → string values seen.
    values: HashMap<String, Vec<String>>,
}

impl Priors {
    fn learn(&mut self, g: &Guide, key: Option<&str>) {
        match g {
            Guide::Value(Value::Bool(b)) => {
                if let Some(k) = key {
                    let e = self.booleans.entry(normal(k)).or_default();
                    e.0 += u32::from(*b);
                    e.1 += 1;
                }
            }
            Guide::Value(Value::String(s)) => {
                if let Some(k) = key {
                    let v = self.values.entry(normal(k)).or_default();
                    if v.len() < 64 {
                        v.push(s.clone());
                    }
                }
            }
            Guide::Value(_) | Guide::Hole(_) => {}
            Guide::Object(entries) => {
                for (k, v) in entries {
                    self.learn(v, Some(k));
                }
            }
            Guide::Array { items, .. } => {
                for v in items {
                    self.learn(v, key);
                }
            }
        }
    }

    /// Smoothed share of `true` for `key`, when examples show it.
    fn yes_share(&self, key: &str) -> Option<f64> {
        let (yes, seen) = *self.booleans.get(&normal(key))?;
        Some((f64::from(yes) + 0.5) / (f64::from(seen) + 1.0))
    }
}

fn normal(key: &str) -> String {
    words::name_tokens(key).join("_")
}

/// What the mock knows about one request: the prompt's template, the user's latest
/// message, the identifiers on offer and the examples' habits.
pub struct Grounder {
    rng: SmallRng,
    rates: Rates,
    template: Option<Guide>,
    /// The user's latest message, and its topic words.
    latest_text: Option<String>,
    latest_user: Option<BTreeSet<String>>,
    priors: Priors,
    ids: Vec<Ident>,
    /// Concrete text anywhere in the template: the subject when a site has none of its own.
    template_text: BTreeSet<String>,
}

impl Grounder {
    /// Read `prompt` for a reply to `schema` (JSON Schema form; `None` for free JSON or text).
    /// `latest_user` is the last user turn of the conversation; when it holds a whole
    /// prompt, the message quoted inside it is used instead.
    pub fn new(
        prompt: &str,
        latest_user: Option<&str>,
        schema: Option<&Value>,
        rates: Rates,
        rng: SmallRng,
    ) -> Self {
        let shape = |g: &Guide| schema.map_or(0.0, |s| shape_score(g, s));
        let reading = prompt::read(prompt, &shape);
        let template = schema.and_then(|_| reading.template(&shape)).cloned();
        let mut priors = Priors::default();
        for g in reading.example_guides() {
            priors.learn(g, None);
        }
        // A short last user turn is the user's message; a long one is a whole prompt (the
        // way Parlant asks), whose quoted conversation holds the message, if any.
        let latest = match latest_user {
            Some(u) if u.len() <= SHORT_MESSAGE => Some(u.to_string()),
            _ => prompt::embedded_user_message(prompt, &reading),
        };
        let mut template_text = BTreeSet::new();
        if let Some(t) = &template {
            collect_text(t, &mut template_text);
        }
        Grounder {
            rng,
            rates,
            template,
            latest_user: latest.as_deref().map(words::content),
            latest_text: latest,
            ids: prompt::identifiers(prompt, &reading),
            priors,
            template_text,
        }
    }

    /// The template to follow, if the prompt shows one that fits the schema.
    pub fn template(&self) -> Option<&Guide> {
        self.template.as_ref()
    }

    /// The user's latest message, as read from the conversation or the prompt.
    pub fn latest_user(&self) -> Option<&str> {
        self.latest_text.as_deref()
    }

    fn affinity(&self, text: &BTreeSet<String>) -> f64 {
        match &self.latest_user {
            Some(u) => words::affinity(text, u),
            None => 0.0,
        }
    }

    /// Identifier candidates for a field, as (value, its line, listed in the prompt): the
    /// values the placeholder quotes (`'0'`, `'None'`), then the prompt's identifiers
    /// labelled by one of the field's (or the placeholder's) words, else unlabelled
    /// numbered items.
    fn id_options(&self, site: &Site<'_>) -> Vec<(String, String, bool)> {
        let name = site.name.unwrap_or("");
        let mut stems: Vec<String> = words::name_tokens(name);
        if let Some(hole) = site.hole {
            stems.extend(words::name_tokens(hole));
        }
        stems.retain(|t| !matches!(t.as_str(), "id" | "ids" | "key") && t.len() > 2);
        let mut out: Vec<(String, String, bool)> = Vec::new();
        if let Some(hole) = site.hole {
            for q in quoted_literals(hole) {
                out.push((q, hole.to_string(), false));
            }
        }
        let labelled: Vec<&Ident> = self
            .ids
            .iter()
            .filter(|i| !i.label.is_empty() && stems.iter().any(|s| label_matches(&i.label, s)))
            .collect();
        let pool: Vec<&Ident> = if labelled.is_empty() {
            self.ids.iter().filter(|i| i.label.is_empty()).collect()
        } else {
            labelled
        };
        for i in pool {
            if !out.iter().any(|(v, _, _)| *v == i.value) {
                out.push((i.value.clone(), i.line.clone(), true));
            }
        }
        out
    }
}

impl Oracle for Grounder {
    fn boolean(&mut self, site: &Site<'_>) -> Option<bool> {
        let decision = site.hole.is_some() || site.in_item || is_decision_name(site.name.unwrap_or(""));
        let subject = site_text(site);
        let subject = if subject.is_empty() {
            self.template_text.clone()
        } else {
            subject
        };
        // Few-shot examples are balanced on purpose; only a clear habit (most of them say
        // yes, or most say no) is taken as the prompt's prior.
        let habit = site
            .name
            .and_then(|k| self.priors.yes_share(k))
            .filter(|share| !(SKEW_LOW..=SKEW_HIGH).contains(share));
        let base = match habit {
            Some(share) if !site.in_item => share,
            _ if decision => self.rates.match_rate,
            _ => 0.5,
        };
        let p = base + (1.0 - base) * self.affinity(&subject);
        Some(self.rng.gen_bool(p.clamp(0.0, 1.0)))
    }

    fn string(&mut self, site: &Site<'_>) -> Option<String> {
        let name = site.name.unwrap_or("");
        let tokens = words::name_tokens(name);
        let is_id = |t: &String| t == "id" || t == "ids";
        let id_like = tokens.last().is_some_and(is_id)
            || site
                .hole
                .is_some_and(|h| words::name_tokens(h).iter().take(8).any(is_id));
        if id_like {
            let options = self.id_options(site);
            if !options.is_empty() {
                let key = normal(name);
                let seen = self.priors.values.get(&key);
                // The identifiers the prompt lists are the main choices; the placeholder's
                // escape values (`'0'`, `'None'`) weigh as much as the examples use them.
                let weights: Vec<f64> = options
                    .iter()
                    .map(|(value, line, listed)| {
                        let habit = seen.map_or(0, |v| v.iter().filter(|s| *s == value).count()) as f64;
                        let base = if *listed { 3.0 } else { 0.5 };
                        base + 4.0 * self.affinity(&words::content(line)) + 2.0 * habit
                    })
                    .collect();
                return Some(options[pick_weighted(&mut self.rng, &weights)].0.clone());
            }
        }
        let hole = site.hole?;
        // A placeholder that quotes its allowed values (`either 'no', 'partially' or
        // 'fully'`) gets one of them.
        let options = quoted_literals(hole);
        if options.len() >= 2 {
            let values: Vec<Value> = options.iter().map(|o| Value::String(o.clone())).collect();
            let i = self.choose(site, &values).unwrap_or(0);
            return options.get(i).cloned();
        }
        // A field named after a sibling restates it (`rewritten_condition` ← `condition`);
        // other placeholders in a candidate restate the candidate's own text, the way a
        // model's rationale and conditions do.
        let own: Vec<String> = tokens.clone();
        for (key, text) in site.context {
            let theirs = words::name_tokens(key);
            if !theirs.is_empty()
                && theirs.len() < own.len()
                && theirs.iter().all(|t| own.contains(t))
                && !text.trim().is_empty()
            {
                return Some(text.clone());
            }
        }
        if !site.in_item {
            return None;
        }
        site.context
            .iter()
            .filter(|(key, text)| {
                !words::name_tokens(key).last().is_some_and(is_id) && text.split_whitespace().count() >= 3
            })
            .max_by_key(|(_, text)| text.len())
            .map(|(_, text)| text.clone())
    }

    fn choose(&mut self, site: &Site<'_>, options: &[Value]) -> Option<usize> {
        if options.len() < 2 {
            return None;
        }
        let seen = site.name.and_then(|k| self.priors.values.get(&normal(k)));
        let weights: Vec<f64> = options
            .iter()
            .map(|o| {
                let text = match o {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                let habit = seen.map_or(0, |v| v.iter().filter(|s| **s == text).count()) as f64;
                1.0 + 4.0 * self.affinity(&words::content(&text)) + habit
            })
            .collect();
        Some(pick_weighted(&mut self.rng, &weights))
    }

    fn enumerate(&mut self, _site: &Site<'_>, id_field: &str) -> Option<Vec<String>> {
        let stems: Vec<String> = words::name_tokens(id_field)
            .into_iter()
            .filter(|t| !matches!(t.as_str(), "id" | "ids" | "key"))
            .collect();
        if stems.is_empty() {
            return None;
        }
        let ids: Vec<String> = self
            .ids
            .iter()
            .filter(|i| stems.iter().any(|s| label_matches(&i.label, s)))
            .map(|i| i.value.clone())
            .take(32)
            .collect();
        (!ids.is_empty()).then_some(ids)
    }

    fn null_rate(&self) -> Option<f64> {
        Some(self.rates.null_rate)
    }
}

/// How well a block's keys fit the schema's top-level properties (0 to 1).
pub fn shape_score(g: &Guide, schema: &Value) -> f64 {
    let props = top_properties(schema);
    match g {
        Guide::Object(entries) if !props.is_empty() => {
            let matched = props
                .iter()
                .filter(|p| entries.iter().any(|(k, _)| key_matches(k, p)))
                .count();
            let extra = entries
                .iter()
                .filter(|(k, _)| !props.iter().any(|p| key_matches(k, p)))
                .count();
            matched as f64 / (props.len() + extra) as f64
        }
        Guide::Array { items, .. } if schema.get("items").is_some() => {
            let item_schema = schema.get("items").unwrap_or(&Value::Null);
            items.first().map_or(0.0, |i| shape_score(i, item_schema))
        }
        _ => 0.0,
    }
}

/// Property names at the top of a schema (following a root `$ref` into `$defs`).
fn top_properties(schema: &Value) -> Vec<String> {
    let mut s = schema;
    for _ in 0..4 {
        match s.get("$ref").and_then(Value::as_str) {
            Some(r) => match r
                .strip_prefix("#/")
                .and_then(|p| schema.pointer(&format!("/{p}")))
            {
                Some(target) => s = target,
                None => break,
            },
            None => break,
        }
    }
    s.get("properties")
        .and_then(Value::as_object)
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default()
}

/// Topic words of the site's context (the candidate being judged).
fn site_text(site: &Site<'_>) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (_, text) in site.context {
        out.extend(words::content(text));
    }
    out
}

/// Topic words of a template: its concrete text, and the identifiers its placeholders name
/// (`<… YOUR REASONING FOR RUNNING built-in:get_lab_results>` is about that tool).
fn collect_text(g: &Guide, out: &mut BTreeSet<String>) {
    match g {
        Guide::Value(Value::String(s)) => out.extend(words::content(s)),
        Guide::Hole(h) => {
            for token in h.split_whitespace().filter(|t| t.contains('_')) {
                out.extend(words::content(&words::name_tokens(token).join(" ")));
            }
        }
        Guide::Value(_) => {}
        Guide::Object(entries) => entries.iter().for_each(|(_, v)| collect_text(v, out)),
        Guide::Array { items, .. } => items.iter().for_each(|v| collect_text(v, out)),
    }
}

/// Names that read as a decision: `applies`, `is_applicable`, `should_run`,
/// `requires_backtracking`, `needs_rewrite`, `condition_met`, …
fn is_decision_name(name: &str) -> bool {
    let t = words::name_tokens(name);
    let first = t.first().map(String::as_str).unwrap_or("");
    matches!(
        first,
        "is" | "should"
            | "requires"
            | "require"
            | "needs"
            | "need"
            | "has"
            | "can"
            | "must"
            | "applies"
            | "apply"
    ) || t.iter().any(|w| {
        matches!(
            w.as_str(),
            "applies"
                | "applicable"
                | "relevant"
                | "matches"
                | "match"
                | "met"
                | "run"
                | "continues"
                | "completed"
        )
    })
}

/// Whether an identifier's label names the field's word (`condition` ~ `conditions`).
fn label_matches(label: &str, stem: &str) -> bool {
    let l = label.trim_end_matches('s');
    let s = stem.trim_end_matches('s');
    !l.is_empty() && l == s
}

static QUOTED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?:^|[^A-Za-z0-9])(?:'([^'\s]{1,40})'|"([^"\s]{1,40})")(?:[^A-Za-z0-9]|$)"#)
        .expect("static regex")
});

/// `'0'` and `"None"` quoted in a placeholder: the values it says are allowed. An
/// apostrophe inside a word (`hasn't`) is not a quote.
fn quoted_literals(hole: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut at = 0;
    while let Some(c) = QUOTED.captures_at(hole, at) {
        let (Some(all), Some(inner)) = (c.get(0), c.get(1).or_else(|| c.get(2))) else {
            break;
        };
        if !out.iter().any(|o| o == inner.as_str()) {
            out.push(inner.as_str().to_string());
        }
        // The closing quote may open the next match's leading separator.
        at = inner.end() + 1;
        if at <= all.start() {
            at = all.end();
        }
    }
    out
}

fn pick_weighted(rng: &mut SmallRng, weights: &[f64]) -> usize {
    let total: f64 = weights.iter().sum();
    if total <= 0.0 || !total.is_finite() {
        return 0;
    }
    let mut r = rng.gen_range(0.0..total);
    for (i, w) in weights.iter().enumerate() {
        if r < *w {
            return i;
        }
        r -= w;
    }
    weights.len() - 1
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Quoted options, not apostrophes.
    #[test]
    fn quoted() {
        assert_eq!(
            quoted_literals(
                "id of the applied condition, '0' if current step hasn't completed or 'None' if not"
            ),
            ["0", "None"]
        );
        assert_eq!(
            quoted_literals("either 'no', 'partially' or 'fully'"),
            ["no", "partially", "fully"]
        );
        assert!(quoted_literals("the customer's own words").is_empty());
    }
}
