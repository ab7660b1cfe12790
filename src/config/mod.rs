//! Configuration. [`cli`] is the command line (clap); [`Config`] is what `shunt serve`
//! runs on: built from the flags by [`Config::from_args`], which checks every value and
//! reads every file the flags name (scenarios, recordings, `--origin-ca`) before anything
//! is bound or written. Its errors are one line naming the flag; `main` exits 64 on them.

pub mod cli;
mod values;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use cli::{Cli, Command, MockFlags, ReplayMiss, ServeArgs, Upstream};
pub use values::Cidr;

use crate::backends::cassette::{Cassette, Pace, record_roots};
use crate::capture::CaptureConfig;
use crate::mock::MockConfig;
use crate::mock::faults::Faults;
use crate::mock::latency::{Latency, LatencyTable};
use crate::mock::scenario::Scenarios;
use crate::policy::Other;
use crate::route::Rewrite;

/// A configuration error: one line that names the flag.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

impl From<String> for ConfigError {
    fn from(s: String) -> ConfigError {
        ConfigError(s)
    }
}

/// Everything `shunt serve` needs, checked.
#[derive(Debug)]
pub struct Config {
    /// Where to listen (the caller binds it).
    pub listen: SocketAddr,
    /// The CA and trust-kit directory, absolute.
    pub certs: PathBuf,
    /// URL apps reach shunt at, for `shunt.env` (default: the bound address).
    pub public_url: Option<String>,
    /// The certs dir as apps see it, for `shunt.env` (default: `certs`).
    pub public_certs_dir: Option<PathBuf>,
    pub project: String,
    /// What hosts outside the host table get.
    pub other: Other,
    pub token_expires_in: u64,
    pub grace_period: Duration,
    pub connect_timeout: Duration,
    pub upstream_timeout: Duration,
    pub capture: Option<CaptureConfig>,
    /// The TLS key log file (`--keylog`, else `$SSLKEYLOGFILE`).
    pub keylog: Option<PathBuf>,
    pub limits: Limits,
    /// Where model (and, recording or replaying, token) calls go.
    pub source: Source,
    pub dashboard: Dashboard,
}

/// The dashboard's settings: the price table and the admin token.
#[derive(Debug, Clone)]
pub struct Dashboard {
    pub prices: crate::cost::Prices,
    /// Required beyond loopback (`--admin-token`).
    pub admin_token: Option<String>,
}

impl Dashboard {
    /// From the flags; reads `--prices`.
    pub fn from_flags(flags: &cli::DashboardFlags) -> Result<Dashboard, ConfigError> {
        let prices = match &flags.prices {
            Some(path) => crate::cost::Prices::load(path)?,
            None => crate::cost::Prices::embedded(),
        };
        if flags.admin_token.as_ref().is_some_and(|t| t.trim().is_empty()) {
            return Err(ConfigError("--admin-token must not be empty".into()));
        }
        Ok(Dashboard {
            prices,
            admin_token: flags.admin_token.clone(),
        })
    }
}

/// Limits that keep one misbehaving client from hurting the load test.
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_connections: usize,
    pub header_read_timeout: Duration,
    pub tunnel_idle_timeout: Duration,
    pub max_header_bytes: usize,
    /// Empty: every client that can reach the listener.
    pub allow_clients: Vec<Cidr>,
    pub stall_timeout: Duration,
    /// Tunnels may reach loopback and link-local addresses.
    pub local_tunnels: LocalTunnels,
    /// Largest request body read whole (mock, record, replay).
    pub max_body: usize,
}

/// Whether tunnels and plain-HTTP proxying may reach loopback and link-local addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocalTunnels {
    Refused,
    Allowed,
}

/// Where model calls go, with what each source needs already loaded.
#[derive(Debug)]
pub enum Source {
    /// The built-in mock.
    Builtin(Box<MockConfig>),
    /// A mock-llm service at `base`, paths rewritten by `rewrite`.
    Forward { base: http::Uri, rewrite: Rewrite },
    /// The real hosts, trusted with `roots`, each exchange stored in `dir`.
    Record {
        dir: PathBuf,
        roots: rustls::RootCertStore,
        overrides: HashMap<String, String>,
    },
    /// Stored exchanges; a miss goes to `fallback`, or fails without one.
    Replay {
        cassette: Cassette,
        pace: Pace,
        fallback: Option<Box<Source>>,
    },
}

