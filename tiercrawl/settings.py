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
DOWNLOAD_TIMEOUT = 30
DOWNLOAD_MAXSIZE = 10 * 1024 * 1024
DOWNLOAD_WARNSIZE = 2 * 1024 * 1024
REDIRECT_MAX_TIMES = 10
COOKIES_ENABLED = False
# One visit per URL per run; the spider never follows links, so no duplicate filter is needed
# beyond the campaign's own de-duplication.
DUPEFILTER_CLASS = "scrapy.dupefilters.BaseDupeFilter"
DNS_TIMEOUT = 15
LOG_LEVEL = "INFO"

# --- Components ---------------------------------------------------------------------
ITEM_PIPELINES = {
    "tiercrawl.pipelines.ExtractPipeline": 100,
    "tiercrawl.pipelines.MongoSinkPipeline": 900,
}
EXTENSIONS = {
    "tiercrawl.extensions.RunRecorder": 100,
    "tiercrawl.extensions.ProgressReporter": 200,
}

# --- Rendering (scrapy-playwright) ----------------------------------------------------
TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"

# --- tiercrawl ------------------------------------------------------------------------
# MongoDB URI; empty: the embedded store under TIERCRAWL_HOME (default .tiercrawl/).
TIERCRAWL_MONGO_URI = os.environ.get("TIERCRAWL_MONGO_URI", "")
# Documents per write round trip for links.
TIERCRAWL_MONGO_BATCH_SIZE = 1000
# Characters of text kept around each link (the anchor included).
TIERCRAWL_CONTEXT_CHARS = 300
# Print a progress line every N seconds (0: off); `tiercrawl crawl` turns it on.
TIERCRAWL_PROGRESS_INTERVAL = 0.0

# `scrapy crawl` checks the campaign before any request is sent.
COMMANDS_MODULE = "tiercrawl.commands"
