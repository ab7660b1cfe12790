//! `shunt doctor`: run inside the app container to check, one line each, what makes
//! an app reach shunt's mock, then try it for real. Three groups of checks, each check a
//! function returning its [`Check`]:
//! - [`env`](mod@env): the proxy variables and credentials the SDKs read;
//! - [`bundles`]: the CA bundles `SSL_CERT_FILE` / `REQUESTS_CA_BUNDLE` name;
//! - [`live`]: CONNECT through the proxy, TLS verified with those bundles, a token and a
//!   countTokens call.
//!
//! Every failure says how to fix it.

pub mod bundles;
pub mod env;
pub mod live;

use std::collections::HashMap;

/// How a check ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Pass,
    Fail,
    /// Not run, because a check it depends on failed (the line says which).
    Skipped,
}

/// One check's outcome.
#[derive(Debug, Clone)]
pub struct Check {
    pub outcome: Outcome,
    pub line: String,
}

impl Check {
    fn pass(line: impl Into<String>) -> Check {
        Check {
            outcome: Outcome::Pass,
            line: line.into(),
        }
    }

    fn fail(what: impl Into<String>, fix: impl Into<String>) -> Check {
        Check {
            outcome: Outcome::Fail,
            line: format!("{} — fix: {}", what.into(), fix.into()),
        }
    }

    fn skipped(what: impl Into<String>, because: impl Into<String>) -> Check {
        Check {
            outcome: Outcome::Skipped,
            line: format!("{} — skipped: {}", what.into(), because.into()),
        }
    }

    /// Whether the check failed (skipped checks do not count: their cause does).
    pub fn failed(&self) -> bool {
        self.outcome == Outcome::Fail
    }

    /// The line as printed (✔ / ✘ / – prefix).
    pub fn render(&self) -> String {
        let mark = match self.outcome {
            Outcome::Pass => "✔",
            Outcome::Fail => "✘",
            Outcome::Skipped => "–",
        };
        format!("{mark} {}", self.line)
    }
}

/// The app's environment, as `doctor` sees it.
pub struct Env<'a>(pub &'a HashMap<String, String>);

impl<'a> Env<'a> {
    /// The first of `names` that is set and not empty: its name and value.
    fn get(&self, names: &[&'a str]) -> Option<(&'a str, &'a str)> {
        names
            .iter()
            .find_map(|n| self.0.get(*n).filter(|v| !v.is_empty()).map(|v| (*n, v.as_str())))
    }
}

/// Run every check with `env` as the app's environment. Live checks run only as far as
/// the earlier ones allow (no proxy: nothing to try).
pub async fn run(env: &HashMap<String, String>) -> Vec<Check> {
    let env = Env(env);
    let mut checks = Vec::new();
    let (check, proxy) = env::proxy(&env);
    checks.push(check);
    checks.push(env::no_proxy(&env));
    let ca = match &proxy {
        Some(addr) => live::fetch_ca(addr).await,
        None => Err(live::Reach::Down("no proxy to ask".to_string())),
    };
    let mut trusted = bundles::Trusted::default();
    for bundle in &bundles::BUNDLES {
        let (check, certs) = bundles::check(&env, bundle, ca.as_ref().ok().map(Vec::as_slice));
        checks.push(check);
        if let Some(certs) = certs {
            trusted.insert(bundle.var, certs);
        }
    }
    checks.push(env::credentials(&env));
    match proxy {
        Some(addr) => checks.extend(live::run(&env, &addr, ca.map(|_| ()), &trusted).await),
        None => checks.push(Check::skipped(
            "the live checks (CONNECT, TLS, token, countTokens)",
            "no usable HTTPS_PROXY",
        )),
    }
    checks
}
