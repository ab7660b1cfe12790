//! Request classification: what answers a request, from where it came in (an intercepted
//! host's service, or shunt's own listener) and its path. Token, metadata and shunt's own
//! paths are here; model paths are parsed by the provider module of the host's API
//! (`providers::gemini::parse_vertex`, `providers::openai::parse`, ...). Pure functions
//! over strings, tested as tables.

use crate::policy::Service;
pub use crate::providers::{ModelApi, ModelCall, Publisher, Verb};
use crate::providers::{bedrock, claude, gemini, openai};

/// What answers a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// A fake OAuth / STS token.
    Token,
    /// The fake GCE metadata server.
    Metadata,
    /// A model call (Gemini, Claude, embeddings): built-in mock or forwarded.
    Model(ModelCall),
    /// A plain-HTTP proxy request to a tunnelled host: forwarded to it as is.
    Origin,
    /// One of shunt's own pages (origin-form requests to its listener).
    Admin(AdminPage),
    /// Nothing here: 404 naming host and path.
    NotFound,
}

/// shunt's own endpoints: `/healthz` (also `/health`), `/ca.pem`, `/metrics`, `/`, the
/// dashboard (`/ui`, `/ui/stream`, `/ui/records/ID`) and the admin API (`/admin/mock`).
/// `ca-key.pem` is never served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminPage {
    Health,
    CaPem,
    Metrics,
    Index,
    /// The dashboard page.
    Ui,
    /// Its server-sent snapshots.
    UiStream,
    /// A captured record, by id.
    UiRecord(u64),
    /// The mock's knobs: `GET` reads, `PUT` changes.
    AdminMock,
}

/// The dashboard and admin paths, shared by shunt's listener and `shunt mock`.
fn dashboard_page(path: &str) -> Option<AdminPage> {
    match path {
        "/ui" | "/ui/" => Some(AdminPage::Ui),
        "/ui/stream" => Some(AdminPage::UiStream),
        "/admin/mock" => Some(AdminPage::AdminMock),
        p => p
            .strip_prefix("/ui/records/")
            .and_then(|id| id.parse().ok())
            .map(AdminPage::UiRecord),
    }
}

impl Route {
    /// Stable name for logs and metric labels.
    pub fn name(&self) -> &'static str {
        match self {
            Route::Token => "token",
            Route::Metadata => "metadata",
            Route::Model(call) => call.api.name(),
            Route::Origin => "plain_http",
            Route::Admin(_) => "admin",
            Route::NotFound => "not_found",
        }
    }
}

/// The metadata server's name, for requests that reach it through shunt's own listener.
pub const METADATA_HOST: &str = "metadata.google.internal";

/// Token endpoints by exact path; the host already decided the service.
const TOKEN_PATHS: &[&str] = &["/token", "/oauth2/v4/token", "/o/oauth2/token", "/v1/token"];

/// Classify a request to an intercepted `service`.
pub fn classify(service: Service, path: &str) -> Route {
    match service {
        Service::Token => {
            if TOKEN_PATHS.contains(&path) {
                Route::Token
            } else {
                Route::NotFound
            }
        }
        Service::Metadata => Route::Metadata,
        Service::Vertex => model(gemini::parse_vertex(path)),
        Service::GeminiApi => model(gemini::parse_gemini_api(path)),
        Service::OpenAi => model(openai::parse(path, ModelApi::OpenAi)),
        Service::AzureOpenAi => model(openai::parse(path, ModelApi::AzureOpenAi)),
        Service::Anthropic => model(claude::parse_anthropic(path)),
        Service::Bedrock => model(bedrock::parse(path)),
    }
}

fn model(call: Option<ModelCall>) -> Route {
    call.map_or(Route::NotFound, Route::Model)
}

/// Classify a path for the standalone mock server (`shunt mock`, the mock-llm a shunt
/// forwards to), which answers every API's paths: they do not overlap (a Gemini API model
/// path has a `:verb`, an OpenAI model path has none).
pub fn classify_model_path(path: &str) -> Option<ModelCall> {
    gemini::parse_vertex(path)
        .or_else(|| gemini::parse_gemini_api(path))
        .or_else(|| claude::parse_anthropic(path))
        .or_else(|| openai::parse(path, ModelApi::OpenAi))
        .or_else(|| openai::parse(path, ModelApi::AzureOpenAi))
        .or_else(|| bedrock::parse(path))
}

