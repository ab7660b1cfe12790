"""`--upstream http://...`: shunt forwards Vertex calls to a mock-LLM service (fixtures/fake_mockllm.py)."""

PROMPT = "hello from e2e"
MODEL = "gemini-2.5-flash"
EXPECTED = f"fixture:{MODEL}:{PROMPT}"


def genai(s, mode):
    return s.client("genai_call.py", mode, "--project", "e2e-project", "--location", "us-central1",
                    "--model", MODEL, "--prompt", PROMPT)


def seen_paths(fake):
    return [r["path"] for r in fake.requests()]


def test_forward_gemini_api_rewrite(start_shunt, fake_mockllm):
    """Default rewrite: generateContent and ?alt=sse streams reach the fixture as /v1beta/models/..., replies flow back."""
    s = start_shunt("--upstream", f"http://127.0.0.1:{fake_mockllm.port}")

    r = genai(s, "sync")
    assert r["text"] == EXPECTED, (r, fake_mockllm.log())
    assert f"/v1beta/models/{MODEL}:generateContent" in seen_paths(fake_mockllm)

    r = genai(s, "stream")
    assert r["text"] == EXPECTED, (r, fake_mockllm.log())
    assert [c["text"] for c in r["chunks"]] == ["fixture:", f"{MODEL}:", PROMPT], r
    # The fixture flushes its 3 chunks 0.25 s apart: a buffering proxy would deliver them at once.
    spread = r["chunks"][-1]["t"] - r["chunks"][0]["t"]
    assert spread >= 0.3, f"SSE chunks arrived together ({r['chunks']}): shunt buffered the stream"
    assert f"/v1beta/models/{MODEL}:streamGenerateContent?alt=sse" in seen_paths(fake_mockllm)

    body = fake_mockllm.requests()[0]["body"]
    assert PROMPT in body


def test_forward_rewrite_keep(start_shunt, fake_mockllm):
    """`--rewrite keep`: the Vertex path reaches the upstream unchanged."""
    s = start_shunt("--upstream", f"http://127.0.0.1:{fake_mockllm.port}", "--rewrite", "keep")
    r = genai(s, "sync")
    assert r["text"] == EXPECTED, (r, fake_mockllm.log())
    assert seen_paths(fake_mockllm) == [
        f"/v1beta1/projects/e2e-project/locations/us-central1/publishers/google/models/{MODEL}:generateContent"
    ]
