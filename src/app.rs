//! The state every connection task shares: policy, CA, backends, metrics, capture and
//! the lifecycle. Built once by [`crate::server::Server::start`] from a validated config.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::backends::Backends;
use crate::capture::Capture;
use crate::config::Limits;
use crate::conn::Lifecycle;
use crate::metrics::Metrics;
use crate::policy::Policy;
use crate::tls::ca::Ca;

/// One client connection: its number (for logs and captures) and its place among
/// `--max-connections`. Clones travel with the tasks a connection starts (an intercepted
/// TLS session, a tunnel), so the place is held until the last of them ends.
#[derive(Debug, Clone)]
pub struct ClientConn {
    pub id: u64,
    pub peer: SocketAddr,
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
    pub limits: Limits,
    pub connect_timeout: std::time::Duration,
    /// The capture, when `--capture` names files.
    pub capture: Option<Arc<Capture>>,
    /// The address shunt listens on: tunnels and proxying into it are refused.
    pub listen: SocketAddr,
    /// Where finished exchanges go: the dashboard and the GenAI metrics.
    pub observer: Arc<crate::dashboard::Observer>,
    /// Who may use the dashboard and the admin API.
    pub access: crate::admin::Access,
    /// Hosts already warned about a client that distrusts the CA.
    pub untrusted: UntrustedHosts,
    /// Numbers client connections for logs and capture records.
    pub conn_ids: ConnIds,
}

/// Hosts already warned about a client that distrusts the CA (one WARN per host; at most
/// [`MAX_WARNED_HOSTS`] remembered).
#[derive(Debug, Default)]
pub struct UntrustedHosts(Mutex<HashSet<String>>);

/// Client connection numbers, from 1.
#[derive(Debug, Default)]
pub struct ConnIds(AtomicU64);

impl App {
    /// A new client connection number.
    pub fn next_conn(&self) -> u64 {
        self.conn_ids.0.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// True the first time `host` is reported as untrusting the CA (bounded: once
    /// [`MAX_WARNED_HOSTS`] hosts were warned about, no more are remembered or warned).
    pub fn first_untrusted_warning(&self, host: &str) -> bool {
        let mut warned = self.untrusted.0.lock().unwrap_or_else(|p| p.into_inner());
        if warned.len() >= MAX_WARNED_HOSTS {
            return false;
        }
        warned.insert(host.to_string())
    }

    /// Hosts warned about so far.
    pub fn untrusted_hosts(&self) -> Vec<String> {
        let warned = self.untrusted.0.lock().unwrap_or_else(|p| p.into_inner());
        warned.iter().cloned().collect()
    }

    /// Whether `addr` is shunt's own listener (an unspecified listen address covers every
    /// address of this host on that port: `local` says the address is this host's).
    pub fn is_own_listener(&self, addr: SocketAddr, local: bool) -> bool {
        let l = self.listen;
        l.port() == addr.port() && (l.ip() == addr.ip() || l.ip().is_unspecified() && local)
    }
}
