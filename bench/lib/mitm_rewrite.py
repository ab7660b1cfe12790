"""mitmproxy addon for bench/run: what shunt does with `--upstream http://HOST:PORT`.

Vertex AI Gemini paths on *aiplatform.googleapis.com are rewritten to the Gemini API form
(/v1beta/models/{model}:{verb}, query kept) and sent over plain HTTP to the upstream named
by BENCH_UPSTREAM (host:port). Everything else is answered 403, like shunt's deny.
"""

import os
import re

from mitmproxy import http

_HOST, _PORT = os.environ["BENCH_UPSTREAM"].rsplit(":", 1)
_VERTEX = re.compile(
    r"^/v1(?:beta1)?/projects/[^/]+/locations/[^/]+/publishers/google/models/([^/:?]+):(\w+)(\?.*)?$"
)


def request(flow: http.HTTPFlow) -> None:
    host = flow.request.pretty_host
    if host == "aiplatform.googleapis.com" or host.endswith("-aiplatform.googleapis.com"):
        m = _VERTEX.match(flow.request.path)
        if m:
            flow.request.path = f"/v1beta/models/{m[1]}:{m[2]}{m[3] or ''}"
        flow.request.scheme = "http"
        flow.request.host = _HOST
        flow.request.port = int(_PORT)
        return
    flow.response = http.Response.make(403, b'{"error":{"code":403}}', {"content-type": "application/json"})
