"""Item pipelines: extraction, then the MongoDB sink.

``ExtractPipeline`` turns a fetched page into the contract's page signals and
links (``tiercrawl.core.extract``, ``tiercrawl.core.indexability``).
``MongoSinkPipeline`` writes ``pages`` and ``links`` documents in batches of
``TIERCRAWL_MONGO_BATCH_SIZE`` links (default 1000), never one round trip per
link.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from bson.errors import InvalidDocument
from itemadapter import ItemAdapter
from pymongo.errors import ConnectionFailure, PyMongoError

from tiercrawl.core.compiled import COPIES, compiled_copies
from tiercrawl.core.extract import COMPILED_WALK, extract_page
from tiercrawl.core.indexability import assess, page_nofollow, x_robots_tokens
from tiercrawl.core.matching import links_to_domains, looks_like_challenge, target_domains
from tiercrawl.core.render import mark_rendered_only
from tiercrawl.core.scoring import commercial_domains
from tiercrawl.items import TRANSIENT_FIELDS
from tiercrawl.store import write_failure
from tiercrawl.store_access import store_for

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

    from tiercrawl.store import Store

__all__ = ["ExtractPipeline", "MongoSinkPipeline"]

logger = logging.getLogger(__name__)

# Links into the targets' sites kept on a page document, at most: about 0.4 KB each.
# A page with more (a site-wide link on a big forum) has its links read back at close.
TARGET_LINKS_KEPT = 1000
# Links of a rendered page's raw HTML that its scripts removed, kept on the page at most.
REMOVED_LINKS_KEPT = 1000

# What a page the store refused is stored without: the fields that grow with the page.
_BULKY_FIELDS = frozenset(
    {"target_links", "removed_links", "commercial_domains", "main_text", "title"}
)

# Seconds a page waits, at most, for the rest of its extraction batch: nothing to a crawl,
# and under load a batch fills long before.
BATCH_WAIT = 0.05

# Seconds between the tries of a batch the store could not take (connection lost,
# no server to select): a restarted or failed-over MongoDB has its writes, not a gap.
WRITE_RETRY_DELAYS = (1.0, 2.0, 4.0, 8.0, 16.0)


class ExtractPipeline:
    """Fills a page item's signals and ``links`` from its HTML.

    Pages are extracted in batches, back to back: between two pages, Scrapy's
    own work pushes the extraction's code and data out of the CPU's caches,
    and a page extracted cold costs about 1.5 times one extracted warm. A
    page waits for the batch to fill, or `BATCH_WAIT` seconds at most.

    Settings: ``TIERCRAWL_CONTEXT_CHARS`` (default 300), the text kept around each link;
    ``TIERCRAWL_EXTRACT_BATCH`` (default 16), the pages of a batch (1: each page as it comes).
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.context_chars = crawler.settings.getint("TIERCRAWL_CONTEXT_CHARS", 300)
        self.batch_size = max(1, crawler.settings.getint("TIERCRAWL_EXTRACT_BATCH", 16))
        self._domains_by_page: dict[str, frozenset[str]] | None = None
        self._batch: list[tuple[Any, asyncio.Future[None]]] = []
        self._batch_timer: asyncio.TimerHandle | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ExtractPipeline:
        return cls(crawler)

    def open_spider(self) -> None:
        # Kept in the run's stats: a figure of CPU per page means little without them.
        assert self.crawler.stats is not None
        self.crawler.stats.set_value("tiercrawl/extract/compiled_walk", int(COMPILED_WALK))
        copies = compiled_copies()
        self.crawler.stats.set_value("tiercrawl/extract/compiled_copies", len(copies))
        if not COMPILED_WALK:
            logger.info(
                "extracting with the Python walk (tiercrawl.core._walk is not built here): "
                "the same facts for more CPU, see docs/extraction.md"
            )
        if len(copies) < len(COPIES):
            logger.info(
                "extracting with %d of %d modules compiled (%s): the same facts for more CPU, "
                "see docs/extraction.md",
                len(copies),
                len(COPIES),
                ", ".join(copies) or "none",
            )

    async def process_item(self, item: Any) -> Any:
        if self.batch_size == 1:
            self.fill_item(item)
            return item
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        self._batch.append((item, done))
        if len(self._batch) >= self.batch_size:
            self._extract_batch()
        elif self._batch_timer is None:
            self._batch_timer = loop.call_later(BATCH_WAIT, self._extract_batch)
        await done
        return item

    def _extract_batch(self) -> None:
        if self._batch_timer is not None:
            self._batch_timer.cancel()
            self._batch_timer = None
        batch, self._batch = self._batch, []
        for item, done in batch:
            if done.cancelled():
                continue
            try:
                self.fill_item(item)
            except Exception as exc:  # noqa: BLE001 - the page's own, raised where it waits
                done.set_exception(exc)
            else:
                done.set_result(None)

    def fill_item(self, item: Any) -> None:
        """Fill ``item``'s signals and links from its HTML, at once."""
        adapter = ItemAdapter(item)
        headers = adapter.get("headers") or {}
        adapter["x_robots_tag"] = x_robots_tokens(headers.get("x-robots-tag", []))
        html = adapter.get("html")
        if html is not None:
            self._extract(adapter, html)
        adapter["indexable"], adapter["indexability"] = assess(
            status=adapter["status"],
            error=adapter["error"],
            # robots.txt keeps Google out too when it only names Googlebot.
            robots_allowed=adapter["robots_allowed"] and adapter["googlebot_allowed"] is not False,
            meta_robots=adapter["meta_robots"],
            x_robots_tag=adapter["x_robots_tag"],
            canonical=adapter["canonical"],
            final_url=adapter["final_url"],
        )
        adapter["page_nofollow"] = page_nofollow(adapter["meta_robots"], adapter["x_robots_tag"])
        stats = self.crawler.stats
        assert stats is not None
        stats.inc_value("tiercrawl/pages")
        if adapter["error"]:
            stats.inc_value(f"tiercrawl/error/{adapter['error']}")
        stats.inc_value("tiercrawl/links_extracted", len(adapter["links"]))

    def _extract(self, adapter: ItemAdapter, html: str) -> None:
        parsed, adapter["parsed"] = adapter.get("parsed"), None  # a page's tree, held no longer
        facts = extract_page(
            html, adapter["final_url"], context_chars=self.context_chars, parsed=parsed
        )
        adapter["title"] = facts.title
        adapter["lang"] = facts.lang
        adapter["word_count"] = facts.word_count
        adapter["meta_robots"] = facts.meta_robots
        adapter["canonical"] = facts.canonical
        adapter["outbound_links"] = facts.outbound_links
        adapter["main_text"] = facts.main_text
        adapter["challenge"] = looks_like_challenge(facts.title, facts.main_text, facts.word_count)
        adapter["link_count"] = len(facts.links)
        adapter["truncated"] = facts.truncated
        raw_html = adapter.get("raw_html")
        if raw_html is not None:
            # A rendered page: flag its links absent raw, and keep the raw links scripts removed.
            raw_url = adapter.get("raw_url") or adapter["final_url"]
            raw = extract_page(raw_html, raw_url, context_chars=self.context_chars)
            # Google reads the raw HTML's robots directives before it renders: a noindex
            # that scripts remove still keeps the page out, and one they add counts too.
            adapter["meta_robots"] = list(dict.fromkeys([*raw.meta_robots, *facts.meta_robots]))
            removed = mark_rendered_only(facts.links, raw.links)
            adapter["removed_links"] = [asdict(link) for link in removed[:REMOVED_LINKS_KEPT]]
            adapter["removed_link_count"] = len(removed)
        owner = {
            "run_id": adapter["run_id"],
            "campaign": adapter["campaign"],
            "source_url": adapter["url"],
        }
        # The LinkFacts end here: each one's own attribute dict becomes its document, with
        # the page's fields added, where a copy of each cost 35 to 50 µs a page (and
        # asdict() deep-copies every value of every link).
        links = [vars(link) for link in facts.links]
        for link in links:
            link.update(owner)
        adapter["links"] = links
        # Kept on the page so that placements and scoring never read the run's links back,
        # unless there are too many for a page document (MongoDB's limit is 16 MB).
        adapter["commercial_domains"] = commercial_domains(links)
        target_links = links_to_domains(links, self._target_domains(adapter["url"]))
        adapter["target_links"] = target_links if len(target_links) <= TARGET_LINKS_KEPT else None

    def _target_domains(self, url: str) -> frozenset[str]:
        if self._domains_by_page is None:
            campaign = getattr(self.crawler.spider, "campaign", None)
            self._domains_by_page = target_domains(campaign.entries()) if campaign else {}
        return self._domains_by_page.get(url, frozenset())


