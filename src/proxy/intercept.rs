//! Interception: TLS accept on an upgraded CONNECT stream with a leaf minted for the
//! host the client names (SNI, else the CONNECT host), then HTTP/1.1 or HTTP/2 (by ALPN
//! or preface), each request routed and served as an `Exchange`.

use std::convert::Infallible;
use std::sync::Arc;

use hyper::service::service_fn;
use hyper::upgrade::Upgraded;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use rustls::AlertDescription;
use tokio_rustls::LazyConfigAcceptor;

use crate::app::{App, ClientConn};
use crate::conn::serve_until_shutdown;
use crate::exchange::{Exchange, Scheme};
use crate::policy::{Service, normalize_host};
use crate::route;
use crate::tls::ca::HostName;

/// Serve an intercepted connection; `conn` (and its `--max-connections` place) is held
/// until it closes.
pub async fn serve(
    upgraded: Upgraded,
    app: Arc<App>,
    service: Service,
    connect_host: String,
    conn: ClientConn,
) {
    let conn_id = conn.id;
    let _open = app.metrics.connection_opened();
    let acceptor = LazyConfigAcceptor::new(rustls::server::Acceptor::default(), TokioIo::new(upgraded));
    let limit = app.limits.header_read_timeout;
    let start = match tokio::time::timeout(limit, acceptor).await {
        Ok(Ok(start)) => start,
        Ok(Err(err)) => {
            app.metrics.handshake_failed();
            tracing::info!(error = %err, "not a TLS ClientHello");
            return;
        }
        Err(_) => {
            app.metrics.handshake_failed();
            tracing::info!(
                after_s = limit.as_secs_f64(),
                "no TLS ClientHello in time; closing"
            );
            return;
        }
    };
    let (host, named) = match start.client_hello().server_name() {
        Some(sni) => (normalize_host(sni), HostName::Sni),
        None => (connect_host, HostName::Connect),
    };
    let config = match app.ca.server_config(&host, named) {
        Ok((config, outcome)) => {
            app.metrics.leaf_cache(outcome);
            config
        }
        Err(err) => {
            app.metrics.handshake_failed();
            tracing::warn!(host = %host, error = %err, "cannot mint a leaf certificate");
            return;
        }
    };
    let tls = match tokio::time::timeout(limit, start.into_stream(config)).await {
        Err(_) => {
            app.metrics.handshake_failed();
            tracing::info!(host, "TLS handshake did not finish in time; closing");
            return;
        }
        Ok(Ok(tls)) => tls,
        Ok(Err(err)) => {
            report_handshake_failure(&app, &host, &err);
            app.metrics.handshake_failed();
            return;
        }
    };
    app.metrics.handshake_ok();
    let svc_app = app.clone();
    let svc_host = host.clone();
    let svc = service_fn(move |req| {
        let app = svc_app.clone();
        let host = svc_host.clone();
        async move {
            let route = route::classify(service, req.uri().path());
            Ok::<_, Infallible>(Exchange::serve(&app, conn_id, &host, Scheme::Https, route, req).await)
        }
    });
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(limit)
        .max_buf_size(app.limits.max_header_bytes);
    builder
        .http2()
        .timer(hyper_util::rt::TokioTimer::new())
        .max_header_list_size(app.limits.max_header_bytes as u32);
    let served = builder.serve_connection(TokioIo::new(tls), svc);
    if let Err(err) = serve_until_shutdown(served, &app.lifecycle.shutdown).await {
        tracing::debug!(host = %host, error = %err, "intercepted connection ended with an error");
    }
    drop(conn);
}

/// A client that rejects the leaf almost always lacks the CA: say how to fix it, once
/// per host. Other failures are logged at debug.
fn report_handshake_failure(app: &App, host: &str, err: &std::io::Error) {
    let alert = err
        .get_ref()
        .and_then(|e| e.downcast_ref::<rustls::Error>())
        .and_then(|e| match e {
            rustls::Error::AlertReceived(alert) => Some(*alert),
            _ => None,
        });
    // unknown_ca: the CA is not in the client's store at all; decrypt_error: the client
    // trusts a CA with shunt's name but another key (an old certs dir); bad/unknown
    // certificate: other verifiers' way of saying the same.
    let untrusted = matches!(
        alert,
        Some(
            AlertDescription::UnknownCA
                | AlertDescription::DecryptError
                | AlertDescription::BadCertificate
                | AlertDescription::CertificateUnknown
        )
    );
    if untrusted {
        if app.first_untrusted_warning(host) {
            let bundle = app.certs_dir.join(crate::tls::kit::BUNDLE_FILE);
            // The alert's name as rustls spells it (`UnknownCA`), not `Some(UnknownCA)`.
            let alert = alert.map(|a| format!("{a:?}")).unwrap_or_default();
            tracing::warn!(
                host = %host,
                alert = %alert,
                bundle = %bundle.display(),
                "client rejected shunt's certificate: it does not trust this shunt CA \
                 (missing, or an old one); point SSL_CERT_FILE, REQUESTS_CA_BUNDLE and \
                 AWS_CA_BUNDLE at the bundle"
            );
        }
    } else {
        tracing::debug!(host = %host, error = %err, "TLS handshake failed");
    }
}
