//! Content words and how much two texts share them: the mock's stand-in for "this
//! candidate is about what the user just said".

use std::collections::BTreeSet;

/// Words that carry no topic: function words, and the words every agent prompt uses for
/// its participants.
const STOP: &[&str] = &[
    "about", "above", "after", "again", "against", "all", "also", "and", "any", "are", "asks", "asked",
    "ask", "because", "been", "before", "being", "below", "between", "both", "but", "can", "could",
    "customer", "did", "does", "doing", "done", "down", "during", "each", "few", "for", "from", "further",
    "had", "has", "have", "having", "her", "here", "hers", "him", "his", "how", "i'd", "i'm", "into", "its",
    "just", "let", "like", "more", "most", "mine", "need", "needs", "not", "now", "off", "once", "only",
    "other", "our", "ours", "out", "over", "own", "patient", "please", "same", "she", "should", "some",
    "such", "than", "that", "the", "their", "theirs", "them", "then", "there", "these", "they", "this",
    "those", "through", "too", "under", "until", "user", "very", "want", "wants", "was", "way", "were",
    "what", "when", "where", "which", "while", "who", "whom", "why", "will", "with", "would", "you", "your",
    "yours", "yourself", "agent", "thanks", "thank", "hello", "okay", "yes",
];

/// The topic words of `text`: lower-case alphanumeric runs of three or more characters,
/// without stop words, plural `s` dropped.
pub fn content(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for raw in text.split(|c: char| !(c.is_alphanumeric() || c == '\'')) {
        let w = raw.trim_matches('\'').to_lowercase();
        if w.chars().count() < 3 || STOP.contains(&w.as_str()) {
            continue;
        }
        out.insert(stem(&w));
    }
    out
}

/// A light stem: enough that "results" meets "result" and "scheduling" meets "schedule".
fn stem(w: &str) -> String {
    let n = w.chars().count();
    if n > 4 && w.ends_with('s') && !w.ends_with("ss") {
        return w[..w.len() - 1].to_string();
    }
    w.to_string()
}

/// Whether two stemmed words name the same thing: equal, or sharing a prefix of five or
/// more characters ("schedule" / "scheduling").
fn same(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    let common = a.chars().zip(b.chars()).take_while(|(x, y)| x == y).count();
    common >= 5
}

/// How many of `candidate`'s topic words appear in `user`.
pub fn shared(candidate: &BTreeSet<String>, user: &BTreeSet<String>) -> usize {
    candidate
        .iter()
        .filter(|c| user.iter().any(|u| same(c, u)))
        .count()
}

/// Affinity in [0, 1): 0 when nothing is shared, 0.6 for one shared word, 0.84 for two, …
pub fn affinity(candidate: &BTreeSet<String>, user: &BTreeSet<String>) -> f64 {
    let n = shared(candidate, user).min(16) as i32;
    1.0 - 0.4_f64.powi(n)
}

pub use schemagen::name_tokens;

#[cfg(test)]
mod tests {
    use super::*;

    /// Topic words ignore function words and match across plural and -ing forms.
    #[test]
    fn overlap() {
        let user = content("Hi, I'd like to schedule an appointment.");
        assert_eq!(
            user.iter().map(String::as_str).collect::<Vec<_>>(),
            ["appointment", "schedule"]
        );
        let cand = content("The patient wants to schedule an appointment");
        assert_eq!(shared(&cand, &user), 2);
        assert!(affinity(&cand, &user) > 0.7);
        let other = content("The patient asks about lab results");
        assert_eq!(shared(&other, &user), 0);
        assert_eq!(affinity(&other, &user), 0.0);
        let lab = content("Can I see my lab results?");
        assert_eq!(shared(&content("Fetch the latest lab result"), &lab), 2);
        assert_eq!(shared(&content("scheduling"), &user), 1);
    }

    /// Identifier tokens from every casing.
    #[test]
    fn tokens() {
        assert_eq!(
            name_tokens("applied_condition_id"),
            ["applied", "condition", "id"]
        );
        assert_eq!(name_tokens("childId"), ["child", "id"]);
        assert_eq!(name_tokens("Guideline Id"), ["guideline", "id"]);
    }
}
