"""curl through shunt, with nothing from this machine's env but PATH."""

import json
import os

VERTEX_URL = ("https://us-central1-aiplatform.googleapis.com/v1/projects/p/locations/us-central1"
              "/publishers/google/models/gemini-2.5-flash:generateContent")


def curl(shunt, *args):
    """curl -x shunt with env {PATH}; returns (body, http_code, http_connect, completed)."""
    res = shunt.run(
        ["curl", "-q", "-sS", "--max-time", "30", "-x", shunt.url,
         "-w", "\n%{http_code} %{http_connect}", *args],
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")}, check=False,
    )
    body, _, codes = res.stdout.rpartition("\n")
    http_code, _, http_connect = codes.partition(" ")
    return body, http_code, http_connect, res


def test_curl_generate_content(shunt):
    """curl -x shunt --cacert ca.pem POST :generateContent (v1) gets 200 JSON with candidates."""
    body, code, connect, res = curl(
        shunt, "--cacert", str(shunt.certs / "ca.pem"), VERTEX_URL,
        "-H", "content-type: application/json",
        "-d", '{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}',
    )
    assert res.returncode == 0 and code == "200", (res.returncode, code, body, res.stderr, shunt.log())
    assert connect == "200"
    reply = json.loads(body)
    text = reply["candidates"][0]["content"]["parts"][0]["text"]
    assert isinstance(text, str) and text.strip(), reply


def test_curl_other_googleapis_denied(shunt):
    """CONNECT to a non-Vertex *.googleapis.com host is refused with 403 (no real Google call escapes)."""
    body, code, connect, res = curl(
        shunt, "--cacert", str(shunt.certs / "ca.pem"), "https://storage.googleapis.com/b/o")
    assert connect == "403", (res.returncode, code, connect, body, res.stderr, shunt.log())
    assert res.returncode != 0
