//! Per-host decisions: intercept (and with which service), tunnel, or deny.
//!
//! The host table is data ([`HostRule`]s, first match wins), so it can be printed,
//! tested as a table and later replaced by a rules file. Socket code asks
//! [`Policy::decide`] and never looks at host names itself.

use std::fmt;

/// Which of shunt's backends answers an intercepted host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// Vertex AI (`aiplatform` hosts): Gemini and Claude publisher models.
    Vertex,
    /// The Gemini Developer API (`generativelanguage.googleapis.com`).
    GeminiApi,
    /// OAuth / STS token endpoints.
    Token,
    /// The GCE metadata server.
    Metadata,
    /// OpenAI (`api.openai.com`).
    OpenAi,
    /// Azure OpenAI (`*.openai.azure.com`, `*.cognitiveservices.azure.com`).
    AzureOpenAi,
    /// Anthropic (`api.anthropic.com`).
    Anthropic,
    /// Bedrock Runtime (`bedrock-runtime[-fips].REGION.amazonaws.com`).
    Bedrock,
}

impl Service {
    /// Stable name for logs and metric labels.
    pub fn name(self) -> &'static str {
        match self {
            Service::Vertex => "vertex",
            Service::GeminiApi => "gemini_api",
            Service::Token => "token",
            Service::Metadata => "metadata",
            Service::OpenAi => "openai",
            Service::AzureOpenAi => "azure_openai",
            Service::Anthropic => "anthropic",
            Service::Bedrock => "bedrock",
        }
    }
}

/// What to do with a connection to a host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Terminate TLS with a minted leaf and serve the request ourselves.
    Intercept(Service),
    /// Splice bytes to the real host untouched.
    Tunnel,
    /// Refuse with 403 and this reason.
    Deny(String),
}

/// The action a rule assigns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Intercept(Service),
    Tunnel,
    Deny(&'static str),
}

/// What happens to hosts no rule names (`--other`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Other {
    /// Tunnel them untouched (default).
    Tunnel,
    /// Refuse them: the proxy becomes hermetic.
    Deny,
}

/// A host pattern: an exact name, or a glob where `*` stands for one or more characters
/// other than `.` — except a leading `*.`, which stands for one or more whole labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPattern(&'static str);

impl HostPattern {
    /// Does `host` (already lower-case, without a trailing dot) match?
    pub fn matches(&self, host: &str) -> bool {
        let pattern = self.0;
        if let Some(suffix) = pattern.strip_prefix("*.") {
            return host.len() > suffix.len() + 1
                && host.ends_with(suffix)
                && host.as_bytes()[host.len() - suffix.len() - 1] == b'.';
        }
        glob_label_match(pattern.as_bytes(), host.as_bytes())
    }
}

impl fmt::Display for HostPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// `*` matches one or more bytes other than `.`; everything else matches itself.
fn glob_label_match(pattern: &[u8], text: &[u8]) -> bool {
    match pattern.split_first() {
        None => text.is_empty(),
        Some((b'*', rest)) => {
            let run = text.iter().take_while(|&&b| b != b'.').count();
            (1..=run).any(|n| glob_label_match(rest, &text[n..]))
        }
        Some((&c, rest)) => text.first() == Some(&c) && glob_label_match(rest, &text[1..]),
    }
}

/// One row of the host table.
#[derive(Debug, Clone)]
pub struct HostRule {
    pub pattern: HostPattern,
    pub action: Action,
}

const DENY_GOOGLEAPIS: &str = "a real Google API call escaping a load test costs money or leaks data; \
     shunt intercepts only the Vertex AI, Gemini API, token and metadata hosts";

/// The default host table from the design (first match wins).
pub fn default_rules() -> Vec<HostRule> {
    use Action::*;
    use Service::*;
    let rule = |pattern, action| HostRule {
        pattern: HostPattern(pattern),
        action,
    };
    vec![
        rule("aiplatform.googleapis.com", Intercept(Vertex)),
        rule("*-aiplatform.googleapis.com", Intercept(Vertex)),
        rule("aiplatform.*.rep.googleapis.com", Intercept(Vertex)),
        rule("generativelanguage.googleapis.com", Intercept(GeminiApi)),
        rule("oauth2.googleapis.com", Intercept(Token)),
        rule("www.googleapis.com", Intercept(Token)),
        rule("accounts.google.com", Intercept(Token)),
        rule("sts.googleapis.com", Intercept(Token)),
        rule("metadata.google.internal", Intercept(Metadata)),
        rule("169.254.169.254", Intercept(Metadata)),
        rule("*.googleapis.com", Deny(DENY_GOOGLEAPIS)),
        rule("api.openai.com", Intercept(OpenAi)),
        rule("*.openai.azure.com", Intercept(AzureOpenAi)),
        rule("*.cognitiveservices.azure.com", Intercept(AzureOpenAi)),
        rule("api.anthropic.com", Intercept(Anthropic)),
        rule("bedrock-runtime.*.amazonaws.com", Intercept(Bedrock)),
        rule("bedrock-runtime-fips.*.amazonaws.com", Intercept(Bedrock)),
    ]
}

