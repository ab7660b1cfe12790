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

/// Standard base64 (computeTokens returns token bytes this way).
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

pub fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".to_string())
}
