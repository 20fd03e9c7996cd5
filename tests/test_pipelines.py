"""The MongoDB sink on a real store: a failed write reaches the crawl."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from scrapy import Spider
from scrapy.utils.test import get_crawler

from tests.conftest import RestartableStore
from tiercrawl.core.extract import parse_page
from tiercrawl.items import PageItem
from tiercrawl.pipelines import ExtractPipeline, MongoSinkPipeline
from tiercrawl.store import open_store
from tiercrawl.testing import link_document

PAGE = "https://blog.example.org/best-drills"


def _item(url: str) -> PageItem:
    item = PageItem(run_id="run-1", campaign="acme", url=url, tier=1)
    item.links = [{"run_id": "run-1", "campaign": "acme", **link_document(url, url, 0)}]
    item.link_count = 1
    return item


def test_a_page_the_store_refuses_is_kept_without_its_bulk_and_its_batch_is_written(
    mongo_uri: str,
) -> None:
    crawler = get_crawler(Spider)
    crawler._apply_settings()
    store = open_store(mongo_uri)
    sink = MongoSinkPipeline(crawler, store, batch_size=10, concurrent_writes=1)
    huge = _item(f"{PAGE}?huge")
    huge.main_text = "x" * 17_000_000  # over MongoDB's 16 MB document limit

    async def crawl() -> None:
        for item in (_item(f"{PAGE}?1"), huge, _item(f"{PAGE}?2")):
            await sink.process_item(item)
        await sink.close_spider()

    asyncio.run(crawl())
    pages = {page["url"]: page for page in store.pages.find({"run_id": "run-1"})}
    assert sorted(pages) == [f"{PAGE}?1", f"{PAGE}?2", f"{PAGE}?huge"]
    assert pages[f"{PAGE}?1"]["error"] is None
    kept = pages[f"{PAGE}?huge"]
    assert kept["error"] == "store_refused"
    assert "too large" in kept["error_detail"]
    assert "main_text" not in kept
    assert kept["link_count"] == 1
    assert store.links.count_documents({}) == 3
    assert crawler.stats is not None
    assert crawler.stats.get_value("tiercrawl/store/pages_lost") == 0
    assert crawler.stats.get_value("tiercrawl/store/pages_written") == 3
    store.close()


def test_pages_the_store_refuses_outright_are_counted_lost(mongo_uri: str) -> None:
    crawler = get_crawler(Spider)
    crawler._apply_settings()
    store = open_store(mongo_uri)
    sink = MongoSinkPipeline(crawler, store, batch_size=1, concurrent_writes=1)
    store.close()  # every write of the sink now fails, and not for want of a connection

    async def crawl() -> None:
        for n in range(3):
            await sink.process_item(_item(f"{PAGE}?{n}"))
        await sink.close_spider()

    asyncio.run(crawl())
    assert crawler.stats is not None
    # Counted, so that the run is closed failed.
    assert crawler.stats.get_value("tiercrawl/store/pages_lost") == 3
    assert crawler.stats.get_value("tiercrawl/store/pages_written") == 0


def test_a_batch_the_store_could_not_take_is_written_once_it_is_back(tmp_path: Path) -> None:
    import threading

    db = RestartableStore(tmp_path)
    db.start()
    store = open_store(f"{db.uri}/sink")
    crawler = get_crawler(Spider)
    crawler._apply_settings()
    sink = MongoSinkPipeline(crawler, store, batch_size=1, concurrent_writes=1)
    # The store goes away for longer than pymongo waits for a server (10 s), then is back.
    db.stop()
    threading.Timer(12.0, db.start).start()

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
        db.stop()


def _extracted(**fields: Any) -> PageItem:
    """A fetched page's item, with ``fields`` set, once through the extraction pipeline."""
    crawler = get_crawler(Spider)
    crawler._apply_settings()
    item = PageItem(run_id="run-1", campaign="acme", url=PAGE, tier=1, final_url=PAGE, status=200)
    for name, value in fields.items():
        setattr(item, name, value)
    ExtractPipeline.from_crawler(crawler).fill_item(item)
    return item


def test_a_rendered_page_keeps_the_robots_directives_of_its_raw_html() -> None:
    # Google reads them before it renders: a noindex a script removes still counts.
    item = _extracted(
        raw_html='<meta name="robots" content="noindex"><p>Raw page</p>',
        html='<meta name="robots" content="nofollow"><p>Rendered <a href="/x">x</a></p>',
    )
    assert item.meta_robots == ["noindex", "nofollow"]
    assert (item.indexable, item.indexability, item.page_nofollow) == (False, ["noindex"], True)


def test_the_extraction_reads_the_tree_parsed_before_and_lets_it_go() -> None:
    item = _extracted(
        html='<p>Raw <a href="/raw">raw</a></p>',
        # Another page's tree: the links show which one was read.
        parsed=parse_page('<p>Parsed <a href="/parsed">parsed</a></p>'),
    )
    assert [link["href"] for link in item.links] == ["/parsed"]
    assert item.parsed is None


def _page(n: int) -> PageItem:
    item = PageItem(run_id="run-1", campaign="acme", url=f"{PAGE}?{n}", tier=1)
    item.final_url, item.status = item.url, 200
    item.html = f'<p>Page {n}: <a href="https://money.example/drills">drills</a></p>'
    return item


def test_pages_are_extracted_by_batches() -> None:
    crawler = get_crawler(Spider, settings_dict={"TIERCRAWL_EXTRACT_BATCH": 3})
    crawler._apply_settings()
    pipeline = ExtractPipeline.from_crawler(crawler)
    items = [_page(n) for n in range(4)]

    async def crawl() -> list[int]:
        waiting = [asyncio.ensure_future(pipeline.process_item(item)) for item in items[:2]]
        await asyncio.sleep(0)
        seen = [item.link_count for item in items]  # two pages wait for a third
        waiting += [asyncio.ensure_future(pipeline.process_item(item)) for item in items[2:]]
        assert await asyncio.gather(*waiting) == items
        return seen

    started = asyncio.run(crawl())
    assert started == [0, 0, 0, 0]
    # The fourth page came alone: extracted after BATCH_WAIT, with no batch to fill.
    assert [item.link_count for item in items] == [1, 1, 1, 1]
    assert [item.links[0]["url"] for item in items] == ["https://money.example/drills"] * 4


def test_a_page_that_fails_its_extraction_fails_alone() -> None:
    crawler = get_crawler(Spider, settings_dict={"TIERCRAWL_EXTRACT_BATCH": 2})
    crawler._apply_settings()
    pipeline = ExtractPipeline.from_crawler(crawler)
    good = _page(1)

    async def crawl() -> list[Any]:
        calls = [pipeline.process_item(object()), pipeline.process_item(good)]
        return await asyncio.gather(*calls, return_exceptions=True)

    failed, passed = asyncio.run(crawl())
    assert isinstance(failed, TypeError)  # no item at all
    assert passed is good
    assert good.link_count == 1
