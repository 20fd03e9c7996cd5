"""The embedded store's server in a process of its own, so that its CPU can be read apart."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["store_server"]


@contextmanager
def store_server(data: Path, env: dict[str, str] | None = None) -> Iterator[tuple[int, str]]:
    """``python -m tiercrawl.store.server`` on ``data``: its pid and its MongoDB URI."""
    command = [sys.executable, "-m", "tiercrawl.store.server", str(data)]
    process = subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env
    )
    assert process.stdin is not None
    assert process.stdout is not None
    try:
        uri = process.stdout.readline().strip()
        if not uri:
            raise RuntimeError("the store process did not start")
        yield process.pid, uri
    finally:
        process.stdin.close()  # the server stops when its standard input closes
        process.wait(timeout=60)
