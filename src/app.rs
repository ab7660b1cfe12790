//! The state every connection task shares: policy, CA, backends, metrics and the
//! shutdown handles. Built once from a validated config.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::backend::mock::MockConfig;
use crate::backend::{Backends, ModelBackend, metadata, mock, record, token, upstream};
use crate::capture::Capture;
use crate::config::{ServeArgs, Upstream};
use crate::metrics::Metrics;
use crate::policy::Policy;
use crate::tls::ca::Ca;

/// Tasks and the signal that ends them: every spawned connection, tunnel and stream is
/// tracked, so shutdown can wait for them under a grace period.
#[derive(Debug, Clone, Default)]
pub struct Lifecycle {
    /// Cancelled when shutdown begins; connections then finish in-flight work and close.
    pub shutdown: CancellationToken,
    /// Every connection task; shutdown waits on it.
    pub tasks: TaskTracker,
}

/// One client connection: its number (for logs and captures) and its place among
/// `--max-connections`. Clones travel with the tasks a connection starts (an intercepted
/// TLS session, a tunnel), so the place is held until the last of them ends.
#[derive(Debug, Clone)]
pub struct ClientConn {
    pub id: u64,
    pub peer: std::net::SocketAddr,
    /// The connection's `--max-connections` permit, released when every clone is dropped.
    pub slot: Arc<tokio::sync::OwnedSemaphorePermit>,
}

/// Hosts remembered for the "client distrusts the CA" warning.
pub const MAX_WARNED_HOSTS: usize = 1024;

/// Shared proxy state.
pub struct App {
    pub policy: Policy,
    pub ca: Ca,
    pub backends: Backends,
    pub metrics: Arc<Metrics>,
    pub lifecycle: Lifecycle,
    /// Where the trust kit lives, for the "trust the CA" hint.
    pub certs_dir: PathBuf,
    pub connect_timeout: Duration,
    /// Connection limits and timeouts (`--max-connections`, `--header-read-timeout`, …).
    pub limits: crate::config::Limits,
    /// Hosts already warned about a client that distrusts the CA (one WARN per host; at
    /// most [`MAX_WARNED_HOSTS`] remembered).
    pub warned_untrusted: Mutex<HashSet<String>>,
    /// The addresses shunt listens on: tunnels and proxying into them are refused.
    pub listen: Mutex<Vec<std::net::SocketAddr>>,
    /// The capture, when `--capture` names files.
    pub capture: Option<Arc<Capture>>,
    /// Numbers client connections for logs and capture records.
    next_conn: AtomicU64,
}

impl App {
    /// Assemble the state from validated args and a loaded CA.
    pub fn new(
        args: &ServeArgs,
        mock: MockConfig,
        ca: Ca,
        certs_dir: PathBuf,
        metrics: Arc<Metrics>,
        capture: Option<Arc<Capture>>,
    ) -> Result<App, String> {
        let tokens = Arc::new(token::TokenIssuer::new(args.token_expires_in));
        let model = match &args.upstream {
            Upstream::Builtin => ModelBackend::Builtin(Box::new(mock::Mock::new(mock, metrics.clone()))),
            Upstream::Forward(uri) => ModelBackend::Forward(Box::new(upstream::Forwarder::new(
                uri.clone(),
                args.rewrite,
                args.connect_timeout,
                args.upstream_timeout,
            ))),
        };
        Ok(App {
            policy: Policy::with_defaults(args.other),
            ca,
            backends: Backends {
                model,
                metadata: metadata::Metadata::new(&args.project, tokens.clone()),
                token: tokens,
                origin: upstream::OriginClient::new(args.connect_timeout, args.upstream_timeout),
                record: match &args.record {
                    Some(dir) => {
                        let extra = match &args.origin_ca {
                            Some(path) => Some(
                                std::fs::read_to_string(path)
                                    .map_err(|e| format!("--origin-ca {}: {e}", path.display()))?,
                            ),
                            None => None,
                        };
                        let overrides = args.origin_override.iter().cloned().collect();
                        Some(record::Recorder::new(
                            dir,
                            extra.as_deref(),
                            overrides,
                            args.upstream_timeout,
                            args.mock.max_body,
                        )?)
                    }
                    None => None,
                },
                replay: match &args.replay {
                    Some(dir) => Some(record::Replayer::load(
                        dir,
                        args.replay_miss,
                        args.replay_timing,
                        args.mock.max_body,
                    )?),
                    None => None,
                },
            },
            metrics,
            lifecycle: Lifecycle::default(),
            certs_dir,
            connect_timeout: args.connect_timeout,
            limits: args.limits.clone(),
            warned_untrusted: Mutex::new(HashSet::new()),
            listen: Mutex::new(Vec::new()),
            capture,
            next_conn: AtomicU64::new(1),
        })
    }

    /// A new client connection number.
    pub fn next_conn(&self) -> u64 {
        self.next_conn.fetch_add(1, Ordering::Relaxed)
    }

    /// True the first time `host` is reported as untrusting the CA (bounded: once
    /// [`MAX_WARNED_HOSTS`] hosts were warned about, no more are remembered or warned).
    pub fn first_untrusted_warning(&self, host: &str) -> bool {
        let mut warned = self.warned_untrusted.lock().unwrap_or_else(|p| p.into_inner());
        if warned.len() >= MAX_WARNED_HOSTS {
            return false;
        }
        warned.insert(host.to_string())
    }

    /// Whether `addr` is one shunt listens on (an unspecified listen address covers every
    /// address of this host on that port: `local` says the address is this host's).
    pub fn is_own_listener(&self, addr: std::net::SocketAddr, local: bool) -> bool {
        let listen = self.listen.lock().unwrap_or_else(|p| p.into_inner());
        listen
            .iter()
            .any(|l| l.port() == addr.port() && (l.ip() == addr.ip() || l.ip().is_unspecified() && local))
    }
}
