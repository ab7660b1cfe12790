"""Structured output from the built-in mock: the schema corpus through google-genai (Vertex)."""

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "clients"))
from schema_corpus import CORPUS, PROMPTS  # noqa: E402

ACCEPTED = [name for name, case in CORPUS.items() if case.response_schema_refused is None]
REFUSED = [name for name, case in CORPUS.items() if case.response_schema_refused is not None]


@pytest.fixture(scope="module")
def corpus(shunt):
    """Runs the corpus once per dialect (one client process each) and caches the result."""
    cache: dict[str, dict] = {}

    def get(dialect: str) -> dict:
        if dialect not in cache:
            cache[dialect] = shunt.client("genai_structured.py", dialect)["cases"]
        return cache[dialect]

    return get


def assert_valid_instances(name, case_result, parsed_type):
    results = case_result.get("results")
    assert results, f"{name}: {case_result}"
    for res in results:
        assert "exception" not in res, f"{name}: the SDK raised for prompt {res['prompt']!r}: {res}"
        assert res["valid"], (
            f"{name}: reply for prompt {res['prompt']!r} does not validate against the model:\n"
            f"{res['error']}\ntext: {res['text']}")
        assert res["parsed_type"] == parsed_type, (
            f"{name}: response.parsed is {res['parsed_type']}, expected {parsed_type} "
            f"(the SDK validates the text against the schema itself)\ntext: {res['text']}")
    texts = [res["text"] for res in results]
    assert len(set(texts)) == len(PROMPTS), (
        f"{name}: different prompts gave identical instances: {texts}")


@pytest.mark.parametrize("name", ACCEPTED)
def test_response_schema(corpus, name):
    """generate_content(config={response_mime_type: application/json, response_schema: Model}): .parsed is a Model and the text validates, for several prompts."""
    assert_valid_instances(name, corpus("schema")[name], name)


@pytest.mark.parametrize("name", REFUSED)
def test_response_schema_refused_by_sdk(corpus, name):
    """google-genai 3.3.0 refuses this model as response_schema client-side (pydantic ValidationError); it is covered via response_json_schema."""
    result = corpus("schema")[name]
    refused = result.get("sdk_refused")
    assert refused, f"{name}: expected the SDK to refuse the schema, got {result}"
    assert CORPUS[name].response_schema_refused in refused["error_types"], refused


@pytest.mark.parametrize("name", list(CORPUS))
def test_response_json_schema(corpus, name):
    """generate_content(config={response_json_schema: Model.model_json_schema()}): .parsed is a dict and Model.model_validate passes, for several prompts."""
    assert_valid_instances(name, corpus("json-schema")[name], "dict")


def test_response_schema_stream(shunt):
    """generate_content_stream with response_schema=Person: the joined chunk texts are one JSON document that validates."""
    r = shunt.client("genai_structured.py", "person", "--stream")
    assert len(r["chunks"]) > 1, f"the structured reply was not streamed in pieces: {r}"
    assert r["valid"], r
    json.loads(r["text"])


def test_response_enum(shunt):
    """response_mime_type text/x.enum with an enum schema: each reply is one enum value as plain text, and .parsed is that member."""
    r = shunt.client("genai_structured.py", "enum")
    for reply in r["replies"]:
        assert reply["text"] in r["allowed"], r
        assert reply["parsed"] == reply["text"], r
