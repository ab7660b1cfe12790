"""`shunt mock`: the built-in mock alone over plain HTTP, reached directly (Gemini API paths)."""

import json
import math
import re

import pytest

from conftest import ShuntMock


@pytest.fixture(scope="module")
def mock(tmp_path_factory):
    """One `shunt mock --listen 127.0.0.1:0` for the module."""
    s = ShuntMock(tmp_path_factory.mktemp("mock"), [])
    yield s
    s.stop_and_check()


def raw(s, *requests):
    return s.client("raw_http.py", json.dumps(list(requests)))["results"]


def test_health(mock):
    """GET /health answers 200."""
    [res] = raw(mock, {"method": "GET", "url": f"{mock.url}/health"})
    assert res["status"] == 200, res


@pytest.mark.parametrize("mode,verb", [("sync", "generateContent"),
                                       ("stream", "streamGenerateContent")])
def test_genai_gemini_api_mode(mock, mode, verb):
    """genai.Client(api_key=..., base_url=http://mock) (Gemini Developer API mode) gets text; the SDK uses /v1/models/{m}:{verb}."""
    r = mock.client("sdk_call.py", "genai", mode, "--gemini-api-base", mock.url)
    assert r["completed"] and r["text"].strip(), r
    assert r["finish_reason"] == "STOP", r
    if mode == "stream":
        assert len(r["chunks"]) >= 2, r
    seen = mock.stderr.wait_for(re.compile(rf'path="?/v1/models/gemini-2\.5-flash:{verb}'), 5)
    assert seen, f"no /v1/models/gemini-2.5-flash:{verb} exchange logged\n{mock.log()}"


def test_genai_gemini_api_structured(mock):
    """Gemini API mode with response_schema=Person: the text validates and .parsed is set."""
    r = mock.client("genai_structured.py", "person", "--gemini-api-base", mock.url)
    assert r["valid"] and r["parsed"], r


def test_genai_gemini_api_embed(mock):
    """Gemini API mode embed_content with 3 texts (batchEmbedContents): 3 unit vectors, distinct per text, honouring output_dimensionality."""
    texts = ["alpha", "beta", "alpha"]
    r = mock.client("genai_embed.py", "--model", "text-embedding-004", "--dim", "32",
                    "--gemini-api-base", mock.url, *texts)
    v = r["vectors"]
    assert [len(x) for x in v] == [32, 32, 32], r
    assert v[0] == v[2] and v[0] != v[1], r
    assert r["again"] == v
    for x in v:
        assert abs(math.sqrt(sum(c * c for c in x)) - 1) < 1e-3


def test_raw_batch_embed_contents(mock):
    """POST /v1beta/models/{m}:batchEmbedContents: one embedding per request, in order, deterministic per text."""
    texts = ["first text", "second text", "first text"]
    body = {"requests": [{"model": "models/gemini-embedding-001",
                          "content": {"parts": [{"text": t}]}} for t in texts]}
    url = f"{mock.url}/v1beta/models/gemini-embedding-001:batchEmbedContents"
    batch, single = raw(mock, {"url": url, "json": body},
                        {"url": url, "json": {"requests": body["requests"][1:2]}})
    assert batch["status"] == 200, batch
    vectors = [e["values"] for e in batch["body"]["embeddings"]]
    assert len(vectors) == 3 and len(vectors[0]) == 3072, [len(v) for v in vectors]
    assert vectors[0] == vectors[2] and vectors[0] != vectors[1]
    assert single["body"]["embeddings"][0]["values"] == vectors[1], "order or determinism broken"


def test_mock_flags(start_mock):
    """`shunt mock` takes the mock flags: --fault-429 1 --retry-after 3 makes a Gemini API call fail with 429."""
    s = start_mock("--fault-429", "1", "--retry-after", "3", "--seed", "5")
    r = s.client("sdk_call.py", "genai", "sync", "--gemini-api-base", s.url)
    e = r["exception"]
    assert (e["type"], e["code"], e["status"]) == ("ClientError", 429, "RESOURCE_EXHAUSTED"), e
    assert e["headers"].get("retry-after") == "3", e
