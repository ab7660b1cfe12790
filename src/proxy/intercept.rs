//! Interception: TLS accept on an upgraded CONNECT stream with a leaf minted for the
//! host the client names (SNI, else the CONNECT host), then HTTP/1.1 or HTTP/2 (by ALPN
//! or preface), each request routed and served as an `Exchange`.

use std::convert::Infallible;
use std::sync::Arc;

use hyper::server::conn::{http1, http2};
use hyper::service::service_fn;
use hyper::upgrade::Upgraded;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use rustls::AlertDescription;
use tokio_rustls::LazyConfigAcceptor;
use tokio_rustls::server::TlsStream;

use crate::app::{App, ClientConn};
use crate::conn::serve_until_shutdown;
use crate::exchange::{Exchange, Scheme};
use crate::policy::{Service, normalize_host};
use crate::route;
use crate::tls::ca::HostName;

/// Serve an intercepted connection; `conn` (and its `--max-connections` place) is held
/// until it closes.
///
/// The handshake and the serving run as two boxed futures, and the serving one holds only
/// the protocol ALPN chose: an open stream keeps neither the handshake's state nor an
/// unused HTTP/2 (or HTTP/1) connection inline in its task (BENCHMARKS.md, "Memory per
/// open stream").
pub async fn serve(
    upgraded: Upgraded,
    app: Arc<App>,
    service: Service,
    connect_host: String,
    conn: ClientConn,
) {
    let _open = app.metrics.connection_opened();
    let Some((tls, host)) = Box::pin(handshake(upgraded, &app, connect_host)).await else {
        return;
    };
    app.metrics.handshake_ok();
    let svc_app = app.clone();
    let svc_host = host.clone();
    let conn_id = conn.id;
    let svc = service_fn(move |req| {
        let app = svc_app.clone();
        let host = svc_host.clone();
        async move {
            let route = route::classify(service, req.uri().path());
            Ok::<_, Infallible>(Exchange::serve(&app, conn_id, &host, Scheme::Https, route, req).await)
        }
    });
    let limit = app.limits.header_read_timeout;
    let shutdown = &app.lifecycle.shutdown;
    let alpn = tls.get_ref().1.alpn_protocol().map(<[u8]>::to_vec);
    let io = TokioIo::new(tls);
    // One builder per protocol, not `auto` with `http1_only()` / `http2_only()`: that skips
    // the preface read too, but its connection keeps both protocols' state inline, 2.7 KiB
    // more per open stream (measured at 10,000 streams: 369 against 342 MiB).
    let served: Result<(), Box<dyn std::error::Error + Send + Sync>> = match alpn.as_deref() {
        Some(b"h2") => {
            let mut builder = http2::Builder::new(TokioExecutor::new());
            builder
                .timer(TokioTimer::new())
                .max_header_list_size(app.limits.max_header_bytes as u32);
            let conn = builder.serve_connection(io, svc);
            Box::pin(serve_until_shutdown(conn, shutdown))
                .await
                .map_err(Into::into)
        }
        Some(b"http/1.1") => {
            let mut builder = http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(limit)
                .max_buf_size(app.limits.max_header_bytes);
            let conn = builder.serve_connection(io, svc);
            Box::pin(serve_until_shutdown(conn, shutdown))
                .await
                .map_err(Into::into)
        }
        // No ALPN: HTTP/1.1, or HTTP/2 with prior knowledge, told apart by the preface.
        _ => {
            let mut builder = auto::Builder::new(TokioExecutor::new());
            builder
                .http1()
                .timer(TokioTimer::new())
                .header_read_timeout(limit)
                .max_buf_size(app.limits.max_header_bytes);
            builder
                .http2()
                .timer(TokioTimer::new())
                .max_header_list_size(app.limits.max_header_bytes as u32);
            let conn = builder.serve_connection(io, svc);
            Box::pin(serve_until_shutdown(conn, shutdown)).await
        }
    };
    if let Err(err) = served {
        tracing::debug!(host = %host, error = %err, "intercepted connection ended with an error");
    }
    drop(conn);
}

/// The TLS handshake with a leaf for the host the client names (SNI, else the CONNECT
/// host), each step under the header-read timeout. `None` when it failed (counted and
/// logged here).
async fn handshake(
    upgraded: Upgraded,
    app: &App,
    connect_host: String,
) -> Option<(TlsStream<TokioIo<Upgraded>>, String)> {
    let acceptor = LazyConfigAcceptor::new(rustls::server::Acceptor::default(), TokioIo::new(upgraded));
    let limit = app.limits.header_read_timeout;
    let start = match tokio::time::timeout(limit, acceptor).await {
        Ok(Ok(start)) => start,
        Ok(Err(err)) => {
            app.metrics.handshake_failed();
            tracing::info!(error = %err, "not a TLS ClientHello");
            return None;
        }
        Err(_) => {
            app.metrics.handshake_failed();
            tracing::info!(
                after_s = limit.as_secs_f64(),
                "no TLS ClientHello in time; closing"
            );
            return None;
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
            return None;
        }
    };
    match tokio::time::timeout(limit, start.into_stream(config)).await {
        Err(_) => {
            app.metrics.handshake_failed();
            tracing::info!(host, "TLS handshake did not finish in time; closing");
            None
        }
        Ok(Ok(tls)) => Some((tls, host)),
        Ok(Err(err)) => {
            report_handshake_failure(app, &host, &err);
            app.metrics.handshake_failed();
            None
        }
    }
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
