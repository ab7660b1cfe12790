//! The proxy server: [`Server::start`] turns a validated [`Config`] and a bound listener
//! into running state (the CA, the trust kit, capture files, backends: everything that
//! writes happens here, after the config was checked), and [`Server::run`] accepts client
//! connections until shutdown, drains them, and closes the capture. `main` and the tests
//! both go through [`serve`] / [`Server`], so the tests run the binary's wiring.

use std::convert::Infallible;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::app::{App, ClientConn};
use crate::backends::{Backends, ModelSource, cassette, metadata, token, upstream};
use crate::capture::Capture;
use crate::config::{Config, ConfigError, Source};
use crate::conn::{self, Lifecycle};
use crate::metrics::Metrics;
use crate::mock::Mock;
use crate::policy::Policy;
use crate::stall::StallGuard;
use crate::tls::ca::Ca;
use crate::tls::keylog::KeyLogFile;
use crate::tls::kit::{self, EnvSettings};

/// A started proxy, ready to run.
pub struct Server {
    app: Arc<App>,
    listener: TcpListener,
    grace: std::time::Duration,
}

/// Start and run until `shutdown` resolves (what `shunt serve` does).
pub async fn serve(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ConfigError> {
    Server::start(listener, config)?.run(shutdown).await;
    Ok(())
}

impl Server {
    /// Load or create the CA, write the trust kit, open the key log and capture files,
    /// build the backends. Errors name the path or flag at fault.
    pub fn start(listener: TcpListener, config: Config) -> Result<Server, ConfigError> {
        let addr = listener
            .local_addr()
            .map_err(|e| ConfigError(format!("--listen: {e}")))?;
        let certs = config.certs.clone();
        let mut ca = Ca::load_or_create(&certs).map_err(|e| ConfigError(e.to_string()))?;
        if let Some(path) = &config.keylog {
            let file = KeyLogFile::open(path).map_err(|e| ConfigError(format!("--keylog {e}")))?;
            ca = ca.with_key_log(Arc::new(file));
            tracing::warn!(path = %path.display(), "writing TLS session keys: anyone with this file can decrypt captured traffic");
        }
        let env = EnvSettings {
            proxy_url: config
                .public_url
                .clone()
                .unwrap_or_else(|| format!("http://{}", reachable(addr))),
            certs_dir: config.public_certs_dir.clone().unwrap_or_else(|| certs.clone()),
            project: config.project.clone(),
            location: "us-central1".into(),
            claude_region: "us-east5".into(),
        };
        kit::write_kit(&certs, &ca, &env).map_err(|e| ConfigError(e.to_string()))?;
        tracing::info!(
            certs = %certs.display(),
            ca = if ca.created() { "created" } else { "reused" },
            fingerprint = %ca.fingerprint(),
            "trust kit written"
        );
        if !addr.ip().is_loopback() {
            tracing::warn!(
                %addr,
                "listening on a non-loopback address: any client that can reach it may tunnel through shunt; \
                 use --other deny to refuse hosts outside the table and --allow-clients CIDR to limit who is served"
            );
        }
        let metrics = Arc::new(Metrics::new());
        let capture = match &config.capture {
            Some(c) => Some(Capture::start(c, metrics.capture_counters()).map_err(ConfigError)?),
            None => None,
        };
        let lifecycle = Lifecycle::default();
        let tokens = Arc::new(token::TokenIssuer::new(config.token_expires_in));
        let limits = Timeouts {
            connect: config.connect_timeout,
            response: config.upstream_timeout,
            max_body: config.limits.max_body,
        };
        let model = model_source(config.source, &limits, &metrics, &lifecycle)?;
        let backends = Backends {
            model,
            metadata: metadata::Metadata::new(&config.project, tokens.clone()),
            token: tokens,
            origin: upstream::OriginClient::new(config.connect_timeout, config.upstream_timeout),
        };
        let observer = Arc::new(crate::dashboard::Observer::new(
            metrics.clone(),
            config.dashboard.prices.clone(),
        ));
        let access = crate::admin::Access {
            loopback: addr.ip().is_loopback(),
            token: config.dashboard.admin_token.clone(),
        };
        let app = App {
            policy: Policy::with_defaults(config.other),
            ca,
            backends,
            metrics,
            lifecycle,
            certs_dir: certs,
            limits: config.limits,
            connect_timeout: config.connect_timeout,
            capture,
            listen: addr,
            observer,
            access,
            untrusted: Default::default(),
            conn_ids: Default::default(),
        };
        Ok(Server {
            app: Arc::new(app),
            listener,
            grace: config.grace_period,
        })
    }

    /// The shared state (tests read metrics and the CA from it).
    pub fn app(&self) -> &Arc<App> {
        &self.app
    }

    /// Accept until `shutdown`, drain under the grace period, then close the capture.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        let Server { app, listener, grace } = self;
        tracing::info!(addr = %app.listen, upstream = %describe(&app.backends.model), "listening");
        tracing::info!(
            env = %app.certs_dir.join(kit::ENV_FILE).display(),
            "to divert an app, give it this env (a shell: set -a; . ENV; set +a), then run `shunt doctor` in it"
        );
        let slots = Arc::new(Semaphore::new(app.limits.max_connections));
        let lifecycle = app.lifecycle.clone();
        let accept_app = app.clone();
        conn::accept(
            listener,
            &lifecycle,
            shutdown,
            slots,
            move |stream, peer, slot| serve_client(accept_app.clone(), stream, peer, slot),
        )
        .await;
        conn::drain(&lifecycle, grace).await;
        if let Some(capture) = app.capture.clone() {
            // Connections have drained: write what is queued and the final HAR.
            let closed = tokio::task::spawn_blocking(move || {
                capture.shutdown();
                (capture.written(), capture.dropped())
            })
            .await;
            match closed {
                Ok((written, dropped)) => tracing::info!(written, dropped, "capture closed"),
                Err(e) => tracing::warn!(error = %e, "capture writer failed at shutdown"),
            }
        }
    }
}

