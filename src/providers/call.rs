//! A model call as the route parsed it: which API family, which model (when the path
//! names it), which operation. Pure data; each provider module parses its own paths into
//! one (`parse_*` functions) and reads the rest from the body.

/// Which model publisher a Vertex path names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Publisher {
    Google,
    Anthropic,
}

/// The API family a model call came in on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelApi {
    /// `/{v1,v1beta1}/projects/P/locations/L/publishers/X/models/M:verb`, or the express
    /// form without `projects/P/locations/L/`.
    Vertex { version: String, publisher: Publisher },
    /// `/{v1,v1beta}/models/M:verb` (Gemini Developer API, and the user's FastAPI mock).
    GeminiApi { version: String },
    /// `api.openai.com/v1/...`.
    OpenAi,
    /// Azure OpenAI: `/openai/deployments/D/...` (the model is the deployment) or the
    /// `/openai/v1/...` form.
    AzureOpenAi,
    /// `api.anthropic.com/v1/messages`.
    Anthropic,
    /// Bedrock Runtime: `/model/M/{converse,converse-stream,invoke,...}`.
    Bedrock,
}

impl ModelApi {
    /// Stable name for logs, metric labels and scenario matching (`provider = "openai"`).
    pub fn name(&self) -> &'static str {
        match self {
            ModelApi::Vertex {
                publisher: Publisher::Google,
                ..
            } => "vertex",
            ModelApi::Vertex {
                publisher: Publisher::Anthropic,
                ..
            } => "vertex_anthropic",
            ModelApi::GeminiApi { .. } => "gemini_api",
            ModelApi::OpenAi => "openai",
            ModelApi::AzureOpenAi => "azure_openai",
            ModelApi::Anthropic => "anthropic",
            ModelApi::Bedrock => "bedrock",
        }
    }
}

/// A parsed model call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelCall {
    pub api: ModelApi,
    /// The model id when the path names it, e.g. `gemini-2.5-flash`,
    /// `claude-sonnet-4-5@20250929` (`count-tokens` for Claude's token counting endpoint on
    /// Vertex), a Bedrock model id or an Azure deployment; empty when the body names it
    /// (OpenAI, Anthropic).
    pub model: String,
    pub verb: Verb,
}

/// The operation a model call asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verb {
    // Gemini (Vertex and the Gemini API), after the path's colon.
    GenerateContent,
    StreamGenerateContent,
    CountTokens,
    ComputeTokens,
    Predict,
    EmbedContent,
    BatchEmbedContents,
    // Claude on Vertex.
    RawPredict,
    StreamRawPredict,
    // OpenAI and Azure OpenAI.
    ChatCompletions,
    Responses,
    Embeddings,
    ListModels,
    GetModel(String),
    // Anthropic.
    Messages,
    CountMessageTokens,
    // Bedrock Runtime.
    Converse,
    ConverseStream,
    InvokeModel,
    InvokeModelWithResponseStream,
    /// Any other Gemini verb: routed to the model backend, which may not serve it.
    Other(String),
}

impl Verb {
    /// A Gemini / Vertex path's verb (after the colon).
    pub fn parse(s: &str) -> Verb {
        match s {
            "generateContent" => Verb::GenerateContent,
            "streamGenerateContent" => Verb::StreamGenerateContent,
            "countTokens" => Verb::CountTokens,
            "computeTokens" => Verb::ComputeTokens,
            "predict" => Verb::Predict,
            "embedContent" => Verb::EmbedContent,
            "batchEmbedContents" => Verb::BatchEmbedContents,
            "rawPredict" => Verb::RawPredict,
            "streamRawPredict" => Verb::StreamRawPredict,
            other => Verb::Other(other.to_string()),
        }
    }

    /// The OpenTelemetry GenAI operation name (`gen_ai.operation.name`); empty for calls
    /// that are not generations or embeddings (token counting, model lists).
    pub fn operation(&self) -> &'static str {
        match self {
            Verb::GenerateContent | Verb::StreamGenerateContent => "generate_content",
            Verb::RawPredict
            | Verb::StreamRawPredict
            | Verb::ChatCompletions
            | Verb::Responses
            | Verb::Messages
            | Verb::Converse
            | Verb::ConverseStream
            | Verb::InvokeModel
            | Verb::InvokeModelWithResponseStream => "chat",
            Verb::Predict | Verb::EmbedContent | Verb::BatchEmbedContents | Verb::Embeddings => "embeddings",
            Verb::CountTokens
            | Verb::ComputeTokens
            | Verb::CountMessageTokens
            | Verb::ListModels
            | Verb::GetModel(_)
            | Verb::Other(_) => "",
        }
    }

    /// The operation as its API names it.
    pub fn as_str(&self) -> &str {
        match self {
            Verb::GenerateContent => "generateContent",
            Verb::StreamGenerateContent => "streamGenerateContent",
            Verb::CountTokens => "countTokens",
            Verb::ComputeTokens => "computeTokens",
            Verb::Predict => "predict",
            Verb::EmbedContent => "embedContent",
            Verb::BatchEmbedContents => "batchEmbedContents",
            Verb::RawPredict => "rawPredict",
            Verb::StreamRawPredict => "streamRawPredict",
            Verb::ChatCompletions => "chat.completions",
            Verb::Responses => "responses",
            Verb::Embeddings => "embeddings",
            Verb::ListModels => "models.list",
            Verb::GetModel(_) => "models.retrieve",
            Verb::Messages => "messages",
            Verb::CountMessageTokens => "messages.count_tokens",
            Verb::Converse => "Converse",
            Verb::ConverseStream => "ConverseStream",
            Verb::InvokeModel => "InvokeModel",
            Verb::InvokeModelWithResponseStream => "InvokeModelWithResponseStream",
            Verb::Other(s) => s,
        }
    }
}

impl std::fmt::Display for Verb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Split `.../models/{model}:{verb}` (model may contain `@`, never `/`).
pub(crate) fn split_model_verb(rest: &str) -> Option<(String, Verb)> {
    let (model, verb) = rest.rsplit_once(':')?;
    if model.is_empty() || verb.is_empty() || model.contains('/') || verb.contains('/') {
        return None;
    }
    Some((model.to_string(), Verb::parse(verb)))
}

/// `%XX` escapes decoded (Bedrock model ids arrive as `anthropic.claude-v2%3A1`); `None`
/// when an escape is malformed or the result is not UTF-8.
pub(crate) fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}
