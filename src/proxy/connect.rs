//! CONNECT: parse the authority, ask the policy, then tunnel, intercept or deny.
//!
//! A tunnel connects to the target *before* answering 200, so an unreachable host is a
//! 502 the client can read rather than a tunnel that closes at once. An intercepted
//! CONNECT is answered 200 at once; the TLS handshake happens on the upgraded stream.

use std::sync::Arc;

use http::StatusCode;
use hyper::body::Incoming;
use tracing::Instrument;

use super::{intercept, tunnel};
use crate::app::{App, ClientConn};
use crate::body::{Body, empty};
use crate::error::Error;
use crate::exchange;
use crate::policy::{Decision, normalize_host};

/// Port an intercepted host is served on; other ports are refused, not tunnelled, so a
/// Google call can never escape through an odd port.
const TLS_PORT: u16 = 443;

/// A parsed CONNECT target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Lower-case host, IPv6 without brackets.
    pub host: String,
    pub port: u16,
}

/// Parse a CONNECT request target (`host:port`, `[v6]:port`). The port is required.
pub fn parse_target(authority: &str) -> Result<Target, String> {
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let (v6, after) = rest
            .split_once(']')
            .ok_or_else(|| format!("`{authority}`: unterminated IPv6 literal"))?;
        v6.parse::<std::net::Ipv6Addr>()
            .map_err(|_| format!("`{authority}`: `{v6}` is not an IPv6 address"))?;
        let port = after
            .strip_prefix(':')
            .ok_or_else(|| format!("`{authority}`: CONNECT needs host:port"))?;
        (v6, port)
    } else {
        authority
            .rsplit_once(':')
            .ok_or_else(|| format!("`{authority}`: CONNECT needs host:port"))?
    };
    if host.is_empty() {
        return Err(format!("`{authority}`: empty host"));
    }
    // A colon is only valid inside a bracketed IPv6 literal (found by the fuzzer:
    // `a1:8x.com:443` used to pass as host `a1:8x.com`).
    let bracketed = authority.starts_with('[');
    if !host
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b) || (bracketed && b == b':'))
    {
        return Err(format!("`{authority}`: invalid host name"));
    }
    let port: u16 = port
        .parse()
        .ok()
        .filter(|p| *p != 0)
        .ok_or_else(|| format!("`{authority}`: `{port}` is not a valid port"))?;
    // One trailing dot (FQDN form) is allowed and dropped; any other empty label is not.
    let fqdn = host.strip_suffix('.').unwrap_or(host);
    if !bracketed && (fqdn.is_empty() || fqdn.split('.').any(str::is_empty)) {
        return Err(format!("`{authority}`: empty label in host name"));
    }
    Ok(Target {
        host: normalize_host(host),
        port,
    })
}

pub async fn handle(req: http::Request<Incoming>, app: Arc<App>, conn: ClientConn) -> http::Response<Body> {
    let authority = req
        .uri()
        .authority()
        .map(|a| a.as_str().to_string())
        .unwrap_or_default();
    let target = match parse_target(&authority) {
        Ok(t) => t,
        Err(reason) => {
            tracing::info!(authority = %authority, reason = %reason, "bad CONNECT");
            return Error::BadRequest(format!("bad CONNECT target {reason}")).into_response();
        }
    };
    let span = tracing::info_span!("connect", host = %target.host, port = target.port);
    match app.policy.decide(&target.host) {
        Decision::Intercept(_) if target.port != TLS_PORT => exchange::deny(
            &app,
            conn.id,
            &target.host,
            target.port,
            format!("shunt intercepts {} only on port {TLS_PORT}", target.host),
        ),
        Decision::Intercept(service) => {
            let lifecycle = app.lifecycle.clone();
            let host = target.host.clone();
            let _entered = span.enter();
            lifecycle.spawn(async move {
                match hyper::upgrade::on(req).await {
                    Ok(upgraded) => intercept::serve(upgraded, app, service, host, conn).await,
                    Err(err) => tracing::debug!(error = %err, "CONNECT upgrade failed"),
                }
            });
            ok_empty()
        }
        Decision::Tunnel => tunnel::open(req, app, target, conn).instrument(span).await,
        Decision::Deny(reason) => exchange::deny(&app, conn.id, &target.host, target.port, reason),
    }
}

/// The empty 200 that completes a CONNECT.
pub fn ok_empty() -> http::Response<Body> {
    let mut res = http::Response::new(empty());
    *res.status_mut() = StatusCode::OK;
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    /// CONNECT targets: names, IPv4, bracketed IPv6; errors name the problem.
    #[test]
    fn targets() {
        assert_eq!(
            parse_target("Aiplatform.googleapis.com:443"),
            Ok(Target {
                host: "aiplatform.googleapis.com".into(),
                port: 443
            })
        );
        assert_eq!(
            parse_target("[::1]:8443"),
            Ok(Target {
                host: "::1".into(),
                port: 8443
            })
        );
        assert_eq!(parse_target("127.0.0.1:80").map(|t| t.port), Ok(80));
        for (bad, why) in [
            ("example.com", "host:port"),
            (":443", "empty host"),
            ("[::1:443", "unterminated"),
            ("[zz::1]:443", "not an IPv6"),
            ("example.com:0", "not a valid port"),
            ("example.com:99999", "not a valid port"),
            ("exa mple.com:443", "invalid host"),
            ("a127.0.0.1:8oogleapis.com:443", "invalid host"),
            ("270..:8", "empty label"),
            (".example.com:443", "empty label"),
        ] {
            let err = parse_target(bad).expect_err(bad);
            assert!(err.contains(why), "{bad}: {err}");
        }
    }
}
