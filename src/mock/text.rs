//! Deterministic filler text for the mock's text replies.

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

const WORDS: &[&str] = &[
    "the",
    "agent",
    "checks",
    "your",
    "request",
    "and",
    "finds",
    "a",
    "clear",
    "answer",
    "for",
    "this",
    "appointment",
    "schedule",
    "result",
    "patient",
    "doctor",
    "today",
    "tomorrow",
    "morning",
    "we",
    "can",
    "confirm",
    "that",
    "available",
    "time",
    "slot",
    "is",
    "open",
    "please",
    "review",
    "details",
    "below",
    "lab",
    "report",
    "shows",
    "normal",
    "values",
    "with",
    "no",
    "further",
    "action",
    "needed",
    "thank",
    "you",
    "waiting",
    "next",
    "step",
    "will",
    "follow",
    "shortly",
    "here",
    "summary",
    "of",
    "options",
];

/// `n` words chosen by `seed`, first word capitalised, ending with a period.
pub fn words(seed: u64, n: usize) -> Vec<String> {
    let mut rng = SmallRng::seed_from_u64(seed);
    let mut out: Vec<String> = (0..n.max(1))
        .map(|_| WORDS[rng.gen_range(0..WORDS.len())].to_string())
        .collect();
    if let Some(first) = out.first_mut() {
        let mut chars = first.chars();
        if let Some(c) = chars.next() {
            *first = c.to_uppercase().collect::<String>() + chars.as_str();
        }
    }
    if let Some(last) = out.last_mut() {
        last.push('.');
    }
    out
}