class MongoSinkPipeline:
    """Writes ``pages`` and ``links`` in batches; a page's links are written with it.

    Settings: ``TIERCRAWL_MONGO_URI`` (empty: the embedded store),
    ``TIERCRAWL_MONGO_BATCH_SIZE`` (default 1000 links per round trip),
    ``TIERCRAWL_MONGO_CONCURRENT_WRITES`` (default 4 batches in flight).
    Batches are written in threads, so the crawl goes on while MongoDB answers,
    and several at once, so the store always has the next one at hand; items
    wait only when that many are in flight already. A batch the store could
    not take (connection lost) is tried again after `WRITE_RETRY_DELAYS`
    (about 30 s in all, plus pymongo's 10 s wait for a server each time); if
    it still fails, its pages are counted in ``tiercrawl/store/pages_lost``
    and the run is closed ``failed``.
    """

    def __init__(
        self, crawler: Crawler, store: Store, batch_size: int, concurrent_writes: int
    ) -> None:
        self.crawler = crawler
        self.store = store
        self.batch_size = batch_size
        self._pages: list[dict[str, Any]] = []
        self._links: list[dict[str, Any]] = []
        self._write_slots = asyncio.Semaphore(concurrent_writes)
        self._writes: set[asyncio.Task[None]] = set()
        self._failure: BaseException | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> MongoSinkPipeline:
        settings = crawler.settings
        batch_size = max(1, settings.getint("TIERCRAWL_MONGO_BATCH_SIZE", 1000))
        concurrent_writes = max(1, settings.getint("TIERCRAWL_MONGO_CONCURRENT_WRITES", 4))
        return cls(crawler, store_for(crawler), batch_size, concurrent_writes)

    async def process_item(self, item: Any) -> Any:
        # Shallow: the links are plain dicts already, and asdict() would test each of their
        # values for an item (11 ms a page at 73 links, twice a bare Scrapy page's cost).
        doc = dict(ItemAdapter(item).items())
        self._links.extend(doc["links"])
        self._pages.append({k: v for k, v in doc.items() if k not in TRANSIENT_FIELDS})
        if len(self._links) >= self.batch_size or len(self._pages) >= self.batch_size:
            await self._flush()
        return item

    async def close_spider(self) -> None:
        try:
            await self._flush()
        finally:
            while self._writes:
                await asyncio.wait(self._writes)
        self._raise_failure()

    async def _flush(self) -> None:
        # The buffer is taken after the wait. While the queue is full, the items
        # that fill the buffer wait here, their links in the one buffer and their
        # responses still active, so Scrapy stops downloading when the store falls
        # behind; taken before, each waiting item held a whole batch of its own.
        await self._write_slots.acquire()  # released when the write is done (`_written`)
        pages, links = self._pages, self._links
        if self._failure is not None or not (pages or links):
            self._write_slots.release()
            self._raise_failure()
            return
        self._pages, self._links = [], []
        write = asyncio.get_running_loop().create_task(self._write(pages, links))
        self._writes.add(write)
        write.add_done_callback(self._written)

    async def _write(self, pages: list[dict[str, Any]], links: list[dict[str, Any]]) -> None:
        stats = self.crawler.stats
        assert stats is not None
        for delay in (*WRITE_RETRY_DELAYS, None):
            try:
                # Safe to repeat: links are keyed by link id, pages upserted on (run_id, url).
                await asyncio.to_thread(self._write_batch, pages, links)
                break
            except ConnectionFailure as exc:
                if delay is None:
                    # Counted, so that the run is closed failed (RunRecorder), not finished.
                    stats.inc_value("tiercrawl/store/pages_lost", len(pages))
                    raise
                logger.warning("store write failed (%s): trying again in %g s", exc, delay)
                await asyncio.sleep(delay)
            except (PyMongoError, InvalidDocument):
                # A document the store refuses (over 16 MB, ...): trying again cannot help,
                # and the batch's other pages are fine, so each page is written on its own.
                lost = await asyncio.to_thread(self._write_apart, pages, links)
                # Counted, so that the run is closed failed (RunRecorder), not finished.
                stats.inc_value("tiercrawl/store/pages_lost", len(lost))
                pages = [page for page in pages if page["url"] not in lost]
                links = [link for link in links if link["source_url"] not in lost]
                break
        stats.inc_value("tiercrawl/store/batches")
        stats.inc_value("tiercrawl/store/pages_written", len(pages))
        stats.inc_value("tiercrawl/store/links_written", len(links))

    def _write_batch(self, pages: list[dict[str, Any]], links: list[dict[str, Any]]) -> None:
        # Links first: a stored page is then always complete with its links.
        self.store.insert_links(links)
        self.store.upsert_many("pages", pages, key=("run_id", "url"))

    def _write_apart(self, pages: list[dict[str, Any]], links: list[dict[str, Any]]) -> set[str]:
        """Write a batch page by page, with its links; return the URLs of the pages lost.

        A page the store refuses is stored without its bulky fields, its error
        ``store_refused``: its placements then say it was not read, not that
        their links are missing.
        """
        links_of: dict[str, list[dict[str, Any]]] = {}
        for link in links:
            links_of.setdefault(link["source_url"], []).append(link)
        lost = set()
        for page in pages:
            try:
                self._write_batch([page], links_of.get(page["url"], []))
                continue
            except (PyMongoError, InvalidDocument) as exc:
                why = write_failure(exc)
            slim = {k: v for k, v in page.items() if k not in _BULKY_FIELDS}
            slim.update(error="store_refused", error_detail=why[:300])
            try:
                self.store.upsert_many("pages", [slim], key=("run_id", "url"))
                logger.error("page %s stored without its facts: %s", page["url"], why)
            except (PyMongoError, InvalidDocument) as exc:
                logger.error("page %s not stored: %s", page["url"], write_failure(exc))
                lost.add(page["url"])
        return lost

    def _written(self, write: asyncio.Task[None]) -> None:
        self._writes.discard(write)
        # A failed write is raised to the next item that flushes, and at close;
        # recorded before the slot is free, so the item woken by it sees it.
        if not write.cancelled() and self._failure is None:
            self._failure = write.exception()
        self._write_slots.release()

    def _raise_failure(self) -> None:
        if self._failure is not None:
            failure, self._failure = self._failure, None
            raise failure
