//! The command line: one clap definition where every flag also reads a `SHUNT_*`
//! environment variable (compose files configure shunt with env). Values are parsed here;
//! checks across flags and reading the files they name happen in [`super::Config`].

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use super::values::{
    Cidr, parse_cidr, parse_duration_secs, parse_override, parse_proxy_url, parse_rate, parse_word_range,
};
use crate::mock::latency::Dist;
use crate::policy::Other;
use crate::route::Rewrite;
use crate::telemetry::LogFormat;
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
    /// Run inside the app container: check proxy env, CA bundles and credentials, then
    /// try a CONNECT, a token and a countTokens call. Exits 1 on any failed check.
    Doctor,
    /// Work with capture files.
    #[command(subcommand)]
    Capture(CaptureCommand),
}

#[derive(Debug, Subcommand)]
pub enum CaptureCommand {
    /// Per-route counts, status mix and latency percentiles of a .jsonl or .har capture,
    /// and calls, tokens and estimated cost per model, schema and function (JSONL).
    Summary {
        /// The capture file.
        file: PathBuf,
        /// Output format.
        #[arg(long, env = "SHUNT_FORMAT", value_enum, default_value = "text")]
        format: crate::capture::summary::Format,
        /// Price table (TOML, as data/prices.toml); replaces the built-in one.
        #[arg(long, env = "SHUNT_PRICES")]
        prices: Option<PathBuf>,
    },
}

/// What a replay miss does (`--replay-miss`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReplayMiss {
    /// 404 naming the request that has no recording.
    Error,
    /// Answer with the configured upstream (built-in mock or --upstream URL).
    Upstream,
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
    /// [default: http://LISTEN-ADDRESS].
    #[arg(long, env = "SHUNT_PUBLIC_URL", value_parser = parse_proxy_url)]
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
    /// Capture exchanges to this file (repeatable; `.jsonl` or `.har`). Tunnels and
    /// denials are recorded too (JSONL).
    #[arg(long, env = "SHUNT_CAPTURE", value_delimiter = ',')]
    pub capture: Vec<PathBuf>,
    /// Body bytes kept per request and per response in a capture; the rest is counted
    /// and marked as truncated.
    #[arg(long, env = "SHUNT_CAPTURE_MAX_BODY", default_value_t = 1024 * 1024)]
    pub capture_max_body: usize,
    /// Keep Authorization headers, API keys and OAuth tokens in captures (redacted by default).
    #[arg(long, env = "SHUNT_CAPTURE_SECRETS")]
    pub capture_secrets: bool,
    /// Most recent exchanges a `.har` capture keeps (the JSONL capture keeps all).
    #[arg(long, env = "SHUNT_CAPTURE_HAR_ENTRIES", default_value_t = 10_000)]
    pub capture_har_entries: usize,
    /// Bytes of entries the `.har` file keeps (the newest that fit; JSONL keeps all).
    #[arg(long, env = "SHUNT_CAPTURE_HAR_BYTES", default_value_t = 64 * 1024 * 1024)]
    pub capture_har_bytes: usize,
    /// Write TLS session keys (NSS key log format) of intercepted connections to this file,
    /// so Wireshark / tshark can decrypt a packet capture. Falls back to $SSLKEYLOGFILE.
    #[arg(long, env = "SHUNT_KEYLOG")]
    pub keylog: Option<PathBuf>,
    #[command(flatten)]
    pub limits: LimitFlags,
    /// Record: forward model and token calls to the real Google hosts over verified TLS
    /// (the app's own credentials pass through) and store each exchange in DIR.
    #[arg(long, env = "SHUNT_RECORD", value_name = "DIR", conflicts_with = "replay")]
    pub record: Option<PathBuf>,
    /// Replay: answer model and token calls from the recordings in DIR.
    #[arg(long, env = "SHUNT_REPLAY", value_name = "DIR")]
    pub replay: Option<PathBuf>,
    /// What a request without a recording gets in replay mode.
    #[arg(long, env = "SHUNT_REPLAY_MISS", value_enum, default_value = "error")]
    pub replay_miss: ReplayMiss,
    /// Replay chunks with their recorded timing (default: as fast as possible).
    #[arg(long, env = "SHUNT_REPLAY_TIMING")]
    pub replay_timing: bool,
    /// Record mode: connect to HOST at ADDR:PORT instead of resolving it (HOST=ADDR:PORT,
    /// repeatable), e.g. a staging endpoint. TLS is still verified for HOST.
    #[arg(long, env = "SHUNT_ORIGIN_OVERRIDE", value_delimiter = ',', value_parser = parse_override)]
    pub origin_override: Vec<(String, String)>,
    /// Record mode: extra CA certificates (PEM) to trust for the real hosts.
    #[arg(long, env = "SHUNT_ORIGIN_CA")]
    pub origin_ca: Option<PathBuf>,
    #[command(flatten)]
    pub mock: MockFlags,
    #[command(flatten)]
    pub dashboard: DashboardFlags,
    #[command(flatten)]
    pub log: LogArgs,
}

