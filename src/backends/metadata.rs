//! Fake GCE metadata server, reached as absolute-form `http://metadata.google.internal/…`
//! or `http://169.254.169.254/…` (apps with `HTTP_PROXY`), or origin-form
//! `/computeMetadata/v1/…` and `/` (apps with `GCE_METADATA_HOST` / `GCE_METADATA_IP`
//! pointing at shunt). Every answer carries `Metadata-Flavor: Google`; requests without
//! that header are refused with 403, as the real server does.

use std::sync::Arc;

use http::{HeaderValue, StatusCode};
use serde_json::json;

use super::token::TokenIssuer;
use crate::body::{Body, json_response, typed_response};
use crate::error::Error;

const FLAVOR: &str = "metadata-flavor";
const SCOPES: &[&str] = &[
    "https://www.googleapis.com/auth/cloud-platform",
    "https://www.googleapis.com/auth/userinfo.email",
];

/// The metadata backend.
pub struct Metadata {
    project: String,
    email: String,
    tokens: Arc<TokenIssuer>,
}

impl Metadata {
    pub fn new(project: &str, tokens: Arc<TokenIssuer>) -> Self {
        Metadata {
            project: project.to_string(),
            email: format!("shunt-mock@{project}.iam.gserviceaccount.com"),
            tokens,
        }
    }

    /// Does this request carry `Metadata-Flavor: Google`?
    pub fn has_flavor<B>(req: &http::Request<B>) -> bool {
        req.headers()
            .get(FLAVOR)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"google"))
    }

    pub fn serve<B>(&self, req: &http::Request<B>) -> Result<http::Response<Body>, Error> {
        if !Self::has_flavor(req) {
            return Err(Error::MetadataFlavorMissing);
        }
        let path = req.uri().path();
        let recursive = req
            .uri()
            .query()
            .is_some_and(|q| q.split('&').any(|kv| kv == "recursive=true"));
        let text = |s: String| typed_response(StatusCode::OK, "application/text", s);
        let mut res = match path {
            "/" | "/computeMetadata/" | "/computeMetadata/v1/" => text("computeMetadata/\n".into()),
            "/computeMetadata/v1/project/project-id" => text(self.project.clone()),
            "/computeMetadata/v1/project/numeric-project-id" => text("100000000001".into()),
            "/computeMetadata/v1/instance/zone" => text("projects/100000000001/zones/us-central1-a".into()),
            "/computeMetadata/v1/universe/universe-domain" => text("googleapis.com".into()),
            _ => match service_account_leaf(path) {
                Some("") if recursive => json_response(
                    StatusCode::OK,
                    &json!({"aliases": ["default"], "email": self.email, "scopes": SCOPES}),
                ),
                Some("") => text("aliases\nemail\nidentity\nscopes\ntoken\n".into()),
                Some("email") => text(self.email.clone()),
                Some("aliases") => text("default\n".into()),
                Some("scopes") => text(SCOPES.join("\n") + "\n"),
                Some("token") => json_response(StatusCode::OK, &self.tokens.token_json()),
                _ => {
                    return Err(Error::NotFound {
                        method: req.method().to_string(),
                        host: "metadata.google.internal".into(),
                        path: path.to_string(),
                    });
                }
            },
        };
        res.headers_mut()
            .insert(FLAVOR, HeaderValue::from_static("Google"));
        Ok(res)
    }
}

/// For `/computeMetadata/v1/instance/service-accounts/{default|email}/{leaf}`, the leaf
/// (`""` for the account directory itself).
fn service_account_leaf(path: &str) -> Option<&str> {
    let rest = path.strip_prefix("/computeMetadata/v1/instance/service-accounts/")?;
    let (_account, leaf) = rest.split_once('/')?;
    Some(leaf.trim_end_matches('/'))
}