/// One client connection: HTTP/1.1 with upgrades (CONNECT), under the stall guard.
async fn serve_client(
    app: Arc<App>,
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    slot: tokio::sync::OwnedSemaphorePermit,
) {
    // Loopback is always served, so the container's own health check works whatever
    // `--allow-clients` says.
    let allowed = &app.limits.allow_clients;
    let loopback = peer.ip().is_loopback() || peer.ip().to_canonical().is_loopback();
    if !allowed.is_empty() && !loopback && !allowed.iter().any(|net| net.contains(peer.ip())) {
        tracing::info!(%peer, "client not in --allow-clients; disconnected");
        return;
    }
    let _open = app.metrics.connection_opened();
    // The place among --max-connections goes with every task this connection starts (an
    // intercepted session, a tunnel) and is freed after the last.
    let conn = ClientConn {
        id: app.next_conn(),
        peer,
        slot: Arc::new(slot),
    };
    let svc_app = app.clone();
    let svc = service_fn(move |req| {
        let app = svc_app.clone();
        let conn = conn.clone();
        async move { Ok::<_, Infallible>(crate::proxy::handle(req, app, conn).await) }
    });
    let io = StallGuard::new(stream, app.limits.stall_timeout, app.metrics.clone());
    let served = hyper::server::conn::http1::Builder::new()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(app.limits.header_read_timeout)
        .max_buf_size(app.limits.max_header_bytes)
        .serve_connection(TokioIo::new(io), svc)
        .with_upgrades();
    let res = conn::until_shutdown(served, &app.lifecycle.shutdown, |c| c.graceful_shutdown()).await;
    if let Err(err) = res {
        tracing::debug!(%peer, error = %err, "client connection ended with an error");
    }
}

/// What every upstream-facing backend is built with.
struct Timeouts {
    connect: std::time::Duration,
    response: std::time::Duration,
    max_body: usize,
}

/// The backend for model calls, from its configuration.
fn model_source(
    source: Source,
    config: &Timeouts,
    metrics: &Arc<Metrics>,
    lifecycle: &Lifecycle,
) -> Result<ModelSource, ConfigError> {
    Ok(match source {
        Source::Builtin(mock) => {
            ModelSource::Builtin(Mock::new(*mock, metrics.clone(), lifecycle.tasks.clone()))
        }
        Source::Forward { base, rewrite } => ModelSource::Forward(upstream::Forwarder::new(
            base,
            rewrite,
            config.connect,
            config.response,
        )),
        Source::Record {
            dir,
            roots,
            overrides,
        } => ModelSource::Record(
            cassette::Recorder::new(
                &dir,
                roots,
                overrides,
                config.response,
                config.max_body,
                lifecycle.tasks.clone(),
            )
            .map_err(ConfigError)?,
        ),
        Source::Replay {
            cassette,
            pace,
            fallback,
        } => ModelSource::Replay {
            replayer: cassette::Replayer::new(cassette, pace, config.max_body, lifecycle.tasks.clone()),
            fallback: match fallback {
                Some(f) => Some(Box::new(model_source(*f, config, metrics, lifecycle)?)),
                None => None,
            },
        },
    })
}

/// What answers model calls, for the "listening" line.
fn describe(source: &ModelSource) -> String {
    match source {
        ModelSource::Builtin(_) => "builtin".into(),
        ModelSource::Forward(f) => f.base().to_string(),
        ModelSource::Record(_) => "record".into(),
        ModelSource::Replay { fallback: None, .. } => "replay".into(),
        ModelSource::Replay {
            fallback: Some(f), ..
        } => format!("replay, misses to {}", describe(f)),
    }
}

/// An address a local client can connect to: unspecified binds are reached on loopback.
pub fn reachable(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => SocketAddr::new(Ipv4Addr::LOCALHOST.into(), addr.port()),
        IpAddr::V6(ip) if ip.is_unspecified() => SocketAddr::new(Ipv6Addr::LOCALHOST.into(), addr.port()),
        _ => addr,
    }
}
