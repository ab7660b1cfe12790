"""Raw HTTP requests with `requests` (proxy and CA bundle from the env, as the kit sets them);
prints one JSON line.

usage: raw_http.py SPEC_JSON
SPEC_JSON is a list of {"method", "url", "body" (raw text) | "json", "headers", "repeat",
"vary": true (appends the request's index to the body's "{i}" placeholder), "bodies": false}.
Requests run sequentially on one keep-alive session. The result lists, per request,
status, content-type, retry-after and the body (JSON if it parses) unless bodies is false.
"""

import json
import socket
import sys

import requests
from requests.adapters import HTTPAdapter

from _common import emit

# urllib3 leaves Nagle on for proxied connections; it sends headers and body in two writes,
# so every POST would wait ~40 ms for the server's delayed ACK. Turn Nagle off.
NODELAY = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]


class NoDelayAdapter(HTTPAdapter):
    def init_poolmanager(self, *args, **kwargs):
        kwargs["socket_options"] = NODELAY
        super().init_poolmanager(*args, **kwargs)

    def proxy_manager_for(self, proxy, **kwargs):
        kwargs["socket_options"] = NODELAY
        return super().proxy_manager_for(proxy, **kwargs)


def main():
    spec = json.loads(sys.argv[1])
    session = requests.Session()
    for prefix in ("http://", "https://"):
        session.mount(prefix, NoDelayAdapter())
    results = []
    for req in spec:
        for i in range(req.get("repeat", 1)):
            body = req.get("body")
            if "json" in req:
                body = json.dumps(req["json"])
            if body is not None and req.get("vary"):
                body = body.replace("{i}", str(i))
            headers = {"content-type": "application/json", **req.get("headers", {})}
            r = session.request(req.get("method", "POST"), req["url"], data=body,
                                headers=headers, timeout=30)
            res = {"status": r.status_code, "content_type": r.headers.get("content-type"),
                   "retry_after": r.headers.get("retry-after")}
            if req.get("bodies", True):
                try:
                    res["body"] = r.json()
                except ValueError:
                    res["body"] = r.text
            results.append(res)
    emit({"results": results})


if __name__ == "__main__":
    main()
