"""A forward HTTP proxy on a loopback address, for crawls that go through one.

It relays ``GET http://host:port/path`` requests to loopback hosts only,
notes each URL with the ``Proxy-Authorization`` it came with, and answers
407 to a request without the credentials it was given.
"""

from __future__ import annotations

import base64
import http.client
import ipaddress
import threading
from http.server import BaseHTTPRequestHandler
from typing import Self
from urllib.parse import urlsplit

from tiercrawl.demo.webserver import LocalHTTPServer

__all__ = ["ForwardProxy"]

# Not relayed: they concern one connection, not the message.
_HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-connection", "transfer-encoding"})


class _Server(LocalHTTPServer):
    proxy: ForwardProxy


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        proxy = self.server.proxy
        authorization = self.headers.get("Proxy-Authorization")
        proxy.requests.append((self.path, authorization))
        if proxy.authorization is not None and authorization != proxy.authorization:
            self.send_response(407)
            self.send_header("Proxy-Authenticate", 'Basic realm="test"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        url = urlsplit(self.path)
        if url.scheme != "http" or not ipaddress.ip_address(url.hostname or "").is_loopback:
            self.send_error(403, "loopback only")
            return
        upstream = http.client.HTTPConnection(url.hostname, url.port or 80, timeout=10)
        try:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
            headers.pop("Proxy-Authorization", None)
            upstream.request(
                "GET", url.path + (f"?{url.query}" if url.query else ""), None, headers
            )
            answer = upstream.getresponse()
            body = answer.read()
        finally:
            upstream.close()
        self.send_response(answer.status)
        for name, value in answer.getheaders():
            if name.lower() not in _HOP_BY_HOP | {"content-length"}:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


class ForwardProxy:
    """The proxy on ``host``, a free port; ``user`` and ``password``: the credentials it asks."""

    def __init__(self, host: str, user: str | None = None, password: str = "") -> None:
        self.requests: list[tuple[str, str | None]] = []  # (URL, Proxy-Authorization)
        self.authorization = (
            None
            if user is None
            else "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        )
        self._server = _Server((host, 0), _Handler)
        self._server.proxy = self
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def url(self, credentials: str = "") -> str:
        host, port = self._server.server_address[:2]
        return f"http://{credentials}{host!s}:{port}"

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
