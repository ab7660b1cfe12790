"""shunt's minted leaf certificates under CPython's strictest verification."""

import http.client
import json
import socket
import ssl

import pytest

GENERATE = json.dumps({"contents": [{"role": "user", "parts": [{"text": "hi"}]}]})


def tunnel(shunt, host):
    """Raw CONNECT host:443 through shunt; returns the socket after the 200, before any TLS byte."""
    sock = socket.create_connection((shunt.host, shunt.port), timeout=15)
    sock.sendall(f"CONNECT {host}:443 HTTP/1.1\r\nHost: {host}:443\r\n\r\n".encode())
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        byte = sock.recv(1)  # one byte at a time: nothing of the TLS stream is consumed
        assert byte, f"proxy closed during CONNECT; got {head!r}\n{shunt.log()}"
        head += byte
    status = head.split(b"\r\n", 1)[0].split()
    assert len(status) >= 2 and status[1] == b"200", f"CONNECT answered {head!r}"
    return sock


def strict_context(cafile):
    ctx = ssl.create_default_context(cafile=str(cafile))
    ctx.verify_flags |= ssl.VERIFY_X509_STRICT
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


def post(tls, host, path, body, content_type):
    tls.sendall(
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n{body}".encode())
    resp = http.client.HTTPResponse(tls)
    resp.begin()
    return resp.status, resp.getheader("Content-Type", ""), resp.read()


@pytest.mark.parametrize("host,path,body,content_type", [
    ("aiplatform.us.rep.googleapis.com",
     "/v1beta1/projects/p/locations/us/publishers/google/models/gemini-2.5-flash:generateContent",
     GENERATE, "application/json"),
    ("us-central1-aiplatform.googleapis.com",
     "/v1beta1/projects/p/locations/us-central1/publishers/google/models/gemini-2.5-flash:generateContent",
     GENERATE, "application/json"),
    ("oauth2.googleapis.com", "/token",
     "grant_type=refresh_token&client_id=c&client_secret=s&refresh_token=r",
     "application/x-www-form-urlencoded"),
])
def test_strict_tls_through_connect(shunt, host, path, body, content_type):
    """CONNECT + TLS with VERIFY_X509_STRICT against bundle.pem: handshake ok, SAN is exactly the host."""
    ctx = strict_context(shunt.certs / "bundle.pem")
    with ctx.wrap_socket(tunnel(shunt, host), server_hostname=host) as tls:
        san = tls.getpeercert()["subjectAltName"]
        assert san == (("DNS", host),), san
        assert tls.selected_alpn_protocol() in (None, "http/1.1")
        status, ctype, data = post(tls, host, path, body, content_type)
    assert status == 200, (status, data, shunt.log())
    assert ctype.startswith("application/json"), ctype
    reply = json.loads(data)
    if host.startswith("oauth2"):
        assert reply["access_token"] and reply["token_type"] == "Bearer", reply
        assert int(reply["expires_in"]) > 225, reply
    else:
        assert reply["candidates"][0]["content"]["parts"][0]["text"].strip(), reply
