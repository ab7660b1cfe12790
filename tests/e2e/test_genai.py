"""google-genai 3.x (Vertex mode) through shunt with the built-in mock."""

import pytest

PROJECT = "e2e-project"

BASE_URLS = {
    "us-central1": "https://us-central1-aiplatform.googleapis.com/",
    "global": "https://aiplatform.googleapis.com/",
    "us": "https://aiplatform.us.rep.googleapis.com/",
}


def genai(shunt, mode, location="us-central1", *extra, env=None):
    return shunt.client("genai_call.py", mode, "--project", PROJECT, "--location", location,
                        *extra, env=env)


@pytest.mark.parametrize("location", list(BASE_URLS))
def test_generate_content_sync(shunt, location):
    """genai Client(vertexai=True, location=L).models.generate_content returns the mock's text."""
    r = genai(shunt, "sync", location)
    assert r["base_url"] == BASE_URLS[location]
    assert isinstance(r["text"], str) and r["text"].strip(), r
    assert r["total_token_count"] and r["total_token_count"] > 0, r


@pytest.mark.parametrize("backend", ["aiohttp", "httpx2"])
def test_generate_content_async(shunt, backend):
    """genai client.aio.models.generate_content works on the aiohttp path and on httpx2."""
    extra = ["--no-aiohttp"] if backend == "httpx2" else []
    r = genai(shunt, "async", "us-central1", *extra)
    assert r["async_backend"] == backend, r
    assert isinstance(r["text"], str) and r["text"].strip(), r


@pytest.mark.parametrize("mode", ["stream", "async-stream"])
def test_generate_content_stream(shunt, mode):
    """genai generate_content_stream (SSE) yields chunks whose texts join to a non-empty text."""
    r = genai(shunt, mode)
    assert len(r["chunks"]) >= 1, r
    assert r["text"].strip(), r
    assert r["async_backend"] == "aiohttp"


def test_count_tokens(shunt):
    """genai models.count_tokens returns total_tokens > 0."""
    r = genai(shunt, "count")
    assert isinstance(r["total_tokens"], int) and r["total_tokens"] > 0, r


def test_generate_content_service_account(shunt, tmp_path):
    """genai with service-account ADC from `shunt creds`: SA JWT → fake token → generate_content."""
    sa = tmp_path / "sa.json"
    shunt.cli("creds", "--kind", "service_account", "--out", str(sa))
    r = genai(shunt, "sync", env=shunt.env(GOOGLE_APPLICATION_CREDENTIALS=str(sa)))
    assert isinstance(r["text"], str) and r["text"].strip(), r
