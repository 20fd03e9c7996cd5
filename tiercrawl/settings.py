"""Scrapy settings for tiercrawl, and every ``TIERCRAWL_*`` default.

Each setting is documented in ``docs/settings.md`` (type, default, example).
Override on the command line (``scrapy crawl tiers -s NAME=VALUE``), in the
environment for the store (``TIERCRAWL_MONGO_URI``), or per Scrapyd job.
"""

from __future__ import annotations

import os

BOT_NAME = "tiercrawl"
SPIDER_MODULES = ["tiercrawl.spiders"]
NEWSPIDER_MODULE = "tiercrawl.spiders"

# --- Safety: a crawler deployed on servers exposes no control ports -----------------
REMOTE_CONTROL_ENABLED = False
TELNETCONSOLE_ENABLED = False

# --- Politeness: a professional crawler's defaults ----------------------------------
USER_AGENT = "tiercrawl/0.1 (+https://github.com/tiercrawl/tiercrawl; backlink verification)"
ROBOTSTXT_OBEY = True
CONCURRENT_REQUESTS = 32
CONCURRENT_REQUESTS_PER_DOMAIN = 4
DOWNLOAD_DELAY = 0
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 0.5
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 2.0
RETRY_ENABLED = True
RETRY_TIMES = 2
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]
# Seconds before the first retry, doubled at each one (tiercrawl.retry); a longer
# Retry-After is honoured; no wait longer than the maximum. 0 with no Retry-After: no wait.
TIERCRAWL_RETRY_BACKOFF = 1.0
TIERCRAWL_RETRY_BACKOFF_MAX = 10.0
DOWNLOAD_TIMEOUT = 30
DOWNLOAD_MAXSIZE = 10 * 1024 * 1024
DOWNLOAD_WARNSIZE = 2 * 1024 * 1024
REDIRECT_MAX_TIMES = 10
COOKIES_ENABLED = False
# One visit per URL per run; the spider never follows links, so no duplicate filter is needed
# beyond the campaign's own de-duplication.
DUPEFILTER_CLASS = "scrapy.dupefilters.BaseDupeFilter"
DNS_TIMEOUT = 15
# Each callback yields one item (or one render request): Scrapy starts this many
# worker tasks per response to process callback output, 100 by default.
CONCURRENT_ITEMS = 1
# Response bytes in the scraper before new downloads wait (Scrapy: 5 MB). Pages
# that wait hold their links; a few pages keep the extraction busy. With 1 MB the
# crawl's memory rose by a quarter once the store fell behind (docs/benchmarks.md).
SCRAPER_SLOT_MAX_ACTIVE_SIZE = 100_000
LOG_LEVEL = "INFO"

# Every request through this proxy, credentials in its URL (http://user:password@host:port);
# empty: the environment's http_proxy / https_proxy, if any (tiercrawl.proxy).
TIERCRAWL_PROXY = os.environ.get("TIERCRAWL_PROXY", "")

# --- Components ---------------------------------------------------------------------
# The spider follows no links, so Scrapy's middlewares for followed links have no work but to
# pass each item along, and one of them would drop a campaign URL longer than 2,083
# characters unseen (UrlLengthMiddleware checks start requests too).
SPIDER_MIDDLEWARES = {
    "scrapy.spidermiddlewares.referer.RefererMiddleware": None,
    "scrapy.spidermiddlewares.urllength.UrlLengthMiddleware": None,
    "scrapy.spidermiddlewares.depth.DepthMiddleware": None,
}
ITEM_PIPELINES = {
    "tiercrawl.pipelines.ExtractPipeline": 100,
    "tiercrawl.pipelines.MongoSinkPipeline": 900,
}
EXTENSIONS = {
    "tiercrawl.extensions.RunRecorder": 100,
    "tiercrawl.extensions.ProgressReporter": 200,
    "tiercrawl.extensions.GarbageCollection": 300,
}

