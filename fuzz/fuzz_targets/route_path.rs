//! The path classifiers of every intercepted service and the Vertex rewriter: never
//! panic; a Bedrock model id is never empty; a rewritten path classifies
//! to the same model and verb.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shunt::policy::Service;
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
        assert!(!call.model.is_empty() && !call.verb.as_str().is_empty());
        for rewrite in [Rewrite::GeminiApi, Rewrite::Keep] {
            let path = upstream_path(&call, data, rewrite);
            let again = classify_model_path(&path).expect("a rewritten path still classifies");
            assert_eq!((again.model, again.verb), (call.model.clone(), call.verb.clone()));
        }
    }
});
