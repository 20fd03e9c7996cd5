"""The embedded store: a SecantusDB server started in this process.

SecantusDB speaks the MongoDB wire protocol on WiredTiger, so the rest of
tiercrawl talks to it with pymongo exactly as to a production MongoDB.
"""

from __future__ import annotations

import atexit
import os
import threading
from pathlib import Path
from typing import Any

from tiercrawl.exceptions import StoreError

__all__ = ["default_home", "embedded_uri", "start_server", "stop_embedded"]

_lock = threading.Lock()
_servers: dict[Path, Any] = {}


def default_home() -> Path:
    """Where tiercrawl keeps local state: ``TIERCRAWL_HOME`` or ``./.tiercrawl``."""
    return Path(os.environ.get("TIERCRAWL_HOME") or ".tiercrawl").absolute()


def start_server(data_dir: Path) -> Any:
    """A SecantusDB server on a free loopback port, storing in ``data_dir``, started.

    Standalone, not a one-member replica set (SecantusDB's default): tiercrawl
    uses no transactions nor change streams, and without a replica set the
    server keeps no oplog, a second write for every document (16 % of its CPU
    per link written, measured in docs/benchmarks.md).
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
        server = _servers.get(data_dir)
        if server is None:
            data_dir.mkdir(parents=True, exist_ok=True)
            try:
                server = start_server(data_dir)
            except ImportError as exc:
                raise StoreError(
                    "no MongoDB URI given and the embedded store is not installed: "
                    "set TIERCRAWL_MONGO_URI or install tiercrawl[embedded]"
                ) from exc
            except Exception as exc:
                raise StoreError(
                    f"cannot start the embedded store in {data_dir}: {exc} "
                    "(is another tiercrawl process using it? set TIERCRAWL_MONGO_URI "
                    "to share one server)"
                ) from exc
            _servers[data_dir] = server
        return str(server.uri)


@atexit.register
def stop_embedded() -> None:
    """Stop the embedded servers of this process, so WiredTiger closes its files cleanly."""
    with _lock:
        while _servers:
            _servers.popitem()[1].stop()
