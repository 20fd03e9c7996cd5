"""The embedded store's process: ``python -m tiercrawl.store.server DATA_DIR``.

Started by ``tiercrawl.store.embedded``; prints the server's URI on its first
line, then serves until its standard input closes (its parent is done, or
gone), and stops the server so that WiredTiger closes its files cleanly.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

from tiercrawl.store.embedded import start_server

__all__ = ["serve"]


def serve(data_dir: Path) -> None:
    """Start the server on ``data_dir``, print its URI, serve until standard input closes."""
    # Ctrl-C reaches the whole process group; the parent still has documents to write.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    server = start_server(data_dir)
    print(server.uri, flush=True)
    # Nobody reads standard output after the URI: what comes later goes to the log instead.
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    sys.stdin.read()
    server.stop()


if __name__ == "__main__":
    serve(Path(sys.argv[1]))
