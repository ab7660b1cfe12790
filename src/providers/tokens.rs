//! Token counting (the same count for countTokens, usage fields and cost, whatever the API)
//! and the stable hash replies are seeded from.

/// FNV-1a over bytes: a stable hash (unlike `DefaultHasher`) for seeding replies.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The tokens an answer's output counts as, the same for every API, streamed or not: the
/// text, or each call's name and arguments.
pub fn answer_tokens(answer: &super::Answer) -> u64 {
    match answer {
        super::Answer::Text(t) | super::Answer::Json(t) => count_tokens(t),
        super::Answer::Calls(calls) => calls
            .iter()
            .map(|c| count_tokens(&c.name) + count_tokens(&c.args.to_string()))
            .sum(),
        super::Answer::Error { .. } => 0,
    }
}

/// Rough token count: about four characters per token, at least one for non-empty text.
pub fn count_tokens(text: &str) -> u64 {
    let chars = text.chars().count() as u64;
    if chars == 0 { 0 } else { chars.div_ceil(4) }
}