impl Config {
    /// Check every value and read every file the flags name. Nothing is bound or written.
    pub fn from_args(args: ServeArgs) -> Result<Config, ConfigError> {
        let limits = limits(&args)?;
        if args.project.is_empty() || args.project.contains(char::is_whitespace) {
            return Err(format!(
                "--project `{}` must be a non-empty id without spaces",
                args.project
            )
            .into());
        }
        let certs = std::path::absolute(&args.certs).unwrap_or_else(|_| args.certs.clone());
        if certs.exists() && !certs.is_dir() {
            return Err(format!("--certs {}: not a directory", certs.display()).into());
        }
        let capture = capture(&args)?;
        if let Some(path) = &args.keylog {
            parent_exists("--keylog", path)?;
        }
        let source = source(&args)?;
        let dashboard = Dashboard::from_flags(&args.dashboard)?;
        Ok(Config {
            listen: args.listen,
            certs,
            public_url: args.public_url,
            public_certs_dir: args.public_certs_dir,
            project: args.project,
            other: args.other,
            token_expires_in: args.token_expires_in,
            grace_period: args.grace_period,
            connect_timeout: args.connect_timeout,
            upstream_timeout: args.upstream_timeout,
            capture,
            keylog: args.keylog,
            limits,
            source,
            dashboard,
        })
    }

    /// The built-in mock's settings, when it answers model calls (directly or on replay
    /// misses).
    pub fn mock(&self) -> Option<&MockConfig> {
        match &self.source {
            Source::Builtin(mock) => Some(mock),
            Source::Replay {
                fallback: Some(fallback),
                ..
            } => match fallback.as_ref() {
                Source::Builtin(mock) => Some(mock),
                _ => None,
            },
            _ => None,
        }
    }
}

fn limits(args: &ServeArgs) -> Result<Limits, ConfigError> {
    let l = &args.limits;
    if l.max_connections == 0 {
        return Err(ConfigError("--max-connections must be at least 1".into()));
    }
    if l.max_header_bytes < 8192 {
        return Err(format!("--max-header-bytes {} must be at least 8192", l.max_header_bytes).into());
    }
    if l.header_read_timeout.is_zero() {
        return Err(ConfigError("--header-read-timeout must be above 0".into()));
    }
    if l.tunnel_idle_timeout.is_zero() {
        return Err(ConfigError("--tunnel-idle-timeout must be above 0".into()));
    }
    Ok(Limits {
        max_connections: l.max_connections,
        header_read_timeout: l.header_read_timeout,
        tunnel_idle_timeout: l.tunnel_idle_timeout,
        max_header_bytes: l.max_header_bytes,
        allow_clients: l.allow_clients.clone(),
        stall_timeout: l.stall_timeout,
        local_tunnels: if l.allow_local_tunnels {
            LocalTunnels::Allowed
        } else {
            LocalTunnels::Refused
        },
        max_body: args.mock.max_body,
    })
}

fn capture(args: &ServeArgs) -> Result<Option<CaptureConfig>, ConfigError> {
    if args.capture.is_empty() {
        return Ok(None);
    }
    for path in &args.capture {
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or_default();
        if !matches!(ext, "jsonl" | "ndjson" | "har") {
            return Err(format!(
                "--capture {}: name the file .jsonl (one JSON record per line) or .har (HAR 1.2)",
                path.display()
            )
            .into());
        }
        parent_exists("--capture", path)?;
    }
    Ok(Some(CaptureConfig {
        paths: args.capture.clone(),
        max_body: args.capture_max_body,
        secrets: args.capture_secrets,
        har_entries: args.capture_har_entries,
        har_bytes: args.capture_har_bytes,
    }))
}

/// A file shunt will create must have an existing directory to go in.
fn parent_exists(flag: &str, path: &Path) -> Result<(), ConfigError> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if parent.is_dir() {
        Ok(())
    } else {
        Err(format!(
            "{flag} {}: directory {} does not exist",
            path.display(),
            parent.display()
        )
        .into())
    }
}

/// The model source the flags pick: `--record`, `--replay` (with its miss fallback), or
/// `--upstream`.
fn source(args: &ServeArgs) -> Result<Source, ConfigError> {
    let upstream = || -> Result<Source, ConfigError> {
        Ok(match &args.upstream {
            Upstream::Builtin => Source::Builtin(Box::new(mock_config(&args.mock)?)),
            Upstream::Forward(base) => Source::Forward {
                base: base.clone(),
                rewrite: args.rewrite,
            },
        })
    };
    if let Some(dir) = &args.record {
        if dir.exists() && !dir.is_dir() {
            return Err(format!("--record {}: not a directory", dir.display()).into());
        }
        let extra = match &args.origin_ca {
            Some(path) => origin_ca(path)?,
            None => Vec::new(),
        };
        return Ok(Source::Record {
            dir: dir.clone(),
            roots: record_roots(&extra)?,
            overrides: args.origin_override.iter().cloned().collect(),
        });
    }
    if let Some(path) = &args.origin_ca {
        return Err(format!("--origin-ca {}: only used with --record", path.display()).into());
    }
    if let Some(dir) = &args.replay {
        let cassette = Cassette::load(dir)?;
        return Ok(Source::Replay {
            cassette,
            pace: if args.replay_timing {
                Pace::Recorded
            } else {
                Pace::Immediate
            },
            fallback: match args.replay_miss {
                ReplayMiss::Error => None,
                ReplayMiss::Upstream => Some(Box::new(upstream()?)),
            },
        });
    }
    upstream()
}