/// Classify an origin-form request to shunt's own listener: its pages, the GCE metadata
/// server (for apps that point `GCE_METADATA_HOST` / `GCE_METADATA_IP` at shunt: the
/// metadata paths, and the detection ping `GET /` that carries `Metadata-Flavor`), or
/// nothing.
pub fn classify_origin(path: &str, metadata_flavor: bool) -> Route {
    match path {
        "/healthz" | "/health" => Route::Admin(AdminPage::Health),
        "/ca.pem" => Route::Admin(AdminPage::CaPem),
        "/metrics" => Route::Admin(AdminPage::Metrics),
        "/" if metadata_flavor => Route::Metadata,
        "/" => Route::Admin(AdminPage::Index),
        p if p.starts_with("/computeMetadata/") => Route::Metadata,
        p => dashboard_page(p).map_or(Route::NotFound, Route::Admin),
    }
}

/// Classify a request to the standalone mock (`shunt mock`): its health and metrics
/// pages, and model calls in either path family.
pub fn classify_mock(path: &str) -> Route {
    match path {
        "/healthz" | "/health" => Route::Admin(AdminPage::Health),
        "/metrics" => Route::Admin(AdminPage::Metrics),
        p => match dashboard_page(p) {
            Some(page) => Route::Admin(page),
            None => classify_model_path(p).map_or(Route::NotFound, Route::Model),
        },
    }
}

/// How a forwarded Vertex path is rewritten (`--rewrite`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Rewrite {
    /// Vertex Google-publisher paths become `/v1beta/models/{model}:{verb}`, the shape
    /// existing Python mock servers serve.
    GeminiApi,
    /// Forward the path unchanged.
    Keep,
}

