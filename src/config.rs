//! The command line: one clap definition where every flag also reads a `SHUNT_*`
//! environment variable (compose files configure shunt with env). Validation that clap
//! cannot express happens once, in [`ServeArgs::validate`], before anything binds.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::policy::Other;
use crate::route::Rewrite;
use crate::tls::kit::DEFAULT_PROJECT;

/// shunt: an HTTPS_PROXY sidecar that diverts Vertex AI traffic to a mock.
#[derive(Debug, Parser)]
#[command(name = "shunt", version, about, args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// `shunt` without a subcommand runs `serve`.
    #[command(flatten)]
    pub serve: ServeArgs,
}

#[derive(Debug, Subcommand)]
#[allow(clippy::large_enum_variant)] // parsed once at start
pub enum Command {
    /// Run the proxy (the default).
    Serve(ServeArgs),
    /// Serve only the built-in mock LLM over plain HTTP (a drop-in for a mock-llm service).
    Mock(MockArgs),
    /// Create the CA if missing; print its path and SHA-256 fingerprint.
    Ca(CaArgs),
    /// Write fake Application Default Credentials.
    Creds(CredsArgs),
    /// Print the environment block an app container needs.
    Env(EnvArgs),
    /// Exit 0 if a running shunt answers /healthz (for container healthchecks).
    Health(HealthArgs),
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// Where model calls go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Upstream {
    /// The built-in mock answers.
    Builtin,
    /// Forward over plain HTTP to this base (scheme, host, port; no path).
    Forward(http::Uri),
}

fn parse_upstream(s: &str) -> Result<Upstream, String> {
    if s == "builtin" {
        return Ok(Upstream::Builtin);
    }
    let uri: http::Uri = s
        .parse()
        .map_err(|e| format!("`{s}` is neither `builtin` nor a URL: {e}"))?;
    match (uri.scheme_str(), uri.authority()) {
        (Some("http"), Some(_)) if uri.path() == "/" || uri.path().is_empty() => Ok(Upstream::Forward(uri)),
        (Some("http"), Some(_)) => Err(format!(
            "`{s}`: give the upstream as http://HOST:PORT without a path; the path comes from the request"
        )),
        (Some(other), _) => Err(format!(
            "`{s}`: scheme {other} is not supported; use http://HOST:PORT"
        )),
        _ => Err(format!("`{s}`: expected `builtin` or http://HOST:PORT")),
    }
}