/// The host table plus the fallback for unnamed hosts.
#[derive(Debug, Clone)]
pub struct Policy {
    rules: Vec<HostRule>,
    other: Other,
}

impl Policy {
    pub fn new(rules: Vec<HostRule>, other: Other) -> Self {
        Policy { rules, other }
    }

    /// The default table with the given `--other`.
    pub fn with_defaults(other: Other) -> Self {
        Policy::new(default_rules(), other)
    }

    /// Decide what to do with `host` (any case, trailing dot allowed).
    pub fn decide(&self, host: &str) -> Decision {
        let host = normalize_host(host);
        let rule = self.rules.iter().find(|r| r.pattern.matches(&host));
        match rule.map(|r| &r.action) {
            Some(Action::Intercept(service)) => Decision::Intercept(*service),
            Some(Action::Tunnel) => Decision::Tunnel,
            Some(Action::Deny(reason)) => Decision::Deny((*reason).to_string()),
            None => match self.other {
                Other::Tunnel => Decision::Tunnel,
                Other::Deny => Decision::Deny(
                    "shunt runs with --other deny: only the LLM API, Google token and metadata hosts are served"
                        .to_string(),
                ),
            },
        }
    }
}

/// Lower-case, strip IPv6 brackets and trailing dots.
///
/// Idempotent (the fuzzer checks it): every leading `[` and trailing `]` or `.` goes, so
/// `normalize_host(normalize_host(h)) == normalize_host(h)`.
pub fn normalize_host(host: &str) -> String {
    host.trim_start_matches('[')
        .trim_end_matches([']', '.'])
        .to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The default table, host by host.
    #[test]
    fn default_table() {
        let p = Policy::with_defaults(Other::Tunnel);
        let cases: &[(&str, Decision)] = &[
            ("aiplatform.googleapis.com", Decision::Intercept(Service::Vertex)),
            (
                "us-central1-aiplatform.googleapis.com",
                Decision::Intercept(Service::Vertex),
            ),
            (
                "US-East5-AIPLATFORM.googleapis.com.",
                Decision::Intercept(Service::Vertex),
            ),
            (
                "aiplatform.us.rep.googleapis.com",
                Decision::Intercept(Service::Vertex),
            ),
            (
                "aiplatform.eu.rep.googleapis.com",
                Decision::Intercept(Service::Vertex),
            ),
            (
                "generativelanguage.googleapis.com",
                Decision::Intercept(Service::GeminiApi),
            ),
            ("oauth2.googleapis.com", Decision::Intercept(Service::Token)),
            ("www.googleapis.com", Decision::Intercept(Service::Token)),
            ("accounts.google.com", Decision::Intercept(Service::Token)),
            ("sts.googleapis.com", Decision::Intercept(Service::Token)),
            ("metadata.google.internal", Decision::Intercept(Service::Metadata)),
            ("169.254.169.254", Decision::Intercept(Service::Metadata)),
            ("api.openai.com", Decision::Intercept(Service::OpenAi)),
            (
                "my-res.openai.azure.com",
                Decision::Intercept(Service::AzureOpenAi),
            ),
            (
                "my-res.cognitiveservices.azure.com",
                Decision::Intercept(Service::AzureOpenAi),
            ),
            ("api.anthropic.com", Decision::Intercept(Service::Anthropic)),
            (
                "bedrock-runtime.us-east-1.amazonaws.com",
                Decision::Intercept(Service::Bedrock),
            ),
            (
                "bedrock-runtime-fips.us-west-2.amazonaws.com",
                Decision::Intercept(Service::Bedrock),
            ),
            ("bedrock.us-east-1.amazonaws.com", Decision::Tunnel),
            ("openai.com", Decision::Tunnel),
            ("pypi.org", Decision::Tunnel),
            ("googleapis.com", Decision::Tunnel),
            ("127.0.0.1", Decision::Tunnel),
        ];
        for (host, want) in cases {
            assert_eq!(&p.decide(host), want, "host {host}");
        }
        for host in [
            "storage.googleapis.com",
            "x.y.googleapis.com",
            "a.b.rep.googleapis.com",
        ] {
            assert!(matches!(p.decide(host), Decision::Deny(_)), "host {host}");
        }
    }

    /// `*` does not cross a dot, so look-alike hosts fall through to deny or tunnel.
    #[test]
    fn glob_does_not_cross_labels() {
        let p = Policy::with_defaults(Other::Tunnel);
        assert!(matches!(
            p.decide("evil.us-aiplatform.googleapis.com"),
            Decision::Deny(_)
        ));
        assert!(matches!(
            p.decide("-aiplatform.googleapis.com"),
            Decision::Deny(_)
        ));
        assert_eq!(
            p.decide("aiplatform.googleapis.com.evil.example"),
            Decision::Tunnel
        );
        assert!(!HostPattern("*.googleapis.com").matches(".googleapis.com"));
    }

    /// `--other deny` makes everything unnamed a denial with a reason.
    #[test]
    fn other_deny() {
        let p = Policy::with_defaults(Other::Deny);
        assert!(matches!(p.decide("example.com"), Decision::Deny(r) if r.contains("--other deny")));
        assert_eq!(
            p.decide("oauth2.googleapis.com"),
            Decision::Intercept(Service::Token)
        );
    }
}