/// The dashboard (`/ui`), the admin API (`/admin/mock`) and the cost estimate.
#[derive(Debug, Clone, Args)]
pub struct DashboardFlags {
    /// Price table (TOML, as data/prices.toml) for the cost estimate; replaces the built-in one.
    #[arg(long, env = "SHUNT_PRICES")]
    pub prices: Option<PathBuf>,
    /// Token the dashboard and the admin API require when shunt listens beyond loopback
    /// (as `Authorization: Bearer TOKEN` or `?token=TOKEN`). Without it they are refused
    /// there; on loopback they are open.
    #[arg(long, env = "SHUNT_ADMIN_TOKEN")]
    pub admin_token: Option<String>,
}

/// Limits that keep one misbehaving client from hurting the load test.
#[derive(Debug, Clone, Args)]
pub struct LimitFlags {
    /// Client connections served at once; further ones wait in the listen backlog.
    #[arg(long, env = "SHUNT_MAX_CONNECTIONS", default_value_t = 10_000)]
    pub max_connections: usize,
    /// Seconds a client may take to send request headers or, after CONNECT to an
    /// intercepted host, its TLS ClientHello (slowloris guard).
    #[arg(long, env = "SHUNT_HEADER_READ_TIMEOUT", default_value = "30", value_parser = parse_duration_secs)]
    pub header_read_timeout: Duration,
    /// Seconds a tunnel may carry no bytes either way before it is closed.
    #[arg(long, env = "SHUNT_TUNNEL_IDLE_TIMEOUT", default_value = "600", value_parser = parse_duration_secs)]
    pub tunnel_idle_timeout: Duration,
    /// Largest request head (request line + headers) in bytes; larger gets 431.
    #[arg(long, env = "SHUNT_MAX_HEADER_BYTES", default_value_t = 64 * 1024)]
    pub max_header_bytes: usize,
    /// Only serve clients from these networks (CIDR, repeatable or comma-separated), e.g.
    /// `--allow-clients 10.0.0.0/8`, and loopback (always served, for health checks).
    /// Others are disconnected at once. Default: everyone who can reach the listener.
    #[arg(long, env = "SHUNT_ALLOW_CLIENTS", value_delimiter = ',', value_parser = parse_cidr)]
    pub allow_clients: Vec<Cidr>,
    /// Seconds a client may leave shunt's writes pending (not reading what it asked for)
    /// before it is disconnected, so a stalled reader holds no memory for long.
    #[arg(long, env = "SHUNT_STALL_TIMEOUT", default_value = "60", value_parser = parse_duration_secs)]
    pub stall_timeout: Duration,
    /// Let tunnels and plain-HTTP proxying reach loopback and link-local addresses (refused
    /// by default: they would let a client reach services on shunt's own host, or shunt
    /// itself). Tunnels into shunt's own listener are refused either way.
    #[arg(long, env = "SHUNT_ALLOW_LOCAL_TUNNELS")]
    pub allow_local_tunnels: bool,
}

