"""The framework's ceiling: a Scrapy spider that fetches the benchmark's URLs and extracts nothing.

``scrapy runspider bench/crawlbench/bare_spider.py -a urls=URLS.txt``; the settings
(concurrency, robots.txt, no AutoThrottle) come from the command line, as for tiercrawl.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import scrapy
from scrapy.http import Response


class BareSpider(scrapy.Spider):
    name = "bare"

    def __init__(self, urls: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.urls_file = Path(urls)

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for url in self.urls_file.read_text(encoding="utf-8").split():
            yield scrapy.Request(url, dont_filter=True)

    def parse(self, response: Response, **kwargs: Any) -> None:
        """Nothing: the response is downloaded, decoded into a Response, and dropped."""
