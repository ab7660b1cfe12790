"""Embeddings from the built-in mock through google-genai embed_content (Vertex)."""

import math
import re

import pytest

TEXTS = ["the quick brown fox", "lab results are normal", "the quick brown fox", "zebra"]

CASES = [
    # model, output_dimensionality, expected dims, verb google-genai 3.3.0 uses
    ("text-embedding-004", None, 768, "predict"),
    ("text-embedding-004", 64, 64, "predict"),
    ("gemini-embedding-001", None, 3072, "predict"),
    ("gemini-embedding-001", 256, 256, "predict"),
    ("gemini-embedding-2", None, 3072, "embedContent"),
    ("gemini-embedding-2", 128, 128, "embedContent"),
]


def embed(s, model, dim, *flags, texts=TEXTS):
    args = ["--model", model, *flags]
    if dim:
        args += ["--dim", str(dim)]
    return s.client("genai_embed.py", *args, *texts)


def assert_embeddings(r, dims, texts=TEXTS):
    vectors = r["vectors"]
    assert len(vectors) == len(texts), f"one embedding per input expected: {len(vectors)} for {len(texts)}"
    for text, v in zip(texts, vectors):
        assert len(v) == dims, f"{text!r}: {len(v)} dims, expected {dims}"
        norm = math.sqrt(sum(x * x for x in v))
        assert abs(norm - 1.0) < 1e-3, f"{text!r}: norm {norm}, expected unit length"
    assert r["again"] == vectors, "the same texts embedded twice gave different vectors"
    by_text: dict[str, list[float]] = {}
    for text, v in zip(texts, vectors):
        if text in by_text:
            assert by_text[text] == v, f"{text!r} got different vectors in one request"
        by_text[text] = v
    distinct = {tuple(v) for v in by_text.values()}
    assert len(distinct) == len(by_text), "distinct texts got identical vectors"


@pytest.mark.parametrize("model,dim,dims,verb", CASES)
def test_embed_content(shunt, model, dim, dims, verb):
    """embed_content(model, texts, output_dimensionality): one unit vector per text, in order, deterministic, distinct per text."""
    one_per_call = ["--one-per-call"] if verb == "embedContent" else []
    r = embed(shunt, model, dim, *one_per_call)
    assert_embeddings(r, dims)
    seen = shunt.stderr.wait_for(re.compile(rf"models/{re.escape(model)}:{verb}\b"), 5)
    assert seen, f"no :{verb} exchange for {model} in shunt's log\n{shunt.log()}"


def test_predict_batch_order(shunt):
    """:predict with several instances returns them in order: each equals the text embedded alone."""
    batch = embed(shunt, "text-embedding-005", None)
    single = embed(shunt, "text-embedding-005", None, "--one-per-call")
    assert_embeddings(batch, 768)
    assert batch["vectors"] == single["vectors"]
