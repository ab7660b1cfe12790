//! Checks of the CA bundles the SDKs' HTTP clients read: each must hold this shunt's
//! CA (to trust intercepted hosts) and public roots (to trust tunnelled ones).

use std::collections::HashMap;

use super::{Check, Env};

/// A bundle variable and who reads it.
pub struct Bundle {
    pub var: &'static str,
    pub reader: &'static str,
    /// Unset fails the check (the Google SDKs need it); else unset passes with a note.
    pub required: bool,
}

/// The bundles checked, in order.
pub const BUNDLES: [Bundle; 3] = [
    Bundle {
        var: "SSL_CERT_FILE",
        reader: "httpx2 / aiohttp (google-genai, anthropic, openai)",
        required: true,
    },
    Bundle {
        var: "REQUESTS_CA_BUNDLE",
        reader: "requests (google-auth token refresh)",
        required: true,
    },
    Bundle {
        var: "AWS_CA_BUNDLE",
        reader: "botocore (boto3: Bedrock)",
        required: false,
    },
];

/// Bundles that passed, by variable: their certificates (DER), for the live checks.
pub type Trusted = HashMap<&'static str, Vec<Vec<u8>>>;

/// Check one bundle against the proxy's CA (`None`: the proxy could not be asked).
/// Returns the bundle's certificates when it passed.
pub fn check(env: &Env<'_>, bundle: &Bundle, ca: Option<&[u8]>) -> (Check, Option<Vec<Vec<u8>>>) {
    let name = bundle.var;
    let Some((_, path)) = env.get(&[name]) else {
        if !bundle.required {
            return (
                Check::pass(format!("{name} is unset: only {} needs it", bundle.reader)),
                None,
            );
        }
        return (
            Check::fail(
                format!("{name} is not set: {} will not trust shunt", bundle.reader),
                format!("set {name}=/certs/bundle.pem (shunt's bundle: public roots + shunt CA)"),
            ),
            None,
        );
    };
    let certs = match read(path) {
        Ok(c) => c,
        Err(e) => {
            return (
                Check::fail(
                    format!("{name}: {e}"),
                    format!("point {name} at shunt's bundle.pem"),
                ),
                None,
            );
        }
    };
    let public = certs
        .iter()
        .filter(|c| {
            webpki_root_certs::TLS_SERVER_ROOT_CERTS
                .iter()
                .any(|r| r.as_ref() == c.as_slice())
        })
        .count();
    let has_ca = ca.map(|ca| certs.iter().any(|c| c == ca));
    let check = match (has_ca, public) {
        (Some(false), _) => {
            return (
                Check::fail(
                    format!("{name}={path} does not contain this shunt's CA"),
                    format!(
                        "point {name} at the bundle.pem shunt wrote (or fetch http://PROXY/ca.pem into it)"
                    ),
                ),
                None,
            );
        }
        (_, 0) => {
            return (
                Check::fail(
                    format!(
                        "{name}={path} holds no public roots: tunnelled HTTPS (PyPI, other APIs) will fail"
                    ),
                    format!("use shunt's bundle.pem (public roots + CA) for {name}"),
                ),
                None,
            );
        }
        (Some(true), n) => Check::pass(format!("{name}={path}: shunt CA and {n} public roots")),
        (None, n) => Check::pass(format!(
            "{name}={path}: {n} public roots (CA not checked: proxy unreachable)"
        )),
    };
    (check, Some(certs))
}

/// Certificates in a PEM bundle (DER), or why it could not be read.
fn read(path: &str) -> Result<Vec<Vec<u8>>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {path}: {e}"))?;
    let certs: Vec<Vec<u8>> = pem::parse_many(&text)
        .map_err(|e| format!("{path} is not PEM: {e}"))?
        .into_iter()
        .filter(|p| p.tag() == "CERTIFICATE")
        .map(|p| p.into_contents())
        .collect();
    if certs.is_empty() {
        return Err(format!("{path} holds no certificates"));
    }
    Ok(certs)
}
