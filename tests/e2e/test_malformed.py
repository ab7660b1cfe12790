"""Malformed model requests get Vertex's answer: 400 with a Google INVALID_ARGUMENT error body."""

import json

import pytest

BASE = "https://us-central1-aiplatform.googleapis.com/v1beta1/projects/p/locations/us-central1/publishers"
GEMINI = f"{BASE}/google/models/gemini-2.5-flash"
CLAUDE = f"{BASE}/anthropic/models/claude-sonnet-4-5@20250929"
CASES = {
    "invalid JSON": {"url": f"{GEMINI}:generateContent", "body": '{"contents": [ oops'},
    "contents not a list": {"url": f"{GEMINI}:generateContent", "json": {"contents": "hi"}},
    "body not an object": {"url": f"{GEMINI}:generateContent", "json": [1, 2]},
    "unknown verb": {"url": f"{GEMINI}:frobnicate",
                     "json": {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}},
    "invalid JSON, SSE stream": {"url": f"{GEMINI}:streamGenerateContent?alt=sse", "body": "{"},
    "invalid JSON, :predict": {"url": f"{BASE}/google/models/text-embedding-004:predict",
                               "body": "not json"},
    "invalid JSON, Claude rawPredict": {"url": f"{CLAUDE}:rawPredict", "body": "{]"},
}


@pytest.fixture(scope="module")
def results(shunt):
    """All malformed requests, sent through the proxy in one raw_http.py run."""
    res = shunt.client("raw_http.py", json.dumps(list(CASES.values())))["results"]
    return dict(zip(CASES, res))


@pytest.mark.parametrize("case", list(CASES))
def test_malformed_request(results, case):
    """A malformed request (see CASES) through the proxy: 400, application/json, error.code 400, status INVALID_ARGUMENT, a message."""
    res = results[case]
    assert res["status"] == 400, res
    assert (res["content_type"] or "").startswith("application/json"), res
    err = res["body"]["error"]
    assert err["code"] == 400 and err["status"] == "INVALID_ARGUMENT", res
    assert isinstance(err["message"], str) and err["message"], res


def test_still_serving_after_malformed(shunt, results):
    """After the malformed requests, a well-formed genai call on the same shunt succeeds."""
    r = shunt.client("sdk_call.py", "genai", "sync")
    assert r["completed"] and r["text"].strip(), r
