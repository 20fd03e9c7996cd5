"""The embedded store: a SecantusDB server in a child process, its data under ``TIERCRAWL_HOME``.

SecantusDB speaks the MongoDB wire protocol on WiredTiger, so the rest of
tiercrawl talks to it with pymongo exactly as to a production MongoDB.

The server runs in a process of its own (``python -m tiercrawl.store.server
DATA_DIR``), started on first use: it is written in Python, and in the
crawling process it would share one GIL with the crawl (22 pages/s against
26 on the crawl benchmark, docs/benchmarks.md). It stops when its parent
closes its standard input, at exit or when the parent dies, so it never
outlives the command that started it.
"""

from __future__ import annotations

import atexit
import importlib.util
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from tiercrawl.exceptions import StoreError
from tiercrawl.paths import describe_os_error

__all__ = ["default_home", "embedded_uri", "start_server", "stop_embedded"]

_lock = threading.Lock()
_servers: dict[Path, tuple[subprocess.Popen[str], str]] = {}
# How long a server may take to start, and to write its last data and close its files.
_START_TIMEOUT = 60.0
_STOP_TIMEOUT = 60.0


def default_home() -> Path:
    """Where tiercrawl keeps local state: ``TIERCRAWL_HOME`` or ``./.tiercrawl``."""
    return Path(os.environ.get("TIERCRAWL_HOME") or ".tiercrawl").absolute()


def start_server(data_dir: Path) -> Any:
    """A SecantusDB server on a free loopback port, storing in ``data_dir``, started here.

    Standalone, not a one-member replica set (SecantusDB's default): tiercrawl
    uses no transactions nor change streams, and without a replica set the
    server keeps no oplog, a second write for every document (16 % of its CPU
    per link written, docs/benchmarks.md).
    """
    from secantus import SecantusDBServer

    server = SecantusDBServer(
        host="127.0.0.1", port=0, storage_path=str(data_dir), replica_set_name=None
    )
    server.start()
    return server


def embedded_uri(home: Path | None = None) -> str:
    """Start (once per process and data directory) the embedded server; return its URI."""
    data_dir = (home or default_home()) / "db"
    with _lock:
        running = _servers.get(data_dir)
        if running is None:
            if importlib.util.find_spec("secantus") is None:
                raise StoreError(
                    "no MongoDB URI given and the embedded store is not installed: "
                    "set TIERCRAWL_MONGO_URI or install tiercrawl[embedded]"
                )
            try:
                data_dir.mkdir(parents=True, exist_ok=True)
                running = _servers[data_dir] = _spawn(data_dir)
            except OSError as exc:
                raise StoreError(
                    f"TIERCRAWL_HOME: cannot keep the embedded store in {data_dir}: "
                    f"{describe_os_error(exc)} (set TIERCRAWL_HOME to a writable directory)"
                ) from exc
        return running[1]


def _spawn(data_dir: Path) -> tuple[subprocess.Popen[str], str]:
    log_path = data_dir.parent / "store.log"
    # This process's path, so that the child finds tiercrawl where this one did (a Scrapyd egg).
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    with log_path.open("a", encoding="utf-8") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "tiercrawl.store.server", str(data_dir)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            env=env,
        )
    uri = _announced_uri(process)
    if not uri:
        process.kill()
        process.wait()
        reason = _last_error(log_path) or "it did not start"
        raise StoreError(
            f"cannot start the embedded store in {data_dir}: {reason} "
            f"(is another tiercrawl process using it? set TIERCRAWL_MONGO_URI "
            f"to share one server; its log: {log_path})"
        )
    return process, uri


def _announced_uri(process: subprocess.Popen[str]) -> str:
    """The URI the server prints when it is ready, or "" if it ends or takes too long."""
    found: list[str] = []

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            if line.startswith("mongodb://"):
                found.append(line.strip())
                return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(_START_TIMEOUT)
    return found[0] if found else ""


def _last_error(log_path: Path) -> str:
    lines = [ln.strip() for ln in log_path.read_text(encoding="utf-8").splitlines() if ln.strip()]
    return lines[-1] if lines else ""


@atexit.register
def stop_embedded() -> None:
    """Stop this process's embedded servers and wait, so WiredTiger closes its files cleanly
    before the next command opens them."""
    with _lock:
        while _servers:
            process, _ = _servers.popitem()[1]
            if process.stdin is not None:
                process.stdin.close()
            try:
                process.wait(_STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
