"""Mock knobs on `shunt serve`: --seed, --reply-words, --chunk-words, --ttft, --gap, and their validation."""

import pytest

from conftest import refused_start


def call(s, sdk, mode, prompt="Say hi", *extra):
    r = s.client("sdk_call.py", sdk, mode, "--prompt", prompt, *extra)
    assert r["completed"], r
    return r


def test_reply_and_chunk_words(start_shunt):
    """--reply-words 12 --chunk-words 3: replies have 12 words (Gemini and Claude); a Gemini stream has 4 text chunks."""
    s = start_shunt("--reply-words", "12", "--chunk-words", "3")
    assert len(call(s, "genai", "sync")["text"].split()) == 12
    assert len(call(s, "claude", "sync")["text"].split()) == 12
    r = call(s, "genai", "stream")
    assert len(r["text"].split()) == 12, r
    assert [len(c["text"].split()) for c in r["chunks"] if c["text"]] == [3, 3, 3, 3], r


def test_reply_words_range(start_shunt):
    """--reply-words 5..8: every reply has between 5 and 8 words."""
    s = start_shunt("--reply-words", "5..8")
    counts = [len(call(s, "genai", "sync", f"prompt number {i}")["text"].split()) for i in range(4)]
    assert all(5 <= n <= 8 for n in counts), counts


def test_seed_determinism(start_shunt):
    """Same seed and body → same reply, across calls and restarts; another seed → another reply."""
    a = start_shunt("--seed", "1")
    first = call(a, "genai", "sync")["text"]
    assert call(a, "genai", "sync")["text"] == first
    assert call(start_shunt("--seed", "1"), "genai", "sync")["text"] == first
    assert call(start_shunt("--seed", "2"), "genai", "sync")["text"] != first


def test_ttft_and_gap(start_shunt):
    """--ttft fixed:300ms --gap fixed:100ms: chunk i arrives no earlier than 0.3 s + i × 0.1 s
    after the request (lower bounds only: a busy machine may delay a chunk, never advance
    one), a unary reply waits >= 0.5 s."""
    s = start_shunt("--ttft", "fixed:300ms", "--gap", "fixed:100ms", "--reply-words", "12",
                    "--chunk-words", "4")
    r = call(s, "genai", "stream")
    times = [c["t"] for c in r["chunks"] if c["text"]]
    assert len(times) == 3, r
    assert all(t >= 0.3 + 0.1 * i - 0.005 for i, t in enumerate(times)), r
    assert call(s, "genai", "sync")["elapsed"] >= 0.5
    r = call(s, "claude", "stream")
    assert r["chunks"][0]["t"] >= 0.3, r


@pytest.mark.parametrize("ttft,gap", [
    ("200ms", "uniform:10ms..30ms"),
    ("uniform:100ms..300ms", "normal:20ms,5ms"),
    ("lognormal:150ms,0.5", "0"),
])
def test_distributions(start_shunt, ttft, gap):
    """Every DIST syntax is accepted; a stream under it completes, its first chunk no earlier than the distribution allows."""
    s = start_shunt("--ttft", ttft, "--gap", gap)
    r = call(s, "genai", "stream")
    assert r["text"].strip(), r
    if ttft != "lognormal:150ms,0.5":  # lognormal has no lower bound above 0
        assert r["chunks"][0]["t"] >= 0.1, r


@pytest.mark.parametrize("arg", [
    "--ttft=bogus",
    "--gap=uniform:300ms..100ms",
    "--reply-words=9..3",
    "--fault-429=1.5",
    "--fault-cut=-0.1",
])
def test_invalid_knob_refused(tmp_path, arg):
    """An invalid knob value makes `shunt serve` exit non-zero before listening, naming the flag."""
    res = refused_start(tmp_path, arg)
    flag = arg.split("=")[0]
    assert flag in res.stderr or flag.lstrip("-").replace("-", "_") in res.stderr, res.stderr