/// The path (without query) to send upstream for `call`, given the original `path`.
///
/// Only Google-publisher Vertex paths are rewritten.
pub fn upstream_path(call: &ModelCall, path: &str, rewrite: Rewrite) -> String {
    match (rewrite, &call.api) {
        (
            Rewrite::GeminiApi,
            ModelApi::Vertex {
                publisher: Publisher::Google,
                ..
            },
        ) => format!("/v1beta/models/{}:{}", call.model, call.verb),
        // Claude paths have no Gemini API equivalent, the Gemini API's are already in that
        // shape, and the other APIs keep theirs.
        (Rewrite::GeminiApi, _) | (Rewrite::Keep, _) => path.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Vertex, express and Gemini API paths classify into model calls; others are 404.
    #[test]
    fn classify_table() {
        let vertex = |v: &str, p, m: &str, verb: &str| {
            Route::Model(ModelCall {
                api: ModelApi::Vertex {
                    version: v.into(),
                    publisher: p,
                },
                model: m.into(),
                verb: Verb::parse(verb),
            })
        };
        let cases = [
            (
                Service::Vertex,
                "/v1beta1/projects/my-proj/locations/us-central1/publishers/google/models/gemini-2.5-flash:generateContent",
                vertex(
                    "v1beta1",
                    Publisher::Google,
                    "gemini-2.5-flash",
                    "generateContent",
                ),
            ),
            (
                Service::Vertex,
                "/v1/projects/p/locations/us-east5/publishers/anthropic/models/claude-sonnet-4-5@20250929:streamRawPredict",
                vertex(
                    "v1",
                    Publisher::Anthropic,
                    "claude-sonnet-4-5@20250929",
                    "streamRawPredict",
                ),
            ),
            (
                Service::Vertex,
                "/v1/projects/p/locations/global/publishers/anthropic/models/count-tokens:rawPredict",
                vertex("v1", Publisher::Anthropic, "count-tokens", "rawPredict"),
            ),
            (
                Service::Vertex,
                "/v1beta1/publishers/google/models/gemini-2.5-flash:generateContent",
                vertex(
                    "v1beta1",
                    Publisher::Google,
                    "gemini-2.5-flash",
                    "generateContent",
                ),
            ),
            (
                Service::GeminiApi,
                "/v1beta/models/gemini-2.5-flash:streamGenerateContent",
                Route::Model(ModelCall {
                    api: ModelApi::GeminiApi {
                        version: "v1beta".into(),
                    },
                    model: "gemini-2.5-flash".into(),
                    verb: Verb::StreamGenerateContent,
                }),
            ),
            (
                Service::Vertex,
                "/v1/projects/p/locations/l/endpoints/123:predict",
                Route::NotFound,
            ),
            (
                Service::Vertex,
                "/v2/projects/p/locations/l/publishers/google/models/m:x",
                Route::NotFound,
            ),
            (
                Service::Vertex,
                "/v1/projects//locations/l/publishers/google/models/m:x",
                Route::NotFound,
            ),
            (Service::Vertex, "/v1/publishers/google/models/m", Route::NotFound),
            (
                Service::Vertex,
                "/v1/publishers/meta/models/llama:predict",
                Route::NotFound,
            ),
            (Service::Token, "/token", Route::Token),
            (Service::Token, "/oauth2/v4/token", Route::Token),
            (Service::Token, "/o/oauth2/token", Route::Token),
            (Service::Token, "/v1/token", Route::Token),
            (Service::Token, "/tokeninfo", Route::NotFound),
            (
                Service::Metadata,
                "/computeMetadata/v1/project/project-id",
                Route::Metadata,
            ),
        ];
        for (service, path, want) in cases {
            assert_eq!(classify(service, path), want, "{path}");
        }
    }

    /// Requests to shunt itself: pages, the metadata server, nothing else.
    #[test]
    fn origin_table() {
        for (path, flavor, want) in [
            ("/healthz", false, Route::Admin(AdminPage::Health)),
            ("/health", false, Route::Admin(AdminPage::Health)),
            ("/ca.pem", false, Route::Admin(AdminPage::CaPem)),
            ("/ca-key.pem", false, Route::NotFound),
            ("/metrics", false, Route::Admin(AdminPage::Metrics)),
            ("/", false, Route::Admin(AdminPage::Index)),
            ("/", true, Route::Metadata),
            ("/computeMetadata/v1/project/project-id", false, Route::Metadata),
            ("/v1beta/models/m:generateContent", false, Route::NotFound),
        ] {
            assert_eq!(classify_origin(path, flavor), want, "{path} {flavor}");
        }
        assert_eq!(classify_mock("/health"), Route::Admin(AdminPage::Health));
        assert!(matches!(classify_mock("/v1beta/models/m:x"), Route::Model(_)));
        assert_eq!(classify_mock("/ca.pem"), Route::NotFound);
    }

    /// `shunt mock` answers every API's model paths, each as its own API.
    #[test]
    fn mock_paths_of_every_api() {
        for (path, api) in [
            ("/v1beta/models/gemini-2.5-flash:generateContent", "gemini_api"),
            (
                "/v1/projects/p/locations/l/publishers/google/models/m:predict",
                "vertex",
            ),
            (
                "/v1/projects/p/locations/l/publishers/anthropic/models/c:rawPredict",
                "vertex_anthropic",
            ),
            ("/v1/messages", "anthropic"),
            ("/v1/messages/count_tokens", "anthropic"),
            ("/v1/chat/completions", "openai"),
            ("/v1/responses", "openai"),
            ("/v1/models", "openai"),
            ("/v1/models/gpt-4o", "openai"),
            ("/openai/deployments/d/chat/completions", "azure_openai"),
            ("/openai/v1/chat/completions", "azure_openai"),
            ("/model/anthropic.claude-3-haiku/converse", "bedrock"),
        ] {
            match classify_mock(path) {
                Route::Model(call) => assert_eq!(call.api.name(), api, "{path}"),
                other => panic!("{path}: {other:?}"),
            }
        }
        assert_eq!(classify_mock("/v2/chat"), Route::NotFound);
    }

    /// gemini-api rewrite maps Google publisher paths to the Gemini API shape; keep does not.
    #[test]
    fn rewrite_table() {
        let path = "/v1beta1/projects/p/locations/us/publishers/google/models/gemini-2.5-flash:streamGenerateContent";
        let call = classify_model_path(path).expect("vertex path parses");
        assert_eq!(
            upstream_path(&call, path, Rewrite::GeminiApi),
            "/v1beta/models/gemini-2.5-flash:streamGenerateContent"
        );
        assert_eq!(upstream_path(&call, path, Rewrite::Keep), path);
        let claude = "/v1/projects/p/locations/l/publishers/anthropic/models/claude:rawPredict";
        let call = classify_model_path(claude).expect("claude path parses");
        assert_eq!(upstream_path(&call, claude, Rewrite::GeminiApi), claude);
    }
}