/// The certificates of an `--origin-ca` PEM file (at least one).
fn origin_ca(path: &Path) -> Result<Vec<rustls_pki_types::CertificateDer<'static>>, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("--origin-ca {}: {e}", path.display()))?;
    let blocks = pem::parse_many(&text).map_err(|e| format!("--origin-ca {}: {e}", path.display()))?;
    let certs: Vec<_> = blocks
        .into_iter()
        .filter(|p| p.tag() == "CERTIFICATE")
        .map(|p| rustls_pki_types::CertificateDer::from(p.into_contents()))
        .collect();
    if certs.is_empty() {
        return Err(format!("--origin-ca {}: no PEM CERTIFICATE in the file", path.display()).into());
    }
    Ok(certs)
}

/// The built-in mock's configuration from its flags; reads and checks the scenario file.
pub fn mock_config(flags: &MockFlags) -> Result<MockConfig, ConfigError> {
    let faults = Faults {
        rate_429: flags.fault_429,
        rate_500: flags.fault_500,
        rate_503: flags.fault_503,
        rate_cut: flags.fault_cut,
        retry_after: flags.retry_after,
    };
    faults.validate()?;
    let scenarios = match &flags.scenarios {
        Some(path) => Scenarios::load(path).map_err(|e| format!("--scenarios {e}"))?,
        None => Scenarios::default(),
    };
    Ok(MockConfig {
        seed: flags.seed,
        reply_words: flags.reply_words,
        chunk_words: flags.chunk_words as usize,
        latency: LatencyTable {
            default: Latency {
                ttft: flags.ttft.clone(),
                gap: flags.gap.clone(),
            },
            models: scenarios.models.clone(),
        },
        faults,
        planning: crate::mock::plan::Planning {
            auto_call_rate: flags.auto_call_rate,
            max_rounds: flags.max_tool_rounds as usize,
        },
        rates: crate::mock::grounding::Rates {
            match_rate: flags.match_rate,
            null_rate: flags.null_rate,
        },
        scenarios,
        max_body: flags.max_body,
        budget: crate::providers::ReplyBudget {
            max_bytes: flags.max_reply_bytes,
            max_steps: flags.max_reply_steps,
            max_time: flags.max_reply_time,
        },
        workers: flags
            .mock_workers
            .map_or_else(crate::mock::default_workers, |n| n as usize),
    })
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    fn config(extra: &[&str]) -> Result<Config, ConfigError> {
        let mut argv = vec!["shunt", "serve"];
        argv.extend_from_slice(extra);
        match Cli::try_parse_from(argv).expect("flags parse").command {
            Some(Command::Serve(args)) => Config::from_args(args),
            other => panic!("expected serve, got {other:?}"),
        }
    }

    /// Each flag's error names the flag.
    #[test]
    fn errors_name_the_flag() {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = dir.path().join("missing");
        let missing = missing.to_str().expect("utf-8");
        for (flags, flag) in [
            (vec!["--replay", missing], "--replay"),
            (vec!["--scenarios", missing], "--scenarios"),
            (vec!["--record", "rec", "--origin-ca", missing], "--origin-ca"),
            (vec!["--origin-ca", missing], "--origin-ca"),
            (vec!["--capture", "x.txt"], "--capture"),
            (vec!["--max-connections", "0"], "--max-connections"),
            (vec!["--project", ""], "--project"),
        ] {
            let err = config(&flags).expect_err(flag);
            assert!(err.0.starts_with(flag), "{flags:?}: {err}");
            assert!(!err.0.contains('\n'), "one line: {err}");
        }
    }

    /// `--replay-miss upstream` falls back to the `--upstream` source.
    #[test]
    fn replay_falls_back_to_the_upstream() {
        let dir = tempfile::tempdir().expect("tempdir");
        let replay = dir.path().to_str().expect("utf-8");
        let c = config(&["--replay", replay, "--replay-miss", "upstream"]).expect("valid");
        assert!(
            matches!(&c.source, Source::Replay { fallback: Some(f), .. } if matches!(f.as_ref(), Source::Builtin(_)))
        );
        assert!(c.mock().is_some());
        let c = config(&["--replay", replay]).expect("valid");
        assert!(matches!(&c.source, Source::Replay { fallback: None, .. }));
    }
}
