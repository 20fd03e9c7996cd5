"""A small programmable web server for loopback sites (the demo web, and the tests).

Each ``Site`` binds its own loopback address (127.0.0.2, 127.0.0.3, ...), so
every site is its own host, registered domain and download slot, as separate
sites are on the web. Routes are plain data: a status, headers, a body, an
optional delay. A ``Web`` is a few named sites served together.
"""

from __future__ import annotations

import socketserver
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

__all__ = ["LocalHTTPServer", "Route", "Site", "Web"]


@dataclass
class Route:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        path = self.path.split("#", 1)[0]
        site = self.server.site
        site.hits[path] = site.hits.get(path, 0) + 1
        site.hit_times.setdefault(path, []).append(time.monotonic())
        site.last_headers[path] = dict(self.headers.items())
        route = site.routes.get(path) or site.routes.get(path.split("?", 1)[0])
        if route is None:
            route = Route(
                404,
                b"<html><head><title>Not found</title></head></html>",
                {"Content-Type": "text/html"},
            )
        if route.delay:
            time.sleep(route.delay)
        try:
            self.send_response(route.status)
            for name, value in route.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(route.body)))
            self.end_headers()
            self.wfile.write(route.body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test): nothing to answer

    def log_message(self, format: str, *args: Any) -> None:
        pass


class LocalHTTPServer(ThreadingHTTPServer):
    """``ThreadingHTTPServer`` that does not look its own address up in the DNS.

    ``HTTPServer.server_bind`` names the server with ``socket.getfqdn(host)``: a
    reverse lookup of 127.0.0.x sent to the network's resolver for every site
    started. Its address is name enough.
    """

    daemon_threads = True

    def server_bind(self) -> None:
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)


class _Server(LocalHTTPServer):
    site: Site


class Site:
    """One website on ``host`` (a loopback address) and ``port`` (default: a free one).

    A taken ``port`` falls back to a free one rather than failing.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.routes: dict[str, Route] = {}
        self.hits: dict[str, int] = {}
        self.hit_times: dict[str, list[float]] = {}  # time.monotonic() of each request
        self.last_headers: dict[str, dict[str, str]] = {}  # of the latest request, by path
        try:
            self._server = _Server((host, port), _Handler)
        except OSError:
            self._server = _Server((host, 0), _Handler)
        self._server.site = self
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def url(self, path: str) -> str:
        return self.base + path

    def add(
        self,
        path: str,
        body: str | bytes = b"",
        *,
        status: int = 200,
        content_type: str = "text/html; charset=utf-8",
        headers: dict[str, str] | None = None,
        delay: float = 0.0,
    ) -> None:
        data = body.encode("utf-8") if isinstance(body, str) else body
        self.routes[path] = Route(
            status, data, {"Content-Type": content_type, **(headers or {})}, delay
        )

    def redirect(self, path: str, to: str, status: int = 301) -> None:
        self.routes[path] = Route(status, b"", {"Location": to})

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class Web:
    """Named ``Site``s, serving together from ``start()`` (or ``with``) until ``stop()``."""

    def __init__(self, **sites: Site) -> None:
        self.sites = sites

    def start(self) -> Self:
        for site in self.sites.values():
            site.start()
        return self

    def stop(self) -> None:
        for site in self.sites.values():
            site.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