#[derive(Debug, Clone, Args)]
pub struct MockArgs {
    /// Address to serve the mock on (plain HTTP).
    #[arg(long, env = "SHUNT_LISTEN", default_value = "127.0.0.1:8000")]
    pub listen: SocketAddr,
    /// Seconds to let in-flight streams finish after SIGTERM / SIGINT.
    #[arg(long, env = "SHUNT_GRACE_PERIOD", default_value = "10", value_parser = parse_duration_secs)]
    pub grace_period: Duration,
    /// Seconds a client may leave the mock's writes pending before it is disconnected.
    #[arg(long, env = "SHUNT_STALL_TIMEOUT", default_value = "60", value_parser = parse_duration_secs)]
    pub stall_timeout: Duration,
    #[command(flatten)]
    pub mock: MockFlags,
    #[command(flatten)]
    pub dashboard: DashboardFlags,
    #[command(flatten)]
    pub log: LogArgs,
}

/// Knobs of the built-in mock, shared by `serve` (with `--upstream builtin`) and `mock`.
#[derive(Debug, Clone, Args)]
pub struct MockFlags {
    /// Seed for replies, latency samples and faults; the same seed repeats a run.
    #[arg(long, env = "SHUNT_SEED", default_value_t = 0)]
    pub seed: u64,
    /// Words in a text reply: N, or MIN..MAX drawn per reply.
    #[arg(long, env = "SHUNT_REPLY_WORDS", default_value = "24", value_parser = parse_word_range)]
    pub reply_words: (usize, usize),
    /// Words per streamed chunk.
    #[arg(long, env = "SHUNT_CHUNK_WORDS", default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub chunk_words: u32,
    /// Time to first token: `0`, `200ms`, `fixed:200ms`, `uniform:100ms..300ms`,
    /// `normal:MEAN,SD`, `lognormal:MEDIAN,SIGMA`. Per-model values go in --scenarios.
    #[arg(long, env = "SHUNT_TTFT", default_value = "0")]
    pub ttft: Dist,
    /// Gap between streamed chunks (same syntax as --ttft). A non-streamed reply waits
    /// TTFT plus one gap per chunk it would have streamed.
    #[arg(long, env = "SHUNT_GAP", default_value = "0")]
    pub gap: Dist,
    /// Share of model calls answered 429 RESOURCE_EXHAUSTED (with Retry-After).
    #[arg(long, env = "SHUNT_FAULT_429", default_value = "0", value_parser = parse_rate)]
    pub fault_429: f64,
    /// Share of model calls answered 500 INTERNAL.
    #[arg(long, env = "SHUNT_FAULT_500", default_value = "0", value_parser = parse_rate)]
    pub fault_500: f64,
    /// Share of model calls answered 503 UNAVAILABLE.
    #[arg(long, env = "SHUNT_FAULT_503", default_value = "0", value_parser = parse_rate)]
    pub fault_503: f64,
    /// Share of the remaining replies whose body is cut mid-way.
    #[arg(long, env = "SHUNT_FAULT_CUT", default_value = "0", value_parser = parse_rate)]
    pub fault_cut: f64,
    /// Retry-After seconds sent with injected 429s.
    #[arg(long, env = "SHUNT_RETRY_AFTER", default_value_t = 1)]
    pub retry_after: u64,
    /// With tools in AUTO mode: the chance of calling the best-fitting tool on a user turn.
    /// After tool results the mock finishes (text, or the framework's output tool).
    #[arg(long, env = "SHUNT_AUTO_CALL_RATE", default_value = "1", value_parser = parse_rate)]
    pub auto_call_rate: f64,
    /// Tool rounds (model turns that call tools) allowed per user message; past it the
    /// mock answers, so an agent loop always ends.
    #[arg(long, env = "SHUNT_MAX_TOOL_ROUNDS", default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub max_tool_rounds: u32,
    /// Grounded structured output: the chance that a yes/no about a candidate the user's
    /// latest message does not mention says yes (shared topic words raise it).
    #[arg(long, env = "SHUNT_MATCH_RATE", default_value = "0.15", value_parser = parse_rate)]
    pub match_rate: f64,
    /// The chance that an optional field is left out (or a nullable one is null).
    #[arg(long, env = "SHUNT_NULL_RATE", default_value = "0.05", value_parser = parse_rate)]
    pub null_rate: f64,
    /// TOML file of scenario rules and per-model latency (see README).
    #[arg(long, env = "SHUNT_SCENARIOS")]
    pub scenarios: Option<PathBuf>,
    /// Largest request body (bytes) for routes that must read it whole: the mock, record
    /// and replay. Larger bodies get 413. (Forwarded bodies stream and have no limit.)
    #[arg(long, env = "SHUNT_MAX_BODY", default_value_t = 32 * 1024 * 1024)]
    pub max_body: usize,
    /// Largest reply the mock generates, in bytes (structured output, tool arguments,
    /// token lists, embeddings); a request asking for more gets 400 naming the limit.
    #[arg(long, env = "SHUNT_MAX_REPLY_BYTES", default_value_t = 4 * 1024 * 1024)]
    pub max_reply_bytes: usize,
    /// Most steps one generation may take (values, schema hops, validation nodes, pattern
    /// characters); past it, 400 naming the limit.
    #[arg(long, env = "SHUNT_MAX_REPLY_STEPS", default_value_t = 2_000_000)]
    pub max_reply_steps: u64,
    /// Seconds one generation may take; past it, 400 naming the limit.
    #[arg(long, env = "SHUNT_MAX_REPLY_TIME", default_value = "5", value_parser = parse_duration_secs)]
    pub max_reply_time: Duration,
    /// Replies generated at once off the async workers (schemas, tool arguments, scenario
    /// templates, embeddings, bodies over 16 KiB). Default: all cores but one, at least one.
    #[arg(long, env = "SHUNT_MOCK_WORKERS", value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub mock_workers: Option<u32>,
}

