"""``scrapy crawl``, with the campaign checked before the crawl starts.

A campaign with problems is refused with one line per problem and exit code 1,
before any request is sent and without a traceback.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from scrapy.commands.crawl import Command as ScrapyCrawlCommand

from tiercrawl.campaigns import open_campaign
from tiercrawl.core.render import RENDER_MODES
from tiercrawl.exceptions import TiercrawlError, UsageError
from tiercrawl.store import open_store

if TYPE_CHECKING:
    import argparse


class Command(ScrapyCrawlCommand):
    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if args[:1] == ["tiers"]:
            try:
                self._check_arguments(opts.spargs)
            except TiercrawlError as exc:
                for problem in exc.problems:
                    print(f"scrapy crawl tiers: {problem}", file=sys.stderr)
                self.exitcode = 1
                return
        super().run(args, opts)

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
