"""The MongoDB sink on a real store: a failed write reaches the crawl."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from pymongo.errors import InvalidOperation
from scrapy import Spider
from scrapy.utils.test import get_crawler

from tiercrawl.items import PageItem
from tiercrawl.pipelines import MongoSinkPipeline
from tiercrawl.store import open_store
from tiercrawl.testing import link_document

PAGE = "https://blog.example.org/best-drills"


def _item(url: str) -> PageItem:
    item = PageItem(run_id="run-1", campaign="acme", url=url, tier=1)
    item.links = [{"run_id": "run-1", "campaign": "acme", **link_document(url, url, 0)}]
    return item


def test_a_failed_write_is_raised_to_the_next_item_and_at_close(mongo_uri: str) -> None:
    crawler = get_crawler(Spider)
    crawler._apply_settings()
    store = open_store(mongo_uri)
    sink = MongoSinkPipeline(crawler, store, batch_size=1, concurrent_writes=1)
    store.close()  # every write of the sink now fails

    async def crawl() -> None:
        await sink.process_item(_item(PAGE))  # its batch goes to the queue
        with pytest.raises(InvalidOperation):
            await sink.process_item(_item(f"{PAGE}?2"))
        await sink.process_item(_item(f"{PAGE}?3"))
        with pytest.raises(InvalidOperation):
            await sink.close_spider()

    asyncio.run(crawl())
    assert crawler.stats is not None
    assert crawler.stats.get_value("tiercrawl/store/batches") is None


def test_a_batch_the_store_could_not_take_is_written_once_it_is_back(tmp_path: Path) -> None:
    import threading

    from secantus import SecantusDBServer

    from tests.web import closed_port

    port = closed_port()

    def server() -> SecantusDBServer:
        db = SecantusDBServer(
            host="127.0.0.1", port=port, storage_path=str(tmp_path), replica_set_name=None
        )
        db.start()
        return db

    first = server()
    store = open_store(f"mongodb://127.0.0.1:{port}/sink")
    crawler = get_crawler(Spider)
    crawler._apply_settings()
    sink = MongoSinkPipeline(crawler, store, batch_size=1, concurrent_writes=1)
    # The store goes away for longer than pymongo waits for a server (10 s), then is back.
    first.stop()
    restarted: list[SecantusDBServer] = []
    threading.Timer(12.0, lambda: restarted.append(server())).start()

    async def crawl() -> None:
        for n in range(3):
            await sink.process_item(_item(f"{PAGE}?{n}"))
        await sink.close_spider()

    try:
        asyncio.run(crawl())
        assert store.pages.count_documents({"run_id": "run-1"}) == 3
        assert store.links.count_documents({}) == 3
        assert crawler.stats is not None
        assert crawler.stats.get_value("tiercrawl/store/pages_lost") is None
    finally:
        store.close()
        for db in restarted:
            db.stop()
