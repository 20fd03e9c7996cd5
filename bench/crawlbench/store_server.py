"""The store in a process of its own: ``python store_server.py DATA_DIR`` prints its URI.

The same SecantusDB server, started by the same function, as tiercrawl's
embedded store (``tiercrawl.store.embedded.start_server``), so that a crawl
pointed at it through ``TIERCRAWL_MONGO_URI`` does the same work, while the
store's CPU and memory are counted in this process instead of the crawler's.
Stops on SIGTERM.
"""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from types import FrameType

from tiercrawl.store.embedded import start_server


def main(data_dir: str) -> None:
    server = start_server(Path(data_dir))

    def stop(signum: int, frame: FrameType | None) -> None:
        server.stop()

    signal.signal(signal.SIGTERM, stop)
    print(server.uri, flush=True)
    server.wait()


if __name__ == "__main__":
    main(sys.argv[1])
