//! The SSE framer: any reply text becomes `data: {json}\r\n\r\n` frames whose texts join
//! back to the reply, for any chunk size.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rand::SeedableRng;
use shunt::providers::{Answer, Ask, Delivery, Gemini, ModelApi, ModelCall, Provider, Verb};

fuzz_target!(|input: (String, u8, bool)| {
    let (text, words, json) = input;
    let ask = Ask { model: "m".into(), ..Ask::default() };
    let answer = if json { Answer::Json(text.clone()) } else { Answer::Text(text.clone()) };
    let mut rng = rand::rngs::SmallRng::seed_from_u64(1);
    let call = ModelCall { api: ModelApi::GeminiApi { version: "v1beta".into() }, model: "m".into(), verb: Verb::StreamGenerateContent };
    let rendered = Gemini.render(&call, &ask, &answer, Delivery::Sse, usize::from(words).max(1), &mut rng);
    let mut joined = String::new();
    for frame in rendered.frames {
        let frame = std::str::from_utf8(&frame).expect("utf-8 frame");
        let json = frame
            .strip_prefix("data: ")
            .and_then(|f| f.strip_suffix("\r\n\r\n"))
            .expect("data: {json} + blank line");
        assert!(!json.contains("\r\n\r\n"), "one event per frame");
        let value: serde_json::Value = serde_json::from_str(json).expect("each frame is JSON");
        joined.push_str(value["candidates"][0]["content"]["parts"][0]["text"].as_str().expect("text part"));
    }
    assert_eq!(joined, text);
});