#[derive(Debug, Clone, Args)]
pub struct CaArgs {
    /// Directory holding the CA.
    #[arg(long, env = "SHUNT_CERTS", default_value = "./certs")]
    pub certs: PathBuf,
    /// Also write public roots + the CA to this file.
    #[arg(long, env = "SHUNT_BUNDLE")]
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
    #[arg(long, env = "SHUNT_KIND", value_enum, default_value = "authorized_user")]
    pub kind: CredsKind,
    /// File to write (`-` for stdout).
    #[arg(long, env = "SHUNT_OUT", default_value = "-")]
    pub out: PathBuf,
    /// Project id for service-account credentials.
    #[arg(long, env = "SHUNT_PROJECT", default_value = DEFAULT_PROJECT)]
    pub project: String,
}

#[derive(Debug, Clone, Args)]
pub struct EnvArgs {
    /// URL the app uses to reach shunt: http://HOST:PORT (the scheme is required: aiohttp
    /// ignores a proxy without one).
    #[arg(long, env = "SHUNT_PUBLIC_URL", visible_alias = "proxy-url", default_value = "http://127.0.0.1:8080",
          value_parser = parse_proxy_url)]
    pub public_url: String,
    /// Certs dir as the app container sees it.
    #[arg(
        long,
        env = "SHUNT_PUBLIC_CERTS_DIR",
        visible_alias = "certs-dir",
        default_value = "./certs"
    )]
    pub public_certs_dir: PathBuf,
    #[arg(long, env = "SHUNT_PROJECT", default_value = DEFAULT_PROJECT)]
    pub project: String,
}

#[derive(Debug, Clone, Args)]
pub struct HealthArgs {
    /// Address shunt listens on; an unspecified address (0.0.0.0, ::) is probed on loopback.
    #[arg(long, env = "SHUNT_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// How long to wait for the answer.
    #[arg(long, env = "SHUNT_TIMEOUT", default_value = "3", value_parser = parse_duration_secs)]
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

    /// Every flag of every command also reads `SHUNT_<FLAG>` (dashes as underscores).
    #[test]
    fn every_flag_reads_its_env_var() {
        use clap::CommandFactory;
        fn check(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for arg in cmd.get_arguments() {
                let Some(long) = arg.get_long() else { continue };
                if matches!(long, "help" | "version") {
                    continue;
                }
                let want = format!("SHUNT_{}", long.to_uppercase().replace('-', "_"));
                let have = arg.get_env().and_then(|e| e.to_str()).unwrap_or("");
                if have != want {
                    missing.push(format!("{path} --{long}: reads {have:?}, expected {want}"));
                }
            }
            for sub in cmd.get_subcommands() {
                check(sub, &format!("{path} {}", sub.get_name()), missing);
            }
        }
        let mut missing = Vec::new();
        check(&Cli::command(), "shunt", &mut missing);
        assert!(missing.is_empty(), "{}", missing.join("\n"));
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
