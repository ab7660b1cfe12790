//! The built-in mock LLM: answers Gemini (Vertex and Gemini API paths), Claude on Vertex
//! and embedding calls with wire shapes the real SDKs accept (google-clients.md).
//! `shunt serve --upstream builtin` and `shunt mock` share this one implementation.
//!
//! Replies are deterministic per (seed, request body): the same request gets the same
//! text, so load-test runs are comparable.

mod claude;
mod gemini;
mod text;

use bytes::Bytes;
use http::StatusCode;
use hyper::body::Incoming;

use crate::body::{Body, collect_limited};
use crate::error::{Error, google_error};
use crate::route::{ModelApi, ModelCall, Publisher};

/// Model requests carry prompts and schemas; 32 MiB bounds a hostile body.
const MOCK_BODY_LIMIT: usize = 32 * 1024 * 1024;

/// Knobs of the built-in mock.
#[derive(Debug, Clone)]
pub struct MockConfig {
    /// Seed mixed into every reply.
    pub seed: u64,
    /// Words in a text reply.
    pub reply_words: usize,
    /// Words per streamed chunk.
    pub words_per_chunk: usize,
}

impl Default for MockConfig {
    fn default() -> Self {
        MockConfig {
            seed: 0,
            reply_words: 24,
            words_per_chunk: 4,
        }
    }
}

/// The mock.
#[derive(Debug, Clone, Default)]
pub struct Mock {
    config: MockConfig,
}

impl Mock {
    pub fn new(config: MockConfig) -> Self {
        Mock { config }
    }

    /// Answer one model call.
    pub async fn serve(
        &self,
        call: &ModelCall,
        req: http::Request<Incoming>,
    ) -> Result<http::Response<Body>, Error> {
        let query = req.uri().query().unwrap_or("").to_string();
        let body = collect_limited(req.into_body(), MOCK_BODY_LIMIT).await?;
        Ok(self.answer(call, &query, &body))
    }

    /// Answer a model call whose body has been read.
    pub fn answer(&self, call: &ModelCall, query: &str, body: &Bytes) -> http::Response<Body> {
        let json: serde_json::Value = match serde_json::from_slice(body) {
            Ok(v @ serde_json::Value::Object(_)) => v,
            Ok(_) => return invalid_argument("the request body must be a JSON object"),
            Err(e) => return invalid_argument(&format!("Invalid JSON payload received. {e}")),
        };
        let seed = self.config.seed ^ text::fnv1a(body);
        let sse = query.split('&').any(|kv| kv == "alt=sse");
        let publisher = match &call.api {
            ModelApi::Vertex { publisher, .. } => *publisher,
            ModelApi::GeminiApi { .. } => Publisher::Google,
        };
        let result = match publisher {
            Publisher::Google => gemini::answer(&self.config, call, &json, sse, seed),
            Publisher::Anthropic => claude::answer(&self.config, call, &json, seed),
        };
        result.unwrap_or_else(|message| invalid_argument(&message))
    }
}

/// Vertex's answer to a malformed request.
fn invalid_argument(message: &str) -> http::Response<Body> {
    google_error(StatusCode::BAD_REQUEST, "INVALID_ARGUMENT", message)
}
