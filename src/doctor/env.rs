//! Checks of the variables the SDKs read: the proxy, what bypasses it, credentials.

use super::{Check, Env};

/// `HTTPS_PROXY` must be an `http://` URL; its `host:port` is where the live checks go.
pub fn proxy(env: &Env<'_>) -> (Check, Option<String>) {
    let Some((name, value)) = env.get(&["HTTPS_PROXY", "https_proxy"]) else {
        return (
            Check::fail(
                "HTTPS_PROXY is not set: SDK calls go straight to Google",
                "set HTTPS_PROXY=http://shunt:8080 (and https_proxy)",
            ),
            None,
        );
    };
    match value.parse::<http::Uri>() {
        Ok(uri) if uri.scheme_str() == Some("http") && uri.authority().is_some() => (
            Check::pass(format!("{name}={value}")),
            uri.authority().map(|a| a.to_string()),
        ),
        _ if !value.contains("://") => (
            Check::fail(
                format!("{name}={value} has no scheme: aiohttp (google-genai async) ignores it"),
                format!("set {name}=http://{value}"),
            ),
            Some(value.to_string()),
        ),
        _ => (
            Check::fail(
                format!("{name}={value} is not an http:// proxy URL"),
                "set HTTPS_PROXY=http://shunt:8080",
            ),
            None,
        ),
    }
}

/// `NO_PROXY` must not send Google traffic around the proxy.
pub fn no_proxy(env: &Env<'_>) -> Check {
    let Some((name, value)) = env.get(&["NO_PROXY", "no_proxy"]) else {
        return Check::pass("NO_PROXY is unset: nothing bypasses the proxy");
    };
    let bypass: Vec<&str> = value
        .split(',')
        .map(str::trim)
        .filter(|e| {
            let e = e.trim_start_matches("*.").trim_start_matches('.');
            e == "*" || e == "googleapis.com" || e.ends_with(".googleapis.com") || e == "google.com"
        })
        .collect();
    if bypass.is_empty() {
        return Check::pass(format!("{name} does not cover googleapis.com"));
    }
    Check::fail(
        format!(
            "{name} lists {}: Vertex calls would bypass shunt and reach real Google",
            bypass.join(", ")
        ),
        format!("remove {} from {name}", bypass.join(", ")),
    )
}

/// Credentials google-auth will find: a credentials file, or the metadata server.
pub fn credentials(env: &Env<'_>) -> Check {
    if let Some((_, path)) = env.get(&["GOOGLE_APPLICATION_CREDENTIALS"]) {
        let json = std::fs::read_to_string(path)
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok());
        return match json {
            Some(json) if json["type"].is_string() => Check::pass(format!(
                "GOOGLE_APPLICATION_CREDENTIALS={path} ({})",
                json["type"].as_str().unwrap_or("")
            )),
            _ => Check::fail(
                format!("GOOGLE_APPLICATION_CREDENTIALS={path} is not a readable credentials JSON"),
                "point it at shunt's adc.json, or run `shunt creds --out FILE`",
            ),
        };
    }
    match env.get(&["GCE_METADATA_HOST", "GCE_METADATA_ROOT"]) {
        Some((name, value)) => Check::pass(format!("{name}={value} (GCE metadata credentials)")),
        None => Check::fail(
            "no credentials: neither GOOGLE_APPLICATION_CREDENTIALS nor GCE_METADATA_HOST is set",
            "set GOOGLE_APPLICATION_CREDENTIALS=/certs/adc.json",
        ),
    }
}
