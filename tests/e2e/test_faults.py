"""Injected faults of the built-in mock (--fault-429/500/503/cut, --retry-after, --seed) as the SDKs see them."""

import json

VERTEX = ("https://us-central1-aiplatform.googleapis.com/v1/projects/p/locations/us-central1"
          "/publishers/google/models/gemini-2.5-flash:generateContent")


def call(s, sdk, mode, *extra):
    return s.client("sdk_call.py", sdk, mode, *extra)


def raised(r) -> dict:
    assert "exception" in r, f"expected the SDK to raise, but the call completed: {r}"
    return r["exception"]


def test_429_genai(start_shunt):
    """--fault-429 1 --retry-after 7: genai raises errors.ClientError code 429 RESOURCE_EXHAUSTED, with Retry-After: 7, sync and stream."""
    s = start_shunt("--fault-429", "1", "--retry-after", "7")
    for mode in ("sync", "stream"):
        e = raised(call(s, "genai", mode))
        assert (e["module"], e["type"]) == ("google.genai.errors", "ClientError"), e
        assert e["code"] == 429 and e["status"] == "RESOURCE_EXHAUSTED", e
        assert e["headers"].get("retry-after") == "7", e


def test_429_claude(start_shunt):
    """--fault-429 1 --retry-after 7: AnthropicVertex(max_retries=0) raises RateLimitError and the response's retry-after is "7"."""
    s = start_shunt("--fault-429", "1", "--retry-after", "7")
    for mode in ("sync", "stream"):
        e = raised(call(s, "claude", mode))
        assert e["type"] == "RateLimitError" and e["status_code"] == 429, e
        assert e["headers"].get("retry-after") == "7", e


def test_429_body(start_shunt):
    """A 429 fault's body is a Google error: {"error": {"code": 429, "message": ..., "status": "RESOURCE_EXHAUSTED"}}, JSON content type."""
    s = start_shunt("--fault-429", "1")
    [res] = s.client("raw_http.py", json.dumps([
        {"url": VERTEX, "json": {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}}]))["results"]
    assert res["status"] == 429, res
    assert res["content_type"].startswith("application/json"), res
    assert res["retry_after"] == "1", f"--retry-after defaults to 1: {res}"
    err = res["body"]["error"]
    assert err["code"] == 429 and err["status"] == "RESOURCE_EXHAUSTED" and err["message"], res


def test_503(start_shunt):
    """--fault-503 1: genai raises errors.ServerError 503 UNAVAILABLE; Claude raises ServiceUnavailableError."""
    s = start_shunt("--fault-503", "1")
    e = raised(call(s, "genai", "sync"))
    assert (e["type"], e["code"], e["status"]) == ("ServerError", 503, "UNAVAILABLE"), e
    e = raised(call(s, "claude", "sync"))
    assert e["type"] == "ServiceUnavailableError" and e["status_code"] == 503, e


def test_500(start_shunt):
    """--fault-500 1: genai raises errors.ServerError 500 INTERNAL; Claude raises InternalServerError."""
    s = start_shunt("--fault-500", "1")
    e = raised(call(s, "genai", "sync"))
    assert (e["type"], e["code"], e["status"]) == ("ServerError", 500, "INTERNAL"), e
    e = raised(call(s, "claude", "sync"))
    assert e["type"] == "InternalServerError" and e["status_code"] == 500, e


def test_cut_stream(start_shunt):
    """--fault-cut 1 (long replies): a genai SSE stream and a Claude stream do not complete normally (error, or no final chunk)."""
    s = start_shunt("--fault-cut", "1", "--reply-words", "60", "--chunk-words", "2")
    r = call(s, "genai", "stream", "--prompt", "Tell me a long story")
    assert "exception" in r or r["finish_reason"] is None, (
        f"the cut genai stream completed normally: {r}\n{s.log()}")
    r = call(s, "claude", "stream", "--prompt", "Tell me a long story")
    assert "exception" in r or "message_stop" not in r.get("events", []), (
        f"the cut Claude stream completed normally: {r}\n{s.log()}")


def test_cut_repeatedly_and_unary(start_shunt):
    """--fault-cut 1: two streams in a row are both cut (shunt keeps serving), and a unary genai/Claude reply is cut too (the SDK raises)."""
    s = start_shunt("--fault-cut", "1", "--reply-words", "40")
    for _ in range(2):
        r = call(s, "genai", "stream")
        assert "exception" in r or r["finish_reason"] is None, r
    assert s.proc.poll() is None, f"shunt exited after a cut stream\n{s.log()}"
    e = raised(call(s, "genai", "sync"))
    assert e["type"] == "RemoteProtocolError", e
    e = raised(call(s, "claude", "sync"))
    assert e["type"] == "APIConnectionError", e


def statuses(s, n=200, body='{"contents":[{"role":"user","parts":[{"text":"request {i}"}]}]}',
             vary=True):
    spec = [{"url": VERTEX, "body": body, "repeat": n, "vary": vary, "bodies": False}]
    return [r["status"] for r in s.client("raw_http.py", json.dumps(spec))["results"]]


def test_fault_500_ratio_and_seed(start_shunt):
    """--fault-500 0.5 --seed 1 over 200 sequential requests: 35..65% are 500 (the rest 200); a second shunt with the same seed gives the same sequence, another seed a different one."""
    first = statuses(start_shunt("--fault-500", "0.5", "--seed", "1"))
    assert set(first) <= {200, 500}, first
    ratio = first.count(500) / len(first)
    assert 0.35 <= ratio <= 0.65, f"fraction of 500s is {ratio:.2f}: {first}"
    again = statuses(start_shunt("--fault-500", "0.5", "--seed", "1"))
    assert again == first, "the same seed gave a different status sequence"
    other = statuses(start_shunt("--fault-500", "0.5", "--seed", "2"))
    assert other != first, "seeds 1 and 2 gave the same 200-request status sequence"


def test_fault_rate_on_identical_requests(start_shunt):
    """--fault-500 0.5: 100 identical requests (a load test repeating one prompt) still fail about half the time."""
    seq = statuses(start_shunt("--fault-500", "0.5", "--seed", "3"), n=100, vary=False)
    ratio = seq.count(500) / len(seq)
    assert 0.3 <= ratio <= 0.7, f"fraction of 500s is {ratio:.2f} for one repeated body: {seq}"
