"""anthropic[vertex] AnthropicVertex through shunt with the built-in mock."""

import pytest

PROJECT = "e2e-project"


def claude(shunt, mode, region="us-east5"):
    return shunt.client("anthropic_vertex.py", mode, "--project", PROJECT, "--region", region)


@pytest.mark.parametrize("region,base_url", [
    ("us-east5", "https://us-east5-aiplatform.googleapis.com/v1"),
    ("global", "https://aiplatform.googleapis.com/v1"),
])
def test_messages_create(shunt, region, base_url):
    """AnthropicVertex(region=R).messages.create (rawPredict) returns a non-empty text block."""
    r = claude(shunt, "create", region)
    assert r["base_url"].rstrip("/") == base_url
    assert r["role"] == "assistant" and r["text"].strip(), r
    assert r["output_tokens"] > 0 and r["input_tokens"] > 0, r


def test_messages_stream(shunt):
    """messages.stream (streamRawPredict SSE with event: lines): deltas join to the final message text."""
    r = claude(shunt, "stream")
    assert r["text"].strip(), r
    assert r["deltas"] and "".join(r["deltas"]) == r["text"], r
    assert r["stop_reason"] == "end_turn", r


def test_count_tokens(shunt):
    """messages.count_tokens (count-tokens:rawPredict) returns input_tokens > 0."""
    r = claude(shunt, "count")
    assert isinstance(r["input_tokens"], int) and r["input_tokens"] > 0, r
