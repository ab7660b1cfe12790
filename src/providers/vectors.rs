//! Embedding vectors every provider answers with: deterministic per text, unit length,
//! and sized against the reply budget before they are built.

use rand::Rng;

use super::{ReplyBudget, tokens};

/// Bytes a float takes in the reply, about.
const FLOAT_BYTES: usize = 21;

/// Refuse a reply of `count` vectors of `dims` floats that would exceed the reply budget.
pub fn check_vectors(count: usize, dims: usize, budget: &ReplyBudget) -> Result<(), String> {
    let size = count.saturating_mul(dims).saturating_mul(FLOAT_BYTES);
    if size > budget.max_bytes {
        return Err(format!(
            "{count} embeddings of {dims} dimensions would take about {size} bytes, over the reply \
             budget of {} bytes (shunt's --max-reply-bytes)",
            budget.max_bytes
        ));
    }
    Ok(())
}

/// A deterministic unit vector for `text`: distinct texts give distinct vectors.
pub fn embedding(text: &str, dims: usize) -> Vec<f64> {
    use rand::SeedableRng;
    let mut rng = rand::rngs::SmallRng::seed_from_u64(tokens::fnv1a(text.as_bytes()));
    let raw: Vec<f64> = (0..dims).map(|_| rng.gen_range(-1.0..1.0)).collect();
    let norm = raw
        .iter()
        .map(|x| x * x)
        .sum::<f64>()
        .sqrt()
        .max(f64::MIN_POSITIVE);
    raw.into_iter().map(|x| x / norm).collect()
}
