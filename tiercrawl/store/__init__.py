"""The MongoDB store: ``open_store(uri)`` gives a ``Store`` over pymongo.

With no URI (neither ``--mongo-uri`` nor ``TIERCRAWL_MONGO_URI``), an embedded
MongoDB-wire-compatible server (SecantusDB) is started in a child process with its data
under ``.tiercrawl/`` (``TIERCRAWL_HOME``), and reached through the same
pymongo code as a real MongoDB.
"""

from __future__ import annotations

from tiercrawl.store.embedded import default_home
from tiercrawl.store.mongo import COLLECTIONS, Store, open_store, store_failure, write_failure

__all__ = [
    "COLLECTIONS",
    "Store",
    "default_home",
    "open_store",
    "store_failure",
    "write_failure",
]
