//! Fake OAuth / STS token endpoint: any POST to a token path gets a bearer token.
//! google-auth accepts only HTTP 200 with `access_token`; `expires_in` decides when it
//! refreshes again (≤ 225 s means "before every call").

use std::sync::atomic::{AtomicU64, Ordering};

use http::{Method, StatusCode};
use serde_json::json;

use crate::body::{Body, collect_limited, json_response};
use crate::error::Error;

/// Token requests are small forms; anything larger is not a token request.
const TOKEN_BODY_LIMIT: usize = 64 * 1024;

/// Issues fake access tokens.
pub struct TokenIssuer {
    expires_in: u64,
    /// Makes each token distinct, so captures show which token a call used.
    issued: AtomicU64,
}

impl TokenIssuer {
    pub fn new(expires_in: u64) -> Self {
        TokenIssuer {
            expires_in,
            issued: AtomicU64::new(0),
        }
    }

    /// A new token value.
    pub fn next_token(&self) -> String {
        let n = self.issued.fetch_add(1, Ordering::Relaxed) + 1;
        format!("ya29.shunt-mock-token-{n}")
    }

    /// The token JSON body (also used by the metadata server).
    pub fn token_json(&self) -> serde_json::Value {
        json!({
            "access_token": self.next_token(),
            "expires_in": self.expires_in,
            "token_type": "Bearer",
        })
    }

    pub async fn serve(&self, req: http::Request<Body>) -> Result<http::Response<Body>, Error> {
        if req.method() != Method::POST {
            return Err(Error::BadRequest(format!(
                "token endpoints take POST, not {}",
                req.method()
            )));
        }
        let is_sts = req.uri().path() == "/v1/token";
        // Drain the form so the connection stays reusable; its content is not checked.
        collect_limited(req.into_body(), TOKEN_BODY_LIMIT).await?;
        let mut body = self.token_json();
        if is_sts {
            body["issued_token_type"] = json!("urn:ietf:params:oauth:token-type:access_token");
        }
        Ok(json_response(StatusCode::OK, &body))
    }
}
