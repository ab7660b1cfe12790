//! The path classifiers of every intercepted service and the Vertex rewriter: never
//! panic; a path that names its model (Vertex, Gemini API, Bedrock) never yields an empty
//! model id; a rewritten path classifies to the same API family, model and verb.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shunt::policy::Service;
use shunt::providers::ModelApi;
use shunt::route::{Rewrite, classify, classify_model_path, upstream_path};

fuzz_target!(|data: &str| {
    for service in [
        Service::Vertex,
        Service::GeminiApi,
        Service::Token,
        Service::Metadata,
        Service::OpenAi,
        Service::AzureOpenAi,
        Service::Anthropic,
        Service::Bedrock,
    ] {
        let _ = classify(service, data);
    }
    if let Some(call) = classify_model_path(data) {
        let names_model = matches!(
            call.api,
            ModelApi::Vertex { .. } | ModelApi::GeminiApi { .. } | ModelApi::Bedrock
        );
        assert!(!names_model || !call.model.is_empty(), "{call:?}");
        assert!(!call.verb.as_str().is_empty(), "{call:?}");
        for rewrite in [Rewrite::GeminiApi, Rewrite::Keep] {
            let path = upstream_path(&call, data, rewrite);
            let again = classify_model_path(&path).expect("a rewritten path still classifies");
            assert_eq!((again.model, again.verb), (call.model.clone(), call.verb.clone()));
        }
    }
});
