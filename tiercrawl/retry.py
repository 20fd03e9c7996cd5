"""Scrapy's retries, each after a pause: ``RetryMiddleware`` with back-off.

Scrapy sends a retry at once: a server that answered 503 or 429 (Too Many
Requests), or timed out under load, is asked again before it could recover,
and the page ends unread. Here retry number *n* waits
``TIERCRAWL_RETRY_BACKOFF`` * 2**(n-1) seconds (default 1, so 1 s then 2 s), or
as long as the response's ``Retry-After`` header asks if that is longer, and
never more than ``TIERCRAWL_RETRY_BACKOFF_MAX`` (default 10). The wait holds
one of the crawl's ``CONCURRENT_REQUESTS``, not the site's download slot.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from scrapy import Request
from scrapy.downloadermiddlewares.retry import RetryMiddleware

from tiercrawl.core.backoff import retry_after_seconds, retry_delay

if TYPE_CHECKING:
    from scrapy import Spider
    from scrapy.http import Response
    from scrapy.settings import BaseSettings

__all__ = ["BackoffRetryMiddleware"]


class BackoffRetryMiddleware(RetryMiddleware):
    def __init__(self, settings: BaseSettings) -> None:
        super().__init__(settings)
        self.backoff = settings.getfloat("TIERCRAWL_RETRY_BACKOFF", 1.0)
        self.backoff_max = settings.getfloat("TIERCRAWL_RETRY_BACKOFF_MAX", 10.0)

    # Coroutines: Scrapy awaits a downloader middleware's methods.
    async def process_response(  # type: ignore[override]
        self, request: Request, response: Response, spider: Spider | None = None
    ) -> Request | Response:
        result = super().process_response(request, response)
        if isinstance(result, Request):
            header = response.headers.get("Retry-After")
            await self._pause(
                result, retry_after_seconds(header.decode("latin-1") if header else None)
            )
        return result

    async def process_exception(  # type: ignore[override]
        self, request: Request, exception: Exception, spider: Spider | None = None
    ) -> Request | Response | None:
        result = super().process_exception(request, exception)
        if isinstance(result, Request):
            await self._pause(result, None)
        return result

    async def _pause(self, retry: Request, retry_after: float | None) -> None:
        retries = int(retry.meta.get("retry_times", 1))
        delay = retry_delay(retries, self.backoff, self.backoff_max, retry_after)
        if delay > 0:
            await asyncio.sleep(delay)