fn parse_duration_secs(s: &str) -> Result<Duration, String> {
    let secs: f64 = s
        .trim_end_matches('s')
        .parse()
        .map_err(|_| format!("`{s}` is not a number of seconds"))?;
    if !(0.0..=86_400.0).contains(&secs) {
        return Err(format!("`{s}` must be between 0 and 86400 seconds"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// Logging flags shared by the long-running commands.
#[derive(Debug, Clone, Args)]
pub struct LogArgs {
    /// Log format.
    #[arg(long, env = "SHUNT_LOG_FORMAT", value_enum, default_value = "text")]
    pub log_format: LogFormat,
    /// Log filter (tracing EnvFilter syntax), e.g. `info` or `shunt=debug`.
    #[arg(long, env = "SHUNT_LOG", default_value = "info")]
    pub log: String,
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on (CONNECT, plain-HTTP proxy requests, admin endpoints).
    #[arg(long, env = "SHUNT_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Directory holding the CA and the trust kit (created if missing).
    #[arg(long, env = "SHUNT_CERTS", default_value = "./certs")]
    pub certs: PathBuf,
    /// `builtin` (the embedded mock) or http://HOST:PORT of a mock LLM service.
    #[arg(long, env = "SHUNT_UPSTREAM", default_value = "builtin", value_parser = parse_upstream)]
    pub upstream: Upstream,
    /// How forwarded Vertex paths are rewritten.
    #[arg(long, env = "SHUNT_REWRITE", value_enum, default_value = "gemini-api")]
    pub rewrite: Rewrite,
    /// What to do with hosts the host table does not name.
    #[arg(long, env = "SHUNT_OTHER", value_enum, default_value = "tunnel")]
    pub other: Other,
    /// `expires_in` of fake tokens, in seconds. google-auth treats a token expiring within
    /// 225 s as already expired, so a value <= 225 makes clients fetch a token before
    /// every call (useful to load-test the token path).
    #[arg(long, env = "SHUNT_TOKEN_EXPIRES_IN", default_value_t = 3599)]
    pub token_expires_in: u64,
    /// Project id the fake metadata server reports and shunt.env names.
    #[arg(long, env = "SHUNT_PROJECT", default_value = DEFAULT_PROJECT)]
    pub project: String,
    /// URL apps use to reach this proxy, written into shunt.env
    /// [default: http://<listen address>].
    #[arg(long, env = "SHUNT_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Certs dir as the app container sees it, written into shunt.env
    /// [default: the absolute --certs path].
    #[arg(long, env = "SHUNT_PUBLIC_CERTS_DIR")]
    pub public_certs_dir: Option<PathBuf>,
    /// Seconds to let in-flight requests and streams finish after SIGTERM / SIGINT.
    #[arg(long, env = "SHUNT_GRACE_PERIOD", default_value = "10", value_parser = parse_duration_secs)]
    pub grace_period: Duration,
    /// Seconds to wait for a TCP connection to the upstream or a tunnelled host.
    #[arg(long, env = "SHUNT_CONNECT_TIMEOUT", default_value = "5", value_parser = parse_duration_secs)]
    pub connect_timeout: Duration,
    /// Seconds to wait for an upstream's response headers (bodies may stream longer).
    #[arg(long, env = "SHUNT_UPSTREAM_TIMEOUT", default_value = "300", value_parser = parse_duration_secs)]
    pub upstream_timeout: Duration,
    #[command(flatten)]
    pub log: LogArgs,
}

impl ServeArgs {
    /// Checks clap cannot express; an error here exits 64 before anything binds.
    pub fn validate(&self) -> Result<(), String> {
        if self.project.is_empty() || self.project.contains(char::is_whitespace) {
            return Err(format!(
                "--project `{}` must be a non-empty id without spaces",
                self.project
            ));
        }
        if let Some(url) = &self.public_url {
            let ok = url
                .parse::<http::Uri>()
                .is_ok_and(|u| u.scheme_str() == Some("http") && u.authority().is_some());
            if !ok {
                return Err(format!("--public-url `{url}` must look like http://HOST:PORT"));
            }
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Args)]
pub struct MockArgs {
    /// Address to serve the mock on (plain HTTP).
    #[arg(long, env = "SHUNT_LISTEN", default_value = "127.0.0.1:8000")]
    pub listen: SocketAddr,
    /// Seconds to let in-flight streams finish after SIGTERM / SIGINT.
    #[arg(long, env = "SHUNT_GRACE_PERIOD", default_value = "10", value_parser = parse_duration_secs)]
    pub grace_period: Duration,
    #[command(flatten)]
    pub log: LogArgs,
}

#[derive(Debug, Clone, Args)]
pub struct CaArgs {
    /// Directory holding the CA.
    #[arg(long, env = "SHUNT_CERTS", default_value = "./certs")]
    pub certs: PathBuf,
    /// Also write public roots + the CA to this file.
    #[arg(long)]
    pub bundle: Option<PathBuf>,
}

/// Kind of fake credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CredsKind {
    /// `authorized_user`: a refresh token (google-auth always refreshes at oauth2.googleapis.com).
    #[value(name = "authorized_user", alias = "authorized-user")]
    AuthorizedUser,
    /// `service_account`: a real throwaway RSA key; google-auth signs a JWT with it.
    #[value(name = "service_account", alias = "service-account")]
    ServiceAccount,
}

#[derive(Debug, Clone, Args)]
pub struct CredsArgs {
    /// Which credential type to write.
    #[arg(long, value_enum, default_value = "authorized_user")]
    pub kind: CredsKind,
    /// File to write (`-` for stdout).
    #[arg(long, default_value = "-")]
    pub out: PathBuf,
    /// Project id for service-account credentials.
    #[arg(long, env = "SHUNT_PROJECT", default_value = DEFAULT_PROJECT)]
    pub project: String,
}

#[derive(Debug, Clone, Args)]
pub struct EnvArgs {
    /// URL the app uses to reach shunt (with scheme).
    #[arg(long, env = "SHUNT_PUBLIC_URL", default_value = "http://127.0.0.1:8080")]
    pub proxy_url: String,
    /// Certs dir as the app container sees it.
    #[arg(long, env = "SHUNT_PUBLIC_CERTS_DIR", default_value = "./certs")]
    pub certs_dir: PathBuf,
    #[arg(long, env = "SHUNT_PROJECT", default_value = DEFAULT_PROJECT)]
    pub project: String,
}

#[derive(Debug, Clone, Args)]
pub struct HealthArgs {
    /// Address shunt listens on; an unspecified address (0.0.0.0, ::) is probed on loopback.
    #[arg(long, env = "SHUNT_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Seconds before giving up.
    #[arg(long, default_value = "3", value_parser = parse_duration_secs)]
    pub timeout: Duration,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// No subcommand means serve, with the design's defaults.
    #[test]
    fn defaults() {
        let cli = Cli::try_parse_from(["shunt"]).expect("parse");
        assert!(cli.command.is_none());
        assert_eq!(cli.serve.listen, "127.0.0.1:8080".parse().expect("addr"));
        assert_eq!(cli.serve.upstream, Upstream::Builtin);
        assert_eq!(cli.serve.certs, PathBuf::from("./certs"));
    }

    /// Upstream URLs must be http with no path.
    #[test]
    fn upstream_values() {
        assert!(matches!(
            parse_upstream("http://mock-llm:8000"),
            Ok(Upstream::Forward(_))
        ));
        assert!(parse_upstream("https://x:1").unwrap_err().contains("scheme"));
        assert!(
            parse_upstream("http://x:1/v1")
                .unwrap_err()
                .contains("without a path")
        );
        assert!(parse_upstream("mock-llm:8000").is_err());
    }
}
