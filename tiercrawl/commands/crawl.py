"""``scrapy crawl``, with the campaign checked before the crawl starts.

A campaign with problems is refused with one line per problem and exit code 1,
before any request is sent and without a traceback.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from scrapy.commands.crawl import Command as ScrapyCrawlCommand

from tiercrawl.campaigns import is_campaign_file, resolve_campaign
from tiercrawl.exceptions import TiercrawlError
from tiercrawl.store import open_store

if TYPE_CHECKING:
    import argparse


class Command(ScrapyCrawlCommand):
    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        campaign = opts.spargs.get("campaign")
        if args[:1] == ["tiers"] and campaign:
            try:
                self._check_campaign(campaign)
            except TiercrawlError as exc:
                for problem in exc.problems:
                    print(f"scrapy crawl tiers: {problem}", file=sys.stderr)
                self.exitcode = 1
                return
        super().run(args, opts)

    def _check_campaign(self, ref: str) -> None:
        if is_campaign_file(ref):
            resolve_campaign(ref)
            return
        assert self.settings is not None
        store = open_store(self.settings.get("TIERCRAWL_MONGO_URI") or None)
        try:
            resolve_campaign(ref, store)
        finally:
            store.close()
