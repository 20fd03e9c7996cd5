"""A Scrapy extension that the benchmark adds to each crawl it measures.

It records the process's peak RSS (``VmHWM``) when the Nth page response has
arrived, for each N of ``BENCH_RSS_AT`` (e.g. ``1000,5000``), and at the end
the crawl's stats and the time spent in the garbage collector, into the JSON
file ``BENCH_PROBE_FILE``. It runs inside the crawl, so the readings are exact
at those counts; it costs one counter per response and two clock readings per
collection. robots.txt responses are not pages and are not counted.
"""

from __future__ import annotations

import atexit
import gc
import json
import time
from pathlib import Path
from typing import Any

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Request, Response

from crawlbench.measure import memory_kib


class BenchProbe:
    def __init__(self, crawler: Crawler, path: Path, marks: list[int]) -> None:
        self.crawler = crawler
        self.path = path
        self.marks = marks
        self.pages = 0
        self.rss: dict[str, dict[str, int]] = {}
        self.gc_seconds = [0.0, 0.0, 0.0]  # per generation
        self.gc_started = 0.0
        gc.callbacks.append(self.gc_event)

    def gc_event(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self.gc_started = time.process_time()
        else:
            self.gc_seconds[info["generation"]] += time.process_time() - self.gc_started

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> BenchProbe:
        path = crawler.settings.get("BENCH_PROBE_FILE")
        if not path:
            raise NotConfigured("BENCH_PROBE_FILE is not set")
        marks = sorted(int(n) for n in crawler.settings.getlist("BENCH_RSS_AT"))
        probe = cls(crawler, Path(path), marks)
        crawler.signals.connect(probe.response_received, signal=signals.response_received)
        # Connected after tiercrawl's RunRecorder and CoreStats, so the stats are final.
        crawler.signals.connect(probe.spider_closed, signal=signals.spider_closed)
        return probe

    def response_received(self, response: Response, request: Request, spider: Spider) -> None:
        if response.url.endswith("/robots.txt"):
            return
        self.pages += 1
        if self.pages in self.marks:
            self.rss[str(self.pages)] = {
                "hwm_kib": memory_kib("VmHWM"),
                "rss_kib": memory_kib("VmRSS"),
            }

    def spider_closed(self, spider: Spider, reason: str) -> None:
        stats: dict[str, Any] = self.crawler.stats.get_stats() if self.crawler.stats else {}
        self.rss["end"] = {"hwm_kib": memory_kib("VmHWM"), "rss_kib": memory_kib("VmRSS")}
        gc_cpu = {f"gen{n}": round(seconds, 3) for n, seconds in enumerate(self.gc_seconds)}
        report = {
            "pages": self.pages,
            "reason": reason,
            "rss": self.rss,
            "gc_cpu_s": gc_cpu,
            "stats": stats,
        }
        self.path.write_text(json.dumps(report, default=str, indent=1), encoding="utf-8")
        atexit.register(self.record_exit, report)

    def record_exit(self, report: dict[str, Any]) -> None:
        """The peak RSS again when the process exits: what shutting the crawl down cost."""
        report["rss"]["exit"] = {"hwm_kib": memory_kib("VmHWM"), "rss_kib": memory_kib("VmRSS")}
        self.path.write_text(json.dumps(report, default=str, indent=1), encoding="utf-8")
