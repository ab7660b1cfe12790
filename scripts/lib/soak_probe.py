"""One model call every 100 ms through shunt, for scripts/soak --upstream-restarts.

Prints CSV to stdout: t_s (send time, seconds since --start), status (HTTP status, or
`error:<kind>` when no response came), latency_ms. Keeps one keep-alive connection
(CONNECT + TLS verified with --cacert) and opens a new one after an error. A call that
takes longer than 10 s counts as `error:timeout`.
"""

from __future__ import annotations

import argparse
import http.client
import ssl
import sys
import time
from urllib.parse import urlsplit


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--proxy", required=True)
    ap.add_argument("--cacert", required=True)
    ap.add_argument("--url", required=True)
    ap.add_argument("--body", required=True)
    ap.add_argument("--seconds", type=float, required=True)
    ap.add_argument("--start", type=float, required=True)
    args = ap.parse_args()
    url = urlsplit(args.url)
    path = url.path + (f"?{url.query}" if url.query else "")
    proxy_host, proxy_port = args.proxy.rsplit(":", 1)
    ctx = ssl.create_default_context(cafile=args.cacert)
    conn = None
    print("t_s,status,latency_ms", flush=True)
    end = args.start + args.seconds
    next_at = time.time()
    while time.time() < end:
        next_at += 0.1
        sent = time.time()
        try:
            if conn is None:
                conn = http.client.HTTPSConnection(proxy_host, int(proxy_port), context=ctx, timeout=10)
                conn.set_tunnel(url.hostname, url.port or 443)
            conn.request("POST", path, body=args.body, headers={"content-type": "application/json"})
            res = conn.getresponse()
            res.read()
            status = str(res.status)
        except TimeoutError:
            status = "error:timeout"
        except (OSError, http.client.HTTPException) as e:
            status = f"error:{type(e).__name__}"
        if status.startswith("error") and conn is not None:
            conn.close()
            conn = None
        print(f"{sent - args.start:.3f},{status},{(time.time() - sent) * 1000:.1f}", flush=True)
        time.sleep(max(0.0, next_at - time.time()))


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(0)
