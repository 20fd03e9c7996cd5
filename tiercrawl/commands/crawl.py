"""``scrapy crawl``, with the campaign checked before the crawl starts.

A campaign with problems is refused with one line per problem and exit code 1,
before any request is sent and without a traceback; so is a crawl that cannot
start (a spider argument or setting that does not fit), which Scrapy would
report with asyncio's "Task exception was never retrieved" and a traceback.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from scrapy.commands.crawl import Command as ScrapyCrawlCommand

from tiercrawl.campaigns import open_campaign
from tiercrawl.core.render import RENDER_MODES
from tiercrawl.exceptions import TiercrawlError, UsageError, start_error
from tiercrawl.store import open_store

if TYPE_CHECKING:
    import argparse
    import asyncio


class Command(ScrapyCrawlCommand):
    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if args[:1] != ["tiers"]:
            super().run(args, opts)
            return
        try:
            self._check_arguments(opts.spargs)
        except TiercrawlError as exc:
            self._refuse(exc)
            return
        assert self.crawler_process
        crawl: Any = self.crawler_process.crawl(self._create_crawler("tiers"), **opts.spargs)
        crawl.add_done_callback(self._started_or_refused)
        self.crawler_process.start()
        if self.crawler_process.bootstrap_failed:
            self.exitcode = 1

    def _started_or_refused(self, crawl: asyncio.Task[None]) -> None:
        failure = None if crawl.cancelled() else crawl.exception()
        refusal = None if failure is None else start_error(failure)
        if refusal is not None:
            self._refuse(refusal)
        elif failure is not None:
            # A bug: shown with its traceback, as asyncio would have.
            crawl.get_loop().call_exception_handler(
                {"message": "the crawl failed to start", "exception": failure, "future": crawl}
            )

    def _refuse(self, exc: TiercrawlError) -> None:
        for problem in exc.problems:
            print(f"scrapy crawl tiers: {problem}", file=sys.stderr)
        self.exitcode = 1

    def _check_arguments(self, spider_args: dict[str, str]) -> None:
        render = spider_args.get("render")
        if render is not None and render not in RENDER_MODES:
            raise UsageError(f"-a render={render}: expected one of {', '.join(RENDER_MODES)}")
        campaign = spider_args.get("campaign")
        if not campaign:
            raise UsageError("-a campaign=PATH_OR_NAME is required")
        self._check_campaign(campaign)

    def _check_campaign(self, ref: str) -> None:
        assert self.settings is not None
        uri = self.settings.get("TIERCRAWL_MONGO_URI") or None
        _, store = open_campaign(ref, lambda: open_store(uri))
        store.close()
