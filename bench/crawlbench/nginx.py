"""Debian's nginx serving the generated site on loopback addresses, started and stopped by us.

A real web server keeps the server's cost out of the crawler's process and
answers as the web does (keep-alive, sendfile, ``robots.txt``); the access log
is off so that the disk is not part of the measurement.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["free_port", "serving"]

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"

_CONF = """\
daemon off;
worker_processes 1;
user {user};
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    types {{ text/html html; text/plain txt; }}
    default_type application/octet-stream;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 100000;
{servers}
}}
"""
_SERVER = "    server {{ listen {host}:{port}; root {root}/{host}; }}"


def free_port(host: str) -> int:
    """A TCP port that is free on ``host`` now (the same port serves every host)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@contextmanager
def serving(root: Path, hosts: tuple[str, ...], port: int, prefix: Path) -> Iterator[None]:
    """Serve ``root/HOST/`` on ``HOST:port`` for each host while the block runs."""
    prefix.mkdir(parents=True, exist_ok=True)
    servers = "\n".join(_SERVER.format(host=host, port=port, root=root) for host in hosts)
    conf = prefix / "nginx.conf"
    # Workers run as root so that they can read a private temporary directory.
    conf.write_text(_CONF.format(user="root", prefix=prefix, servers=servers), encoding="utf-8")
    process = subprocess.Popen([NGINX, "-c", str(conf), "-p", str(prefix), "-e", "stderr"])
    try:
        _wait_listening(hosts, port, process)
        yield
    finally:
        process.terminate()
        process.wait(timeout=10)


def _wait_listening(hosts: tuple[str, ...], port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 10
    for host in hosts:
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"nginx exited with {process.returncode}")
            try:
                socket.create_connection((host, port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"nginx does not listen on {host}:{port}") from None
                time.sleep(0.05)
