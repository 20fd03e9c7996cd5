"""``tiercrawl crawl CAMPAIGN``: the ``tiers`` spider in-process, with progress shown."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import Any

from pymongo.errors import PyMongoError

from tiercrawl.campaigns import open_campaign
from tiercrawl.cli._common import (
    add_settings_option,
    add_store_option,
    check_settings,
    open_store_from,
    store_uri,
)
from tiercrawl.core.render import RENDER_MODES
from tiercrawl.exceptions import StoreError, start_error
from tiercrawl.store import store_failure


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "crawl", help="crawl every page of a campaign and store the results"
    )
    parser.add_argument("campaign", help="a campaign file (.yaml/.yml/.csv) or a stored campaign")
    parser.add_argument(
        "--render",
        choices=RENDER_MODES,
        default=None,
        help="render JavaScript: auto (when a page needs it), always, never "
        "(default: the TIERCRAWL_RENDER setting, auto)",
    )
    add_settings_option(parser, "override a Scrapy/tiercrawl setting (repeatable)")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    parser.add_argument(
        "--recheck",
        action="store_true",
        help="crawl again only the placements of the latest run that got worse or could "
        "not be read; `tiercrawl diff` then confirms or withdraws each alert",
    )
    add_store_option(parser)
    parser.set_defaults(run=run)


def _settings(args: argparse.Namespace) -> Any:
    from scrapy.utils.project import get_project_settings

    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", "tiercrawl.settings")
    settings = get_project_settings()
    uri = store_uri(args)
    if uri:
        settings.set("TIERCRAWL_MONGO_URI", uri, priority="cmdline")
    if not args.quiet:
        settings.set("TIERCRAWL_PROGRESS_INTERVAL", 1.0, priority="cmdline")
    settings.set("LOG_LEVEL", "WARNING", priority="cmdline")
    check_settings(args.set)
    for name, _, value in (pair.partition("=") for pair in args.set):
        settings.set(name, value, priority="cmdline")
    return settings


# Loggers of download failures: a robots.txt that could not be read, retries given up.
_DOWNLOAD_FAILURE_LOGGERS = (
    "scrapy.downloadermiddlewares.robotstxt",
    "scrapy.downloadermiddlewares.retry",
)


def _without_traceback(record: logging.LogRecord) -> bool:
    """Each failed page is stored with its error; the traceback of a refused
    connection, once per dead site, would bury the progress lines."""
    record.exc_info = None
    record.exc_text = None
    return True


def _is_shutdown_notice(record: logging.LogRecord) -> bool:
    return record.getMessage().startswith("Received ")


def _show_progress() -> None:
    for name in _DOWNLOAD_FAILURE_LOGGERS:
        logging.getLogger(name).addFilter(_without_traceback)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("crawl: %(message)s"))
    progress = logging.getLogger("tiercrawl.progress")
    progress.addHandler(handler)
    progress.setLevel(logging.INFO)
    progress.propagate = False
    # Scrapy's "Received SIGINT, shutting down gracefully. Send again to force" is an
    # INFO line, below the WARNING level the crawl shows: without it, Ctrl-C seems ignored.
    shutdown = logging.StreamHandler(sys.stderr)
    shutdown.setFormatter(logging.Formatter("crawl: %(message)s"))
    shutdown.addFilter(_is_shutdown_notice)
    crawler_logger = logging.getLogger("scrapy.crawler")
    crawler_logger.addHandler(shutdown)
    crawler_logger.setLevel(logging.INFO)


def run(args: argparse.Namespace) -> int:
    from scrapy.crawler import CrawlerProcess

    # Refuse a bad campaign before anything starts: one message per problem.
    campaign, store = open_campaign(args.campaign, lambda: open_store_from(args))
    spider_args = {"campaign": args.campaign}
    if args.recheck:
        rechecked = _recheck_of(store, campaign)
        if rechecked is None:
            return 0
        spider_args["recheck_of"] = rechecked
    settings = _settings(args)
    process = CrawlerProcess(settings)
    _show_progress()
    if args.render:
        spider_args["render"] = args.render
    crawler = process.create_crawler("tiers")
    failures: list[BaseException] = []
    process.crawl(crawler, **spider_args).addErrback(
        lambda failure: failures.append(failure.value)
    )
    process.start()
    if failures:
        raise start_error(failures[0]) or failures[0]
    run_id = getattr(crawler.spider, "run_id", None)
    try:
        run_doc = store.runs.find_one({"_id": run_id}) if run_id else None
        if run_doc is None:
            print(f"crawl: the crawl of {campaign.name} did not start", file=sys.stderr)
            return 1
        _print_summary(store, run_doc)
    except PyMongoError as exc:
        # The store went away during the crawl: what the crawl logged says what was lost.
        raise StoreError(
            f"run {run_id}: cannot read its result from the store: {store_failure(exc)}"
        ) from exc
    return 0 if run_doc["status"] == "finished" else 1


def _recheck_of(store: Any, campaign: Any) -> str | None:
    """The run a recheck covers (the latest finished one), or None when nothing needs it."""
    from tiercrawl.exceptions import TiercrawlError
    from tiercrawl.jobs.diff import recheck_keys

    latest = store.latest_run(campaign.name)
    if latest is None:
        raise TiercrawlError(f"{campaign.name}: no finished run to recheck")
    count = len(recheck_keys(store, campaign.name, latest["_id"]))
    if not count:
        print(f"crawl: nothing to recheck in run {latest['_id']}")
        return None
    print(f"crawl: rechecking {count} placement(s) of run {latest['_id']}", file=sys.stderr)
    return str(latest["_id"])


def _print_summary(store: Any, run_doc: dict[str, Any]) -> None:
    run_id = run_doc["_id"]
    counts: dict[str, int] = {}
    for placement in store.placements.find({"run_id": run_id}, {"status": 1}):
        counts[placement["status"]] = counts.get(placement["status"], 0) + 1
    pages = store.pages.count_documents({"run_id": run_id})
    rendered = list(
        store.pages.find({"run_id": run_id, "rendered": True}, {"url": 1, "render_reason": 1})
    )
    print(f"run {run_id}: {run_doc['status']}, {pages} pages")
    print("placements: " + ", ".join(f"{n} {status}" for status, n in sorted(counts.items())))
    for page in rendered:
        print(f"rendered: {page['url']} ({page.get('render_reason') or 'render=always'})")
