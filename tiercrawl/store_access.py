"""One store per crawler, shared by the sink pipeline and the run recorder.

Read from the ``TIERCRAWL_MONGO_URI`` setting (empty: the embedded store) and
closed when the engine stops.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from weakref import WeakKeyDictionary

from scrapy import signals

from tiercrawl.store import Store, open_store

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

__all__ = ["store_for"]

_stores: WeakKeyDictionary[Crawler, Store] = WeakKeyDictionary()


def store_for(crawler: Crawler) -> Store:
    store = _stores.get(crawler)
    if store is None:
        store = open_store(crawler.settings.get("TIERCRAWL_MONGO_URI") or None)
        store.ensure_indexes()
        _stores[crawler] = store

        def close() -> None:
            _stores.pop(crawler, None)
            store.close()

        crawler.signals.connect(close, signal=signals.engine_stopped, weak=False)
    return store