# --- Rendering (scrapy-playwright) ----------------------------------------------------
# docs/rendering.md documents each setting. Only requests with meta["playwright"] reach the
# browser; the rest go through Scrapy's HTTP/1.1 handler, and Chromium starts on first use.
TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
DOWNLOAD_HANDLERS = {
    "http": "tiercrawl.rendering.LazyPlaywrightDownloadHandler",
    "https": "tiercrawl.rendering.LazyPlaywrightDownloadHandler",
}
# Translates the TIERCRAWL_RENDER* / TIERCRAWL_BROWSER_* settings into PLAYWRIGHT_* ones.
ADDONS = {"tiercrawl.rendering.RenderingAddon": 0}
DOWNLOADER_MIDDLEWARES = {
    # Scrapy's, fixed: every request queued behind a site's robots.txt gets its rules.
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
    "tiercrawl.robotstxt.RobotsTxtMiddleware": 100,
    # Scrapy's, with back-off: a retry waits before it is sent.
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "tiercrawl.retry.BackoffRetryMiddleware": 550,
    # Scrapy's, staying on a page whose redirect no request can be made of (mailto:).
    "scrapy.downloadermiddlewares.redirect.MetaRefreshMiddleware": None,
    "tiercrawl.redirect.MetaRefreshMiddleware": 580,
    "scrapy.downloadermiddlewares.redirect.RedirectMiddleware": None,
    "tiercrawl.redirect.RedirectMiddleware": 600,
    # Scrapy's, with one proxy for the whole crawl when TIERCRAWL_PROXY is set.
    "scrapy.downloadermiddlewares.httpproxy.HttpProxyMiddleware": None,
    "tiercrawl.proxy.ProxyMiddleware": 750,
    # Scrapy's, failing a compressed body that stops short instead of reading it as whole.
    "scrapy.downloadermiddlewares.httpcompression.HttpCompressionMiddleware": None,
    "tiercrawl.compression.HttpCompressionMiddleware": 590,
    "tiercrawl.rendering.RenderMiddleware": 950,
    # Last before the downloader: each slot kept to its concurrency (Scrapy 2.19 bursts).
    "tiercrawl.slots.SlotConcurrencyMiddleware": 990,
}
# auto | always | never; `-a render=...` and `tiercrawl crawl --render` override it.
TIERCRAWL_RENDER = "auto"
# Chromium to launch; empty: /usr/bin/chromium if present, else Playwright's own browser.
TIERCRAWL_BROWSER_PATH = os.environ.get("TIERCRAWL_BROWSER_PATH", "")
TIERCRAWL_BROWSER_ARGS = [
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # Chromium still looks up its own services (36 DNS queries for accounts.google.com and
    # update.googleapis.com in a 6 s session): names no crawled page needs, never resolved.
    "--host-resolver-rules="
    + ", ".join(
        f"MAP {host} ~NOTFOUND"
        for host in (
            "accounts.google.com",
            "update.googleapis.com",
            "clients2.google.com",
            "clients2.googleusercontent.com",
            "clientservices.googleapis.com",
            "safebrowsing.googleapis.com",
            "optimizationguide-pa.googleapis.com",
            "content-autofill.googleapis.com",
            "redirector.gvt1.com",
        )
    ),
]
# Pages rendered at once, and renders per browser context before it is closed and replaced.
TIERCRAWL_RENDER_CONCURRENCY = 4
TIERCRAWL_RENDER_PAGES_PER_CONTEXT = 50
# Seconds: navigation timeout; cap of the wait for late links; DOM quiet time that ends it.
TIERCRAWL_RENDER_TIMEOUT = 15.0
TIERCRAWL_RENDER_SETTLE = 5.0
TIERCRAWL_RENDER_QUIET = 0.5
# Browser resource types never fetched, and hosts the browser may contact (empty: any).
TIERCRAWL_RENDER_BLOCK = ["image", "media", "font"]
TIERCRAWL_RENDER_ALLOWED_HOSTS: list[str] = []
# auto: a scripted page with less visible text than this is taken for an app shell.
TIERCRAWL_RENDER_SHELL_TEXT = 200

# --- tiercrawl ------------------------------------------------------------------------
# MongoDB URI; empty: the embedded store under TIERCRAWL_HOME (default .tiercrawl/).
TIERCRAWL_MONGO_URI = os.environ.get("TIERCRAWL_MONGO_URI", "")
# Documents per write round trip for links.
TIERCRAWL_MONGO_BATCH_SIZE = 1000
# Batches written at once before items wait: the store always has the next at hand.
TIERCRAWL_MONGO_CONCURRENT_WRITES = 4
# Characters of text kept around each link (the anchor included).
TIERCRAWL_CONTEXT_CHARS = 300
# Print a progress line every N seconds (0: off); `tiercrawl crawl` turns it on.
TIERCRAWL_PROGRESS_INTERVAL = 0.0
# A running crawl stamps its run every N seconds; a run silent for 10 intervals was
# abandoned (its process killed) and is marked failed by `status` and `score`.
TIERCRAWL_HEARTBEAT_INTERVAL = 60.0
# Full runs kept per campaign after each finished run (0: keep all); older runs are
# removed with their links, pages, placements and scores. See docs/monitoring.md.
TIERCRAWL_KEEP_RUNS = 0
# The garbage collector for a long crawl (tiercrawl.extensions.GarbageCollection): freeze
# what exists when the engine starts; collect the young generation every N allocations.
TIERCRAWL_GC_FREEZE = True
TIERCRAWL_GC_THRESHOLD = 20_000

# `scrapy crawl` checks the campaign before any request is sent.
COMMANDS_MODULE = "tiercrawl.commands"
