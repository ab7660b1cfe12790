"""google-genai in Gemini Developer API mode with an API key: `genai.Client(vertexai=False)`,
the key read by the SDK from GEMINI_API_KEY in the env (the kit's shunt.env), no base URL
given, so calls go to https://generativelanguage.googleapis.com through the proxy.
Runs each MODE in turn and prints one JSON line.

usage: genai_apikey.py [--model M] MODE...     MODEs: generate, stream
"""

import argparse

from google import genai

from _common import emit
from _providers import TEXT_PROMPT, run_modes


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", default="gemini-2.5-flash")
    p.add_argument("modes", nargs="+")
    a = p.parse_args()
    client = genai.Client(vertexai=False)
    api = client._api_client  # what the SDK resolved from the env, reported for the test

    def finish(r):
        c = r.candidates[0] if r.candidates else None
        return c.finish_reason.name if c is not None and c.finish_reason else None

    def generate():
        r = client.models.generate_content(model=a.model, contents=TEXT_PROMPT)
        usage = r.usage_metadata
        return {"text": r.text, "finish_reason": finish(r),
                "prompt_tokens": usage.prompt_token_count if usage else None,
                "candidates_tokens": usage.candidates_token_count if usage else None}

    def stream():
        chunks = list(client.models.generate_content_stream(model=a.model, contents=TEXT_PROMPT))
        return {"deltas": [c.text or "" for c in chunks],
                "finish_reasons": [finish(c) for c in chunks]}

    emit({"sdk": "google-genai", "vertexai": api.vertexai,
          "base_url": api._http_options.base_url, "api_version": api._http_options.api_version,
          "has_api_key": bool(api.api_key),
          "results": run_modes(a.modes, {"generate": generate, "stream": stream})})


if __name__ == "__main__":
    main()
