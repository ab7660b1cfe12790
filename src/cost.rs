//! What a model call would have cost on the real provider: a price table per model
//! (`data/prices.toml`, compiled in; `--prices FILE` replaces it) applied to the reply's
//! token counts. A model no rule prices is unpriced (`None`), never free.

use std::path::Path;

use serde::Deserialize;

use crate::mock::latency::glob;

/// The embedded table.
const EMBEDDED: &str = include_str!("../data/prices.toml");

/// Token counts of one call, by the kinds providers price differently.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tokens {
    pub input: u64,
    pub cached_input: u64,
    pub output: u64,
    pub thinking: u64,
}

/// One rule of the table: US dollars per million tokens.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Price {
    pub model: String,
    pub provider: Option<String>,
    pub input: f64,
    pub output: f64,
    pub cached_input: Option<f64>,
    pub thinking: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    price: Vec<Price>,
}

/// The price table (first matching rule wins).
#[derive(Debug, Clone)]
pub struct Prices {
    rules: Vec<Price>,
}

impl Prices {
    /// The table compiled into the binary.
    pub fn embedded() -> Prices {
        Prices::parse(EMBEDDED).expect("data/prices.toml parses (checked by the tests)")
    }

    /// A table from a file (`--prices`); errors name the file.
    pub fn load(path: &Path) -> Result<Prices, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("--prices {}: {e}", path.display()))?;
        Prices::parse(&text).map_err(|e| format!("--prices {}: {e}", path.display()))
    }

    /// A table from TOML text.
    pub fn parse(text: &str) -> Result<Prices, String> {
        let file: File = toml::from_str(text).map_err(|e| e.message().trim().replace('\n', " "))?;
        for (i, p) in file.price.iter().enumerate() {
            let rates = [Some(p.input), Some(p.output), p.cached_input, p.thinking];
            if rates.iter().flatten().any(|r| !r.is_finite() || *r < 0.0) {
                return Err(format!(
                    "price {} ({}): rates must be zero or more",
                    i + 1,
                    p.model
                ));
            }
        }
        Ok(Prices { rules: file.price })
    }

    /// The rule that prices `model` on `provider`.
    pub fn find(&self, provider: &str, model: &str) -> Option<&Price> {
        self.rules
            .iter()
            .find(|p| glob(&p.model, model) && p.provider.as_deref().is_none_or(|want| want == provider))
    }

    /// The cost of `tokens` on `model`, in US dollars; `None` when no rule prices it.
    pub fn estimate(&self, provider: &str, model: &str, tokens: Tokens) -> Option<f64> {
        let p = self.find(provider, model)?;
        let per_token = |rate: f64, n: u64| rate * n as f64 / 1e6;
        Some(
            per_token(p.input, tokens.input)
                + per_token(p.cached_input.unwrap_or(p.input), tokens.cached_input)
                + per_token(p.output, tokens.output)
                + per_token(p.thinking.unwrap_or(p.output), tokens.thinking),
        )
    }

    pub fn rules(&self) -> &[Price] {
        &self.rules
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The embedded table parses, and no rule is hidden behind an earlier one.
    #[test]
    fn embedded_table() {
        let prices = Prices::embedded();
        assert!(prices.rules().len() >= 30);
        for (i, rule) in prices.rules().iter().enumerate() {
            let example = rule.model.replace('*', "x");
            let provider = rule.provider.as_deref().unwrap_or("vertex");
            let first = prices.find(provider, &example).expect("priced");
            assert_eq!(
                first,
                rule,
                "rule {} ({}) is shadowed by {}",
                i + 1,
                rule.model,
                first.model
            );
        }
    }

    /// Tokens × rates, per kind; unknown models are unpriced, not free.
    #[test]
    fn estimates() {
        let prices = Prices::parse(
            "[[price]]\nmodel = \"m-*\"\ninput = 2.0\noutput = 10.0\ncached_input = 0.5\n\n\
             [[price]]\nmodel = \"v\"\nprovider = \"vertex\"\ninput = 1.0\noutput = 1.0\n",
        )
        .expect("parse");
        let tokens = Tokens {
            input: 1_000_000,
            cached_input: 2_000_000,
            output: 500_000,
            thinking: 100_000,
        };
        let cost = prices.estimate("openai", "m-1", tokens).expect("priced");
        assert!((cost - (2.0 + 1.0 + 5.0 + 1.0)).abs() < 1e-9, "{cost}");
        assert_eq!(prices.estimate("openai", "other", tokens), None);
        assert_eq!(
            prices.estimate("openai", "v", tokens),
            None,
            "provider-specific rule"
        );
        assert!(prices.estimate("vertex", "v", tokens).is_some());
        assert!(Prices::parse("[[price]]\nmodel = \"x\"\ninput = -1\noutput = 0\n").is_err());
        assert!(Prices::parse("[[price]]\nmodel = \"x\"\ninput = 1\n").is_err());
    }
}
