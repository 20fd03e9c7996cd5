"""Each download slot kept to its concurrency: ``SlotConcurrencyMiddleware``.

Scrapy 2.19's downloader counts a request as transferring only once the task
that downloads it has started, so when a download ends it starts every
request then queued in the slot at once. With no download delay (AutoThrottle
off, ``DOWNLOAD_DELAY = 0``) 10 requests went to one site where
``CONCURRENT_REQUESTS_PER_DOMAIN`` allowed 4, and 14 pages were open in the
browser where ``TIERCRAWL_RENDER_CONCURRENCY`` allowed 4. Here a request waits
for its slot's turn before it reaches the downloader; the slot's concurrency
is Scrapy's (``DOWNLOAD_SLOTS``, else ``CONCURRENT_REQUESTS_PER_IP`` or
``CONCURRENT_REQUESTS_PER_DOMAIN``).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from scrapy import Request, Spider
    from scrapy.crawler import Crawler
    from scrapy.http import Response

__all__ = ["SlotConcurrencyMiddleware"]

# Request meta: the slot whose turn the request holds, until its response or failure.
_TURN = "tiercrawl_slot_turn"


@dataclass
class _Turns:
    semaphore: asyncio.Semaphore
    holders: int = 0  # requests holding or awaiting a turn: the slot is forgotten at 0


class SlotConcurrencyMiddleware:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self._slots: dict[str, _Turns] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SlotConcurrencyMiddleware:
        return cls(crawler)

    async def process_request(self, request: Request, spider: Spider | None = None) -> None:
        assert self.crawler.engine is not None
        downloader = self.crawler.engine.downloader
        key = downloader.get_slot_key(request)
        turns = self._slots.get(key)
        if turns is None:
            limit = downloader.per_slot_settings.get(key, {}).get(
                "concurrency", downloader.ip_concurrency or downloader.domain_concurrency
            )
            turns = self._slots[key] = _Turns(asyncio.Semaphore(limit))
        turns.holders += 1
        request.meta[_TURN] = key
        await turns.semaphore.acquire()

    async def process_response(
        self, request: Request, response: Response, spider: Spider | None = None
    ) -> Response:
        self._release(request)
        return response

    async def process_exception(
        self, request: Request, exception: Exception, spider: Spider | None = None
    ) -> None:
        self._release(request)

    def _release(self, request: Request) -> None:
        # Popped: a redirect or a retry is a new request, built from this one's meta.
        key = request.meta.pop(_TURN, None)
        if key is None:
            return
        turns = self._slots[key]
        turns.semaphore.release()
        turns.holders -= 1
        if not turns.holders:
            del self._slots[key]
