//! Deterministic filler text and token counting for the mock.

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

/// FNV-1a over bytes: a stable hash (unlike `DefaultHasher`) for seeding replies.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

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

/// Rough token count: about four characters per token, at least one for non-empty text.
pub fn count_tokens(text: &str) -> u64 {
    let chars = text.chars().count() as u64;
    if chars == 0 { 0 } else { chars.div_ceil(4) }
}
