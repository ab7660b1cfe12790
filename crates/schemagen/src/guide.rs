//! Guided generation: a sample to follow and an oracle for the choices a schema leaves open.
//!
//! A [`Guide`] is a sample instance, typically the output template a prompt shows
//! (`{"checks": [{"guideline_id": "1", "applies": "<BOOL>"}]}`): concrete values are
//! echoed when they validate, placeholders ([`Guide::Hole`]) are filled, arrays get one
//! item per sample item, and objects take the properties the sample names. An [`Oracle`]
//! answers what the schema and the sample leave open (a boolean, a string, which enum
//! value, whether an optional field is present). Whatever they say, the schema wins: a
//! sample value or an oracle answer that does not validate is ignored.

use serde_json::Value;

/// A sample of the expected instance.
#[derive(Debug, Clone, PartialEq)]
pub enum Guide {
    /// A concrete scalar to echo when it validates.
    Value(Value),
    /// A placeholder to fill, with its text (`BOOL`, `str, why the condition is met`).
    Hole(String),
    /// Members in order; keys may carry annotations (`guidelines (include only if …)`).
    Object(Vec<(String, Guide)>),
    /// Items; `more` when the sample ends with `...` (more items of the same shape).
    Array { items: Vec<Guide>, more: bool },
}

/// Where a value is being generated, for the [`Oracle`].
#[derive(Debug, Clone, Copy)]
pub struct Site<'a> {
    /// The property name (or the schema title when there is none).
    pub name: Option<&'a str>,
    /// The placeholder the sample has here.
    pub hole: Option<&'a str>,
    /// Concrete members of the enclosing sample object, as (key, text): the candidate an
    /// item describes (`condition`, `guideline_id`).
    pub context: &'a [(String, String)],
    /// The value belongs to an array item: one candidate among several.
    pub in_item: bool,
}

/// Answers the choices the schema leaves open. Every method may decline (`None`), and
/// the generator then decides as it would unguided.
pub trait Oracle {
    /// A boolean for `site`.
    fn boolean(&mut self, _site: &Site<'_>) -> Option<bool> {
        None
    }
    /// A string for `site` (used when it fits the schema's length and has no `pattern`).
    fn string(&mut self, _site: &Site<'_>) -> Option<String> {
        None
    }
    /// Which of `options` (the allowed enum/const values) to pick.
    fn choose(&mut self, _site: &Site<'_>, _options: &[Value]) -> Option<usize> {
        None
    }
    /// For an array of objects keyed by `id_field`, the identifiers to produce one item
    /// each for (in order).
    fn enumerate(&mut self, _site: &Site<'_>, _id_field: &str) -> Option<Vec<String>> {
        None
    }
    /// Chance that an optional property is left out and a nullable value is null. `None`
    /// keeps the unguided habits (optional properties half the time, null one time in four).
    fn null_rate(&self) -> Option<f64> {
        None
    }
}

/// The oracle that declines everything: plain, unguided generation.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoOracle;

impl Oracle for NoOracle {}

/// Whether a sample's key names `property`: equal ignoring case and separators, or the
/// property followed by an annotation (`"guidelines (include only if …)"`).
pub fn key_matches(key: &str, property: &str) -> bool {
    let norm = |s: &str| -> String {
        s.chars()
            .filter(|c| c.is_alphanumeric())
            .flat_map(char::to_lowercase)
            .collect()
    };
    if key == property || norm(key) == norm(property) {
        return true;
    }
    key.strip_prefix(property)
        .is_some_and(|rest| rest.starts_with([' ', '(', '[']))
}

impl Guide {
    /// The concrete text members of an object sample, as (key, text).
    pub(crate) fn context(&self) -> Vec<(String, String)> {
        match self {
            Guide::Object(entries) => entries
                .iter()
                .filter_map(|(k, v)| match v {
                    Guide::Value(Value::String(s)) => Some((k.clone(), s.clone())),
                    Guide::Value(n @ Value::Number(_)) => Some((k.clone(), n.to_string())),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        }
    }

    /// The member of an object sample that names `property`.
    pub(crate) fn member(&self, property: &str) -> Option<&Guide> {
        match self {
            Guide::Object(entries) => entries
                .iter()
                .find(|(k, _)| k == property)
                .or_else(|| entries.iter().find(|(k, _)| key_matches(k, property)))
                .map(|(_, g)| g),
            _ => None,
        }
    }
}

/// Forms a sample scalar may take to fit the schema: itself, then a string as a number
/// or boolean and a number or boolean as a string (templates write `"applies": "true"`
/// and `"guideline_id": 1`).
pub(crate) fn coercions(v: &Value) -> Vec<Value> {
    let mut out = vec![v.clone()];
    match v {
        Value::String(s) => {
            let t = s.trim();
            if let Ok(n) = serde_json::from_str::<serde_json::Number>(t) {
                out.push(Value::Number(n));
            }
            match t.to_ascii_lowercase().as_str() {
                "true" => out.push(Value::Bool(true)),
                "false" => out.push(Value::Bool(false)),
                _ => {}
            }
        }
        Value::Number(n) => out.push(Value::String(n.to_string())),
        Value::Bool(b) => out.push(Value::String(b.to_string())),
        Value::Null | Value::Array(_) | Value::Object(_) => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Keys match across case, separators and annotations, and nothing else.
    #[test]
    fn keys() {
        assert!(key_matches("guideline_id", "guideline_id"));
        assert!(key_matches("GuidelineId", "guideline_id"));
        assert!(key_matches(
            "guidelines (include only if is_ambiguous is True)",
            "guidelines"
        ));
        assert!(!key_matches("guidelines_count", "guidelines"));
        assert!(!key_matches("id", "guideline_id"));
    }
}
